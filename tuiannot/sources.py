"""Sources: lazy readers that turn files into records, one at a time.

Every loader reads the file incrementally (constant memory, a multi-gigabyte
file starts at once) and yields :class:`Record` objects: a task, or the reason
why the line could not become one, always with the line number and the byte
offset reached (the source's progress). Loaders never raise for a bad record;
the stream decides whether to skip it (with a warning) or stop (``--strict``).
A source that cannot be read at all raises :class:`SourceError` when opened.

A regular file may be read several times (its header is checked, then it is
read from the start). A pipe, a FIFO, a device or standard input (``-``) is
opened once and read once, in order, from the start: the bytes the checks look
at are kept and read again by the loader, never lost, and nothing seeks. On a
restart such a source is read anew from its beginning, and tasks already
answered are skipped as they come.

Parquet (``--loader parquet``, ``parquet:COLUMN`` for a text column not named ``text``) is read by row groups by
:class:`tuiannot.data.parquet.ParquetReader`: a record is a row, offsets and :attr:`Source.size` count rows. It and
a plugin's loader (``--loader NAME``: :func:`loader_plugin`) are found by name when needed: they import this module.
"""

from __future__ import annotations

import codecs
import csv
import importlib
import io
import json
import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator

from .errors import SourceError
from .tasks import LONE_SURROGATE, STRICT_JSON as _DECODER, lone_surrogate as _lone_surrogate
from .tasks import unreadable_json as _unreadable

MAX_RECORD_BYTES = 10 * 1024 * 1024
COUNT_LINES_LIMIT = 64 * 1024 * 1024  # lines are counted up to this size (~30 ms from the page cache)
STDIN = "-"
"""A source named ``-`` is standard input."""
LOADERS = ("jsonl", "json", "csv", "tsv", "txt", "parquet")
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv", ".txt": "txt",
              ".parquet": "parquet"}
