"""The embedded SQLite backend (the standard library's ``sqlite3``).

WAL mode with a busy timeout lets several tuiannot processes (a team on one
server) write one database file at once; every write is a single statement or
an explicit ``BEGIN IMMEDIATE`` transaction, committed before the call returns,
with ``synchronous=FULL`` so that a committed answer survives ``kill -9``, a
dropped SSH connection and a power cut alike.

Imports (:meth:`SQLiteDatabase.add_answers`) never hold the write lock for
long and are all or nothing: see :mod:`.sqlite_import`. The schema and its
migrations are in :mod:`.sqlite_schema`.

Every ``sqlite3`` error leaves this module (:mod:`.sqlite_safety`) as a
:class:`~tuiannot.storage.base.StorageError` whose one line says which file,
what went wrong (read-only file or folder, full disk, damage, a lock held too
long) and what to do. A database that is not new is checked before a process
first writes into it (``PRAGMA quick_check``): for up to :data:`CHECK_SECONDS`
at once, and if it is larger than that covers, to the end on a background
thread (about 0.5 s for a million answers with the file in the page cache,
seconds from a cold disk); damage found refuses every later call. A process
that only reads (``stats``, ``db-out``) does not check the whole file first
(on a large database that cost more than its work): it cannot spread damage,
and SQLite checks each page it reads (damage there: the same one-line error).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from ..errors import UserError
from .base import (RECENT_SECONDS, WRITES, ClaimLost, Database, DatasetCounts, DatasetDropped, DatasetInUse,
                   LiveSession, StorageError, StoredAnswer, UnknownDataset, fold_totals)
from .sharing import permission_problem
from .sqlite_caches import CacheTables
from .sqlite_history import HistoryTables
from .sqlite_safety import (BUSY_TIMEOUT_MS, CHECK_SECONDS, STAGING, Transaction, _check_name, _check_to_the_end,
                            _checked, _checked_lock, _damaged, _disk_full, _free, _is_busy, _remove_if_empty, guarded)
from .sqlite_schema import MIGRATIONS, SCHEMA_VERSION, _create_private_file, _inserted_id, migrate  # noqa: F401
# (MIGRATIONS: tests build databases of an older schema through it)


class SQLiteDatabase(HistoryTables, CacheTables, Database):
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.location = str(path)
        self.path = Path(path)
        self._key = os.path.realpath(self.location)
        self._dataset_ids: dict[str, tuple[int, float]] = {}  # name -> (id, created): which dataset we wrote to
        created = _create_private_file(self.path)
        conn: sqlite3.Connection | None = None
        try:
            new = created or self.path.stat().st_size == 0
            self._unchecked = not new  # checked before this process first writes into it (_before_writing)
            conn = self.conn = sqlite3.connect(self.location, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                               check_same_thread=False)
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._use_wal()
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            if self._unchecked:  # SQLite itself refuses a write that _before_writing did not precede
                self.conn.execute("PRAGMA query_only = ON")
            self._migrate()
            self._finish_abandoned_moves()
        except BaseException as e:
            if conn is not None:
                conn.close()
            if created:
                _remove_if_empty(self.path)  # no 0-byte file left behind by a creation that failed
            if isinstance(e, sqlite3.Error):
                raise self._error(e, opening=True) from None
            raise

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
        self._before_writing()
        with self._transaction():
            migrate(self.conn, self._schema_version())  # read again: another process may have migrated meanwhile

    def _schema_version(self) -> int:
        try:
            row = self.conn.execute("SELECT value FROM tuiannot_meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.OperationalError as e:
            if "no such table" not in str(e):
                raise
            return 0
        return int(row[0]) if row else 0

    def _transaction(self) -> "Transaction":
        return Transaction(self.conn)

    # -- damage and errors -----------------------------------------------------------
    def _before_writing(self) -> None:
        """The damage check, before this connection first writes into a file it did not create (once per
        process and file: see :meth:`_check`)."""
        if self._unchecked:
            self._check()
            self._unchecked = False
            self.conn.execute("PRAGMA query_only = OFF")
        self._refuse_if_damaged()

    def _check(self) -> None:
        """``PRAGMA quick_check``, once per process and file: up to CHECK_SECONDS here, the rest on a thread."""
        with _checked_lock:
            if self._key in _checked:
                self._refuse_if_damaged()
                return
            _checked[self._key] = None
        running, lock = [True], threading.Lock()

        def stop() -> None:  # a progress handler would not do: the check of a b-tree is one step of SQLite's VM
            with lock:
                if running[0]:
                    self.conn.interrupt()

        timer = threading.Timer(CHECK_SECONDS, stop)
        timer.start()
        try:
            rows = self.conn.execute("PRAGMA quick_check(3)").fetchall()
        except sqlite3.OperationalError as e:
            if "interrupt" not in str(e):
                raise
            threading.Thread(target=_check_to_the_end, args=(self.location, self._key), name="tuiannot-check",
                             daemon=True).start()
            return
        finally:
            with lock:
                running[0] = False
            timer.cancel()
        if rows != [("ok",)]:
            _checked[self._key] = _damaged(self.location, "; ".join(str(r[0]) for r in rows))
            self._refuse_if_damaged()

    def _refuse_if_damaged(self) -> None:
        damage = _checked.get(self._key)
        if damage:
            raise StorageError(damage)

    def _error(self, e: sqlite3.Error, opening: bool = False) -> StorageError:
        """The one line a person reads for an error of SQLite: the file, the cause, what to do."""
        loc, name, text = self.location, getattr(e, "sqlite_errorname", "") or "", str(e)
        folder = str(self.path.parent) if str(self.path.parent) else "."
        if name.startswith("SQLITE_BUSY") or _is_busy(e):
            return StorageError(f"{loc}: the database stayed locked by another process for {BUSY_TIMEOUT_MS // 1000}"
                                f" s ({text}); try again, and if it persists look for a stuck tuiannot or "
                                f"sqlite3 process (fuser {loc})")
        if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text or "not a database" in text:
            if name.startswith("SQLITE_NOTADB") or "not a database" in text:
                return StorageError(f"{loc}: not a usable tuiannot database ({text}); give the path of a tuiannot "
                                    "database, or a new file name to start one")
            _checked[self._key] = message = _damaged(loc, text)
            return StorageError(message)
        if name.startswith("SQLITE_FULL") or "disk is full" in text or _disk_full(folder):
            return StorageError(f"{loc}: the disk is full ({_free(folder)} free in {folder}; {text}): nothing of "
                                "this step was written; free some space and run it again")
        unwritable = self._unwritable(folder)
        if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")) or "readonly" in text or "unable to open" in text:
            if unwritable:
                return StorageError(f"{loc}: cannot {'open' if opening else 'write'} the database: {unwritable}")
            if opening or "unable to open" in text:
                return StorageError(f"{loc}: cannot open the database ({text}); check that this user may read "
                                    f"and write it and its folder {folder}")
            return StorageError(f"{loc}: the database is read-only ({text}); make it writable for this user, or "
                                "copy it somewhere writable and pass --db COPY")
        if name.startswith("SQLITE_IOERR") or "disk I/O" in text:
            return StorageError(f"{loc}: the disk failed to read or write the database ({text}); check the disk "
                                "and the file system (dmesg), then try again")
        if opening and isinstance(e, sqlite3.DatabaseError):
            return StorageError(f"{loc}: not a usable tuiannot database ({text})")
        return StorageError(f"{loc}: the database failed ({type(e).__name__}: {text})")

    def _unwritable(self, folder: str) -> str | None:
        """Why this user cannot write the database (file, folder, or the -wal/-shm files beside it), if so."""
        sides = [Path(self.location + suffix) for suffix in ("-wal", "-shm")]
        problem = permission_problem(self.path, write=False)  # whose the file is, its mode, who you are, the fix
        if problem is not None:
            return problem
        if not os.access(folder, os.W_OK) and not all(side.exists() for side in sides):
            return (f"its folder {folder} is read-only, and SQLite needs to create {self.path.name}-wal and "
                    f"{self.path.name}-shm beside the database, even to read it; make the folder writable, or "
                    "move the database to a writable folder")
        for file in (self.path, *sides):
            problem = permission_problem(file)
            if problem is not None:
                return problem
        return None

    # -- datasets --------------------------------------------------------------
    def _dataset(self, name: str, create: bool = False) -> tuple[int, float]:
        """The dataset's (id, created), cached: a write checks against the cache that it is still there."""
        if name in self._dataset_ids:
            return self._dataset_ids[name]
        _check_name(name, create)
        row = self.conn.execute("SELECT id, created FROM datasets WHERE name = ?", (name,)).fetchone()
        if row is None:
            if not create:
                raise UnknownDataset(name, self.location)
            self.conn.execute("INSERT OR IGNORE INTO datasets (name, created, meta) VALUES (?, ?, ?)",
                              (name, time.time(), "{}"))
            row = self.conn.execute("SELECT id, created FROM datasets WHERE name = ?", (name,)).fetchone()
        self._dataset_ids[name] = (row[0], row[1])
        return row[0], row[1]

    def _dataset_id(self, name: str, create: bool = False) -> int:
        return self._dataset(name, create)[0]

    def _still_there(self, name: str) -> bool:
        """Whether the dataset this connection knows as ``name`` is still in the database (not dropped since;
        a dataset made again under the same name, even with the same id, is another one)."""
        dataset_id, created = self._dataset(name)
        return self.conn.execute("SELECT 1 FROM datasets WHERE id = ? AND name = ? AND created = ?",
                                 (dataset_id, name, created)).fetchone() is not None

    def _dropped(self, name: str) -> DatasetDropped:
        """(The dataset stays cached: a session told so never writes into a new dataset of the same name.)"""
        return DatasetDropped(name, self.location)

    def datasets(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM datasets WHERE name NOT GLOB ? ORDER BY name",
                                                (STAGING + "*",))]

    def has_dataset(self, name: str) -> bool:
        _check_name(name)
        return self.conn.execute("SELECT 1 FROM datasets WHERE name = ?", (name,)).fetchone() is not None

    def add_dataset(self, name: str, meta: dict[str, Any] | None = None) -> None:
        _check_name(name, create=True)
        self.conn.execute("INSERT OR IGNORE INTO datasets (name, created, meta) VALUES (?, ?, ?)",
                          (name, time.time(), json.dumps(meta or {})))

    def drop_dataset(self, name: str, only_if_idle: bool = False) -> int:
        self._dataset_ids.pop(name, None)
        with self._transaction():
            if only_if_idle and (live := self.live_sessions(name)):
                raise DatasetInUse(name, live)
            count = self._delete_dataset(self._dataset_id(name))
        self._dataset_ids.pop(name, None)
        return count

    def _delete_dataset(self, dataset_id: int) -> int:
        """Delete a dataset and everything of it (inside a transaction); return how many answers went."""
        count = self.conn.execute("SELECT coalesce(sum(n), 0) FROM answer_counts WHERE dataset_id = ?",
                                  (dataset_id,)).fetchone()[0]
        # The dataset row goes first (foreign keys checked at commit), so the counting
        # triggers skip the rows below instead of updating totals that are about to go.
        self.conn.execute("PRAGMA defer_foreign_keys = ON")
        self.conn.execute("DELETE FROM datasets WHERE id = ?", (dataset_id,))
        for table in ("answers", "answer_counts", "question_counts", "sessions", "claims", "checkpoints", "llm_cache"):
            self.conn.execute(f"DELETE FROM {table} WHERE dataset_id = ?", (dataset_id,))
        return count

    # -- sessions --------------------------------------------------------------
    def start_session(self, dataset: str, session: str, meta: dict[str, Any] | None = None) -> int:
        dataset_id = self._dataset_id(dataset, create=True)
        return _inserted_id(self.conn.execute(
            "INSERT INTO sessions (dataset_id, session, started, meta) VALUES (?, ?, ?, ?)",
            (dataset_id, session, time.time(), json.dumps(meta or {}))))

    def end_session(self, session_id: int) -> None:
        with self._transaction():
            row = self.conn.execute("SELECT meta FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is not None:
                meta = json.loads(row[0] or "{}")
                meta["ended"] = time.time()
                self.conn.execute("UPDATE sessions SET meta = ? WHERE id = ?", (json.dumps(meta), session_id))

    def live_sessions(self, dataset: str, recent: float = RECENT_SECONDS) -> list[LiveSession]:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return []
        now = time.time()
        live: dict[str, LiveSession] = {}
        for session, n in self.conn.execute("SELECT session, count(*) FROM claims WHERE dataset_id = ? "
                                            "AND expires > ? GROUP BY session", (dataset_id, now)):
            live[session] = LiveSession(session, n, None)
        latest: dict[str, tuple[float, bool]] = {}  # each session's latest run: (started, ended cleanly)
        for session, started, meta in self.conn.execute(
                "SELECT session, started, meta FROM sessions WHERE dataset_id = ? ORDER BY started", (dataset_id,)):
            latest[session] = (started, "ended" in json.loads(meta or "{}"))
        for session, (started, ended) in latest.items():
            last_answer = self.conn.execute("SELECT max(last) FROM answer_counts WHERE dataset_id = ? AND "
                                            "session = ?", (dataset_id, session)).fetchone()[0]
            last = max(started, last_answer or 0.0)
            if session in live:
                live[session].last = last
            elif not ended and now - last < recent:
                live[session] = LiveSession(session, 0, last)
        return sorted(live.values(), key=lambda s: s.session)

    # -- answers ---------------------------------------------------------------
    _INSERT = ("INSERT INTO answers (dataset_id, task_hash, input_hash, session, answer, labels, view_id, "
               "timestamp, seconds, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    _INSERT_IF_THERE = ("INSERT INTO answers (dataset_id, task_hash, input_hash, session, answer, labels, view_id, "
                        "timestamp, seconds, content) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS "
                        "(SELECT 1 FROM datasets WHERE id = ? AND name = ? AND created = ?)")

    @staticmethod
    def _row(dataset_id: int, a: StoredAnswer) -> tuple[Any, ...]:
        return (dataset_id, a.task_hash, a.input_hash, a.session, a.answer, a.labels, a.view_id,
                a.timestamp, a.seconds, a.content)

    def _insert_if_there(self, dataset: str, stored: StoredAnswer) -> int | None:
        """Insert into the dataset this connection knows as ``dataset`` if it is still there (one statement)."""
        dataset_id, created = self._dataset(dataset, create=True)
        cursor = self.conn.execute(self._INSERT_IF_THERE, (*self._row(dataset_id, stored), dataset_id, dataset,
                                                            created))
        return _inserted_id(cursor) if cursor.rowcount == 1 else None

    def add_answer(self, dataset: str, task: dict[str, Any], recreate: bool = True) -> int:
        stored = StoredAnswer.from_task(dataset, task)
        answer_id = self._insert_if_there(dataset, stored)
        if answer_id is None:
            # Another process dropped the dataset since we cached it.
            if not recreate:
                raise self._dropped(dataset)
            # The answer still counts: the dataset is made again rather than the answer lost.
            self._dataset_ids.pop(dataset, None)
            answer_id = self._insert_if_there(dataset, stored)
            if answer_id is None:
                raise self._dropped(dataset)  # dropped again in between: let the caller say so
        return answer_id

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

    # -- imports: see tuiannot.storage.sqlite_import --------------------------------------------------------
    def add_answers(self, dataset: str, tasks: Iterable[dict[str, Any]]) -> int:
        from .sqlite_import import Importer  # (not needed to open a database: annotating starts without it)

        return Importer(self).add_answers(dataset, tasks)

    def _finish_abandoned_moves(self) -> None:
        if self.conn.execute("SELECT 1 FROM datasets WHERE name GLOB ? LIMIT 1", (STAGING + "*",)).fetchone():
            from .sqlite_import import Importer  # an import under way, or one its process left half moved

            Importer(self)._finish_abandoned_moves()

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

    def answers_by_id(self, ids: Iterable[int]) -> Iterator[dict[str, Any]]:
        ordered = sorted(set(ids))
        for chunk in (ordered[i:i + 500] for i in range(0, len(ordered), 500)):
            sql = f"SELECT id, content FROM answers WHERE id IN ({','.join('?' * len(chunk))}) ORDER BY id"
            yield from ({**json.loads(c), "_answer_id": i} for i, c in self.conn.execute(sql, chunk).fetchall())

    def answer_fields(self, dataset: str, fields: tuple[str, ...]) -> Iterator[tuple[Any, ...]]:
        assert fields and all(f.isidentifier() for f in fields), fields
        paths = ", ".join(f"'$.{f}'" for f in (*fields, fields[0]))  # two paths or more: one JSON array, one parse
        for row in self._select(dataset, None, None, "id, input_hash, session, answer, view_id, seconds, "
                                f"json_extract(content, {paths})"):
            yield (*row[:6], *json.loads(row[6])[:len(fields)])

    def answered(self, datasets: Iterable[str], hashes: Iterable[int], by: str = "task") -> set[int]:
        column = {"task": "task_hash", "input": "input_hash"}[by]
        ids = [self._maybe_id(d) for d in datasets]
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
        except (UnknownDataset, StorageError):
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
            if not self._still_there(dataset):
                raise self._dropped(dataset)
            now = time.time()
            others, mine = self._others(dataset_id, session, key, self._column(by), now)
            if mine or len(others) >= target:
                return False
            if self.conn.execute("SELECT 1 FROM claims WHERE dataset_id = ? AND task_key = ? AND session = ? AND "
                                 "expires > ?", (dataset_id, key, session, now)).fetchone():
                return False  # already ours
            # lapsed claims of others on this task are over: take them off the books
            self.conn.execute("DELETE FROM claims WHERE dataset_id = ? AND task_key = ? AND expires <= ?",
                              (dataset_id, key, now))
            self.conn.execute(
                "INSERT INTO claims (dataset_id, task_key, session, target, expires, content) VALUES (?, ?, ?, ?, ?, "
                "?) ON CONFLICT (dataset_id, task_key, session) DO UPDATE SET target = excluded.target, expires = "
                "excluded.expires, content = excluded.content",
                (dataset_id, key, session, target, now + lease, content))
            return True

    def claim_first(self, dataset: str, session: str, candidates: Sequence[tuple[int, int, str]], lease: float,
                    by: str = "task") -> tuple[int | None, dict[int, bool]]:
        # Who answered and holds the candidates is read first, in two queries, without the write lock (in WAL mode
        # readers wait for no one); only a candidate with room then takes the lock, in a short transaction of its
        # own that decides (claim()): the write lock is what every annotator of the file waits for.
        dataset_id, keys = self._maybe_id(dataset), [c[0] for c in candidates]
        answered: dict[int, set[str]] = {}
        holding: dict[int, set[str]] = {}
        if dataset_id is not None and keys:
            column, marks = self._column(by), ",".join("?" * len(keys))
            for key, other in self.conn.execute(f"SELECT DISTINCT {column}, session FROM answers WHERE dataset_id = ? "
                                                f"AND {column} IN ({marks})", (dataset_id, *keys)):
                answered.setdefault(key, set()).add(other)
            for key, other in self.conn.execute(f"SELECT task_key, session FROM claims WHERE dataset_id = ? AND "
                                                f"expires > ? AND task_key IN ({marks})",
                                                (dataset_id, time.time(), *keys)):
                holding.setdefault(key, set()).add(other)
        passed: dict[int, bool] = {}
        for key, target, content in candidates:
            done, held = answered.get(key, set()), holding.get(key, set())
            if session in done or len(done - {session}) >= target:
                passed[key] = True
            elif session in held or len((done | held) - {session}) >= target:
                passed[key] = False
            elif self.claim(dataset, session, key, target, lease, content, by=by):
                return key, passed
            else:
                passed[key] = False  # taken meanwhile
        return None, passed

    def answer_claimed(self, dataset: str, session: str, key: int, task: dict[str, Any], by: str = "task") -> int:
        stored = StoredAnswer.from_task(dataset, task)
        with self._transaction():
            dataset_id = self._dataset_id(dataset, create=True)
            if not self._still_there(dataset):
                raise self._dropped(dataset)  # not "went to another annotator": the dataset is gone
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

    def claimed_by_others(self, dataset: str, session: str) -> dict[int, list[tuple[str, float]]]:
        dataset_id = self._maybe_id(dataset)
        found: dict[int, list[tuple[str, float]]] = {}
        if dataset_id is not None:
            now = time.time()
            for key, other, expires in self.conn.execute(
                    "SELECT task_key, session, expires FROM claims WHERE dataset_id = ? AND expires > ? AND "
                    "session != ?", (dataset_id, now, session)):
                found.setdefault(key, []).append((other, expires - now))
        return found

    # -- aggregates (from the trigger-kept totals) ------------------------------
    def overview(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT d.name, coalesce(sum(c.n), 0), count(DISTINCT c.session), min(c.first), max(c.last) "
            "FROM datasets d LEFT JOIN answer_counts c ON c.dataset_id = d.id WHERE d.name NOT GLOB ? GROUP BY d.id "
            "ORDER BY d.name", (STAGING + "*",))
        return [{"dataset": name, "answers": n, "sessions": s, "first": first, "last": last}
                for name, n, s, first, last in rows]

    def dataset_counts(self, name: str) -> DatasetCounts:
        dataset_id = self._dataset_id(name)
        totals = fold_totals(self.conn.execute(
            "SELECT session, answer, labels, n, first, last, seconds_total, timed FROM answer_counts "
            "WHERE dataset_id = ? AND n > 0", (dataset_id,)))
        sessions = totals[0]
        for session, s in sessions.items():
            s.median_seconds = self._median(
                "FROM answers WHERE dataset_id = ? AND session = ? AND seconds IS NOT NULL", (dataset_id, session),
                s.timed)
        total_timed = sum(s.timed for s in sessions.values())
        row = self.conn.execute("SELECT tasks, inputs FROM question_counts WHERE dataset_id = ?",
                                (dataset_id,)).fetchone()
        tasks, inputs = row if row else (0, 0)
        return DatasetCounts.of(name, totals, tasks, inputs, self._median(
            "FROM answers WHERE dataset_id = ? AND seconds IS NOT NULL", (dataset_id,), total_timed))

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


for _name, _method in [*vars(CacheTables).items(), *vars(SQLiteDatabase).items()]:  # the mixin's too
    if callable(_method) and not _name.startswith("_") and _name not in ("reopen", "close"):
        setattr(SQLiteDatabase, _name, guarded(_method, writes=_name in WRITES))


