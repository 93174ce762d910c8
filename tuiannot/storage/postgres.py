"""The PostgreSQL backend (psycopg 3): one team database for annotators on many machines.

``tuiannot.connect("postgresql://user@host/dbname")`` (or ``--db``, ``$TUIANNOT_DB``) opens it; the URL, the
pool of connections and the error lines are in :mod:`.postgres_connect`, the schema (created on first use,
the same version as SQLite's) and the running totals in :mod:`.postgres_schema`. It keeps the promises of
:mod:`.base` as the SQLite backend does, with PostgreSQL's own means:

* Every method that writes is one transaction (or one statement), committed when it returns: an answer is
  durable on the server (``synchronous_commit`` as the server sets it: on by default) before the next task
  is shown.
* Claims: :meth:`PostgresDatabase.claim` and :meth:`~PostgresDatabase.answer_claimed` take a transaction-level
  advisory lock on the task (``pg_advisory_xact_lock`` of the dataset and key), then count who answered it
  and who holds a live claim, then claim or answer: many processes claiming one task queue on that lock for
  a moment, those claiming other tasks do not wait at all, and the overlap is exact. Each is one round trip
  (the lock and the statement pipelined: see :mod:`.postgres_claims`), so the lock is never held while the
  client waits; :meth:`~PostgresDatabase.claim_first` claims the first of a window of tasks with room in one.
  Leases are timed by the server's clock (annotators' machines need not agree). A transaction that meets a
  deadlock or a serialization failure is run again (:data:`RETRIES`).
* Imports (:meth:`~PostgresDatabase.add_answers`) are one transaction: rows are copied (``COPY``) into a
  temporary table, then inserted in one statement, so the running totals are counted once, set-wise, and
  annotators writing meanwhile never wait for the import (MVCC: they lock other rows); an import that fails,
  is interrupted or killed leaves nothing (the server rolls back a transaction whose connection went).
* Errors are one line naming the URL with its password masked: a server that cannot be reached, a login
  refused, a permission missing, a connection lost (see :func:`.postgres_connect.query_error`). There is no
  damage check as SQLite's: the server checks its own pages (data checksums, where the cluster has them).
"""

from __future__ import annotations

import json
import random
import time
import weakref
from typing import Any, Callable, Iterable, Iterator, TypeVar

import psycopg
from psycopg import errors as pg_errors

from ..errors import UserError
from .base import (RECENT_SECONDS, WRITES, Database, DatasetCounts, DatasetDropped, DatasetInUse,
                   LiveSession, StorageError, StoredAnswer, UnknownDataset, check_name,
                   fold_totals)
from .postgres_caches import PostgresCaches
from .postgres_claims import COLUMNS as _COLUMNS, INSERT as _INSERT, RETRIES, PostgresClaims
from .postgres_history import PostgresHistory
from .postgres_connect import Pool, Secret, guarded, pool_for, query_error, release
from .postgres_schema import NOW, prepare

PAGE = 5000
"""Answers read per query by the readers (each query on a connection borrowed for it alone)."""
ANALYZE_AFTER = 10_000
"""An import of this many answers or more vacuums and analyses ``answers`` when it has committed."""
_T = TypeVar("_T")
_NUL = "strpos(a.content, '\\u0000') > 0"  # JSON with a NUL escape (or a backslash before u0000: read it slowly)


def _row(dataset_id: int, a: StoredAnswer) -> tuple[Any, ...]:
    return (dataset_id, a.task_hash, a.input_hash, a.session, a.answer, a.labels, a.view_id, a.timestamp,
            a.seconds, a.content)


def _check_text(name: str, create: bool = False) -> None:
    check_name(name, create)
    if "\x00" in name:
        raise UserError(f"the dataset name {name!r} has a NUL character, which PostgreSQL cannot store; choose "
                        "another name")


