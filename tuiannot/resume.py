"""Resume in constant time: a checkpoint per dataset, source and session.

Restarting over a big source used to read and hash every record before the first open task (300,000 answered
tasks took 17 s to skip). A checkpoint remembers how far into the source every task is *done* for this session —
answered by it, complete (answered by as many annotators as the overlap asks; without routing, answered by
anyone), or answered in an ``--exclude`` dataset — and a restart seeks there.

Keyed by: the source's real path and what decides which tasks come and which are done — the session, the
view, the labels, the ``--exclude`` datasets, the overlap and annotators, task or input hashes.
Holding: the byte offset and line where the last done record starts, the key of that record's first task, and
the source's size, modification time and a hash of up to 64 KB before the offset. For a Parquet file the offset
and line count rows (the record is a row: a restart reads from the row group that holds it) and the hash is that
of the file's footer (:meth:`~tuiannot.sources.Source.fingerprint`).

Used when: the source is a regular JSONL, TXT or Parquet file read in order (not ``--teach``, whose model picks the
order; not a recipe that routes tasks itself), and its size, modification time and the bytes before the
offset are as saved. The stream then starts at the saved record. Its first task must have the saved key (the
recipe still makes the same tasks of it; with other labels, say, it would not), else the source is read from the
beginning: the full scan, as without a checkpoint. Any change to the file (an edit, an append) also means the
full scan, and a new checkpoint follows it.

Moved by: the controller notes every task the stream gives, in order, as done (skipped because it is done) or
open (served, or held by others); an answer makes it done. The checkpoint is the start of the last record whose
tasks, and all tasks before them, are done. It is saved by a background thread every few seconds while it moves
and when the session ends: a crash loses some checkpoint progress (the next start scans a little more), never an
answer. Invalid records before the checkpoint are counted on a resume as before, in one warning: each was
reported when it was first read.
"""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Iterator

from .sources import Source
from .storage import Database
from .stream import Stream
from .tasks import Task

try:  # as hashlib.sha256 (the same digests), without its loading of OpenSSL (Python 3.11; later: hashlib's)
    from _sha256 import sha256  # type: ignore[import-not-found]
except ImportError:
    from hashlib import sha256

HASHED_BYTES = 64 * 1024  # before the offset: an edit there (most edits) is seen without reading the whole file
MAX_NOTED = 10_000  # tasks noted behind an open one; past that, this run stops moving the checkpoint
SAVE_EVERY = 5.0  # seconds between saves while the checkpoint moves


@dataclass(slots=True)
class _Note:
    key: int
    line: int
    start: int
    done: bool
    invalid: int  # invalid records read before this task's record


