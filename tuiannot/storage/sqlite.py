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
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from ..errors import UserError
if TYPE_CHECKING:
    import sqlite_utils

from .base import (IDLE_CAP_SECONDS, ClaimLost, Database, DatasetCounts, SessionCounts, StoredAnswer,
                   UnknownDataset)

SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 30_000


def _migrate_1(db: "sqlite_utils.Database") -> None:
    db.table("datasets").create({"id": int, "name": str, "created": float, "meta": str}, pk="id")
    db.table("datasets").create_index(["name"], unique=True)
    db.table("sessions").create(
        {"id": int, "dataset_id": int, "session": str, "started": float, "meta": str}, pk="id",
        foreign_keys=[("dataset_id", "datasets", "id")])
    db.table("sessions").create_index(["dataset_id", "session"])
    db.table("answers").create(
        {"id": int, "dataset_id": int, "task_hash": int, "input_hash": int, "session": str, "answer": str,
         "labels": str, "view_id": str, "timestamp": float, "seconds": float, "content": str},
        pk="id", not_null={"dataset_id", "task_hash", "input_hash", "session", "answer", "content"},
        foreign_keys=[("dataset_id", "datasets", "id")])
    # Each index serves one query: exports in order, resume/exclude, per-input merges, the medians.
    db.table("answers").create_index(["dataset_id"])
    db.table("answers").create_index(["dataset_id", "task_hash"])
    db.table("answers").create_index(["dataset_id", "input_hash"])
    db.table("answers").create_index(["dataset_id", "session", "seconds"])
    db.table("answers").create_index(["dataset_id", "seconds"])
    db.executescript(COUNTS_SCHEMA)


def _inserted_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row the cursor's INSERT just added (sqlite3 types it Optional: None before any INSERT)."""
    assert cursor.lastrowid is not None
    return int(cursor.lastrowid)


