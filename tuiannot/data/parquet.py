"""Parquet in and out: a source of tasks read by row groups, and ``db-out --format parquet``'s writer.

Both need pyarrow, the ``parquet`` extra (``pip install 'tuiannot[parquet]'``); without it they fail with one
line that names the extra. pyarrow is imported when a Parquet file is opened, never before.

**Reading** (:class:`ParquetReader`, what :class:`~tuiannot.sources.Source` reads a ``.parquet`` file or
``--loader parquet`` with): a row is a task, its text the text column (``text``, or the one ``--loader
parquet:COLUMN`` names: the exact name, else the one name that matches it but for case) and every other column
goes into ``meta`` by its name. The file is read a batch of rows at a time with
``ParquetFile.iter_batches`` (only the row groups from where reading starts), so memory stays about one row
group's worth, whatever the file's size. A record's place is its row: ``line`` is the row's number (from 1, over
the whole file) and ``offset`` the rows read through it, so warnings say ``file.parquet:ROW: reason`` and the
progress is the share of rows. A resume (:mod:`tuiannot.resume`) starts at a row: the row group holding it is
found from the row counts in the file's footer, reading starts at that row group and passes over the rows of it
before the one wanted; the checkpoint's fingerprint is the file's size, modification time and a hash of its
footer (its schema and row groups), so any rewrite of the file means reading it from the start.

A row whose text is null, not a string (a number, say), invalid UTF-8 (a binary column) or over the record size
limit is skipped with a warning naming file, row and column, as a bad line of a JSONL file is. The other columns
are made JSON, by one rule per type: null stays null; booleans, integers and strings stay as they are; a float
too (NaN and infinities, which JSON cannot hold, become null); a decimal becomes its exact text (``"12.50"``); a
timestamp, date or time its ISO 8601 text (``"2024-05-01T12:30:00"``; a timestamp with a time zone in UTC,
``"2024-05-01T10:30:00+00:00"``; to the microsecond: nanoseconds are cut); a duration its seconds (a number);
binary data its text when it is UTF-8 (old writers store strings so), else base64; a list a list, a struct an
object, a map a list of ``[key, value]`` pairs, a dictionary-encoded (categorical) value its value.

**Writing** (:func:`export_answers`, ``db-out DATASET OUT.parquet --format parquet``): the stored answers as rows,
the task's top-level fields as columns in the order first met. A column whose values are all of one kind gets
that type: ``bool``, ``int64``, ``double`` (whole numbers and fractions together, unless a whole number is too
big for a double to hold exactly) or ``string``. Any other column (objects and arrays such as ``meta``,
``spans``, ``accept`` or ``tokens``; mixed kinds; integers beyond 64 bits) is a ``string`` column holding each
value's JSON text (``json.loads`` gives the value back). A field an answer lacks is null in its row. The
answers are read twice (once for the columns' types, once to write), 10,000 rows to a row group, so memory
stays flat; the file goes through :func:`~tuiannot.data.files.output_file` (a half-written export never
replaces a good one).
"""

from __future__ import annotations

import base64
import datetime
import decimal
import hashlib
import itertools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator

from ..errors import SourceError, UserError
from ..sources import MAX_RECORD_BYTES, Record

EXTRA = "pip install 'tuiannot[parquet]'"
BATCH_ROWS = 1_000  # rows turned into Python objects at a time
ROW_GROUP_ROWS = 10_000  # rows a row group of an export holds
_MAX_EXACT = 2 ** 53  # whole numbers beyond it lose digits as doubles


def pyarrow_parquet(doing: str, error: type[UserError] = UserError) -> Any:
    """``pyarrow.parquet``, or a one-line ``error`` naming the extra that brings it."""
    try:
        import pyarrow.parquet as pq  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError as e:
        raise error(f"{doing} needs pyarrow, which is not installed ({e}): {EXTRA}") from None
    return pq