class Checkpoint:
    """The resume checkpoint of one session over one stream (see the module's docstring)."""

    def __init__(self, stream: Stream, dataset: str, identity: dict[str, Any]) -> None:
        assert stream.resumable
        self.stream = stream
        self.dataset = dataset
        self.path = os.path.realpath(str(getattr(stream.source, "path", "")))
        self.key = "resume:" + sha256(json.dumps({"path": self.path, **identity}, sort_keys=True,
                                                         default=str).encode()).hexdigest()[:32]
        self.expected: int | None = None  # the key the first task must have after a seek
        self.resumed_at: int | None = None  # the line the stream was started at (None: the beginning)
        self._lock = threading.Lock()
        self._notes: deque[_Note] = deque()
        self._done_keys: set[int] = set()
        self._last: _Note | None = None  # the last done task popped off the notes
        self._record: _Note | None = None  # the first task of its record
        self._safe: _Note | None = None  # the start of the last record known to be wholly done
        self._saved: _Note | None = None
        self._ended = False  # the stream gave its last task
        self._given_up = False

    # -- at the start ----------------------------------------------------------------
    def apply(self, db: Database) -> bool:
        """Seek the stream to the saved checkpoint if the source is as it was; whether it did."""
        saved = db.checkpoint(self.dataset, self.key)
        if not saved or not saved.get("offset"):
            return False
        try:
            if self._fingerprint(int(saved["offset"])) != saved.get("fingerprint"):
                return False  # the file changed (or is gone): the full scan
            self.stream.resume_at(int(saved["offset"]), int(saved["line"]))
        except (OSError, ValueError, TypeError, KeyError):
            return False
        self.expected, self.resumed_at = int(saved["key"]), int(saved["line"])
        invalid = int(saved.get("invalid") or 0)
        if invalid:  # counted as before; the warnings themselves were given when those records were read
            self.stream.invalid = invalid
            self.stream.warnings.append(
                f"{self.stream.name}: {invalid} invalid record{'s' if invalid != 1 else ''} before line "
                f"{self.resumed_at:,} skipped (each was reported when it was first read; a restart seeks past them)")
        return True

    def tasks(self, key_of: Any) -> Iterator[Task]:
        """The stream's tasks; after a seek, the first must be the saved one, else the stream starts again
        from the beginning (the recipe now makes other tasks of that record)."""
        stream = iter(self.stream)
        if self.expected is not None:
            first = next(stream, None)
            if first is not None and key_of(first) == self.expected:
                yield first
            else:
                if hasattr(stream, "close"):
                    stream.close()
                self.stream.resume_at(0, 1)
                self.stream.invalid = 0
                self.stream.warnings.clear()  # all read again, and reported again
                self.expected = self.resumed_at = None
                stream = iter(self.stream)
        yield from stream
        self._ended = True

    # -- as tasks come and go -------------------------------------------------------
    def seen(self, key: int, record: tuple[int, int, int] | None, done: bool, invalid: int = 0) -> None:
        """The prefetch thread, for every task of the stream in order: done (skipped as done) or not (served,
        held by others); ``record`` is the task's record (:attr:`Stream.record` when it was taken) and ``invalid``
        the stream's count of invalid records then."""
        if record is None or self._given_up:
            return
        with self._lock:
            self._notes.append(_Note(key, record[0], record[1], done, invalid))
            self._advance()
            if len(self._notes) > MAX_NOTED:  # one task held by others would keep the rest noted: stop here
                self._notes.clear()
                self._given_up = True

    def answered(self, key: int) -> None:
        """The screen's thread: the task with this key is answered (stored)."""
        with self._lock:
            self._done_keys.add(key)
            self._advance()

    def _advance(self) -> None:
        notes = self._notes
        while notes and (notes[0].done or notes[0].key in self._done_keys):
            note = notes.popleft()
            if self._last is None or note.start > self._last.start:  # the first task of a later record:
                if self._last is not None:
                    self._safe = self._record  # the record before is wholly done
                self._record = note
            self._last = note
        if self._last is not None and notes and notes[0].start > self._last.start:
            self._safe = self._record  # what is still open comes from a later record

    @property
    def position(self) -> _Note | None:
        """The record a restart would seek to (the last one whose tasks and all before are done)."""
        with self._lock:
            if self._ended and not self._notes and self._record is not None:
                return self._record
            return self._safe

    # -- saving ----------------------------------------------------------------------
    def save(self, db: Database) -> bool:
        """Save the checkpoint if it moved; whether it did."""
        note = self.position
        if note is None or note is self._saved or note.start == 0:
            return False
        try:
            fingerprint = self._fingerprint(note.start)
        except OSError:
            return False
        db.save_checkpoint(self.dataset, self.key, {"offset": note.start, "line": note.line, "key": note.key,
                                                    "invalid": note.invalid, "fingerprint": fingerprint})
        self._saved = note
        return True

    def keep_saving(self, db: Database, stop: threading.Event) -> None:
        """A thread: save every :data:`SAVE_EVERY` seconds until ``stop`` (the session's end saves the last)."""
        try:
            while not stop.wait(SAVE_EVERY):
                self.save(db)
        except Exception:  # noqa: BLE001 (a checkpoint not saved costs a longer scan, never an answer)
            pass
        finally:
            db.close()

    def _fingerprint(self, offset: int) -> str:
        """The file's size and modification time, and a hash of the bytes before ``offset``; a source with a
        notion of its own (a Parquet file, whose offsets count rows: its footer instead) gives it."""
        own = self.stream.source.fingerprint(offset) if isinstance(self.stream.source, Source) else None
        if own is not None:
            return own
        with open(self.path, "rb") as f:
            st = os.fstat(f.fileno())
            start = max(0, offset - HASHED_BYTES)
            f.seek(start)
            head = f.read(offset - start)
        if len(head) != offset - start:
            raise OSError("the file is shorter than the checkpoint")
        return f"{st.st_size}:{st.st_mtime_ns}:{sha256(head).hexdigest()[:32]}"