# Running totals kept by triggers, so that `stats` reads a few hundred rows instead of scanning
# millions of answers. `first`/`last` only ever widen (a replaced answer's time still counts).
COUNTS_SCHEMA = """
CREATE TABLE answer_counts (
    dataset_id INTEGER NOT NULL REFERENCES datasets(id), session TEXT NOT NULL, answer TEXT NOT NULL,
    labels TEXT NOT NULL, n INTEGER NOT NULL, first REAL, last REAL, seconds_total REAL NOT NULL,
    timed INTEGER NOT NULL, PRIMARY KEY (dataset_id, session, answer, labels)) WITHOUT ROWID;
CREATE TABLE question_counts (
    dataset_id INTEGER PRIMARY KEY REFERENCES datasets(id), tasks INTEGER NOT NULL DEFAULT 0,
    inputs INTEGER NOT NULL DEFAULT 0);

CREATE TRIGGER answers_count_insert AFTER INSERT ON answers BEGIN
    {add_new}
    INSERT OR IGNORE INTO question_counts (dataset_id) VALUES (NEW.dataset_id);
    UPDATE question_counts SET
        tasks = tasks + NOT EXISTS (SELECT 1 FROM answers WHERE dataset_id = NEW.dataset_id
                                    AND task_hash = NEW.task_hash AND id != NEW.id),
        inputs = inputs + NOT EXISTS (SELECT 1 FROM answers WHERE dataset_id = NEW.dataset_id
                                      AND input_hash = NEW.input_hash AND id != NEW.id)
    WHERE dataset_id = NEW.dataset_id;
END;

CREATE TRIGGER answers_count_delete AFTER DELETE ON answers
WHEN EXISTS (SELECT 1 FROM datasets WHERE id = OLD.dataset_id) BEGIN
    {remove_old}
    UPDATE question_counts SET
        tasks = tasks - NOT EXISTS (SELECT 1 FROM answers WHERE dataset_id = OLD.dataset_id
                                    AND task_hash = OLD.task_hash),
        inputs = inputs - NOT EXISTS (SELECT 1 FROM answers WHERE dataset_id = OLD.dataset_id
                                      AND input_hash = OLD.input_hash)
    WHERE dataset_id = OLD.dataset_id;
END;

CREATE TRIGGER answers_count_update AFTER UPDATE ON answers BEGIN
    {remove_old}
    {add_new}
    UPDATE question_counts SET
        tasks = tasks
            - (OLD.task_hash != NEW.task_hash AND NOT EXISTS (SELECT 1 FROM answers
               WHERE dataset_id = OLD.dataset_id AND task_hash = OLD.task_hash))
            + (OLD.task_hash != NEW.task_hash AND NOT EXISTS (SELECT 1 FROM answers
               WHERE dataset_id = NEW.dataset_id AND task_hash = NEW.task_hash AND id != NEW.id)),
        inputs = inputs
            - (OLD.input_hash != NEW.input_hash AND NOT EXISTS (SELECT 1 FROM answers
               WHERE dataset_id = OLD.dataset_id AND input_hash = OLD.input_hash))
            + (OLD.input_hash != NEW.input_hash AND NOT EXISTS (SELECT 1 FROM answers
               WHERE dataset_id = NEW.dataset_id AND input_hash = NEW.input_hash AND id != NEW.id))
    WHERE dataset_id = NEW.dataset_id;
END;
""".replace("{add_new}", f"""
    INSERT INTO answer_counts (dataset_id, session, answer, labels, n, first, last, seconds_total, timed)
    VALUES (NEW.dataset_id, NEW.session, NEW.answer, coalesce(NEW.labels, '[]'), 1, NEW.timestamp,
            NEW.timestamp, coalesce(min(NEW.seconds, {IDLE_CAP_SECONDS}), 0), NEW.seconds IS NOT NULL)
    ON CONFLICT (dataset_id, session, answer, labels) DO UPDATE SET
        n = n + 1, first = coalesce(min(first, excluded.first), first, excluded.first),
        last = coalesce(max(last, excluded.last), last, excluded.last),
        seconds_total = seconds_total + excluded.seconds_total, timed = timed + excluded.timed;""").replace(
    "{remove_old}", f"""
    UPDATE answer_counts SET n = n - 1,
        seconds_total = seconds_total - coalesce(min(OLD.seconds, {IDLE_CAP_SECONDS}), 0),
        timed = timed - (OLD.seconds IS NOT NULL)
    WHERE dataset_id = OLD.dataset_id AND session = OLD.session AND answer = OLD.answer
        AND labels = coalesce(OLD.labels, '[]');
    DELETE FROM answer_counts WHERE dataset_id = OLD.dataset_id AND session = OLD.session
        AND answer = OLD.answer AND labels = coalesce(OLD.labels, '[]') AND n <= 0;""")


def _migrate_2(db: "sqlite_utils.Database") -> None:
    """Claims for task routing: who holds which task until when, with the task itself, so that
    another session can take over a lapsed claim without reading the source again."""
    db.executescript("""
    CREATE TABLE claims (
        id INTEGER PRIMARY KEY, dataset_id INTEGER NOT NULL REFERENCES datasets(id),
        task_key INTEGER NOT NULL, session TEXT NOT NULL, target INTEGER NOT NULL,
        expires REAL NOT NULL, content TEXT NOT NULL);
    CREATE UNIQUE INDEX claims_task_session ON claims (dataset_id, task_key, session);
    CREATE INDEX claims_expiry ON claims (dataset_id, expires);
    """)


MIGRATIONS: dict[int, Callable[["sqlite_utils.Database"], None]] = {1: _migrate_1, 2: _migrate_2}


