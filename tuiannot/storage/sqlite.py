"""The embedded SQLite backend (through sqlite-utils).

WAL mode with a busy timeout lets several tuiannot processes (a team on one
server) write one database file at once; every write is a single statement or
an explicit ``BEGIN IMMEDIATE`` transaction, committed before the call returns,
with ``synchronous=FULL`` so that a committed answer survives ``kill -9``, a
dropped SSH connection and a power cut alike.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import sqlite_utils

from ..errors import UserError
from .base import (IDLE_CAP_SECONDS, Database, DatasetCounts, SessionCounts, StoredAnswer, UnknownDataset)

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000


def _migrate_1(db: sqlite_utils.Database) -> None:
    db["datasets"].create({"id": int, "name": str, "created": float, "meta": str}, pk="id")
    db["datasets"].create_index(["name"], unique=True)
    db["sessions"].create(
        {"id": int, "dataset_id": int, "session": str, "started": float, "meta": str}, pk="id",
        foreign_keys=[("dataset_id", "datasets", "id")])
    db["sessions"].create_index(["dataset_id", "session"])
    db["answers"].create(
        {"id": int, "dataset_id": int, "task_hash": int, "input_hash": int, "session": str, "answer": str,
         "labels": str, "view_id": str, "timestamp": float, "seconds": float, "content": str},
        pk="id", not_null={"dataset_id", "task_hash", "input_hash", "session", "answer", "content"},
        foreign_keys=[("dataset_id", "datasets", "id")])
    db["answers"].create_index(["dataset_id", "task_hash"])
    db["answers"].create_index(["dataset_id", "input_hash"])
    db["answers"].create_index(["dataset_id", "session", "answer", "seconds", "timestamp"])
    db["answers"].create_index(["dataset_id", "answer", "labels"])
    db["answers"].create_index(["dataset_id", "seconds"])


MIGRATIONS: dict[int, Callable[[sqlite_utils.Database], None]] = {1: _migrate_1}


class SQLiteDatabase(Database):
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.location = str(path)
        self.path = Path(path)
        _create_private_file(self.path)
        try:
            self.conn = sqlite3.connect(self.location, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                        check_same_thread=False)
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.db = sqlite_utils.Database(self.conn)
            self._migrate()
        except sqlite3.DatabaseError as e:
            raise UserError(f"{self.location}: not a usable tuiannot database ({e})") from None
        self._dataset_ids: dict[str, int] = {}

    def _migrate(self) -> None:
        version = self._schema_version()
        if version > SCHEMA_VERSION:
            raise UserError(f"{self.location}: written by a newer tuiannot (schema {version}, "
                            f"this one knows {SCHEMA_VERSION}); upgrade tuiannot")
        if version == SCHEMA_VERSION:
            return
        with self._transaction():
            version = self._schema_version()  # another process may have migrated meanwhile
            if not self.db["tuiannot_meta"].exists():
                self.db["tuiannot_meta"].create({"key": str, "value": str}, pk="key")
            for step in range(version + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[step](self.db)
            self.db["tuiannot_meta"].upsert({"key": "schema_version", "value": str(SCHEMA_VERSION)}, pk="key")

    def _schema_version(self) -> int:
        try:
            row = self.conn.execute("SELECT value FROM tuiannot_meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.OperationalError:
            return 0
        return int(row[0]) if row else 0

    def _transaction(self) -> "_Transaction":
        return _Transaction(self.conn)

    # -- datasets --------------------------------------------------------------
    def _dataset_id(self, name: str, create: bool = False) -> int:
        if name in self._dataset_ids:
            return self._dataset_ids[name]
        row = self.conn.execute("SELECT id FROM datasets WHERE name = ?", (name,)).fetchone()
        if row is None:
            if not create:
                raise UnknownDataset(name)
            self.conn.execute("INSERT OR IGNORE INTO datasets (name, created, meta) VALUES (?, ?, ?)",
                              (name, time.time(), "{}"))
            row = self.conn.execute("SELECT id FROM datasets WHERE name = ?", (name,)).fetchone()
        self._dataset_ids[name] = row[0]
        return row[0]

    def datasets(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM datasets ORDER BY name")]

    def has_dataset(self, name: str) -> bool:
        return self.conn.execute("SELECT 1 FROM datasets WHERE name = ?", (name,)).fetchone() is not None

    def add_dataset(self, name: str, meta: dict[str, Any] | None = None) -> None:
        self.conn.execute("INSERT OR IGNORE INTO datasets (name, created, meta) VALUES (?, ?, ?)",
                          (name, time.time(), json.dumps(meta or {})))

    def drop_dataset(self, name: str) -> int:
        with self._transaction():
            dataset_id = self._dataset_id(name)
            count = self.conn.execute("SELECT count(*) FROM answers WHERE dataset_id = ?", (dataset_id,)).fetchone()[0]
            self.conn.execute("DELETE FROM answers WHERE dataset_id = ?", (dataset_id,))
            self.conn.execute("DELETE FROM sessions WHERE dataset_id = ?", (dataset_id,))
            self.conn.execute("DELETE FROM datasets WHERE id = ?", (dataset_id,))
        self._dataset_ids.pop(name, None)
        return count

    # -- sessions --------------------------------------------------------------
    def start_session(self, dataset: str, session: str, meta: dict[str, Any] | None = None) -> None:
        dataset_id = self._dataset_id(dataset, create=True)
        self.conn.execute("INSERT INTO sessions (dataset_id, session, started, meta) VALUES (?, ?, ?, ?)",
                          (dataset_id, session, time.time(), json.dumps(meta or {})))

    # -- answers ---------------------------------------------------------------
    _INSERT = ("INSERT INTO answers (dataset_id, task_hash, input_hash, session, answer, labels, view_id, "
               "timestamp, seconds, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")

    @staticmethod
    def _row(dataset_id: int, a: StoredAnswer) -> tuple[Any, ...]:
        return (dataset_id, a.task_hash, a.input_hash, a.session, a.answer, a.labels, a.view_id,
                a.timestamp, a.seconds, a.content)

    def add_answer(self, dataset: str, task: dict[str, Any]) -> int:
        stored = StoredAnswer.from_task(dataset, task)
        cursor = self.conn.execute(self._INSERT, self._row(self._dataset_id(dataset, create=True), stored))
        return int(cursor.lastrowid)

    def replace_answer(self, answer_id: int, task: dict[str, Any]) -> None:
        row = self.conn.execute("SELECT d.name FROM answers a JOIN datasets d ON d.id = a.dataset_id "
                                "WHERE a.id = ?", (answer_id,)).fetchone()
        if row is None:
            raise KeyError(f"no stored answer with id {answer_id}")
        a = StoredAnswer.from_task(row[0], task)
        self.conn.execute(
            "UPDATE answers SET task_hash = ?, input_hash = ?, session = ?, answer = ?, labels = ?, view_id = ?, "
            "timestamp = ?, seconds = ?, content = ? WHERE id = ?",
            (a.task_hash, a.input_hash, a.session, a.answer, a.labels, a.view_id, a.timestamp, a.seconds,
             a.content, answer_id))

    def add_answers(self, dataset: str, tasks: Iterable[dict[str, Any]]) -> int:
        count = 0
        with self._transaction():
            dataset_id = self._dataset_id(dataset, create=True)
            batch: list[tuple[Any, ...]] = []
            for task in tasks:
                batch.append(self._row(dataset_id, StoredAnswer.from_task(dataset, task)))
                if len(batch) >= 5000:
                    self.conn.executemany(self._INSERT, batch)
                    count += len(batch)
                    batch.clear()
            self.conn.executemany(self._INSERT, batch)
            count += len(batch)
        return count

    def _select(self, dataset: str, answer: str | None, session: str | None = None,
                columns: str = "content") -> Iterator[tuple[Any, ...]]:
        sql = f"SELECT {columns} FROM answers WHERE dataset_id = ?"
        params: list[Any] = [self._dataset_id(dataset)]
        if answer is not None:
            sql += " AND answer = ?"
            params.append(answer)
        if session is not None:
            sql += " AND session = ?"
            params.append(session)
        cursor = self.conn.execute(sql + " ORDER BY id", params)
        while rows := cursor.fetchmany(10_000):
            yield from rows

    def answers(self, dataset: str, answer: str | None = None, session: str | None = None
                ) -> Iterator[dict[str, Any]]:
        for answer_id, content in self._select(dataset, answer, session, "id, content"):
            task = json.loads(content)
            task["_answer_id"] = answer_id
            yield task

    def answers_json(self, dataset: str, answer: str | None = None) -> Iterator[str]:
        for (content,) in self._select(dataset, answer):
            yield content

    def answered(self, datasets: Iterable[str], task_hashes: Iterable[int]) -> set[int]:
        ids = [self._dataset_ids.get(d) or self._maybe_id(d) for d in datasets]
        ids = [i for i in ids if i is not None]
        hashes = list(set(task_hashes))
        if not ids or not hashes:
            return set()
        found: set[int] = set()
        for start in range(0, len(hashes), 500):
            chunk = hashes[start:start + 500]
            sql = (f"SELECT DISTINCT task_hash FROM answers WHERE dataset_id IN ({','.join('?' * len(ids))}) "
                   f"AND task_hash IN ({','.join('?' * len(chunk))})")
            found.update(r[0] for r in self.conn.execute(sql, [*ids, *chunk]))
        return found

    def _maybe_id(self, name: str) -> int | None:
        try:
            return self._dataset_id(name)
        except UnknownDataset:
            return None

    def count_answers(self, dataset: str, session: str | None = None) -> int:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return 0
        if session is None:
            return self.conn.execute("SELECT count(*) FROM answers WHERE dataset_id = ?", (dataset_id,)).fetchone()[0]
        return self.conn.execute("SELECT count(*) FROM answers WHERE dataset_id = ? AND session = ?",
                                 (dataset_id, session)).fetchone()[0]

    # -- aggregates ------------------------------------------------------------
    def overview(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT d.name, count(a.id), count(DISTINCT a.session), min(a.timestamp), max(a.timestamp) "
            "FROM datasets d LEFT JOIN answers a ON a.dataset_id = d.id GROUP BY d.id ORDER BY d.name")
        return [{"dataset": name, "answers": n, "sessions": s, "first": first, "last": last}
                for name, n, s, first, last in rows]

    def dataset_counts(self, name: str) -> DatasetCounts:
        dataset_id = self._dataset_id(name)
        sessions: dict[str, SessionCounts] = {}
        by_answer: dict[str, int] = {}
        rows = self.conn.execute(
            "SELECT session, answer, count(*), min(timestamp), max(timestamp), "
            f"sum(min(seconds, {IDLE_CAP_SECONDS})), count(seconds) "
            "FROM answers WHERE dataset_id = ? GROUP BY session, answer", (dataset_id,))
        for session, answer, n, first, last, seconds, timed in rows:
            s = sessions.setdefault(session, SessionCounts())
            s.answers += n
            s.by_answer[answer] = n
            s.first = first if s.first is None else min(s.first, first)
            s.last = last if s.last is None else max(s.last, last)
            s.seconds_total += seconds or 0.0
            s.timed += timed
            by_answer[answer] = by_answer.get(answer, 0) + n
        for session, s in sessions.items():
            s.median_seconds = self._median(
                "FROM answers WHERE dataset_id = ? AND session = ? AND seconds IS NOT NULL", (dataset_id, session),
                s.timed)
        total_timed = sum(s.timed for s in sessions.values())
        by_labels = [(answer, json.loads(labels or "[]"), n) for answer, labels, n in self.conn.execute(
            "SELECT answer, labels, count(*) FROM answers WHERE dataset_id = ? GROUP BY answer, labels",
            (dataset_id,))]
        tasks, inputs = self.conn.execute(
            "SELECT (SELECT count(*) FROM (SELECT DISTINCT task_hash FROM answers WHERE dataset_id = ?)), "
            "(SELECT count(*) FROM (SELECT DISTINCT input_hash FROM answers WHERE dataset_id = ?))",
            (dataset_id, dataset_id)).fetchone()
        firsts = [s.first for s in sessions.values() if s.first is not None]
        lasts = [s.last for s in sessions.values() if s.last is not None]
        return DatasetCounts(
            name=name, answers=sum(by_answer.values()), tasks=tasks, inputs=inputs, by_answer=by_answer,
            by_labels=by_labels, sessions=sessions, first=min(firsts) if firsts else None,
            last=max(lasts) if lasts else None,
            median_seconds=self._median("FROM answers WHERE dataset_id = ? AND seconds IS NOT NULL",
                                        (dataset_id,), total_timed))

    def _median(self, where: str, params: tuple[Any, ...], count: int) -> float | None:
        if count == 0:
            return None
        sql = f"SELECT seconds {where} ORDER BY seconds LIMIT ? OFFSET ?"
        if count % 2:
            return self.conn.execute(sql, (*params, 1, count // 2)).fetchone()[0]
        a, b = [r[0] for r in self.conn.execute(sql, (*params, 2, count // 2 - 1))]
        return (a + b) / 2

    # -- connection ------------------------------------------------------------
    def reopen(self) -> "SQLiteDatabase":
        return SQLiteDatabase(self.location)

    def close(self) -> None:
        self.conn.close()


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on error)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _create_private_file(path: Path) -> None:
    """Create the database file (and its folder) readable by its owner only."""
    if path.exists():
        if path.is_dir():
            raise UserError(f"{path}: is a directory, not a database file")
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
    except FileExistsError:
        pass
    except OSError as e:
        raise UserError(f"{path}: cannot create the database ({e.strerror})") from None