class ParquetReader:
    """The rows of a Parquet file as :class:`~tuiannot.sources.Record` objects (see the module's docstring)."""

    def __init__(self, path: str | os.PathLike[str], name: str, column: str | None = None,
                 max_record_bytes: int = MAX_RECORD_BYTES) -> None:
        self.path, self.name = Path(path), name
        self.wanted = column or "text"
        self.max_record_bytes = max_record_bytes
        pq = pyarrow_parquet(f"{name}: reading Parquet", SourceError)
        with self._open(pq) as f:
            self.column = self._text_column(f.schema_arrow.names)
            self.row_groups = [f.metadata.row_group(i).num_rows for i in range(f.metadata.num_row_groups)]
        self.rows = sum(self.row_groups)

    def _open(self, pq: Any) -> Any:
        try:
            return pq.ParquetFile(self.path)
        except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid (not Parquet, truncated) is a ValueError
            raise SourceError(f"{self.name}: cannot be read as Parquet ({str(e).splitlines()[0][:200]})") from None

    def _text_column(self, names: list[str]) -> str:
        found = [n for n in names if n == self.wanted] or [n for n in names if n.lower() == self.wanted.lower()]
        shown = ", ".join(names) or "none"
        if not found:
            raise SourceError(f"{self.name}: no column '{self.wanted}' for the text (columns: {shown}); choose "
                              "one with --loader parquet:COLUMN")
        if len(found) > 1:
            raise SourceError(f"{self.name}: {len(found)} columns match '{self.wanted}' ({', '.join(found)}); "
                              "name one exactly with --loader parquet:COLUMN")
        return found[0]

    def place(self, row: int) -> tuple[int, int]:
        """The row group holding the row after ``row`` rows, and the rows of that group before it."""
        for group, count in enumerate(self.row_groups):
            if row < count:
                return group, row
            row -= count
        return len(self.row_groups), 0

    def records(self, start: int = 0) -> Iterator[Record]:
        """The records from the row after ``start`` rows (a resume) to the end."""
        pq = pyarrow_parquet(f"{self.name}: reading Parquet", SourceError)
        group, skip = self.place(start)
        row = start
        with self._open(pq) as f:
            names = f.schema_arrow.names
            if self.column not in names:
                raise SourceError(f"{self.name}: the column '{self.column}' is gone (the file changed while read)")
            for batch in _batches(f, group):
                if skip:
                    if skip >= batch.num_rows:
                        skip -= batch.num_rows
                        continue
                    batch, skip = batch.slice(skip), 0
                columns = {n: _python_values(batch.column(i)) for i, n in enumerate(batch.schema.names)}
                texts = columns.pop(self.column)
                for i, text in enumerate(texts):
                    row += 1
                    error = self._text_problem(text)
                    if error is not None:
                        yield Record(row, row, error=error)
                        continue
                    task: dict[str, Any] = {"text": text if isinstance(text, str) else text.decode("utf-8")}
                    if columns:
                        task["meta"] = {n: jsonable(values[i]) for n, values in columns.items()}
                    yield Record(row, row, task=task)

    def _text_problem(self, text: Any) -> str | None:
        column = self.column
        if text is None:
            return f"the text column '{column}' is null"
        if isinstance(text, bytes):
            try:
                text.decode("utf-8")
            except UnicodeDecodeError as e:
                return f"the text column '{column}' holds invalid UTF-8 (at byte {e.start})"
        elif not isinstance(text, str):
            return f"the text column '{column}' holds {type(text).__name__} {str(text)[:40]!r}, not a string"
        if len(text) > self.max_record_bytes:
            return f"record too large (the text has {len(text):,} characters; the limit is {self.max_record_bytes:,})"
        return None

    def fingerprint(self, start: int) -> str:
        """What a resume checkpoint at row ``start`` compares: the size, the modification time and a hash of the
        footer (schema, row groups); OSError for a file that no longer has that row, or is no Parquet file."""
        if start > self.rows:
            raise OSError("the file has fewer rows than the checkpoint")
        with open(self.path, "rb") as f:
            st = os.fstat(f.fileno())
            f.seek(max(0, st.st_size - 8))
            tail = f.read(8)
            if len(tail) != 8 or tail[4:] != b"PAR1":
                raise OSError("not a Parquet file")
            length = int.from_bytes(tail[:4], "little")
            f.seek(max(0, st.st_size - 8 - length))
            footer = f.read(length)
        return f"{st.st_size}:{st.st_mtime_ns}:{hashlib.sha256(footer).hexdigest()[:32]}"


def _batches(f: Any, first: int) -> Iterator[Any]:
    """The batches of the row groups from ``first`` on, a row group at a time: pyarrow's reader over several row
    groups keeps memory for all it has read (80 MB more after an 80 MB file), one at a time it does not."""
    for group in range(first, f.metadata.num_row_groups):
        yield from f.iter_batches(batch_size=BATCH_ROWS, row_groups=[group], use_threads=False)