LOADER_GROUP = "tuiannot.loaders"
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
        self.name = "<stdin>" if str(path) == STDIN else str(path)
        self.loader, _, column = (loader or guess_loader(self.path)).partition(":")
        self._plugin = loader_plugin(self.loader, self.name) if self.loader not in LOADERS else None
        if column and self.loader != "parquet":
            raise SourceError(f"{self.name}: only the parquet loader takes a column ('parquet:COLUMN')")
        self.validate = validate
        self.max_record_bytes = max_record_bytes
        self.offset = 0
        self._stream: BinaryIO | None = None  # a pipe, FIFO, device or stdin: opened once, read once
        self._head = b""  # what the checks read of it: read again by the loader
        self._read = False
        self._lines: int | None = None  # line_count(), once counted (-1: not countable)
        self._start: tuple[int, int] | None = None  # start_at(): (byte offset, line) to read from
        self._parquet: Any = None  # a Parquet file's reader (tuiannot.data.parquet)
        if self._plugin is not None:  # the plugin reads the path its own way
            self.size = 0
            return
        if self.loader == "parquet":
            if str(path) == STDIN or _is_special(self.path):
                raise SourceError(f"{self.name}: Parquet is read from its end (its footer): give a file, not a pipe")
            _check_readable(self.path, text=False)
            reader = importlib.import_module("tuiannot.data.parquet").ParquetReader  # above this module: by name
            self._parquet = reader(self.path, self.name, column, max_record_bytes)
            self.size = self._lines = self._parquet.rows
            return
        if str(path) == STDIN or _is_special(self.path):
            self.size = 0
            self._stream = _open_special(self.path, self.name)
            self._head = _read_head(self._stream, self.loader in ("csv", "tsv"))
            head = self._head
        else:
            self.size = _check_readable(self.path)
            head = b""
        if self._stream is not None and b"\x00" in head[:8192]:
            raise SourceError(f"{self.name}: looks like a binary file, not text")
        if self.loader in ("csv", "tsv"):
            self._columns = _csv_header(self.path, "\t" if self.loader == "tsv" else ",",
                                        head if self._stream is not None else None, self.name)
        if self.loader == "json" and _first_char(self.path, head if self._stream is not None else None) != "[":
            raise SourceError(f"{self.name}: expected a JSON array of tasks")  # at open, not mid-stream

    def __iter__(self) -> Iterator[Record]:
        reader = {"jsonl": self._jsonl, "json": self._json, "csv": self._csv, "tsv": self._csv, "txt": self._txt,
                  "parquet": lambda: self._parquet.records(self._start[0] if self._start else 0)
                  }.get(self.loader, self._from_plugin)
        for record in reader():
            self.offset = record.offset
            if record.error is None and self.validate is not None:
                record.error = self.validate(record.task)
                if record.error is not None:
                    record.task = None
            yield record

    @property
    def progress(self) -> float | None:
        """The share of the file read (bytes; a Parquet file's rows); None for a pipe (size unknown), a plugin's."""
        if self._stream is not None or self._plugin is not None:
            return None
        return 1.0 if not self.size else min(1.0, self.offset / self.size)

    @property
    def seekable(self) -> bool:
        """Whether :meth:`start_at` can skip to a record: a regular file whose records are lines, or Parquet."""
        return self._stream is None and self.loader in ("jsonl", "txt", "parquet")

    def start_at(self, offset: int, line: int) -> None:
        """Read from ``offset``, the start of the record on ``line``, instead of from the beginning (a resume,
        see :mod:`tuiannot.resume`); ``start_at(0, 1)`` reads from the beginning again."""
        if not self.seekable:
            raise SourceError(f"{self.name}: only a regular JSONL, TXT or Parquet file can be read from a given record")
        self._start = (offset, line) if offset else None

    def fingerprint(self, offset: int) -> str | None:
        """What a resume checkpoint at ``offset`` compares, when the source has its own (a Parquet file: size, time,
        footer); None: the bytes before ``offset`` tell (:mod:`tuiannot.resume` hashes them)."""
        return self._parquet.fingerprint(offset) if self._parquet is not None else None

    def line_count(self) -> int | None:
        """How many lines the file has, where a line is a record (JSONL, TXT) and counting is cheap: a regular
        file of at most :data:`COUNT_LINES_LIMIT` bytes (read once, then remembered). None otherwise: a pipe
        (read once), a CSV or JSON file (a record may span lines), a bigger file (counting would be a second
        full read of it); progress is then told by bytes, or by line alone."""
        if self._lines is None:
            self._lines = -1
            if self._stream is None and self.loader in ("jsonl", "txt") and self.size <= COUNT_LINES_LIMIT:
                try:
                    with open(self.path, "rb") as f:
                        lines = last = 0
                        while chunk := f.read(1 << 20):
                            lines += chunk.count(b"\n")
                            last = chunk[-1]
                    self._lines = lines + (1 if last and last != ord("\n") else 0)
                except OSError:
                    pass
        return self._lines if self._lines >= 0 else None

    @property
    def counted_lines(self) -> int | None:
        """:meth:`line_count` if it has been counted already (never reads: for the screen's thread)."""
        return self._lines if self._lines is not None and self._lines >= 0 else None

    def _open(self) -> BinaryIO:
        """The bytes from the start: the file opened anew, or the pipe's kept head and then the rest of it."""
        if self._stream is None:
            return open(self.path, "rb")
        if self._read:
            raise SourceError(f"{self.name}: a pipe or FIFO can be read only once")
        self._read = True
        return io.BufferedReader(_Prefixed(self._head, self._stream), 1 << 16)  # type: ignore[arg-type]

    # -- loaders -----------------------------------------------------------------

    def _raw_lines(self) -> Iterator[tuple[int, int, bytes | None, str | None]]:
        """(line number, offset after it, bytes or None, error) for every physical line."""
        limit = self.max_record_bytes
        with self._open() as f:
            lineno = offset = 0
            if self._start is not None:  # a resume: from the start of a record (a line), counted on from there
                offset, lineno = self._start[0], self._start[1] - 1
                f.seek(offset)
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
                    record.task = _DECODER.decode(line)
                except json.JSONDecodeError as e:
                    record.task, record.error = None, f"invalid JSON: {e.msg} (column {e.colno})"
                except (ValueError, RecursionError) as e:  # a poison record: skipped like any bad one
                    record.task, record.error = None, _unreadable(e)
                if record.error is None and _lone_surrogate(line, 0, len(line), record.task):
                    record.task, record.error = None, LONE_SURROGATE
            yield record

    def _txt(self) -> Iterator[Record]:
        for record, text in self._decoded_lines():
            if text is not None:
                line = text.rstrip("\r\n")
                if not line.strip():
                    continue
                record.task = {"text": line}
            yield record

    def _from_plugin(self) -> Iterator[Record]:
        """A plugin's loader: its :class:`Record` objects, its n-th dict record n; an exception ends the reading."""
        assert self._plugin is not None
        count, end = 0, object()
        try:
            items = iter(self._plugin(self.name if self.name == "<stdin>" else str(self.path)))
            while (item := next(items, end)) is not end:
                count += 1
                yield item if isinstance(item, Record) else Record(count, count, task=item) if isinstance(item, dict) \
                    else Record(count, count, error=f"the loader gave {type(item).__name__}, not a task (a dict)")
        except (SourceError, GeneratorExit):
            raise
        except Exception as e:  # the plugin's code: one line, as a source that cannot be read
            raise SourceError(f"{self.name}: the loader '{self.loader}' failed after {count} record"
                              f"{'s' if count != 1 else ''}: {type(e).__name__}: {e}") from None

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
        decoder = _DECODER
        incremental = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        limit = self.max_record_bytes
        with self._open() as f:
            buf, pos, line, eof, read = "", 0, 1, False, 0

            def fill() -> bool:
                nonlocal buf, pos, eof, read
                if eof:
                    return False
                chunk = f.read(1 << 16)
                read += len(chunk)  # counted, not asked of the file: a pipe cannot tell
                if not chunk:
                    eof = True
                    buf = buf[pos:] + incremental.decode(b"", final=True)
                else:
                    if read == len(chunk) and chunk.startswith(_BOM):
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

            if skip_ws() != "[":  # checked at open too: only a file changed since then gets here
                raise SourceError(f"{self.name}: expected a JSON array of tasks")
            pos += 1
            first = True
            while True:
                c = skip_ws()
                if c == "]":  # the end of the array: anything after it but space is reported, not ignored
                    pos += 1
                    if skip_ws():
                        yield Record(line, read, error="text after the end of the JSON array (']'): ignored")
                    return
                if not first:
                    if c != ",":
                        yield Record(line, read, error="invalid JSON: expected ',' or ']' after an element; "
                                                           "the rest of the file is skipped" if c else
                                                           "unexpected end of file: the JSON array is not closed")
                        return
                    pos += 1
                    c = skip_ws()
                if c == "":
                    yield Record(line, read, error="unexpected end of file: the JSON array is not closed")
                    return
                poison = None
                while True:
                    try:
                        task, end = decoder.raw_decode(buf, pos)
                        break
                    except (ValueError, RecursionError) as e:
                        if not isinstance(e, json.JSONDecodeError):  # well-formed, but Python cannot hold it
                            while (end := _element_end(buf, pos)) < 0 and len(buf) - pos <= limit and fill():
                                pass
                            if end >= 0:
                                poison = _unreadable(e)
                                break
                        if len(buf) - pos > limit or not fill():
                            reason = (f"record too large (over {_size(limit)})" if len(buf) - pos > limit
                                      else f"invalid JSON: {e.msg}" if isinstance(e, json.JSONDecodeError)
                                      else _unreadable(e))
                            yield Record(line, read, error=f"{reason}; the rest of the file is skipped")
                            return
                first = False
                record_line = line
                line += buf.count("\n", pos, end)
                if poison is not None:
                    pos = end
                    yield Record(record_line, read, error=poison)
                    continue
                bad = _ESCAPED_BYTE.search(buf, pos, end)
                start, pos = pos, end
                if bad:
                    yield Record(record_line, read, error="invalid UTF-8")
                elif _lone_surrogate(buf, start, end, task):
                    yield Record(record_line, read, error=LONE_SURROGATE)
                else:
                    yield Record(record_line, read, task=task)


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_STRUCTURE = re.compile(r'["\\\[\]{},]')
def _element_end(buf: str, pos: int) -> int:
    """Where the JSON value at ``pos`` ends (strings and brackets matched), or -1 if ``buf`` ends first."""
    depth, in_string, i = 0, False, pos
    while True:
        m = _STRUCTURE.search(buf, i)
        if m is None:
            return -1
        c, i = m.group(), m.end()
        if in_string:
            if c == "\\":
                i += 1
            elif c == '"':
                in_string = False
                if depth == 0:
                    return i
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
        elif c in "]}":
            if depth == 0:
                return m.start()  # a scalar ended by the array's close
            depth -= 1
            if depth == 0:
                return i
        elif c == "," and depth == 0:
            return m.start()


