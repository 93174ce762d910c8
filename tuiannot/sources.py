"""Sources: lazy readers that turn files into records, one at a time.

Every loader reads the file incrementally (constant memory, a multi-gigabyte
file starts at once) and yields :class:`Record` objects: a task, or the reason
why the line could not become one, always with the line number and the byte
offset reached (the source's progress). Loaders never raise for a bad record;
the stream decides whether to skip it (with a warning) or stop (``--strict``).
A source that cannot be read at all raises :class:`SourceError` when opened.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from .errors import SourceError

MAX_RECORD_BYTES = 10 * 1024 * 1024
LOADERS = ("jsonl", "json", "csv", "tsv", "txt")
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv", ".txt": "txt"}
_BOM = codecs.BOM_UTF8


@dataclass(slots=True)
class Record:
    line: int
    offset: int
    task: dict[str, Any] | None = None
    error: str | None = None


def check_text_task(task: Any) -> str | None:
    """Why ``task`` is not a valid text task, or None when it is."""
    if not isinstance(task, dict):
        return f"expected a JSON object, got {_type_name(task)}"
    if "text" not in task:
        return "no 'text' field"
    text = task["text"]
    if not isinstance(text, str):
        return f"'text' must be a string, not {_type_name(text)}"
    if not text.strip():
        return "empty 'text'"
    if "meta" in task and not isinstance(task["meta"], dict):
        return f"'meta' must be an object, not {_type_name(task['meta'])}"
    return None


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


@dataclass(slots=True)
class _CsvState:
    """How far the lines fed to the CSV reader have gone: the physical line and offset last read, and
    the first problem met in the row being read (the csv module sees only text)."""

    line: int = 0
    offset: int = 0
    bad: str | None = None


class Source:
    """A readable file and the loader that reads it; iterate it for records."""

    def __init__(self, path: str | os.PathLike[str], loader: str | None = None,
                 validate: Callable[[Any], str | None] | None = check_text_task,
                 max_record_bytes: int = MAX_RECORD_BYTES) -> None:
        self.path = Path(path)
        self.name = str(path)
        self.loader = loader or guess_loader(self.path)
        if self.loader not in LOADERS:
            raise SourceError(f"{self.name}: unknown loader '{self.loader}' (choose from {', '.join(LOADERS)})")
        self.validate = validate
        self.max_record_bytes = max_record_bytes
        self.size = _check_readable(self.path)
        self.offset = 0
        if self.loader in ("csv", "tsv"):
            self._columns = _csv_header(self.path, "\t" if self.loader == "tsv" else ",")
        if self.loader == "json" and _first_char(self.path) not in ("[", ""):
            raise SourceError(f"{self.name}: expected a JSON array of tasks")

    def __iter__(self) -> Iterator[Record]:
        reader = {"jsonl": self._jsonl, "json": self._json, "csv": self._csv, "tsv": self._csv,
                  "txt": self._txt}[self.loader]
        for record in reader():
            self.offset = record.offset
            if record.error is None and self.validate is not None:
                record.error = self.validate(record.task)
                if record.error is not None:
                    record.task = None
            yield record

    @property
    def progress(self) -> float:
        return 1.0 if not self.size else min(1.0, self.offset / self.size)

    # -- loaders -----------------------------------------------------------------

    def _raw_lines(self) -> Iterator[tuple[int, int, bytes | None, str | None]]:
        """(line number, offset after it, bytes or None, error) for every physical line."""
        limit = self.max_record_bytes
        with open(self.path, "rb") as f:
            lineno = offset = 0
            while True:
                line = f.readline(limit + 1)
                if not line:
                    return
                lineno += 1
                offset += len(line)
                if lineno == 1 and line.startswith(_BOM):
                    line = line[len(_BOM):]
                if len(line) > limit and not line.endswith(b"\n"):
                    size = len(line)
                    while chunk := f.readline(1 << 20):
                        size += len(chunk)
                        offset += len(chunk)
                        if chunk.endswith(b"\n"):
                            break
                    yield lineno, offset, None, f"record too large ({_size(size)}; the limit is {_size(limit)})"
                    continue
                yield lineno, offset, line, None

    def _decoded_lines(self) -> Iterator[tuple[Record, str | None]]:
        """(record, decoded line) for every physical line: a record to fill in and the line, or a
        record with the error and None."""
        for lineno, offset, raw, error in self._raw_lines():
            if raw is None:  # too large: the error says why
                yield Record(lineno, offset, error=error), None
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield Record(lineno, offset, error=f"invalid UTF-8 at byte {e.start}"), None
                continue
            yield Record(lineno, offset), text

    def _jsonl(self) -> Iterator[Record]:
        for record, text in self._decoded_lines():
            if text is not None:
                line = text.strip()
                if not line:
                    continue
                try:
                    record.task = json.loads(line)
                except json.JSONDecodeError as e:
                    record.task, record.error = None, f"invalid JSON: {e.msg} (column {e.colno})"
            yield record

    def _txt(self) -> Iterator[Record]:
        for record, text in self._decoded_lines():
            if text is not None:
                line = text.rstrip("\r\n")
                if not line.strip():
                    continue
                record.task = {"text": line}
            yield record

    def _csv(self) -> Iterator[Record]:
        delimiter = "\t" if self.loader == "tsv" else ","
        state = _CsvState()

        def lines() -> Iterator[str]:
            for lineno, offset, raw, error in self._raw_lines():
                state.line, state.offset = lineno, offset
                if raw is None:  # too large: the error says why
                    state.bad = state.bad or error
                    yield "\n"
                    continue
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    state.bad = state.bad or f"invalid UTF-8 at byte {e.start}"
                    yield raw.decode("utf-8", errors="replace")

        csv.field_size_limit(self.max_record_bytes)
        reader = csv.reader(lines(), delimiter=delimiter)
        columns = self._columns
        text_index = [c.lower() for c in columns].index("text")
        first_line = 1
        try:
            next(reader)  # the header
        except StopIteration:
            return
        while True:
            first_line = state.line + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                yield Record(state.line, state.offset, error=f"invalid CSV: {e}")
                state.bad = None
                continue
            line, bad = first_line, state.bad
            state.bad = None
            if bad:
                yield Record(line, state.offset, error=bad)
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(columns):
                yield Record(line, state.offset,
                             error=f"expected {len(columns)} fields (as in the header), got {len(row)}")
                continue
            meta = {c: v for i, (c, v) in enumerate(zip(columns, row, strict=True)) if i != text_index}
            task: dict[str, Any] = {"text": row[text_index]}
            if meta:
                task["meta"] = meta
            yield Record(line, state.offset, task=task)

    def _json(self) -> Iterator[Record]:
        """Stream the objects of a top-level JSON array without loading the whole file.

        Bytes are decoded with ``surrogateescape``, so an invalid UTF-8 sequence becomes
        lone surrogates inside the one element that holds it: that element is reported
        and the elements around it are kept.
        """
        decoder = json.JSONDecoder()
        incremental = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        limit = self.max_record_bytes
        with open(self.path, "rb") as f:
            buf, pos, line, eof = "", 0, 1, False

            def fill() -> bool:
                nonlocal buf, pos, eof
                if eof:
                    return False
                chunk = f.read(1 << 16)
                if not chunk:
                    eof = True
                    buf = buf[pos:] + incremental.decode(b"", final=True)
                else:
                    if f.tell() == len(chunk) and chunk.startswith(_BOM):
                        chunk = chunk[len(_BOM):]
                    buf = buf[pos:] + incremental.decode(chunk)
                pos = 0
                return True

            def skip_ws() -> str:
                nonlocal pos, line
                while True:
                    while pos < len(buf) and buf[pos] in " \t\r\n":
                        line += buf[pos] == "\n"
                        pos += 1
                    if pos < len(buf):
                        return buf[pos]
                    if not fill():
                        return ""

            if skip_ws() != "[":
                raise SourceError(f"{self.name}: expected a JSON array of tasks")
            pos += 1
            first = True
            while True:
                c = skip_ws()
                if c == "]" and first:
                    return
                if not first:
                    if c == "]":
                        return
                    if c != ",":
                        yield Record(line, f.tell(), error="invalid JSON: expected ',' or ']' after an element; "
                                                           "the rest of the file is skipped" if c else
                                                           "unexpected end of file: the JSON array is not closed")
                        return
                    pos += 1
                    c = skip_ws()
                if c == "":
                    yield Record(line, f.tell(), error="unexpected end of file: the JSON array is not closed")
                    return
                while True:
                    try:
                        task, end = decoder.raw_decode(buf, pos)
                        break
                    except json.JSONDecodeError as e:
                        if len(buf) - pos > limit or not fill():
                            reason = (f"record too large (over {_size(limit)})" if len(buf) - pos > limit
                                      else f"invalid JSON: {e.msg}")
                            yield Record(line, f.tell(), error=f"{reason}; the rest of the file is skipped")
                            return
                first = False
                record_line = line
                line += buf.count("\n", pos, end)
                bad = _ESCAPED_BYTE.search(buf, pos, end)
                pos = end
                if bad:
                    yield Record(record_line, f.tell(), error="invalid UTF-8")
                else:
                    yield Record(record_line, f.tell(), task=task)


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def _first_char(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(4096)
    if head.startswith(_BOM):
        head = head[len(_BOM):]
    stripped = head.lstrip(b" \t\r\n")
    return stripped[:1].decode("latin-1")


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size} bytes"


def guess_loader(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    raise SourceError(f"{path}: cannot tell the format from the extension '{suffix or '(none)'}'; "
                      f"pass --loader ({', '.join(LOADERS)})")


def _check_readable(path: Path) -> int:
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if path.is_dir():
        raise SourceError(f"{path}: is a directory, not a file")
    try:
        with open(path, "rb") as f:
            head = f.read(8192)
    except OSError as e:
        raise SourceError(f"{path}: cannot be read ({e.strerror})") from None
    if b"\x00" in head:
        raise SourceError(f"{path}: looks like a binary file, not text")
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _csv_header(path: Path, delimiter: str) -> list[str]:
    with open(path, "rb") as f:
        raw = f.readline(MAX_RECORD_BYTES)
    if raw.startswith(_BOM):
        raw = raw[len(_BOM):]
    try:
        header = next(csv.reader([raw.decode("utf-8")], delimiter=delimiter), [])
    except (UnicodeDecodeError, csv.Error) as e:
        raise SourceError(f"{path}:1: cannot read the CSV header ({e})") from None
    header = [h.strip() for h in header]
    if "text" not in [h.lower() for h in header]:
        raise SourceError(f"{path}:1: the CSV header has no 'text' column (columns: {', '.join(header) or 'none'})")
    return header
