"""Images: loading, content hashes, EXIF orientation, checked decoding, a cache, exports.

The core of the image capability; it imports no Textual (and Pillow only when an
image is touched, so that ``import tuiannot`` stays fast).

* An image task is ``{"image": PATH_OR_DATA_URI, "width": W, "height": H, ...}``.
  Its ``_input_hash`` comes from the file's *content* (BLAKE2b of the bytes), so a
  moved or renamed file is the same task. ``width``/``height`` are the image as
  displayed upright, after its EXIF orientation is applied, and every coordinate
  stored (boxes) is in those upright, original pixels.
* :func:`load` reads and checks one image: empty, unreadable, not an image,
  truncated or corrupt, and images over Pillow's pixel limit
  (``Image.MAX_IMAGE_PIXELS``, a decompression bomb) raise :class:`ImageError`
  with a one-line reason. Decoding uses JPEG draft mode and downscales first,
  so a 24-megapixel photo costs a few milliseconds.
* :class:`ImageCache` keeps the decoded, downscaled images (a small LRU, by bytes)
  and their fits to a display size, keyed by input hash; nothing decoded is ever
  put in a task (tasks are stored as JSON).
* :func:`to_coco` and :func:`to_folders` turn answers into COCO JSON and a
  folder per label.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import os
import re
import shutil
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from .errors import InvalidRecord, SourceError
from .sanitize import one_line
from .sources import Source
from .stream import Stream
from .tasks import hash_value

if TYPE_CHECKING:  # pragma: no cover
    from PIL.Image import Image as PILImage

EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")
FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"}  # MPO: JPEGs from some cameras
MIME = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif",
        "BMP": "image/bmp", "TIFF": "image/tiff"}
MAX_FILE_BYTES = 256 * 1024 * 1024
DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's default Image.MAX_IMAGE_PIXELS
BASE_SIZE = 512  # the long side of the decoded image kept for cell renderers (half-blocks, ASCII)
BACKGROUND = (24, 24, 24)  # transparent pixels are shown on this

_DATA_URI = re.compile(r"^data:(image/[a-z0-9.+-]+)?(;[^,]*)?,", re.IGNORECASE)


class ImageError(ValueError):
    """An image that cannot be shown; the message is the reason, in one line."""


@dataclass
class ImageInfo:
    """What :func:`load` found out about an image."""

    digest: str  # BLAKE2b hex of the bytes
    width: int  # upright (after EXIF orientation)
    height: int
    format: str
    orientation: int  # EXIF orientation tag, 1 = as stored

    @property
    def input_hash(self) -> int:
        return content_hash(self.digest)


def _pil() -> Any:
    """Pillow, imported on first use, with decompression-bomb warnings made errors."""
    from PIL import Image

    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
    return Image


def max_pixels() -> int:
    limit = _pil().MAX_IMAGE_PIXELS
    return int(limit) if limit else DEFAULT_MAX_PIXELS


def content_hash(digest: str) -> int:
    """The ``_input_hash`` of an image with content digest ``digest`` (see :mod:`tuiannot.tasks`)."""
    return hash_value([["image", digest]])


def digest_of(data: bytes) -> str:
    return hashlib.blake2b(data).hexdigest()


# -- reading ---------------------------------------------------------------------------
def is_data_uri(value: str) -> bool:
    return value[:5].lower() == "data:"


def resolve(ref: str, base_dir: str | os.PathLike[str] | None = None) -> str:
    """A path relative to ``base_dir`` as an absolute path; data URIs unchanged."""
    if is_data_uri(ref):
        return ref
    path = Path(ref).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return os.path.abspath(path)


def read_bytes(ref: str) -> bytes:
    """The bytes of an image path or data URI (:class:`ImageError` if there are none)."""
    if is_data_uri(ref):
        match = _DATA_URI.match(ref)
        if not match or ";base64" not in (match.group(2) or "").lower():
            raise ImageError("not a base64 image data URI")
        try:
            data = base64.b64decode(ref[match.end():], validate=False)
        except (binascii.Error, ValueError) as e:
            raise ImageError(f"invalid base64 in the data URI ({e})") from None
    else:
        try:
            size = os.path.getsize(ref)
            if size > MAX_FILE_BYTES:
                raise ImageError(f"file too large ({size / 2**20:.0f} MB; the limit is "
                                 f"{MAX_FILE_BYTES / 2**20:.0f} MB)")
            with open(ref, "rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            raise ImageError("no such file") from None
        except IsADirectoryError:
            raise ImageError("is a directory, not an image") from None
        except OSError as e:
            raise ImageError(f"cannot be read ({e.strerror or e})") from None
    if not data:
        raise ImageError("empty file")
    return data


def data_uri(data: bytes, fmt: str | None = None) -> str:
    """``data:image/...;base64,...`` for the bytes of an image."""
    if fmt is None:
        fmt = sniff_format(data)
    return f"data:{MIME.get(fmt or '', 'application/octet-stream')};base64,{base64.b64encode(data).decode('ascii')}"


def sniff_format(data: bytes) -> str | None:
    head = data[:16]
    if head.startswith(b"\xff\xd8"):
        return "JPEG"
    if head.startswith(b"\x89PNG"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:3] == b"GIF":
        return "GIF"
    if head[:2] == b"BM":
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    return None


# -- decoding ----------------------------------------------------------------------------
_SWAPS_AXES = {5, 6, 7, 8}


def _open(data: bytes) -> Any:
    """The image opened (header only) and checked against the pixel limit."""
    Image = _pil()
    try:
        image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(_too_large(data)) from None
    except Image.UnidentifiedImageError:
        raise ImageError("not an image (Pillow cannot identify it)") from None
    except Exception as e:  # noqa: BLE001 (any decoder error is a bad file)
        raise ImageError(f"not a valid image ({type(e).__name__}: {e})") from None
    if image.format not in FORMATS:
        raise ImageError(f"unsupported image format {image.format!r}")
    w, h = image.size
    if w <= 0 or h <= 0:
        raise ImageError(f"invalid size {w} x {h}")
    if w * h > max_pixels():
        raise ImageError(f"too large: {w} x {h} pixels (over the limit of {max_pixels():,}; a decompression bomb?)")
    return image


def _too_large(data: bytes) -> str:
    size = _header_size(data)
    where = f"{size[0]} x {size[1]} pixels " if size else ""
    return f"too large: {where}(over the limit of {max_pixels():,} pixels; a decompression bomb?)"


def _header_size(data: bytes) -> tuple[int, int] | None:
    if data.startswith(b"\x89PNG") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None


def _orientation(image: Any) -> int:
    try:
        value = image.getexif().get(0x0112, 1)
        return value if isinstance(value, int) and 1 <= value <= 8 else 1
    except Exception:  # noqa: BLE001 (broken EXIF: shown as stored)
        return 1


def decode(data: bytes, size: int = BASE_SIZE) -> tuple[ImageInfo, "PILImage"]:
    """Check and decode an image: its info and an upright RGB copy whose long side is at most ``size``.

    The whole image is decoded (so a truncated or corrupt file is found), in JPEG
    draft mode (the decoder scales by 1/2..1/8 while decoding) when that is enough.
    """
    Image = _pil()
    from PIL import ImageOps

    image = _open(data)
    fmt = image.format
    w, h = image.size
    orientation = 1
    try:
        if fmt in ("JPEG", "MPO"):
            scale = max(w, h) / size
            if scale > 1:
                image.draft("RGB", (max(1, int(w / scale)), max(1, int(h / scale))))
        image.load()  # before the EXIF: reading a PNG's EXIF loads the image and would swallow its errors
        orientation = _orientation(image)
        image = ImageOps.exif_transpose(image) if orientation != 1 else image
        image = _to_rgb(image)
        if max(image.size) > size:
            image.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(_too_large(data)) from None
    except MemoryError:
        raise ImageError(f"too large to decode ({w} x {h} pixels)") from None
    except Exception as e:  # noqa: BLE001 (truncated, corrupt: every decoder error is a bad file)
        reason = str(e) or type(e).__name__
        if "truncated" in reason.lower():
            raise ImageError(f"truncated image ({reason})") from None
        raise ImageError(f"corrupt image ({type(e).__name__}: {reason})") from None
    upright = (h, w) if orientation in _SWAPS_AXES else (w, h)
    return ImageInfo(digest_of(data), upright[0], upright[1], fmt, orientation), image


def _to_rgb(image: Any) -> Any:
    Image = _pil()
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, BACKGROUND)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return image.point(lambda v: v / 256).convert("L").convert("RGB")
    return image.convert("RGB")


def load(ref: str, size: int = BASE_SIZE) -> tuple[ImageInfo, "PILImage"]:
    """Read, check and decode the image at a path or data URI (:class:`ImageError` with the reason)."""
    return decode(read_bytes(ref), size)


# -- fitting to a display ----------------------------------------------------------------
def fit_size(width: int, height: int, box_w: int, box_h: int, upscale: bool = True) -> tuple[int, int]:
    """The largest size of ``width`` x ``height``'s aspect that fits ``box_w`` x ``box_h`` (at least 1 x 1)."""
    if width <= 0 or height <= 0 or box_w <= 0 or box_h <= 0:
        return 1, 1
    scale = min(box_w / width, box_h / height)
    if not upscale:
        scale = min(scale, 1.0)
    return max(1, min(box_w, round(width * scale))), max(1, min(box_h, round(height * scale)))