def _first_char(path: Path, head: bytes | None = None) -> str:
    if head is None:
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


def loader_plugin(name: str, source: str = "") -> Callable[[str], Iterable[Any]]:
    """The loader a plugin adds as ``name`` (entry-point group ``tuiannot.loaders``), imported now: a callable given
    the path that yields tasks, or :class:`Record` objects (its own line numbers; ``error`` for a record to skip with
    a warning); :class:`~tuiannot.errors.SourceError` for a source it cannot read (:mod:`tuiannot.recipes.plugins`)."""
    from importlib.metadata import entry_points

    where, found = f"{source}: " if source else "", list(entry_points(group=LOADER_GROUP, name=name))
    if not found:
        plugins = ", ".join(sorted({ep.name for ep in entry_points(group=LOADER_GROUP)}))
        raise SourceError(f"{where}unknown loader '{name}' (choose from {', '.join(LOADERS)}"
                          f"{'; from plugins: ' + plugins if plugins else ''})")
    dist = getattr(found[0], "dist", None)
    named = f"'{name}'" + (f" (from {dist.name} {dist.version})" if dist is not None else "")
    try:
        loader = found[0].load()
    except Exception as e:  # the plugin's code: one line naming it
        raise SourceError(f"{where}the loader plugin {named} failed to import: {type(e).__name__}: {e}") from None
    if not callable(loader):
        raise SourceError(f"{where}the loader plugin {named} is not callable ({type(loader).__name__})")
    return loader  # type: ignore[no-any-return]


