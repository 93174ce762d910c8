"""Claims on PostgreSQL: a task claimed, a window of tasks claimed at once, an answer stored under its claim.

A mixin of :class:`~.postgres.PostgresDatabase` (its pool and dataset ids; its methods wrapped as the backend's
own are, every psycopg error a one-line :class:`~.base.StorageError`). Each method is one round trip to the
server: BEGIN, the statements, COMMIT, sent together in psycopg's pipeline mode (see the comment above
``_LOCK``), so no lock is ever held while this process waits for a reply or for the CPU.

:meth:`PostgresClaims.claim_first` is the one annotators use at the frontier of a shared source (issue 18): all of
them reach the same next tasks at once, and with a claim per task most of them lost a round trip per task
tried (10-17 claims per answer at 50 annotators). It sends a window of candidates in the session's order; the
server reports those with no room for the session before the one it takes (each with whether it is done for the
session, so the caller need not try it again: held by others, it comes back only if their lease runs out; those
after the one taken are not looked at, see the comment above ``_PICK``), skips those another
transaction is claiming or answering this very moment (``pg_try_advisory_xact_lock``, the job-queue idiom of
``FOR UPDATE SKIP LOCKED`` for rows that are not there yet: a claim is a row to insert), takes the lock of the
first with room, and claims it in a statement of its own, which sees what the lock's last holder committed, as
:meth:`PostgresClaims.claim` does: the overlap stays exact.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any, Sequence

from psycopg import errors as pg_errors

from .base import ClaimLost, DatasetDropped, StoredAnswer
from .postgres_schema import NOW

if TYPE_CHECKING:
    from .postgres_connect import Pool

RETRIES = 5
"""A transaction that meets a deadlock or a serialization failure is tried this many times in all."""
COLUMNS = {"task": "task_hash", "input": "input_hash"}
INSERT = ('INSERT INTO answers (dataset_id, task_hash, input_hash, session, answer, labels, view_id, "timestamp", '
          "seconds, content) ")


def lock_key(dataset_id: int, key: int) -> int:
    """One signed 64-bit advisory lock key per (dataset, task key): a collision only makes two claims queue."""
    mixed = ((dataset_id * 0x9E3779B97F4A7C15) ^ key) & 0xFFFFFFFFFFFFFFFF
    return mixed - (1 << 64) if mixed >= 1 << 63 else mixed


class PostgresClaims:
    if TYPE_CHECKING:  # the backend's own
        _pool: Pool
        location: str

        def _dataset(self, name: str, create: bool = False) -> tuple[int, float]:
            raise NotImplementedError

    # The claim and the answer are each one round trip to the server: BEGIN, the task's advisory lock, one
    # statement that reads the task's state and writes only if it allows, COMMIT, sent together (psycopg's
    # pipeline mode). The lock is so held only while the server runs that statement, never while this process
    # waits for a reply or for the CPU: with a statement per step, a process descheduled under the lock made
    # every other claimer of the task queue behind it (the frontier of a shared source is claimed by everyone).
    # The statement after the lock is a statement of its own: it sees what the lock's last holder committed.
    # A claim takes the lock only if the task is not full already (as a statement before the lock sees it): the
    # many annotators that reach a task just after two others took it do not queue on its lock only to find it
    # full. The claim's statement writes only if this transaction took the lock (``tuiannot.locked``, a setting
    # local to the transaction) and, under it, finds the task not full: the overlap stays exact.
    _LOCK = "SELECT pg_advisory_xact_lock(%(lock)s)"
    _LOCK_UNLESS_FULL = (
        "SELECT CASE WHEN (SELECT count(*) FROM (SELECT session FROM answers WHERE dataset_id = %(id)s AND {column} "
        "= %(key)s UNION SELECT session FROM claims WHERE dataset_id = %(id)s AND task_key = %(key)s AND expires > "
        "{now}) o WHERE o.session != %(session)s) >= %(target)s THEN set_config('tuiannot.locked', 'no', true) "
        "ELSE set_config('tuiannot.locked', pg_advisory_xact_lock(%(lock)s)::text || 'yes', true) END")
    _STATE = ("WITH t AS MATERIALIZED (SELECT {now} AS now), "
              "ans AS MATERIALIZED (SELECT DISTINCT session FROM answers WHERE dataset_id = %(id)s AND {column} = "
              "%(key)s), "
              "live AS MATERIALIZED (SELECT c.session FROM claims c, t WHERE c.dataset_id = %(id)s AND "
              "c.task_key = %(key)s AND c.expires > t.now), "
              "s AS MATERIALIZED (SELECT EXISTS (SELECT 1 FROM datasets WHERE id = %(id)s AND name = %(name)s AND "
              "created = %(created)s) AS there, EXISTS (SELECT 1 FROM ans WHERE session = %(session)s) AS answered, "
              "EXISTS (SELECT 1 FROM live WHERE session = %(session)s) AS mine, (SELECT count(*) FROM (SELECT "
              "session FROM ans UNION SELECT session FROM live) o WHERE o.session != %(session)s) AS others) ")
    _CLAIM = _STATE + (
        ", ins AS (INSERT INTO claims (dataset_id, task_key, session, target, expires, content) SELECT %(id)s, "
        "%(key)s, %(session)s, %(target)s, t.now + %(lease)s, %(content)s FROM s, t WHERE s.there AND NOT "
        "s.answered AND NOT s.mine AND s.others < %(target)s AND current_setting('tuiannot.locked', true) = 'yes' "
        "ON CONFLICT (dataset_id, task_key, session) DO UPDATE "
        "SET target = excluded.target, expires = excluded.expires, content = excluded.content RETURNING 1), "
        # lapsed claims of others on the task are over once it is ours: taken off the books (not before: until
        # someone takes the task over, they are how serve_lapsed finds it)
        "gone AS (DELETE FROM claims c USING t WHERE c.dataset_id = %(id)s AND c.task_key = %(key)s AND "
        "c.expires <= t.now AND c.session != %(session)s AND EXISTS (SELECT 1 FROM ins)) "
        "SELECT s.there, EXISTS (SELECT 1 FROM ins) FROM s")
    _ANSWER = _STATE + (
        ", m AS MATERIALIZED (SELECT c.target, c.expires FROM claims c WHERE c.dataset_id = %(id)s AND "
        "c.task_key = %(key)s AND c.session = %(session)s), "
        "ok AS MATERIALIZED (SELECT 1 FROM s, m, t WHERE s.there AND (m.expires > t.now OR s.others < m.target)), "
        "gone AS (DELETE FROM claims c WHERE c.dataset_id = %(id)s AND c.task_key = %(key)s AND c.session = "
        "%(session)s AND EXISTS (SELECT 1 FROM ok)), "
        "ins AS (" + INSERT + "SELECT %(id)s, %(task_hash)s, %(input_hash)s, %(by)s, %(answer)s, %(labels)s, "
        "%(view_id)s, %(timestamp)s, %(seconds)s, %(body)s FROM ok RETURNING id) "
        "SELECT s.there, (SELECT id FROM ins) FROM s")

    def _pipelined(self, dataset: str, statements: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        """The first row of each statement, run in one transaction sent whole (one round trip), again after a
        deadlock or a serialization failure; DatasetDropped when a foreign key says the dataset went."""
        for attempt in range(RETRIES):
            try:
                with self._pool.connection() as conn:
                    with conn.pipeline():  # (one Sync, at its end: a connection left mid-transaction by an
                        conn.execute("BEGIN")  # error is closed, not given back, by the pool)
                        cursors = [conn.execute(sql, params) for sql, params in statements]
                        conn.execute("COMMIT")
                    return [cursor.fetchone() for cursor in cursors]
            except (pg_errors.DeadlockDetected, pg_errors.SerializationFailure):
                if attempt == RETRIES - 1:
                    raise
                time.sleep(random.uniform(0.005, 0.02) * 2 ** attempt)
            except pg_errors.ForeignKeyViolation:
                raise DatasetDropped(dataset, self.location) from None
        raise AssertionError("unreachable")

    def _under_lock(self, dataset: str, key: int, sql: str, params: dict[str, Any], lock: str = _LOCK) -> Any:
        """What ``sql`` answers (its second column), run under the task's lock in one round trip (see above).
        Raises DatasetDropped when its first column says the dataset is gone."""
        dataset_id, created = self._dataset(dataset, create=True)
        params = {**params, "id": dataset_id, "key": key, "name": dataset, "created": created,
                  "lock": lock_key(dataset_id, key)}
        row = self._pipelined(dataset, [(lock, params), (sql, params)])[1]
        assert row is not None
        if not row[0]:
            raise DatasetDropped(dataset, self.location)
        return row[1]

    def claim(self, dataset: str, session: str, key: int, target: int, lease: float, content: str,
              by: str = "task") -> bool:
        taken = self._under_lock(dataset, key, self._CLAIM.format(now=NOW, column=COLUMNS[by]), {
            "session": session, "target": target, "lease": lease, "content": content},
            self._LOCK_UNLESS_FULL.format(now=NOW, column=COLUMNS[by]))
        return bool(taken)

    def answer_claimed(self, dataset: str, session: str, key: int, task: dict[str, Any], by: str = "task") -> int:
        a = StoredAnswer.from_task(dataset, task)
        answer_id = self._under_lock(dataset, key, self._ANSWER.format(now=NOW, column=COLUMNS[by]), {
            "session": session, "by": a.session, "task_hash": a.task_hash, "input_hash": a.input_hash,
            "answer": a.answer, "labels": a.labels, "view_id": a.view_id, "timestamp": a.timestamp,
            "seconds": a.seconds, "body": a.content})
        if answer_id is None:
            raise ClaimLost("this task went to another annotator while it waited here (its lease ran out); "
                            "your answer was not needed")
        return int(answer_id)


    # A window claimed at once (see the module's docstring). The first statement reads the candidates' state,
    # takes the lock of the first with room that no one else is locking (the candidates in order, the filter
    # applied above the sort, one row at a time, so no lock is taken past the first one got), and passes the
    # chosen key (and its place in the window) to the second statement in settings local to the transaction, as
    # ``tuiannot.locked`` is. The candidates' state is read lazily, in the window's order (``st`` is inlined, the
    # window sorted before the lookups): the pick reads up to the first with room, and what it passed over is read
    # again up to there only; the candidates after it are not looked at (they come again in the next call). Reading
    # all 64 of a busy frontier's window in every call cost the server more than the claims themselves.
    _PICK = (
        "WITH t AS MATERIALIZED (SELECT {now} AS now), "
        "c AS MATERIALIZED (SELECT * FROM unnest(string_to_array(%(keys)s, ',')::bigint[], "
        "string_to_array(%(targets)s, ',')::int[], string_to_array(%(locks)s, ',')::bigint[]) "
        "WITH ORDINALITY AS c(key, target, lock, ord)), "
        "st AS NOT MATERIALIZED (SELECT c.key, c.target, c.lock, c.ord, coalesce(a.answered, false) AS answered, "
        "coalesce(a.done_by, 0) AS done_by, coalesce(l.mine, false) AS mine, (SELECT count(*) FROM (SELECT "
        "unnest(a.sessions) UNION SELECT unnest(l.holders)) o(session) WHERE o.session != %(session)s) AS others "
        "FROM (SELECT * FROM c ORDER BY ord) c CROSS JOIN t "
        "LEFT JOIN LATERAL (SELECT bool_or(x.session = %(session)s) AS answered, count(DISTINCT x.session) FILTER "
        "(WHERE x.session != %(session)s) AS done_by, array_agg(DISTINCT x.session) AS sessions FROM answers x "
        "WHERE x.dataset_id = %(id)s AND x.{column} = c.key) a ON true "
        "LEFT JOIN LATERAL (SELECT bool_or(y.session = %(session)s) AS mine, array_agg(y.session) AS holders FROM "
        "claims y WHERE y.dataset_id = %(id)s AND y.task_key = c.key AND y.expires > t.now) l ON true), "
        "pick AS MATERIALIZED (SELECT r.key, r.ord FROM (SELECT * FROM st WHERE NOT answered AND NOT mine AND "
        "others < target ORDER BY ord OFFSET 0) r WHERE pg_try_advisory_xact_lock(r.lock) LIMIT 1), "
        "passed AS MATERIALIZED (SELECT key, ord, answered OR done_by >= target AS complete FROM st WHERE (answered "
        "OR mine OR others >= target) AND ord < coalesce((SELECT ord FROM pick), 2147483647)) "
        "SELECT (SELECT key FROM pick), (SELECT array_agg(key ORDER BY ord) FROM passed), "
        "(SELECT array_agg(complete ORDER BY ord) FROM passed), "
        "set_config('tuiannot.key', coalesce((SELECT key FROM pick)::text, ''), true), "
        "set_config('tuiannot.ord', coalesce((SELECT ord FROM pick)::text, ''), true), "
        "set_config('tuiannot.locked', CASE WHEN EXISTS (SELECT 1 FROM pick) THEN 'yes' ELSE 'no' END, true)")
    _PICKED = "(nullif(current_setting('tuiannot.key', true), '')::bigint)"
    _ORD = "(nullif(current_setting('tuiannot.ord', true), '')::int)"
    _CLAIM_PICKED = _CLAIM.replace("%(key)s", _PICKED).replace(
        "%(target)s", f"((string_to_array(%(targets)s, ','))[{_ORD}]::int)").replace(
        "%(content)s", f"((%(contents)s::json -> ({_ORD} - 1))::text)")

    def claim_first(self, dataset: str, session: str, candidates: Sequence[tuple[int, int, str]], lease: float,
                    by: str = "task") -> tuple[int | None, dict[int, bool]]:
        seen: set[int] = set()
        candidates = [c for c in candidates if not (c[0] in seen or seen.add(c[0]))]  # type: ignore[func-returns-value]
        if not candidates:
            return None, {}
        dataset_id, created = self._dataset(dataset, create=True)
        # the window as plain text: the numbers comma-separated, the contents (JSON already) one JSON array as they
        # are. psycopg's array dumpers go element by element in Python, escaping each content: at a busy frontier
        # (64 candidates a call) that cost an annotator more CPU than the rest of its claim
        params = {"id": dataset_id, "name": dataset, "created": created, "session": session, "lease": lease,
                  "keys": ",".join(str(c[0]) for c in candidates), "targets": ",".join(str(c[1]) for c in candidates),
                  "locks": ",".join(str(lock_key(dataset_id, c[0])) for c in candidates),
                  "contents": "[" + ",".join(c[2] for c in candidates) + "]"}
        column = COLUMNS[by]
        picked, claimed = self._pipelined(dataset, [(self._PICK.format(now=NOW, column=column), params),
                                                    (self._CLAIM_PICKED.format(now=NOW, column=column), params)])
        key, passed, complete = picked[:3]
        there, taken = claimed
        if not there:
            raise DatasetDropped(dataset, self.location)
        return (int(key) if key is not None and taken else None), dict(zip(passed or [], complete or [], strict=True))