def resize(image: "PILImage", size: tuple[int, int]) -> "PILImage":
    if image.size == size:
        return image
    Image = _pil()
    method = Image.Resampling.BILINEAR if size[0] < image.size[0] else Image.Resampling.NEAREST
    return image.resize(size, method, reducing_gap=2.0 if size[0] < image.size[0] else None)


class ImageCache:
    """Decoded images and their fits to display sizes, shared by threads, bounded in bytes.

    ``base`` entries are keyed by (input hash, base size); ``fit`` entries by
    (input hash, pixel size). ``target`` is the size the screen shows images at
    now (set by the screen, read by the stream's prefetch so that the next image
    is already fitted when it comes up).
    """

    def __init__(self, max_bytes: int = 192 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.target: Callable[[int, int], tuple[int, int]] | None = None  # (w, h) -> pixel size to fit
        self.prerender: Callable[["PILImage"], Any] | None = None  # a fitted image -> what the screen draws
        self.originals: dict[int, tuple[int, int]] = {}  # input hash -> upright size of the original
        self.hits = self.misses = 0

    def get(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: tuple[Any, ...], image: Any) -> None:
        size = _nbytes(image)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= _nbytes(old)
            self._items[key] = image
            self._bytes += size
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= _nbytes(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes

    # -- the two levels --------------------------------------------------------------
    def base(self, key: int, ref: str | None, size: int = BASE_SIZE) -> "PILImage":
        """The decoded image of input hash ``key`` (decoded from ``ref`` on a miss)."""
        image = self.get(("base", key, size))
        if image is None:
            if ref is None:
                raise ImageError("not in the cache")
            _, image = load(ref, size)
            self.put(("base", key, size), image)
        return image

    def fitted(self, key: int, ref: str | None, pixels: tuple[int, int], size: int = BASE_SIZE) -> "PILImage":
        """The image resized to exactly ``pixels`` (cached per size: re-fits on a terminal resize are cheap)."""
        image = self.get(("fit", key, pixels))
        if image is None:
            image = resize(self.base(key, ref, size), pixels)
            self.put(("fit", key, pixels), image)
        return image

    def prepare(self, key: int, image: "PILImage", size: int = BASE_SIZE,
                original: tuple[int, int] | None = None) -> None:
        """Keep a freshly decoded image and, if the screen says at what size, its fit (prefetch).

        ``original`` is the image's upright size (the screen fits that, not the decoded copy's)."""
        self.put(("base", key, size), image)
        self.originals[key] = original or image.size
        self._fit_one(key, image, self.originals[key])

    def fit_cached(self, size: int = BASE_SIZE) -> int:
        """Fit every decoded image in the cache to the screen's size now (after a start or a resize)."""
        with self._lock:
            bases = [(k[1], v) for k, v in self._items.items() if k[0] == "base" and k[2] == size]
        done = 0
        for key, image in bases:
            done += self._fit_one(key, image, self.originals.get(key, image.size))
        return done

    def _fit_one(self, key: int, image: "PILImage", original: tuple[int, int]) -> int:
        target = self.target
        if target is not None:
            try:
                pixels = target(*original)
            except Exception:  # noqa: BLE001 (the screen went away: no fit)
                return 0
            if pixels and pixels[0] > 0 and pixels[1] > 0 and self.get(("fit", key, pixels)) is None:
                fitted = resize(image, pixels)
                self.put(("fit", key, pixels), fitted)
                prerender = self.prerender
                if prerender is not None:
                    try:
                        self.put(("rows", key, pixels), prerender(fitted))
                    except Exception:  # noqa: BLE001 (drawn on the screen's side instead)
                        pass
                return 1
        return 0


def _nbytes(image: Any) -> int:
    if isinstance(image, list):  # rows of segments
        return 64 + sum(len(row) for row in image) * 160
    try:
        return image.size[0] * image.size[1] * len(image.getbands())
    except Exception:  # noqa: BLE001
        return 1024


CACHE = ImageCache()
"""The process's cache: images are keyed by content hash, so one cache serves every stream and screen."""


# -- sources ------------------------------------------------------------------------------
def image_files(folder: str | os.PathLike[str], on_error: Callable[[str, str], None] | None = None
                ) -> Iterator[Path]:
    """The image files under ``folder`` (by extension, recursive, in a stable sorted order), lazily."""
    root = Path(folder)

    def onerror(e: OSError) -> None:
        if on_error is not None:
            on_error(str(e.filename or root), f"cannot be read ({e.strerror or e})")

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.lower().endswith(EXTENSIONS):
                yield Path(dirpath) / name


def check_image_task(task: Any) -> str | None:
    """Why ``task`` is not an image task (a JSON object with an ``image`` string), or None."""
    if not isinstance(task, dict):
        return f"expected a JSON object, got {type(task).__name__}"
    image = task.get("image")
    if image is None:
        return "no 'image' field"
    if not isinstance(image, str) or not image.strip():
        return "'image' must be a path or a data URI (a non-empty string)"
    if "meta" in task and not isinstance(task["meta"], dict):
        return "'meta' must be an object"
    return None


def prepare_task(task: dict[str, Any], ref: str, *, size: int = BASE_SIZE, cache: ImageCache | None = CACHE
                 ) -> dict[str, Any]:
    """Load and check the task's image, set its content hash and upright size (:class:`ImageError` if bad).

    The decoded image goes to ``cache``, never into the task.
    """
    info, image = load(ref, size)
    task["width"], task["height"] = info.width, info.height
    task.pop("_task_hash", None)  # recomputed from the content hash
    task["_input_hash"] = info.input_hash
    if cache is not None:
        cache.prepare(info.input_hash, image, size, (info.width, info.height))
    return task


# -- boxes -----------------------------------------------------------------------------------
def rect_span(label: str, x: int, y: int, width: int, height: int) -> dict[str, Any]:
    """A box as Prodigy stores it (``image_manual``): original pixels, ``points`` clockwise from top-left."""
    x, y, width, height = int(x), int(y), int(width), int(height)
    return {"label": label, "type": "rect", "x": x, "y": y, "width": width, "height": height,
            "points": [[x, y], [x + width, y], [x + width, y + height], [x, y + height]]}


def span_box(span: dict[str, Any]) -> tuple[float, float, float, float] | None:
    """(x, y, width, height) of a stored box (from ``x``/``y``/``width``/``height`` or ``points``)."""
    try:
        if all(k in span for k in ("x", "y", "width", "height")):
            return float(span["x"]), float(span["y"]), float(span["width"]), float(span["height"])
        points = span.get("points")
        if points:
            xs = [float(p[0]) for p in points]
            ys = [float(p[1]) for p in points]
            return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)
    except (TypeError, ValueError, IndexError):
        return None
    return None


# -- exports -----------------------------------------------------------------------------------
def _accepted(answers: Iterable[dict[str, Any]], answer: str | None) -> Iterator[dict[str, Any]]:
    for task in answers:
        if answer is None or task.get("answer") == answer:
            yield task


def _image_labels(task: dict[str, Any]) -> list[str]:
    """The labels an accepted classification answer gives its image."""
    if "options" in task or "accept" in task:
        accept = task.get("accept") or []
        return [str(a) for a in accept] if isinstance(accept, list) else [str(accept)]
    label = task.get("label")
    return [label] if isinstance(label, str) else []


def _file_name(task: dict[str, Any]) -> str:
    image = str(task.get("image", ""))
    meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
    if is_data_uri(image):
        ext = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif",
               "image/bmp": ".bmp", "image/tiff": ".tif"}.get(image[5:image.find(";")].lower(), ".img")
        stem = Path(str(meta.get("file", ""))).stem or f"image-{task.get('_input_hash', 0) & 0xFFFFFFFF:08x}"
        return stem + ext
    return Path(image).name


