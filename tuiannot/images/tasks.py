"""Image tasks: folders and task files become lazy streams of checked image tasks; boxes as Prodigy stores them.

Each image is read, hashed and decoded in the stream step (the controller's
prefetch thread), so the screen finds it ready in the cache of :mod:`.decode`
(at an app's start, the images after the first wait until the screen drew it:
:meth:`~.decode.ImageCache.hold_start`);
a bad one is skipped with a warning naming the file and the reason (a folder has
no lines: the warning names the image file instead).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import InvalidRecord, SourceError
from ..sanitize import one_line
from ..sources import Source
from ..stream import Stream
from .decode import BASE_SIZE, CACHE, EXTENSIONS, ImageCache, ImageError, is_data_uri, load, resolve


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

    The decoded image goes to ``cache``, never into the task. At an app's start the cache may hold the prefetch
    here once the first image is ready, until the screen has drawn it (:meth:`ImageCache.hold_start`).
    """
    if cache is not None:
        cache.wait_start()
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
        stream: Stream = _FolderStream([], name=str(source))
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
        meta = task.get("meta")
        meta = meta if isinstance(meta, dict) else {}
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
