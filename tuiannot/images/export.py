"""Image exports: COCO JSON of boxes and classes, and a folder per label with the images.

Coordinates are the upright, original pixels the answers store. An answer that
cannot be exported (no image, a box without a label, a file that went away) is
reported through ``warn`` and counted by the caller, never dropped silently.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..sanitize import one_line
from ..tasks import hash_value
from .decode import ImageError, is_data_uri, read_bytes, sniff_format
from .tasks import span_box


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
    meta = task.get("meta")
    meta = meta if isinstance(meta, dict) else {}
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
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
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
            box_label = span.get("label") if isinstance(span, dict) else None
            if box is None or not box_label or box[2] <= 0 or box[3] <= 0:
                if warn:
                    warn(f"image {entry['file_name']}: a box without a label or a size is left out")
                continue
            category = categories.setdefault(str(box_label), len(categories) + 1)
            x, y, w, h = box
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": category,
                                "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0,
                                "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]]})
    return {"images": images, "annotations": annotations,
            "categories": [{"id": i, "name": name, "supercategory": ""} for name, i in categories.items()]}


MAX_FOLDER_NAME = 100


def _folder_name(label: str) -> str:
    """A label as a folder name: unsafe characters replaced, and a long one cut with a hash (names over 255
    bytes cannot be made)."""
    name = _UNSAFE_NAME.sub("_", label).strip(". ") or "_"
    if len(name.encode("utf-8")) > MAX_FOLDER_NAME:
        cut = name.encode("utf-8")[:MAX_FOLDER_NAME - 9].decode("utf-8", "ignore")
        name = f"{cut}-{hash_value(label) & 0xFFFFFFFF:08x}"
    return name


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
        data: bytes | None = None
        for label in labels:
            if (label, key) in written:
                continue
            folder = out / _folder_name(label)
            try:
                if data is None:
                    # only images are copied: an answer may name any path (an imported one, say /etc/passwd)
                    data = read_bytes(image)  # a data URI, or a regular file (not a FIFO or a device)
                    if sniff_format(data) is None:
                        raise ImageError("not an image file (JPEG, PNG, WebP, GIF, BMP or TIFF)")
                folder.mkdir(parents=True, exist_ok=True)
                target = folder / name
                if target.exists():
                    target = folder / f"{target.stem}-{hash_value(key) & 0xFFFFFFFF:08x}{target.suffix}"
                if link and not is_data_uri(image):
                    try:
                        os.link(image, target)
                    except OSError:
                        target.write_bytes(data)
                else:
                    target.write_bytes(data)
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