class SQLiteDatabase(Database):
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.location = str(path)
        self.path = Path(path)
        _create_private_file(self.path)
        try:
            self.conn = sqlite3.connect(self.location, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                        check_same_thread=False)
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._use_wal()
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.OperationalError as e:
            if _is_busy(e):
                raise UserError(f"{self.location}: the database stayed locked by another process for "
                                f"{BUSY_TIMEOUT_MS // 1000} s") from None
            raise UserError(f"{self.location}: not a usable tuiannot database ({e})") from None
        except sqlite3.DatabaseError as e:
            raise UserError(f"{self.location}: not a usable tuiannot database ({e})") from None
        self._dataset_ids: dict[str, int] = {}

    def _use_wal(self) -> None:
        """Switch to WAL, waiting while others hold locks (switching ignores the busy timeout)."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                if self.conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                    return
                self.conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as e:
                if not _is_busy(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _migrate(self) -> None:
        version = self._schema_version()
        if version > SCHEMA_VERSION:
            raise UserError(f"{self.location}: written by a newer tuiannot (schema {version}, "
                            f"this one knows {SCHEMA_VERSION}); upgrade tuiannot")
        if version == SCHEMA_VERSION:
            return
        self.db = _sqlite_utils().Database(self.conn)
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
                raise UnknownDataset(name, self.location)
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
            count = self.count_answers(name)
            # The dataset row goes first (foreign keys checked at commit), so the counting
            # triggers skip the rows below instead of updating totals that are about to go.
            self.conn.execute("PRAGMA defer_foreign_keys = ON")
            self.conn.execute("DELETE FROM datasets WHERE id = ?", (dataset_id,))
            for table in ("answers", "answer_counts", "question_counts", "sessions", "claims"):
                self.conn.execute(f"DELETE FROM {table} WHERE dataset_id = ?", (dataset_id,))
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
        try:
            cursor = self.conn.execute(self._INSERT, self._row(self._dataset_id(dataset, create=True), stored))
        except sqlite3.IntegrityError:
            # Another process dropped the dataset since we cached its id: the answer still counts,
            # so the dataset is made again rather than the answer lost.
            self._dataset_ids.pop(dataset, None)
            cursor = self.conn.execute(self._INSERT, self._row(self._dataset_id(dataset, create=True), stored))
        return _inserted_id(cursor)

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

    def answered(self, datasets: Iterable[str], hashes: Iterable[int], by: str = "task") -> set[int]:
        column = {"task": "task_hash", "input": "input_hash"}[by]
        ids = [self._dataset_ids.get(d) or self._maybe_id(d) for d in datasets]
        ids = [i for i in ids if i is not None]
        hashes = list(set(hashes))
        if not ids or not hashes:
            return set()
        found: set[int] = set()
        for start in range(0, len(hashes), 500):
            chunk = hashes[start:start + 500]
            sql = (f"SELECT DISTINCT {column} FROM answers WHERE dataset_id IN ({','.join('?' * len(ids))}) "
                   f"AND {column} IN ({','.join('?' * len(chunk))})")
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
        sql = "SELECT coalesce(sum(n), 0) FROM answer_counts WHERE dataset_id = ?"
        if session is None:
            return self.conn.execute(sql, (dataset_id,)).fetchone()[0]
        return self.conn.execute(sql + " AND session = ?", (dataset_id, session)).fetchone()[0]

    # -- routing: claims with leases -----------------------------------------------
    @staticmethod
    def _column(by: str) -> str:
        return {"task": "task_hash", "input": "input_hash"}[by]

    def answer_sessions(self, dataset: str, keys: Iterable[int], by: str = "task") -> dict[int, set[str]]:
        dataset_id = self._maybe_id(dataset)
        keys = list(set(keys))
        found: dict[int, set[str]] = {}
        if dataset_id is None or not keys:
            return found
        column = self._column(by)
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            rows = self.conn.execute(
                f"SELECT DISTINCT {column}, session FROM answers WHERE dataset_id = ? "
                f"AND {column} IN ({','.join('?' * len(chunk))})", [dataset_id, *chunk])
            for key, session in rows:
                found.setdefault(key, set()).add(session)
        return found

    def _others(self, dataset_id: int, session: str, key: int, column: str, now: float) -> tuple[set[str], bool]:
        """(sessions other than ``session`` that answered or hold a live claim, whether ``session`` answered)."""
        answered = {r[0] for r in self.conn.execute(
            f"SELECT DISTINCT session FROM answers WHERE dataset_id = ? AND {column} = ?", (dataset_id, key))}
        holding = {r[0] for r in self.conn.execute(
            "SELECT session FROM claims WHERE dataset_id = ? AND task_key = ? AND expires > ?",
            (dataset_id, key, now))}
        return (answered | holding) - {session}, session in answered

    def claim(self, dataset: str, session: str, key: int, target: int, lease: float, content: str,
              by: str = "task") -> bool:
        with self._transaction():
            dataset_id = self._dataset_id(dataset, create=True)
            now = time.time()
            others, mine = self._others(dataset_id, session, key, self._column(by), now)
            if mine or len(others) >= target:
                return False
            held = self.conn.execute("SELECT 1 FROM claims WHERE dataset_id = ? AND task_key = ? AND session = ? "
                                     "AND expires > ?", (dataset_id, key, session, now)).fetchone()
            if held:
                return False  # already ours
            # lapsed claims of others on this task are over: take them off the books
            self.conn.execute("DELETE FROM claims WHERE dataset_id = ? AND task_key = ? AND expires <= ?",
                              (dataset_id, key, now))
            self.conn.execute(
                "INSERT INTO claims (dataset_id, task_key, session, target, expires, content) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (dataset_id, task_key, session) DO UPDATE SET "
                "target = excluded.target, expires = excluded.expires, content = excluded.content",
                (dataset_id, key, session, target, now + lease, content))
            return True

    def answer_claimed(self, dataset: str, session: str, key: int, task: dict[str, Any], by: str = "task") -> int:
        stored = StoredAnswer.from_task(dataset, task)
        with self._transaction():
            dataset_id = self._dataset_id(dataset, create=True)
            now = time.time()
            row = self.conn.execute("SELECT target, expires FROM claims WHERE dataset_id = ? AND task_key = ? "
                                    "AND session = ?", (dataset_id, key, session)).fetchone()
            others, _ = self._others(dataset_id, session, key, self._column(by), now)
            if row is None or (row[1] <= now and len(others) >= row[0]):
                raise ClaimLost("this task went to another annotator while it waited here (its lease ran out); "
                                "your answer was not needed")
            cursor = self.conn.execute(self._INSERT, self._row(dataset_id, stored))
            self.conn.execute("DELETE FROM claims WHERE dataset_id = ? AND task_key = ? AND session = ?",
                              (dataset_id, key, session))
        return _inserted_id(cursor)

    def renew_claims(self, dataset: str, session: str, keys: Iterable[int], lease: float) -> None:
        keys = list(keys)
        dataset_id = self._maybe_id(dataset)
        if not keys or dataset_id is None:
            return
        with self._transaction():
            self.conn.executemany("UPDATE claims SET expires = ? WHERE dataset_id = ? AND task_key = ? "
                                  "AND session = ?", [(time.time() + lease, dataset_id, k, session) for k in keys])

    def release_claims(self, dataset: str, session: str, keys: Iterable[int] | None = None) -> None:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return
        if keys is None:
            self.conn.execute("DELETE FROM claims WHERE dataset_id = ? AND session = ?", (dataset_id, session))
            return
        with self._transaction():
            self.conn.executemany("DELETE FROM claims WHERE dataset_id = ? AND task_key = ? AND session = ?",
                                  [(dataset_id, k, session) for k in keys])

    def lapsed_claims(self, dataset: str, session: str, limit: int = 50) -> list[tuple[int, int, str]]:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return []
        return [tuple(r) for r in self.conn.execute(  # type: ignore[misc]
            "SELECT task_key, max(target), max(content) FROM claims WHERE dataset_id = ? AND expires <= ? "
            "AND session != ? GROUP BY task_key ORDER BY min(expires) LIMIT ?",
            (dataset_id, time.time(), session, limit))]

    def held_by_others(self, dataset: str, session: str, by: str = "task") -> tuple[int, float | None]:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return 0, None
        column = self._column(by)
        row = self.conn.execute(
            "SELECT count(DISTINCT c.task_key), min(c.expires) FROM claims c WHERE c.dataset_id = ? "
            "AND c.expires > ? AND c.session != ? AND NOT EXISTS (SELECT 1 FROM answers a WHERE "
            f"a.dataset_id = c.dataset_id AND a.{column} = c.task_key AND a.session = ?) AND NOT EXISTS "
            "(SELECT 1 FROM claims m WHERE m.dataset_id = c.dataset_id AND m.task_key = c.task_key "
            "AND m.session = ? AND m.expires > ?)",
            (dataset_id, time.time(), session, session, session, time.time())).fetchone()
        return row[0], row[1]

    def claims(self, dataset: str) -> list[dict[str, Any]]:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return []
        return [{"key": k, "session": s, "target": t, "expires": e} for k, s, t, e in self.conn.execute(
            "SELECT task_key, session, target, expires FROM claims WHERE dataset_id = ? ORDER BY id",
            (dataset_id,))]

    # -- aggregates (from the trigger-kept totals) ------------------------------
    def overview(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT d.name, coalesce(sum(c.n), 0), count(DISTINCT c.session), min(c.first), max(c.last) "
            "FROM datasets d LEFT JOIN answer_counts c ON c.dataset_id = d.id GROUP BY d.id ORDER BY d.name")
        return [{"dataset": name, "answers": n, "sessions": s, "first": first, "last": last}
                for name, n, s, first, last in rows]

    def dataset_counts(self, name: str) -> DatasetCounts:
        dataset_id = self._dataset_id(name)
        sessions: dict[str, SessionCounts] = {}
        by_answer: dict[str, int] = {}
        by_labels: dict[tuple[str, str], int] = {}
        rows = self.conn.execute(
            "SELECT session, answer, labels, n, first, last, seconds_total, timed FROM answer_counts "
            "WHERE dataset_id = ? AND n > 0", (dataset_id,))
        for session, answer, labels, n, first, last, seconds, timed in rows:
            s = sessions.setdefault(session, SessionCounts())
            s.answers += n
            s.by_answer[answer] = s.by_answer.get(answer, 0) + n
            s.first = first if s.first is None else min(s.first, first)
            s.last = last if s.last is None else max(s.last, last)
            s.seconds_total += seconds or 0.0
            s.timed += timed
            by_answer[answer] = by_answer.get(answer, 0) + n
            by_labels[(answer, labels)] = by_labels.get((answer, labels), 0) + n
        for session, s in sessions.items():
            s.median_seconds = self._median(
                "FROM answers WHERE dataset_id = ? AND session = ? AND seconds IS NOT NULL", (dataset_id, session),
                s.timed)
        total_timed = sum(s.timed for s in sessions.values())
        row = self.conn.execute("SELECT tasks, inputs FROM question_counts WHERE dataset_id = ?",
                                (dataset_id,)).fetchone()
        tasks, inputs = row if row else (0, 0)
        firsts = [s.first for s in sessions.values() if s.first is not None]
        lasts = [s.last for s in sessions.values() if s.last is not None]
        return DatasetCounts(
            name=name, answers=sum(by_answer.values()), tasks=tasks, inputs=inputs, by_answer=by_answer,
            by_labels=[(a, json.loads(labels), n) for (a, labels), n in sorted(by_labels.items())],
            sessions=sessions, first=min(firsts) if firsts else None, last=max(lasts) if lasts else None,
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


def _sqlite_utils() -> Any:
    """sqlite-utils, imported only to create or migrate a schema, and without the optional pandas and
    numpy it would pull in (hundreds of milliseconds on the first start; we never hand it DataFrames)."""
    import sys

    if "sqlite_utils" in sys.modules:
        return sys.modules["sqlite_utils"]
    blocked = [name for name in ("pandas", "numpy") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        import sqlite_utils
    finally:
        for name in blocked:
            del sys.modules[name]
    return sqlite_utils


def _is_busy(e: sqlite3.OperationalError) -> bool:
    return "locked" in str(e) or "busy" in str(e)


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