def to_coco(answers: Iterable[dict[str, Any]], labels: list[str] | None = None, *, answer: str | None = "accept",
            warn: Callable[[str], None] | None = None) -> dict[str, Any]:
    """COCO detection JSON (``images``, ``annotations``, ``categories``) of image answers.

    Boxes (``spans`` of ``type: rect``) become annotations with ``bbox`` [x, y, w, h]
    in original pixels; classification answers give their images (and, under
    ``tuiannot``, their labels in the image's ``labels``). ``labels`` fixes the
    category ids (1-based, in that order); other labels get ids after them in
    the order first seen. One image per input hash (the latest answer wins).
    ``warn`` is told about each box it cannot use.
    """
    categories: dict[str, int] = {}
    for label in labels or []:
        categories.setdefault(str(label), len(categories) + 1)
    latest: dict[Any, dict[str, Any]] = {}
    for task in _accepted(answers, answer):
        key = task.get("_input_hash", task.get("image"))
        previous = latest.get(key)
        if previous is None or task.get("_timestamp", 0) >= previous.get("_timestamp", 0):
            latest.pop(key, None)
            latest[key] = task
    images, annotations = [], []
    for image_id, task in enumerate(latest.values(), 1):
        entry: dict[str, Any] = {"id": image_id, "file_name": str(task.get("image", "")) if not is_data_uri(
            str(task.get("image", ""))) else _file_name(task), "width": task.get("width"), "height": task.get("height")}
        tags = _image_labels(task) if task.get("answer", "accept") == "accept" else []
        for tag in tags:
            categories.setdefault(tag, len(categories) + 1)
        if tags:
            entry["labels"] = tags
        images.append(entry)
        for span in task.get("spans") or []:
            box = span_box(span) if isinstance(span, dict) else None
            label = span.get("label") if isinstance(span, dict) else None
            if box is None or not label or box[2] <= 0 or box[3] <= 0:
                if warn:
                    warn(f"image {entry['file_name']}: a box without a label or a size is left out")
                continue
            category = categories.setdefault(str(label), len(categories) + 1)
            x, y, w, h = box
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": category,
                                "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0,
                                "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]]})
    return {"images": images, "annotations": annotations,
            "categories": [{"id": i, "name": name, "supercategory": ""} for name, i in categories.items()]}


