"""Claims at scale (issue 18): tasks others hold are skipped on one read of their claims, not tried one by one;
a PostgreSQL process holds one connection, its threads taking turns; the claim and the answer are each one round
trip to the server.

The storage calls run against both backends (the ``database`` fixture); what is counted is what the database
holds and what the server reports (``pg_stat_activity``, libpq's trace of the protocol).
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any, cast

import pytest

import tuiannot
from tuiannot.controller import Controller
from tuiannot.recipes import Components, get_recipe
from tuiannot.storage import ClaimLost, Database
from tuiannot.team.claims import SNAPSHOT_SECONDS, Claims
from tuiannot.team.routing import Routing

from .helpers import raw_sql, texts, write_jsonl


def task(i: int) -> dict[str, Any]:
    return {"text": f"text {i}", "_task_hash": 1000 + i, "_input_hash": 2000 + i}


class CountingDatabase:
    """The real database, with its ``claim`` calls counted (everything else passed through)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.claims_tried: list[int] = []

    def claim(self, *args: Any, **kwargs: Any) -> bool:
        self.claims_tried.append(args[2])
        return self.db.claim(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


def test_claimed_by_others_lists_the_live_claims_of_the_others(database: str) -> None:
    with tuiannot.connect(database) as db:
        db.add_dataset("team")
        assert db.claimed_by_others("team", "carol") == {} and db.claimed_by_others("nothing", "carol") == {}
        assert db.claim("team", "alice", 1, 2, 30.0, "{}") and db.claim("team", "bob", 1, 2, 30.0, "{}")
        assert db.claim("team", "alice", 2, 2, 0.05, "{}")  # a lease that runs out at once
        assert db.claim("team", "carol", 3, 2, 30.0, "{}")  # carol's own
        time.sleep(0.1)
        seen = db.claimed_by_others("team", "carol")
        assert set(seen) == {1} and sorted(s for s, _ in seen[1]) == ["alice", "bob"]
        assert all(25.0 < left <= 30.0 for _, left in seen[1])
        assert set(db.claimed_by_others("team", "alice")) == {1, 3}


def test_tasks_others_hold_are_skipped_after_one_failed_claim(database: str) -> None:
    """Ten tasks held by two others each: the third annotator tries one, reads their claims once, and skips the
    other nine without a claim; the first free task it claims, and the database holds just that."""
    with tuiannot.connect(database) as real:
        real.add_dataset("team")
        for i in range(10):
            for other in ("alice", "bob"):
                assert real.claim("team", other, 1000 + i, 2, 60.0, "{}")
        counting = CountingDatabase(real)
        db = cast(Database, counting)
        claims = Claims(Routing(overlap=2), "team", "carol", "task")
        assert [claims.claim(db, task(i), 1000 + i, set()) for i in range(11)] == [False] * 10 + [True]
        assert counting.claims_tried == [1000, 1010] and claims.skipped == 9
        assert sorted((c["key"], c["session"]) for c in real.claims("team") if c["session"] == "carol") == [
            (1010, "carol")]
        # an answer by one of them and a claim that lapsed are no reason to skip: carol gets both
        real.answer_claimed("team", "alice", 1000, {**task(0), "answer": "accept", "_session_id": "team-alice"})
        assert claims.claim(db, task(0), 1000, {"alice"}) is False  # bob holds it, alice answered: full
        assert real.claim("team", "dave", 2000, 2, 0.05, "{}") and real.claim("team", "erin", 2000, 2, 0.05, "{}")
        claims._look(db)  # (the snapshot sees them holding 2000)
        time.sleep(0.1)  # ... until their leases run out
        assert claims.claim(db, task(1000), 2000, set()) is True
        assert counting.claims_tried[-1] == 2000


def test_an_old_snapshot_is_not_used(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A snapshot older than SNAPSHOT_SECONDS skips nothing: the claim is tried (and the database decides)."""
    with tuiannot.connect(database) as real:
        real.add_dataset("team")
        for other in ("alice", "bob"):
            assert real.claim("team", other, 1001, 2, 60.0, "{}")
        counting = CountingDatabase(real)
        db = cast(Database, counting)
        claims = Claims(Routing(overlap=2), "team", "carol", "task")
        claims._look(db)
        claims._others_at -= SNAPSHOT_SECONDS + 1
        assert claims.claim(db, task(1), 1001, set()) is False
        assert counting.claims_tried == [1001] and claims.skipped == 0


def test_a_claim_and_an_answer_keep_their_rules_on_both_backends(database: str) -> None:
    """What the one-statement claim and answer decide (PostgreSQL) is what SQLite's steps decide."""
    with tuiannot.connect(database) as db:
        db.add_dataset("team")
        assert db.claim("team", "alice", 7, 2, 60.0, '{"text": "t"}')
        assert not db.claim("team", "alice", 7, 2, 60.0, "{}")  # already hers
        assert db.claim("team", "bob", 7, 2, 0.05, "{}")
        assert not db.claim("team", "carol", 7, 2, 60.0, "{}")  # full
        time.sleep(0.1)  # bob's lease ran out: carol takes his place, and his lapsed claim goes
        assert db.claim("team", "carol", 7, 2, 60.0, "{}")
        assert sorted(c["session"] for c in db.claims("team")) == ["alice", "carol"]
        answer = {"text": "t", "answer": "accept", "_task_hash": 7, "_input_hash": 8}
        with pytest.raises(ClaimLost):  # bob's claim is gone and the task is full without him
            db.answer_claimed("team", "bob", 7, {**answer, "_session_id": "team-bob"})
        first = db.answer_claimed("team", "alice", 7, {**answer, "_session_id": "team-alice"})
        assert not db.claim("team", "alice", 7, 2, 60.0, "{}")  # answered
        assert sorted(c["session"] for c in db.claims("team")) == ["carol"]
        assert db.answer_claimed("team", "carol", 7, {**answer, "_session_id": "team-carol"}) > first
        assert db.claims("team") == [] and db.count_answers("team") == 2
        assert sorted(db.answer_sessions("team", [7])[7]) == ["alice", "carol"]


def test_a_claim_is_one_round_trip_to_postgres(postgres_url: str, tmp_path: Path) -> None:
    """BEGIN, the task's lock, the statement and COMMIT go out together: one Sync per claim and per answer (the
    lock is never held while this process waits for a reply)."""
    with tuiannot.connect(postgres_url) as db:
        db.add_dataset("team")
        db.claim("team", "alice", 1, 2, 60.0, "{}")  # (the dataset's id cached, the statements prepared)
        trace = tmp_path / "trace.txt"
        with trace.open("w") as f:
            with db._pool.connection() as conn:  # type: ignore[attr-defined]
                conn.pgconn.trace(f.fileno())
            try:
                assert db.claim("team", "alice", 2, 2, 60.0, "{}") and not db.claim("team", "alice", 2, 2, 60.0, "{}")
                db.answer_claimed("team", "alice", 2, {"text": "t", "answer": "accept", "_task_hash": 2,
                                                       "_input_hash": 3, "_session_id": "team-alice"})
            finally:
                with db._pool.connection() as conn:  # type: ignore[attr-defined]
                    conn.pgconn.untrace()
        fields = [line.split("\t") for line in trace.read_text().splitlines()]
        sent = [f[3].strip() for f in fields if len(f) > 3 and f[1] == "F"]
        assert sent.count("Sync") == 3 and sent.count("Execute") == 12  # BEGIN, lock, statement, COMMIT (x3)


def routed_controller(database: str, source: Path, session: str, application: str) -> Controller:
    url = f"{database}&application_name={application}"
    components = Components.from_value(get_recipe("textcat")(str(source), label="POS", dataset="team"))
    return Controller(components, tuiannot.connect(url), session, routing=Routing(overlap=2)).start()


def test_an_annotator_process_holds_one_postgres_connection(postgres_url: str, tmp_path: Path) -> None:
    """The real controller with routing (its answering, prefetch and lease threads all at work) holds one
    connection to the server, as counted by the server; the answers are all there."""
    source = write_jsonl(tmp_path / "tasks.jsonl", texts(60))
    application = f"tuiannot_test_{uuid.uuid4().hex[:10]}"
    controller = routed_controller(postgres_url, source, "alice", application)
    peak, stop = [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            count = raw_sql(postgres_url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                            application)[0][0]
            peak[0] = max(peak[0], count)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    answered = 0
    try:
        while (t := controller.next_task(timeout=10)) is not None and t is not Controller.PENDING:
            controller.answer("accept", ["POS"])
            answered += 1
    finally:
        controller.close()
        controller.db.close()
        stop.set()
        sampler.join()
    assert answered == 60 and peak[0] == 1
    with tuiannot.connect(postgres_url) as db:
        assert db.count_answers("team") == 60 and db.claims("team") == []


def test_a_thread_that_waits_too_long_for_its_turn_gets_a_connection_of_its_own(postgres_url: str) -> None:
    """A thread holding the shared connection for long (here: 3 s) keeps another waiting TURN_SECONDS at most;
    a nested call in the holding thread gets its own at once (no deadlock either way)."""
    from tuiannot.storage.postgres_connect import TURN_SECONDS

    with tuiannot.connect(postgres_url) as db:
        db.add_dataset("team")
        held, done = threading.Event(), threading.Event()

        def hold() -> None:
            with db._pool.connection() as conn:  # type: ignore[attr-defined]
                assert db.datasets() == ["team"]  # nested: its own connection
                held.set()
                conn.execute("SELECT pg_sleep(3)")
            done.set()

        thread = threading.Thread(target=hold)
        thread.start()
        held.wait(10)
        start = time.monotonic()
        assert db.has_dataset("team")
        waited = time.monotonic() - start
        assert not done.is_set() and TURN_SECONDS * 0.9 < waited < 3.0
        thread.join()


def test_answers_in_turn_from_many_threads_of_one_process(database: str) -> None:
    """Eight threads of one process claim and answer at once, each through its ``reopen()`` of one Database (a
    PostgreSQL process: its one connection, in turns): every task answered by exactly two of them, nothing lost."""
    with tuiannot.connect(database) as db:
        db.add_dataset("team")
        results: dict[str, list[int]] = {}

        def annotate(session: str) -> None:
            mine = db.reopen()
            try:
                claims = Claims(Routing(overlap=2), "team", session, "task")
                got = []
                for i in range(40):
                    answered_by = mine.answer_sessions("team", [1000 + i]).get(1000 + i, set())
                    if claims.claim(mine, task(i), 1000 + i, answered_by):
                        claims.answer(mine, 1000 + i, {**task(i), "answer": "accept",
                                                       "_session_id": f"team-{session}"})
                        got.append(i)
                results[session] = got
            finally:
                mine.close()

        threads = [threading.Thread(target=annotate, args=(f"a{n}",)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        per_task = db.answer_sessions("team", [1000 + i for i in range(40)])
        assert sum(len(v) for v in results.values()) == db.count_answers("team")
        assert all(len(per_task.get(1000 + i, set())) == 2 for i in range(40)), per_task
