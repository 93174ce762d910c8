"""Bulk imports (``db-in``) that never hold the write lock for long, and are all or nothing.

A small import is one transaction. A large one is written into a hidden *staging* dataset in transactions of
about :data:`IMPORT_HOLD_SECONDS`, with pauses of :data:`IMPORT_PAUSE_SECONDS` between them (longer than
SQLite's busy-handler naps, so a waiting annotator always gets in; and not synced one by one, as a crash voids
an unfinished import anyway), then made visible: into a new or empty dataset by renaming the staging dataset
(one short transaction, synced); into a dataset that has answers by moving the rows over in short
transactions, after a commit that records the decision, so that an importer that dies (or is interrupted)
while moving is finished by the next process that opens the database: readers may see such a move half done
for as long as it lasts, never an import that is then taken back. A staging dataset is hidden from every
listing; an abandoned one is cleared by the next import.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import sqlite3
import time
import uuid
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from .base import StoredAnswer
from .sqlite_safety import STAGING, _check_name
from .sqlite_schema import _inserted_id

if TYPE_CHECKING:
    from .sqlite import SQLiteDatabase

IMPORT_HOLD_SECONDS = 0.02
"""An import's transactions aim to hold the write lock this long at most."""
IMPORT_PAUSE_SECONDS = 0.03
"""...and leave it free at least this long in between: longer than the naps of SQLite's busy handler (up to
25 ms in the first 100 ms of waiting), so that a waiting writer finds it free."""
IMPORT_CACHE_KB = -65536
"""SQLite's page cache while importing (negative: KiB), 64 MB."""
STALE_IMPORT_SECONDS = 60.0
"""An import whose process has not written for this long is abandoned: its staging rows are cleared, or, if it
had begun to move them into the dataset, the move is finished."""