def _python_values(array: Any) -> list[Any]:
    """A column of a batch as Python values; times in microseconds first (Python's own types hold no nanoseconds,
    and pyarrow would bring pandas in for them, as for a time zone: a timestamp with one is written in UTC)."""
    import pyarrow as pa  # type: ignore[import-untyped, import-not-found, unused-ignore]

    kind = array.type
    if pa.types.is_timestamp(kind) and kind.tz is not None:
        return [None if v is None else v.isoformat() + "+00:00"
                for v in array.cast(pa.timestamp("us"), safe=False).to_pylist()]
    if pa.types.is_timestamp(kind) and kind.unit == "ns":
        array = array.cast(pa.timestamp("us"), safe=False)
    elif pa.types.is_duration(kind) and kind.unit == "ns":
        array = array.cast(pa.duration("us"), safe=False)
    elif pa.types.is_time(kind) and kind.unit == "ns":
        array = array.cast(pa.time64("us"), safe=False)
    return array.to_pylist()


def jsonable(value: Any) -> Any:
    """A Parquet value (as pyarrow gives it) as JSON, by the module's rules."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (datetime.date, datetime.time)) or hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return str(value)


# -- writing ------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Column:
    name: str
    kind: str | None = None  # bool, int, float, string, json; None: only nulls so far
    big: bool = False  # a whole number too big for a double to hold exactly


def _kind(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if -2 ** 63 <= value < 2 ** 63 else "json"
    if isinstance(value, float):
        return "float"
    return "string" if isinstance(value, str) else "json"


def export_answers(out: BinaryIO, answers: Callable[[], Iterable[dict[str, Any]]]) -> tuple[int, int]:
    """Write the answers ``answers()`` gives (called twice: the columns' kinds, then the rows) to ``out`` as
    Parquet; the rows and the columns written. Answers added between the two readings are left for the next
    export; one that changed so that a value no longer fits its column is a one-line error."""
    columns, count = answer_columns(answers())
    try:
        return write_answers(out, columns, itertools.islice(answers(), count)), len(columns)
    except (TypeError, ValueError, OverflowError) as e:  # pyarrow's ArrowInvalid and ArrowTypeError among them
        raise UserError(f"the answers changed while they were exported ({type(e).__name__}: {e}); export again"
                        ) from None


def answer_columns(answers: Iterable[dict[str, Any]]) -> tuple[list[_Column], int]:
    """The export's columns (every top-level field of the answers, in the order first met, with its kind) and the
    number of answers."""
    columns: dict[str, _Column] = {}
    count = 0
    for answer in answers:
        count += 1
        for name, value in answer.items():
            column = columns.get(name)
            if column is None:
                column = columns[name] = _Column(name)
            kind = _kind(value)
            if kind is None or column.kind == "json":
                continue
            if kind == "int" and abs(value) > _MAX_EXACT:
                column.big = True
            if column.kind is None or column.kind == kind:
                column.kind = kind
            elif {column.kind, kind} == {"int", "float"}:
                column.kind = "float"
            else:
                column.kind = "json"
            if column.kind == "float" and column.big:
                column.kind = "json"
    return list(columns.values()), count


def write_answers(out: BinaryIO, columns: list[_Column], answers: Iterable[dict[str, Any]]) -> int:
    """Write ``answers`` to ``out`` as Parquet with ``columns``; the rows written."""
    pq = pyarrow_parquet("db-out --format parquet")
    import pyarrow as pa  # type: ignore[import-untyped, import-not-found, unused-ignore]

    types = {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64()}
    schema = pa.schema([(c.name, types.get(c.kind or "", pa.string())) for c in columns])
    shown = {c.name: _cell(c.kind) for c in columns}
    rows = 0
    with pq.ParquetWriter(out, schema) as writer:
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            table = pa.table({c.name: pa.array([shown[c.name](a.get(c.name)) for a in batch],
                                               schema.field(c.name).type) for c in columns}, schema=schema)
            writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            batch.clear()

        for answer in answers:
            batch.append(answer)
            rows += 1
            if len(batch) == ROW_GROUP_ROWS:
                flush()
        if batch or not rows:
            flush()
    return rows


def _cell(kind: str | None) -> Callable[[Any], Any]:
    if kind == "json":
        return lambda v: None if v is None else json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    if kind == "float":
        return lambda v: None if v is None else float(v)
    return lambda v: v