_UNSAFE_NAME = re.compile(r"[^\w.\- ]+")


def to_folders(answers: Iterable[dict[str, Any]], out_dir: str | os.PathLike[str], *, rejected: bool = False,
               link: bool = False, warn: Callable[[str], None] | None = None) -> dict[str, int]:
    """Copy each accepted image into ``out_dir/LABEL/`` (ImageNet-style folders); the counts per folder.

    A classification answer goes under each label it accepts, an answer with
    boxes under each label it has a box of; with ``rejected``, a rejected yes/no
    question goes under ``not_LABEL``. Images stored as data URIs are written
    out. A name already taken in a folder gets the content hash appended; one
    image goes once into a folder. ``link`` makes hard links where it can.
    ``warn`` is told about each image that cannot be written.
    """
    out = Path(out_dir)
    counts: dict[str, int] = {}
    written: set[tuple[str, Any]] = set()
    for task in answers:
        kind = task.get("answer")
        if kind == "accept":
            labels = _image_labels(task)
            for span in task.get("spans") or []:
                if isinstance(span, dict) and span.get("label") and str(span["label"]) not in labels:
                    labels.append(str(span["label"]))
        elif kind == "reject" and rejected and isinstance(task.get("label"), str) and "options" not in task:
            labels = [f"not_{task['label']}"]
        else:
            continue
        image = str(task.get("image", ""))
        key = task.get("_input_hash", image)
        name = _file_name(task)
        for label in labels:
            if (label, key) in written:
                continue
            folder = out / (_UNSAFE_NAME.sub("_", label).strip(". ") or "_")
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / name
            if target.exists():
                target = folder / f"{target.stem}-{hash_value(key) & 0xFFFFFFFF:08x}{target.suffix}"
            try:
                if is_data_uri(image):
                    target.write_bytes(read_bytes(image))
                elif link:
                    try:
                        os.link(image, target)
                    except OSError:
                        shutil.copyfile(image, target)
                else:
                    shutil.copyfile(image, target)
            except (OSError, ImageError) as e:
                if warn:
                    warn(f"{one_line(image, 80)}: not written to {label}/ ({getattr(e, 'strerror', None) or e})")
                continue
            written.add((label, key))
            counts[label] = counts.get(label, 0) + 1
    return counts