class Importer:
    """The import machinery of one :class:`~tuiannot.storage.sqlite.SQLiteDatabase` (its connection)."""

    def __init__(self, db: "SQLiteDatabase") -> None:
        self.db = db

    def add_answers(self, dataset: str, tasks: Iterable[dict[str, Any]]) -> int:
        _check_name(dataset, create=True)
        tasks = iter(tasks)
        size = 200  # rows per transaction, adapted so that each holds the lock about IMPORT_HOLD_SECONDS
        first = [StoredAnswer.from_task(dataset, task) for task in itertools.islice(tasks, size)]
        following = [StoredAnswer.from_task(dataset, task) for task in itertools.islice(tasks, 1)]
        if not following:  # a small import: one short transaction
            with self.db._transaction():
                dataset_id = self.db._dataset_id(dataset, create=True)
                self.db.conn.executemany(self.db._INSERT, [self.db._row(dataset_id, a) for a in first])
            return len(first)
        cache = self.db.conn.execute("PRAGMA cache_size").fetchone()[0]
        # Each row goes into five indexes, two of them at random places (its hashes): once they outgrow SQLite's
        # page cache (2 MB), every row reads pages back from the OS. A larger cache while importing: 20% faster
        # at 400,000 answers, bounded memory.
        self.db.conn.execute(f"PRAGMA cache_size = {IMPORT_CACHE_KB}")
        try:
            return self._add_many(dataset, tasks, first + following)
        finally:
            self.db.conn.execute(f"PRAGMA cache_size = {int(cache)}")

    def _add_many(self, dataset: str, tasks: Iterator[dict[str, Any]], first: list[StoredAnswer]) -> int:
        self._clear_abandoned_imports()
        staging = self._start_import(dataset)
        count = 0
        # Staged rows need no sync each: a crash loses a suffix of them, and an unfinished import is cleared
        # anyway. So the lock is not held through an fsync per batch (on a busy disk, the longest part of it).
        # The publishing commit syncs everything before it (synchronous=FULL again).
        self.db.conn.execute("PRAGMA synchronous = NORMAL")
        try:
            batch = first
            while batch:
                started = time.monotonic()
                with self.db._transaction():
                    self.db.conn.executemany(self.db._INSERT, [self.db._row(staging, a) for a in batch])
                    self._beat(staging, "loading", dataset)
                held = time.monotonic() - started
                count += len(batch)
                size = max(20, min(5000, int(len(batch) * IMPORT_HOLD_SECONDS / max(held, 1e-4))))
                started = time.monotonic()
                self._checkpoint()
                batch = [StoredAnswer.from_task(dataset, task) for task in itertools.islice(tasks, size)]
                time.sleep(max(0.0, IMPORT_PAUSE_SECONDS - (time.monotonic() - started)))
        except BaseException:
            self._clear_import(staging)
            raise
        finally:
            self.db.conn.execute("PRAGMA synchronous = FULL")
        self._publish(staging, dataset)
        return count

    def _start_import(self, dataset: str) -> int:
        name = f"{STAGING}{uuid.uuid4().hex}"
        meta = {"into": dataset, "state": "loading", "beat": time.time(), "pid": os.getpid(),
                "host": socket.gethostname()}
        return _inserted_id(self.db.conn.execute("INSERT INTO datasets (name, created, meta) VALUES (?, ?, ?)",
                                              (name, time.time(), json.dumps(meta))))

    def _beat(self, staging: int, state: str, into: str, into_id: int | None = None) -> None:
        """Record that the import is alive (inside its transaction), and in which state."""
        meta = {"into": into, "into_id": into_id, "state": state, "beat": time.time(), "pid": os.getpid(),
                "host": socket.gethostname()}
        self.db.conn.execute("UPDATE datasets SET meta = ? WHERE id = ?", (json.dumps(meta), staging))

    def _publish(self, staging: int, dataset: str) -> None:
        """Make the staged rows the dataset's: rename the staging dataset into a new or empty one, else record
        the decision and move the rows (resumed by another process if this one dies; Ctrl-C waits for it)."""
        with self.db._transaction():
            row = self.db.conn.execute("SELECT id FROM datasets WHERE name = ?", (dataset,)).fetchone()
            if row is not None and not self.db.conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM answers WHERE dataset_id = ?) OR EXISTS (SELECT 1 FROM sessions "
                    "WHERE dataset_id = ?) OR EXISTS (SELECT 1 FROM claims WHERE dataset_id = ?)",
                    (row[0],) * 3).fetchone()[0]:
                self.db._delete_dataset(row[0])  # empty and unused: the staged dataset takes its place
                row = None
            if row is None:
                self.db.conn.execute("UPDATE datasets SET name = ?, created = ?, meta = '{}' WHERE id = ?",
                                  (dataset, time.time(), staging))
                self.db._dataset_ids.pop(dataset, None)
                return
            self._beat(staging, "moving", dataset, row[0])
        self._move(staging, row[0])

    def _move(self, staging: int, into: int) -> None:
        """Move the staged rows into the dataset in short transactions, then delete the staging dataset.

        The moving transactions are not synced one by one (a sync each cost more than the move; a crash loses a
        suffix of them, whose rows are still staged and moved again by the next process); the last one, which
        deletes the staging dataset, is, and so makes all of them durable before the import returns."""
        size = 200
        self.db.conn.execute("PRAGMA synchronous = NORMAL")
        try:
            while True:
                try:
                    started = time.monotonic()
                    with self.db._transaction():
                        if self.db.conn.execute("SELECT 1 FROM datasets WHERE id = ?", (into,)).fetchone() is None:
                            moved = 0  # the dataset was dropped meanwhile: so is what was imported into it
                        else:
                            moved = self._move_batch(staging, into, size)
                        self.db.conn.execute("UPDATE datasets SET meta = json_set(meta, '$.beat', ?) WHERE id = ?",
                                             (time.time(), staging))
                    if moved == 0:
                        break
                    held = time.monotonic() - started
                    size = max(20, min(5000, int(size * IMPORT_HOLD_SECONDS / max(held, 1e-4))))
                    started = time.monotonic()
                    self._checkpoint()
                    time.sleep(max(0.0, IMPORT_PAUSE_SECONDS - (time.monotonic() - started)))
                except KeyboardInterrupt:  # the import is decided: finish it rather than leave it half visible
                    continue
        finally:
            self.db.conn.execute("PRAGMA synchronous = FULL")
        while True:
            try:
                with self.db._transaction():
                    self.db._delete_dataset(staging)
                return
            except KeyboardInterrupt:
                continue

    def _move_batch(self, staging: int, into: int, size: int) -> int:
        """Move up to ``size`` staged rows (inside a transaction). The counting triggers move the per-session
        totals; the dataset's distinct tasks and inputs are counted here (the trigger on UPDATE counts changed
        hashes within one dataset)."""
        ids = [r[0] for r in self.db.conn.execute("SELECT id FROM answers WHERE dataset_id = ? ORDER BY id LIMIT ?",
                                               (staging, size))]
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        new = {column: self.db.conn.execute(
            f"SELECT count(DISTINCT s.{column}) FROM answers s WHERE s.id IN ({marks}) AND NOT EXISTS (SELECT 1 "
            f"FROM answers a WHERE a.dataset_id = ? AND a.{column} = s.{column})", (*ids, into)).fetchone()[0]
            for column in ("task_hash", "input_hash")}
        self.db.conn.execute(f"UPDATE answers SET dataset_id = ? WHERE id IN ({marks})", (into, *ids))
        self.db.conn.execute("INSERT OR IGNORE INTO question_counts (dataset_id) VALUES (?)", (into,))
        self.db.conn.execute("UPDATE question_counts SET tasks = tasks + ?, inputs = inputs + ? WHERE dataset_id = ?",
                          (new["task_hash"], new["input_hash"], into))
        return len(ids)

    def _checkpoint(self) -> None:
        """Copy the WAL into the database between an import's transactions (it holds up no writer), so that an
        annotator's commit does not find a long WAL to copy itself (SQLite checkpoints at 1000 pages)."""
        self.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _imports(self) -> list[tuple[int, dict[str, Any]]]:
        return [(i, json.loads(meta or "{}")) for i, meta in self.db.conn.execute(
            "SELECT id, meta FROM datasets WHERE name GLOB ?", (STAGING + "*",))]

    def _finish_abandoned_moves(self) -> None:
        """At open: an importer died while moving its rows into a dataset; finish the move."""
        for staging, meta in self._imports():
            if meta.get("state") == "moving" and time.time() - meta.get("beat", 0) > STALE_IMPORT_SECONDS:
                self.db._before_writing()
                self._move(staging, int(meta["into_id"]))

    def _clear_abandoned_imports(self) -> None:
        """Staging rows of imports whose process died before the end (they were never visible)."""
        for staging, meta in self._imports():
            if meta.get("state") == "loading" and time.time() - meta.get("beat", 0) > STALE_IMPORT_SECONDS:
                self._clear_import(staging)

    def _clear_import(self, staging: int) -> None:
        """Delete an import's staging dataset in short transactions (best effort: what is left stays hidden and
        is cleared by the next import)."""
        try:
            while True:
                with self.db._transaction():
                    gone = self.db.conn.execute("DELETE FROM answers WHERE id IN (SELECT id FROM answers WHERE "
                                             "dataset_id = ? LIMIT 2000)", (staging,)).rowcount
                    if gone == 0:
                        self.db._delete_dataset(staging)
                        return
                time.sleep(IMPORT_PAUSE_SECONDS)
        except (sqlite3.Error, KeyboardInterrupt):
            pass