def _is_special(path: Path) -> bool:
    """A pipe, FIFO, socket or device (following symlinks, so ``<(cmd)``'s /dev/fd/63 is one)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False  # missing: _check_readable says so
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _open_special(path: Path, name: str) -> BinaryIO:
    if str(path) == STDIN:
        return sys.stdin.buffer
    try:
        return open(path, "rb", buffering=0)  # a FIFO waits here for its writer, as `cat` would
    except OSError as e:
        raise SourceError(f"{name}: cannot be read ({e.strerror})") from None


def _read_head(stream: BinaryIO, whole_line: bool) -> bytes:
    """The first bytes of a pipe, for the checks: 8 KB, or with ``whole_line`` at least the first line
    (a CSV header), at most :data:`MAX_RECORD_BYTES`. They are read again by the loader."""
    head = b""
    try:
        while len(head) < MAX_RECORD_BYTES:
            chunk = _read_some(stream, 1 << 16)
            if not chunk:
                break
            head += chunk
            if len(head) >= 8192 and (not whole_line or b"\n" in head):
                break
    except OSError as e:
        raise SourceError(f"cannot read the source ({e.strerror})") from None
    return head


def _read_some(stream: BinaryIO, size: int) -> bytes:
    """What the pipe has now, up to ``size`` bytes (one read; b"" at the end)."""
    read1 = getattr(stream, "read1", None)  # a buffered stream's read(n) would wait for all n bytes
    return read1(size) if read1 is not None else stream.read(size)


class _Prefixed(io.RawIOBase):
    """Bytes already read from a pipe, then the rest of the pipe: the loader reads from the start."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        chunk = _read_some(self._rest, len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        if self._rest is not sys.stdin.buffer:
            self._rest.close()
        super().close()


def _check_readable(path: Path, text: bool = True) -> int:
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if path.is_dir():
        raise SourceError(f"{path}: is a directory, not a file")
    try:
        with open(path, "rb") as f:
            head = f.read(8192)
    except OSError as e:
        raise SourceError(f"{path}: cannot be read ({e.strerror})") from None
    if text and b"\x00" in head:
        raise SourceError(f"{path}: looks like a binary file, not text")
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _csv_header(path: Path, delimiter: str, head: bytes | None = None, name: str | None = None) -> list[str]:
    if head is None:
        with open(path, "rb") as f:
            raw = f.readline(MAX_RECORD_BYTES)
    else:
        raw = head.split(b"\n", 1)[0]
    path = Path(name) if name is not None else path
    if raw.startswith(_BOM):
        raw = raw[len(_BOM):]
    try:
        header = next(csv.reader([raw.decode("utf-8")], delimiter=delimiter), [])
    except (UnicodeDecodeError, csv.Error) as e:
        raise SourceError(f"{path}:1: cannot read the CSV header ({e})") from None
    header = [h.strip() for h in header]
    lowered = [h.lower() for h in header]
    if "text" not in lowered:
        raise SourceError(f"{path}:1: the CSV header has no 'text' column (columns: {', '.join(header) or 'none'})")
    if lowered.count("text") > 1:
        where = ", ".join(str(i) for i, h in enumerate(lowered, 1) if h == "text")
        raise SourceError(f"{path}:1: the CSV header has {lowered.count('text')} 'text' columns (columns {where}): "
                          "rename all but the one to annotate")
    return header