class PostgresDatabase(PostgresClaims, PostgresHistory, PostgresCaches, Database):
    def __init__(self, url: str | Secret) -> None:
        # (the URL is passed on as a Secret: a crash's traceback, which Textual prints with each frame's local
        # variables, then shows it masked)
        self._pool: Pool = pool_for(url if isinstance(url, Secret) else Secret(url))
        self._done = weakref.finalize(self, release, self._pool)  # an object never closed gives its share back
        self.location = self._pool.location
        self._dataset_ids: dict[str, tuple[int, float]] = {}  # name -> (id, created): which dataset we wrote to
        try:
            if not self._pool.ready:
                prepare(self._pool)
                self._pool.ready = True
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"PostgresDatabase({self.location!r})"

    def _error(self, e: psycopg.Error, writing: bool) -> StorageError:
        return query_error(e, self.location, self._pool.secret, writing)

    def _transaction(self, work: Callable[[Any], _T]) -> _T:
        """``work(conn)`` in one transaction, run again after a deadlock or a serialization failure."""
        for attempt in range(RETRIES):
            try:
                with self._pool.connection() as conn, conn.transaction():
                    return work(conn)
            except (pg_errors.DeadlockDetected, pg_errors.SerializationFailure):
                if attempt == RETRIES - 1:
                    raise
                time.sleep(random.uniform(0.005, 0.02) * 2 ** attempt)
        raise AssertionError("unreachable")

    def _one(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        with self._pool.connection() as conn:
            return conn.execute(sql, params).fetchone()  # type: ignore[arg-type]

    def _run(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> None:
        with self._pool.connection() as conn:
            conn.execute(sql, params)  # type: ignore[arg-type]

    def _all(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[Any]:
        with self._pool.connection() as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    # -- datasets --------------------------------------------------------------
    def _dataset(self, name: str, create: bool = False) -> tuple[int, float]:
        """The dataset's (id, created), cached: a write checks against the cache that it is still there. A new
        dataset is committed at once (its own statement), never inside a transaction that may roll back."""
        if name in self._dataset_ids:
            return self._dataset_ids[name]
        _check_text(name, create)
        with self._pool.connection() as conn:
            row = conn.execute("SELECT id, created FROM datasets WHERE name = %s", (name,)).fetchone()
            if row is None:
                if not create:
                    raise UnknownDataset(name, self.location)
                conn.execute("INSERT INTO datasets (name, created, meta) VALUES (%s, %s, '{}') "
                             "ON CONFLICT (name) DO NOTHING", (name, time.time()))
                row = conn.execute("SELECT id, created FROM datasets WHERE name = %s", (name,)).fetchone()
        assert row is not None
        self._dataset_ids[name] = (row[0], row[1])
        return row[0], row[1]

    def _dataset_id(self, name: str, create: bool = False) -> int:
        return self._dataset(name, create)[0]

    def _maybe_id(self, name: str) -> int | None:
        try:
            return self._dataset_id(name)
        except (UnknownDataset, StorageError):
            return None

    def _still_there(self, conn: Any, name: str) -> bool:
        dataset_id, created = self._dataset(name)
        return conn.execute("SELECT 1 FROM datasets WHERE id = %s AND name = %s AND created = %s",
                            (dataset_id, name, created)).fetchone() is not None

    def datasets(self) -> list[str]:
        return [r[0] for r in self._all('SELECT name FROM datasets ORDER BY name COLLATE "C"')]

    def has_dataset(self, name: str) -> bool:
        _check_text(name)
        return self._one("SELECT 1 FROM datasets WHERE name = %s", (name,)) is not None

    def add_dataset(self, name: str, meta: dict[str, Any] | None = None) -> None:
        _check_text(name, create=True)
        self._run("INSERT INTO datasets (name, created, meta) VALUES (%s, %s, %s) ON CONFLICT (name) DO NOTHING",
                  (name, time.time(), json.dumps(meta or {})))

    def drop_dataset(self, name: str, only_if_idle: bool = False) -> int:
        self._dataset_ids.pop(name, None)
        dataset_id = self._dataset_id(name)

        def drop(conn: Any) -> int:
            # The row locked first: claims, answers and sessions of the dataset (whose foreign keys lock it to
            # share) wait until the drop commits, then find it gone.
            if conn.execute("SELECT 1 FROM datasets WHERE id = %s FOR UPDATE", (dataset_id,)).fetchone() is None:
                raise UnknownDataset(name, self.location)
            if only_if_idle and (live := self._live_sessions(conn, dataset_id)):
                raise DatasetInUse(name, live)
            count = conn.execute("SELECT coalesce(sum(n), 0)::bigint FROM answer_counts WHERE dataset_id = %s",
                                 (dataset_id,)).fetchone()[0]
            # The dataset's row goes first (foreign keys checked at commit), so the counting triggers skip the
            # rows below instead of updating totals that are about to go.
            conn.execute("SET CONSTRAINTS ALL DEFERRED")
            conn.execute("DELETE FROM datasets WHERE id = %s", (dataset_id,))
            for table in ("answers", "answer_counts", "question_counts", "answer_keys", "sessions", "claims",
                          "checkpoints", "llm_cache"):
                conn.execute(f"DELETE FROM {table} WHERE dataset_id = %s", (dataset_id,))
            return int(count)

        try:
            return self._transaction(drop)
        except pg_errors.InsufficientPrivilege:  # (an annotator's role: see postgres_roles)
            raise StorageError(f"{self.location}: permission denied: only the lead role may drop datasets (this "
                               "role may not delete from them)") from None
        finally:
            self._dataset_ids.pop(name, None)

    # -- sessions --------------------------------------------------------------
    def start_session(self, dataset: str, session: str, meta: dict[str, Any] | None = None) -> int:
        for _ in range(2):
            dataset_id = self._dataset_id(dataset, create=True)
            try:
                row = self._one(f"INSERT INTO sessions (dataset_id, session, started, meta) VALUES (%s, %s, {NOW}, "
                                "%s) RETURNING id", (dataset_id, session, json.dumps(meta or {})))
                return int(row[0])
            except pg_errors.ForeignKeyViolation:  # dropped since we cached it: start on it made again
                self._dataset_ids.pop(dataset, None)
        raise DatasetDropped(dataset, self.location)

    def end_session(self, session_id: int) -> None:
        def end(conn: Any) -> None:
            row = conn.execute("SELECT meta FROM sessions WHERE id = %s FOR UPDATE", (session_id,)).fetchone()
            if row is not None:
                meta = json.loads(row[0] or "{}")
                meta["ended"] = time.time()
                conn.execute("UPDATE sessions SET meta = %s WHERE id = %s", (json.dumps(meta), session_id))
        self._transaction(end)

    def live_sessions(self, dataset: str, recent: float = RECENT_SECONDS) -> list[LiveSession]:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return []
        with self._pool.connection() as conn:
            return self._live_sessions(conn, dataset_id, recent)

    def _live_sessions(self, conn: Any, dataset_id: int, recent: float = RECENT_SECONDS) -> list[LiveSession]:
        now = conn.execute(f"SELECT {NOW}").fetchone()[0]
        live: dict[str, LiveSession] = {}
        for session, n in conn.execute("SELECT session, count(*) FROM claims WHERE dataset_id = %s AND expires > %s "
                                       "GROUP BY session", (dataset_id, now)):
            live[session] = LiveSession(session, n, None)
        latest: dict[str, tuple[float, bool]] = {}  # each session's latest run: (started, ended cleanly)
        for session, started, meta in conn.execute(
                "SELECT session, started, meta FROM sessions WHERE dataset_id = %s ORDER BY started, id",
                (dataset_id,)):
            latest[session] = (started, "ended" in json.loads(meta or "{}"))
        lasts = dict(conn.execute("SELECT session, max(last) FROM answer_counts WHERE dataset_id = %s GROUP BY 1",
                                  (dataset_id,)).fetchall())
        for session, (started, ended) in latest.items():
            last = max(started, lasts.get(session) or 0.0)
            if session in live:
                live[session].last = last
            elif not ended and now - last < recent:
                live[session] = LiveSession(session, 0, last)
        return sorted(live.values(), key=lambda s: s.session)

    # -- answers ---------------------------------------------------------------
    def _insert_if_there(self, dataset: str, stored: StoredAnswer) -> int | None:
        """Insert into the dataset this connection knows as ``dataset`` if it is still there (one statement)."""
        dataset_id, created = self._dataset(dataset, create=True)
        try:
            row = self._one(_INSERT + "SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s WHERE EXISTS (SELECT 1 FROM "
                            "datasets WHERE id = %s AND name = %s AND created = %s) RETURNING id",
                            (*_row(dataset_id, stored), dataset_id, dataset, created))
        except pg_errors.ForeignKeyViolation:  # dropped while we inserted: the drop went first
            return None
        return None if row is None else int(row[0])

    def add_answer(self, dataset: str, task: dict[str, Any], recreate: bool = True) -> int:
        stored = StoredAnswer.from_task(dataset, task)
        answer_id = self._insert_if_there(dataset, stored)
        if answer_id is None:
            if not recreate:  # another process dropped the dataset since we cached it
                raise DatasetDropped(dataset, self.location)
            self._dataset_ids.pop(dataset, None)  # the answer still counts: the dataset is made again
            answer_id = self._insert_if_there(dataset, stored)
            if answer_id is None:
                raise DatasetDropped(dataset, self.location)
        return answer_id

    def replace_answer(self, answer_id: int, task: dict[str, Any]) -> None:
        row = self._one("SELECT d.name FROM answers a JOIN datasets d ON d.id = a.dataset_id WHERE a.id = %s",
                        (answer_id,))
        if row is None:
            raise KeyError(f"no stored answer with id {answer_id}")
        a = StoredAnswer.from_task(row[0], task)
        self._run('UPDATE answers SET task_hash = %s, input_hash = %s, session = %s, answer = %s, labels = %s, '
                  'view_id = %s, "timestamp" = %s, seconds = %s, content = %s WHERE id = %s',
                  (a.task_hash, a.input_hash, a.session, a.answer, a.labels, a.view_id, a.timestamp, a.seconds,
                   a.content, answer_id))

    def add_answers(self, dataset: str, tasks: Iterable[dict[str, Any]]) -> int:
        _check_text(dataset, create=True)
        tasks = iter(tasks)
        first = []
        for task in tasks:
            first.append(StoredAnswer.from_task(dataset, task))
            if len(first) > 200:
                break
        if not first:
            return 0
        self._dataset_ids.pop(dataset, None)  # (into the dataset of that name now, made again if need be)
        with self._pool.connection() as conn, conn.transaction():
            # A new dataset is made in the import's transaction (an import that fails leaves none), and the
            # dataset's row is locked to share: a drop meanwhile waits for the import (and then deletes it).
            conn.execute("INSERT INTO datasets (name, created, meta) VALUES (%s, %s, '{}') ON CONFLICT (name) "
                         "DO NOTHING", (dataset, time.time()))
            row = conn.execute("SELECT id FROM datasets WHERE name = %s FOR KEY SHARE", (dataset,)).fetchone()
            assert row is not None  # (made above, or there: and a drop waits for us now)
            dataset_id = row[0]
            if len(first) <= 200:  # a small import: the rows themselves
                with conn.cursor() as cursor:
                    cursor.execute(_INSERT + "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], "
                                   "%s::text[], %s::text[], %s::text[], %s::text[], %s::float8[], %s::float8[], "
                                   "%s::text[])", [list(c) for c in zip(*(_row(dataset_id, a) for a in first),
                                                                         strict=True)])
                return len(first)
            conn.execute("CREATE TEMP TABLE tuiannot_import (LIKE answers) ON COMMIT DROP")  # id: the order read
            count = 0
            with conn.cursor() as cursor, cursor.copy(
                    'COPY tuiannot_import (id, dataset_id, task_hash, input_hash, session, answer, labels, view_id, '
                    '"timestamp", seconds, content) FROM STDIN') as copy:
                for stored in first:
                    count += 1
                    copy.write_row((count, *_row(dataset_id, stored)))
                for task in tasks:
                    count += 1
                    copy.write_row((count, *_row(dataset_id, StoredAnswer.from_task(dataset, task))))
            conn.execute(_INSERT + 'SELECT dataset_id, task_hash, input_hash, session, answer, labels, view_id, '
                         '"timestamp", seconds, content FROM tuiannot_import ORDER BY id')
        if count >= ANALYZE_AFTER:  # what autovacuum would do a minute or more later, at once: fresh statistics
            try:  # and the visibility map, so that the medians of `stats` read the index alone (48 -> 11 ms at 100k)
                self._run("VACUUM (ANALYZE) answers")
            except psycopg.Error:  # noqa: BLE001 (a role that may not: autovacuum does it later)
                pass
        return count

    def _select(self, dataset: str, answer: str | None, session: str | None = None, columns: str = "a.content",
                join: str = "") -> Iterator[tuple[Any, ...]]:
        """Rows of the dataset's answers in id order, a page per query (``id`` first, then ``columns``)."""
        sql = f"SELECT a.id, {columns} FROM answers a {join} WHERE a.dataset_id = %s AND a.id > %s"
        params: list[Any] = [self._dataset_id(dataset), -1]
        if answer is not None:
            sql += " AND a.answer = %s"
            params.append(answer)
        if session is not None:
            sql += " AND a.session = %s"
            params.append(session)
        sql += f" ORDER BY a.id LIMIT {PAGE}"
        while True:
            rows = self._all(sql, params)
            yield from rows
            if len(rows) < PAGE:
                return
            params[1] = rows[-1][0]

    def answers(self, dataset: str, answer: str | None = None, session: str | None = None
                ) -> Iterator[dict[str, Any]]:
        for answer_id, content in self._select(dataset, answer, session):
            task = json.loads(content)
            task["_answer_id"] = answer_id
            yield task

    def answers_json(self, dataset: str, answer: str | None = None) -> Iterator[str]:
        for _, content in self._select(dataset, answer):
            yield content

    def answers_by_id(self, ids: Iterable[int]) -> Iterator[dict[str, Any]]:
        ordered = sorted(set(ids))
        for chunk in (ordered[i:i + 500] for i in range(0, len(ordered), 500)):
            rows = self._all("SELECT id, content FROM answers WHERE id = ANY(%s::bigint[]) ORDER BY id", (chunk,))
            yield from ({**json.loads(c), "_answer_id": i} for i, c in rows)

    def answer_fields(self, dataset: str, fields: tuple[str, ...]) -> Iterator[tuple[Any, ...]]:
        """The server extracts the fields (the JSON parsed once per row). PostgreSQL cannot turn a ``\\u0000`` of
        JSON into text, so an answer that has one (a NUL in the data) is sent whole and read here."""
        assert fields and all(f.isidentifier() for f in fields), fields
        values = ", ".join(f"j.c -> '{f}'" for f in fields)
        for row in self._select(dataset, None, None, "a.input_hash, a.session, a.answer, a.view_id, a.seconds, "
                                f"CASE WHEN {_NUL} THEN NULL ELSE json_build_array({values})::text END, "
                                f"CASE WHEN {_NUL} THEN a.content END",
                                join=f"CROSS JOIN LATERAL (SELECT CASE WHEN {_NUL} THEN NULL ELSE a.content::json "
                                "END AS c) j"):
            if row[7] is not None:
                task = json.loads(row[7])
                yield (*row[:6], *(task.get(f) for f in fields))
            else:
                yield (*row[:6], *json.loads(row[6]))

    def answered(self, datasets: Iterable[str], hashes: Iterable[int], by: str = "task") -> set[int]:
        column = _COLUMNS[by]
        ids = [i for i in (self._maybe_id(d) for d in datasets) if i is not None]
        keys = list(set(hashes))
        found: set[int] = set()
        if not ids or not keys:
            return found
        for start in range(0, len(keys), 5000):
            found.update(r[0] for r in self._all(
                f"SELECT DISTINCT {column} FROM answers WHERE dataset_id = ANY(%s::bigint[]) AND {column} = "
                "ANY(%s::bigint[])", (ids, keys[start:start + 5000])))
        return found

    def count_answers(self, dataset: str, session: str | None = None) -> int:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return 0
        sql = "SELECT coalesce(sum(n), 0)::bigint FROM answer_counts WHERE dataset_id = %s"
        if session is None:
            return int(self._one(sql, (dataset_id,))[0])
        return int(self._one(sql + " AND session = %s", (dataset_id, session))[0])

    # -- routing: claims with leases -----------------------------------------------
    def answer_sessions(self, dataset: str, keys: Iterable[int], by: str = "task") -> dict[int, set[str]]:
        dataset_id = self._maybe_id(dataset)
        keys = list(set(keys))
        found: dict[int, set[str]] = {}
        if dataset_id is None or not keys:
            return found
        column = _COLUMNS[by]
        for start in range(0, len(keys), 5000):
            for key, session in self._all(f"SELECT DISTINCT {column}, session FROM answers WHERE dataset_id = %s "
                                          f"AND {column} = ANY(%s::bigint[])", (dataset_id, keys[start:start + 5000])):
                found.setdefault(key, set()).add(session)
        return found

    def renew_claims(self, dataset: str, session: str, keys: Iterable[int], lease: float) -> None:
        keys = list(keys)
        dataset_id = self._maybe_id(dataset)
        if keys and dataset_id is not None:
            self._run(f"UPDATE claims SET expires = {NOW} + %s WHERE dataset_id = %s AND session = %s AND "
                      "task_key = ANY(%s::bigint[])", (lease, dataset_id, session, keys))

    def release_claims(self, dataset: str, session: str, keys: Iterable[int] | None = None) -> None:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return
        if keys is None:
            self._run("DELETE FROM claims WHERE dataset_id = %s AND session = %s", (dataset_id, session))
        else:
            self._run("DELETE FROM claims WHERE dataset_id = %s AND session = %s AND task_key = ANY(%s::bigint[])",
                      (dataset_id, session, list(keys)))

    def lapsed_claims(self, dataset: str, session: str, limit: int = 50) -> list[tuple[int, int, str]]:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return []
        return [tuple(r) for r in self._all(  # type: ignore[misc]
            f"SELECT task_key, max(target), max(content) FROM claims WHERE dataset_id = %s AND expires <= {NOW} "
            "AND session != %s GROUP BY task_key ORDER BY min(expires) LIMIT %s", (dataset_id, session, limit))]

    def held_by_others(self, dataset: str, session: str, by: str = "task") -> tuple[int, float | None]:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return 0, None
        column = _COLUMNS[by]
        row = self._one(
            "SELECT count(DISTINCT c.task_key), min(c.expires) FROM claims c WHERE c.dataset_id = %s "
            f"AND c.expires > {NOW} AND c.session != %s AND NOT EXISTS (SELECT 1 FROM answers a WHERE "
            f"a.dataset_id = c.dataset_id AND a.{column} = c.task_key AND a.session = %s) AND NOT EXISTS "
            "(SELECT 1 FROM claims m WHERE m.dataset_id = c.dataset_id AND m.task_key = c.task_key "
            f"AND m.session = %s AND m.expires > {NOW})", (dataset_id, session, session, session))
        return int(row[0]), row[1]

    def claims(self, dataset: str) -> list[dict[str, Any]]:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return []
        return [{"key": k, "session": s, "target": t, "expires": e} for k, s, t, e in self._all(
            "SELECT task_key, session, target, expires FROM claims WHERE dataset_id = %s ORDER BY id",
            (dataset_id,))]

    def claimed_by_others(self, dataset: str, session: str) -> dict[int, list[tuple[str, float]]]:
        dataset_id = self._maybe_id(dataset)
        found: dict[int, list[tuple[str, float]]] = {}
        if dataset_id is not None:
            for key, other, left in self._all(f"SELECT c.task_key, c.session, c.expires - t.now FROM (SELECT {NOW} "
                                              "AS now) t JOIN claims c ON c.dataset_id = %s AND c.expires > t.now "
                                              "AND c.session != %s", (dataset_id, session)):
                found.setdefault(key, []).append((other, left))
        return found

    # -- aggregates (from the trigger-kept totals) ------------------------------
    def overview(self) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT d.name, coalesce(sum(c.n), 0)::bigint, count(DISTINCT c.session), min(c.first), max(c.last) "
            'FROM datasets d LEFT JOIN answer_counts c ON c.dataset_id = d.id GROUP BY d.id, d.name ORDER BY d.name '
            'COLLATE "C"')
        return [{"dataset": name, "answers": int(n), "sessions": s, "first": first, "last": last}
                for name, n, s, first, last in rows]

    def dataset_counts(self, name: str) -> DatasetCounts:
        dataset_id = self._dataset_id(name)
        with self._pool.connection() as conn:
            totals = fold_totals(conn.execute(
                "SELECT session, answer, labels, n, first, last, seconds_total, timed FROM answer_counts WHERE "
                "dataset_id = %s AND n > 0", (dataset_id,)).fetchall())
            sessions = totals[0]
            for session, s in sessions.items():
                s.median_seconds = self._median(conn, "FROM answers WHERE dataset_id = %s AND session = %s AND "
                                                "seconds IS NOT NULL", (dataset_id, session), s.timed)
            total_timed = sum(s.timed for s in sessions.values())
            row = conn.execute("SELECT coalesce(sum(tasks), 0)::bigint, coalesce(sum(inputs), 0)::bigint FROM "
                               "question_counts WHERE dataset_id = %s", (dataset_id,)).fetchone()
            assert row is not None
            tasks, inputs = row
            median = self._median(conn, "FROM answers WHERE dataset_id = %s AND seconds IS NOT NULL", (dataset_id,),
                                  total_timed)
        return DatasetCounts.of(name, totals, tasks, inputs, median)

    @staticmethod
    def _median(conn: Any, where: str, params: tuple[Any, ...], count: int) -> float | None:
        if count == 0:
            return None
        sql = f"SELECT seconds {where} ORDER BY seconds LIMIT %s OFFSET %s"
        if count % 2:
            return conn.execute(sql, (*params, 1, count // 2)).fetchone()[0]  # type: ignore[no-any-return]
        a, b = [r[0] for r in conn.execute(sql, (*params, 2, count // 2 - 1))]
        return (a + b) / 2  # type: ignore[no-any-return]

    # -- connection ------------------------------------------------------------
    def reopen(self) -> "PostgresDatabase":
        return PostgresDatabase(self._pool.key)

    def close(self) -> None:
        self._done()


for _name, _method in [*vars(PostgresCaches).items(), *vars(PostgresClaims).items(),  # the mixins' too
                      *vars(PostgresDatabase).items()]:
    if callable(_method) and not _name.startswith("_") and _name not in ("reopen", "close"):
        setattr(PostgresDatabase, _name, guarded(_method, writes=_name in WRITES))