def write_coco(answers: Iterable[dict[str, Any]], path: str | os.PathLike[str], **kwargs: Any) -> dict[str, Any]:
    coco = to_coco(answers, **kwargs)
    Path(path).write_text(json.dumps(coco, ensure_ascii=False, indent=1), encoding="utf-8")
    return coco


# -- streams -------------------------------------------------------------------------------------
def image_stream(source: str | os.PathLike[str], *, size: int = BASE_SIZE, cache: ImageCache | None = CACHE,
                 loader: str | None = None) -> Any:
    """A lazy :class:`~tuiannot.stream.Stream` of checked image tasks from a folder or a JSONL/JSON file.

    A folder gives ``{"image": ABSOLUTE_PATH, "meta": {"file": PATH_IN_FOLDER}}`` per image file
    (recursive, sorted); a file gives its tasks, each ``image`` a path relative to the file (made
    absolute) or a data URI. Each image is read, hashed and decoded in the stream step (the
    controller's prefetch thread), so the screen finds it ready; a bad one is skipped with a
    warning naming the file and the reason.
    """
    path = Path(source)
    if not path.exists():
        raise SourceError(f"{source}: no such file or folder")
    if path.is_dir():
        stream = _FolderStream([], name=str(source))
        stream.source = _folder_tasks(path, stream)

        def load_file(task: dict[str, Any]) -> dict[str, Any] | None:
            shown = os.path.join(str(source), task["meta"]["file"])
            try:
                return prepare_task(task, task["image"], size=size, cache=cache)
            except ImageError as e:
                stream.warn(None, f"{one_line(shown, 300)}: {e}")
                return None

        return stream.map(load_file)
    base_dir = path.parent
    stream = Stream(Source(path, loader=loader, validate=check_image_task))

    def load_record(task: dict[str, Any]) -> dict[str, Any]:
        given = task["image"]
        ref = resolve(given, base_dir)
        try:
            prepare_task(task, ref, size=size, cache=cache)
        except ImageError as e:
            shown = f"data URI ({len(given) // 1024} KB)" if is_data_uri(given) else one_line(given, 200)
            raise ValueError(f"{shown}: {e}") from None
        task["image"] = ref
        meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
        if not is_data_uri(ref):
            meta.setdefault("file", given)
        task["meta"] = meta
        return task

    return stream.map(load_record)


def _folder_tasks(root: Path, stream: Any) -> Iterator[dict[str, Any]]:
    def unreadable(where: str, reason: str) -> None:
        stream.warn(None, f"{one_line(where, 300)}: {reason}")

    for file in image_files(root, on_error=unreadable):
        yield {"image": os.path.abspath(file), "meta": {"file": str(file.relative_to(root))}}


class _FolderStream(Stream):
    """A folder has no lines: a warning names the image file instead."""

    def warn(self, line: int | None, reason: str, dropped: bool = True) -> None:
        if line is not None:
            super().warn(line, reason, dropped)
            return
        if dropped:
            self.invalid += 1
        else:
            self.problems += 1
        if self.strict:
            error = InvalidRecord(self.name, 0, reason)
            error.args = (reason,)
            raise error
        self.warnings.append(reason)
        if self.on_warning is not None:
            self.on_warning(reason)
