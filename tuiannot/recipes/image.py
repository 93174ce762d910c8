"""``image``: classify images, or draw boxes on them, with the keyboard, in the terminal.

One label asks a yes/no question about each image (screen ``image_classification``),
several ask a choice (``image_choice``: number keys toggle, ``a`` submits; with
``--exclusive`` a number key picks and submits), and ``--boxes`` draws labelled
boxes (``image_manual``). Answers are stored as Prodigy stores them: ``_view_id``
``classification``/``choice`` with ``label`` or ``accept``/``options``, or
``image_manual`` with ``spans`` of ``type: rect`` in the original image's pixels,
plus ``image`` (an absolute path, or a data URI with ``--store-images``),
``width`` and ``height`` (upright, after EXIF orientation).

The terminal's graphics are chosen here, before the app starts (the terminal's
replies would otherwise go to Textual's input thread): see :mod:`tuiannot.images.terminal`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UserError
from .registry import keyed_labels, parse_labels, recipe
from .options import DatasetOpt, ExcludeOpt, LabelOpt
from .textcat import _move_label_to_meta, ask_about

GRAPHICS = ("auto", "kitty", "sixel", "halfcell", "ascii")
PIXEL_BASE_MAX = 1024  # the pixel renderers send at most this (render.MAX_KITTY_PIXELS)


PREFETCH = 3
"""Decoded photos held ahead of the one on screen (each ~0.6 MB). The screen makes the half-blocks of the next two
while the current one is looked at, so three are enough; each costs ~11 ms of CPU to read, hash, decode and fit,
and with 8 the prefetch decoded 15 in the first 0.2 s of a start, beside Textual's import (issue 15)."""


@recipe("image", help="Classify images or draw boxes on them with the keyboard (works over SSH).")
def image(
    source: Annotated[str, typer.Argument(help="A folder of images (jpg, png, webp, gif, bmp, tiff; recursive) or "
                                               "a JSONL/JSON file of tasks with an 'image' path or data URI.",
                                          metavar="SOURCE", show_default=False)],
    label: LabelOpt,
    boxes: Annotated[bool, typer.Option("--boxes", help="Draw labelled boxes instead of classifying.")] = False,
    exclusive: Annotated[bool, typer.Option(
        "--exclusive", help="One label per image: a number key picks it and submits.")] = False,
    graphics: Annotated[str, typer.Option(
        "--graphics", help="How images are drawn: auto|kitty|sixel|halfcell|ascii. auto asks the terminal and "
                           "falls back to half-blocks (24-bit or 256 colours).", metavar="MODE")] = "auto",
    store_images: Annotated[bool, typer.Option(
        "--store-images", help="Embed each image in its answer (a base64 data URI), so that the dataset travels "
                               "without the folder. Default: store the path.")] = False,
    dataset: DatasetOpt = None,
    exclude: ExcludeOpt = None,
) -> dict[str, Any]:
    from ..images import decode, tasks
    from ..images.terminal import detect

    labels = keyed_labels(label, "CAT,DOG")
    if graphics not in GRAPHICS:
        raise UserError(f"--graphics {graphics!r}: choose from {', '.join(GRAPHICS)}")
    chosen = detect(graphics)
    base_size = decode.BASE_SIZE
    if chosen.pixels:
        import shutil

        columns, lines = shutil.get_terminal_size((120, 40))
        base_size = max(512, min(PIXEL_BASE_MAX, max(columns * chosen.cell[0], lines * chosen.cell[1])))
    stream = tasks.image_stream(source, size=base_size)
    if sys.stdin.isatty() and sys.stdout.isatty():  # the app will run: its first photo before the others' decoding
        decode.CACHE.hold_start()  # (released by the image screen once it drew it; issue 15)
    stream.map(_move_label_to_meta)
    if boxes:
        view_id = "image_manual"
        stream.map(_check_spans(labels, stream))
    else:
        view_id = f"image_{ask_about(stream, labels)}"  # image_classification or image_choice
    config: dict[str, Any] = {
        "choice_style": "single" if exclusive else "multiple",
        "graphics": chosen.mode, "colors": chosen.colors, "cell": list(chosen.cell),
        "graphics_reason": chosen.reason, "base_size": base_size, "store_images": store_images,
    }
    return {
        "dataset": dataset or Path(source.rstrip("/\\") or source).stem or "images",
        "stream": stream,
        "view_id": view_id,
        "labels": labels,
        "config": config,
        "exclude": parse_labels(exclude),
        "prefetch": PREFETCH,
        # boxes given in the source may change between runs: one image, one answer
        "exclude_by": "input" if boxes else "task",
        "before_db": _store_images(stream) if store_images else None,
    }


def _check_spans(labels: list[str], stream: Any) -> Any:
    """Boxes a task already has (pre-annotations) are kept when they are rectangles inside the image."""
    from ..images.tasks import rect_span, span_box

    def check(task: dict[str, Any]) -> dict[str, Any]:
        given = task.get("spans")
        if not given:
            task["spans"] = []
            return task
        kept = []
        for span in given if isinstance(given, list) else []:
            box = span_box(span) if isinstance(span, dict) else None
            if box is None or not span.get("label"):
                stream.note("a box without a label or coordinates is left out")
                continue
            x, y, w, h = box
            x0, y0 = max(0.0, x), max(0.0, y)
            x1, y1 = min(float(task["width"]), x + w), min(float(task["height"]), y + h)
            if x1 - x0 < 1 or y1 - y0 < 1:
                stream.note(f"box {span['label']!s:.40} at {x:g},{y:g} is outside the image: left out")
                continue
            kept.append(rect_span(str(span["label"]), round(x0), round(y0), round(x1 - x0), round(y1 - y0)))
        task["spans"] = kept
        return task

    return check


def _store_images(stream: Any) -> Any:
    """With ``--store-images``: the image itself in the answer (a data URI), its path in ``meta``."""
    from ..images.decode import ImageError, data_uri, is_data_uri, read_bytes

    def before_db(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for task in tasks:
            ref = task.get("image")
            if isinstance(ref, str) and not is_data_uri(ref):
                try:
                    data = read_bytes(ref)
                except ImageError as e:
                    stream.note(f"{ref}: stored by path, not embedded ({e})")
                    continue
                task["image"] = data_uri(data)
                meta = task.get("meta")
                meta = meta if isinstance(meta, dict) else {}
                meta.setdefault("path", ref)
                task["meta"] = meta
        return tasks

    return before_db
