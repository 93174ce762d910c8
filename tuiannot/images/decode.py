"""Images: reading, content hashes, EXIF orientation, checked decoding, fitting, a cache.

The ground floor of the image capability; it imports no Textual (and Pillow only
when an image is touched, so that ``import tuiannot`` stays fast).

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
  put in a task (tasks are stored as JSON). The prefetch fits the next images to
  the screen's size and keeps their order (:meth:`ImageCache.upcoming`): the screen
  turns them into cells while the annotator looks at the current one.

Image tasks and streams are in :mod:`.tasks`, COCO and folder exports in :mod:`.export`.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import io
import os
import re
import stat
import threading
import warnings
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..tasks import blake2b, hash_value

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
START_HOLD = 1.0  # seconds the prefetch waits at most for the screen's first image (ImageCache.hold_start)
FRAME_HOLD = 0.25  # seconds the prefetch waits at most for the screen to draw a new image (ImageCache.hold_frame)

_SPACE = re.compile(r"\s+")
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
    return blake2b(data).hexdigest()


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
            data = base64.b64decode(_SPACE.sub("", ref[match.end():]), validate=True)  # wrapped lines are fine
        except (binascii.Error, ValueError) as e:
            raise ImageError(f"invalid base64 in the data URI ({e})") from None
        if not data:
            raise ImageError("empty data URI (no image in it)")
    else:
        try:
            info = os.stat(ref)
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError
            if not stat.S_ISREG(info.st_mode):  # a FIFO would hang, /dev/zero read 256 MB of nothing
                raise ImageError("not a regular file (a pipe, FIFO or device): images are read from files")
            size = info.st_size
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


# The plugin a sniffed format needs. Opening bytes (no file name to go by), Image.open imports five plugins the
# first time (``preinit``: ~15 ms of CPU, during an image app's start, issue 15); a JPEG or a PNG needs one.
_PLUGINS = {"JPEG": "JpegImagePlugin", "PNG": "PngImagePlugin"}


def _open_by_plugin(Image: Any, data: bytes) -> Any:
    """The image opened by the one plugin its first bytes call for, or None: Image.open then, as always (once
    Pillow imported its plugins, or for another format, or for bytes the plugin refuses, whose errors Image.open
    words)."""
    fmt = sniff_format(data) or ""
    plugin = _PLUGINS.get(fmt)
    if plugin is None or getattr(Image, "_initialized", 1) >= 1:
        return None
    try:
        importlib.import_module(f"PIL.{plugin}")
        factory, accept = Image.OPEN[fmt]
        accepted = accept(data[:16]) if accept else True
        if not accepted or isinstance(accepted, str):  # (a string: a warning Image.open would give)
            return None
        return factory(io.BytesIO(data), "")
    except Exception:  # noqa: BLE001 (Image.open says what is wrong)
        return None


def _open(data: bytes) -> Any:
    """The image opened (header only) and checked against the pixel limit."""
    Image = _pil()
    try:
        image = _open_by_plugin(Image, data) or Image.open(io.BytesIO(data))
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
        if orientation != 1:
            from PIL import ImageOps  # (only then: its import, ~1.5 ms, held the GIL at an app's start)

            image = ImageOps.exif_transpose(image)
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
    """``image`` at exactly ``size``: shrunk by area average, enlarged by repeating pixels.

    Shrinking averages the pixels under each target pixel (Pillow's BOX): a half-block is the colour of the
    patch of photo it stands for, not of a few pixels sampled near its centre. bench/image_libs.py measured
    the colour error ΔE against the photo area-averaged to the cell grid falling from 1.7 (bilinear) to 0.8,
    in the same time."""
    if image.size == size:
        return image
    Image = _pil()
    method = Image.Resampling.BOX if size[0] < image.size[0] else Image.Resampling.NEAREST
    return image.resize(size, method)


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
        self._prepared: deque[int] = deque(maxlen=64)  # input hashes in the order the prefetch decoded them
        self.originals: dict[int, tuple[int, int]] = {}  # input hash -> upright size of the original
        self.hits = self.misses = 0
        self._start_hold: threading.Event | None = None  # see hold_start()
        self._frame_hold = threading.Event()  # see hold_frame(): set while no new image is being drawn
        self._frame_hold.set()

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

    # -- the start: one photo decoded, then the screen's start first ------------------
    def hold_start(self) -> None:
        """Until :meth:`release_start` (the screen drew its first image, or waits for one), the prefetch decodes
        the first image and then waits in :meth:`wait_start` before the next (at most :data:`START_HOLD` s).

        Issue 15: decoding the photos after the first one (~7 ms of CPU each) ran beside Textual's import and
        start on the app's thread, and each of their returns to Python took the GIL from it: the first photo came
        up later (~100 ms when a team's window of 32 tasks was read ahead; the controller reads none for images
        now). Nothing is skipped or
        reordered: every image is still read and checked in the stream, only later."""
        self._start_hold = threading.Event()

    def release_start(self) -> None:
        hold = self._start_hold
        if hold is not None:
            hold.set()

    def wait_start(self, timeout: float | None = None) -> None:
        """In the prefetch thread, before an image is decoded: wait while the start is held and an image is ready,
        and while the screen draws a new image (:meth:`hold_frame`)."""
        if not self._frame_hold.wait(FRAME_HOLD):
            self._frame_hold.set()  # waited out (a photo never drawn: a hidden widget): once, not at every decode
        hold = self._start_hold
        if hold is None:
            return
        if self._prepared and not hold.is_set():
            hold.wait(START_HOLD if timeout is None else timeout)
            self._start_hold = None  # (once: released, or waited out)

    # -- every new image: its frame first, then the next one's decoding ------------------
    def hold_frame(self) -> None:
        """The screen is about to draw a new image: the prefetch's next decode waits until :meth:`release_frame`
        (the frame is out to the terminal), :data:`FRAME_HOLD` s at most (then the hold is over).

        Issue 15: the app taking a task makes room in the prefetch's queue, and the prefetch decoded the image
        after the next one (~7 ms of CPU, the GIL held between Python's 5 ms switch intervals) while the app made
        the new photo's frame and Textual's writer thread wrote its ~40 KB: every other photo reached the
        terminal 3-10 ms later (a trace of each step, 12 `a` keys). The queue still holds the images ahead."""
        self._frame_hold.clear()

    def release_frame(self) -> None:
        self._frame_hold.set()

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
        with self._lock:
            self._prepared.append(key)
        self._fit_one(key, image, self.originals[key])

    def upcoming(self, key: int | None) -> list[int]:
        """The images the prefetch decoded after image ``key`` (the one on screen), in the stream's order: the
        next ones to be shown."""
        with self._lock:
            order = list(self._prepared)
        if key not in order:
            return []
        return order[len(order) - order[::-1].index(key):]

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
