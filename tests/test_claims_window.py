"""The frontier of a shared source (issue 18): a window of tasks claimed at once, sessions spread over it.

``Database.claim_first`` is checked as a contract on both backends (what it claims, what it reports passed over and
whether each is done, exact overlap, a dropped dataset); on PostgreSQL, that it is one round trip and that a task
another transaction is claiming that very moment is skipped, not waited for. Then the controller: a session alone
is served in the source's order, and several sessions at one frontier share the tasks exactly, without walking
the source in step (the round trips per answer are counted).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

import tuiannot
from tuiannot.controller import Controller
from tuiannot.recipes import Components, get_recipe
from tuiannot.storage import DatasetDropped
from tuiannot.storage.postgres_claims import lock_key
from tuiannot.team.routing import Routing

from .helpers import write_jsonl


def answer(db: Any, session: str, key: int) -> None:
    db.answer_claimed("team", session, key, {"text": f"t{key}", "answer": "accept", "_task_hash": key,
                                             "_input_hash": key + 1_000_000, "_session_id": f"team-{session}"})


def test_claim_first_takes_the_first_with_room_and_reports_what_it_passed(database: str) -> None:
    with tuiannot.connect(database) as db:
        db.add_dataset("team")
        assert db.claim("team", "alice", 1, 1, 60.0, "{}")  # 1: held by alice (not done for carol)
        assert db.claim("team", "bob", 2, 1, 60.0, "{}")
        answer(db, "bob", 2)  # 2: answered by bob, its one annotator (done for carol)
        assert db.claim("team", "carol", 3, 2, 60.0, "{}")
        answer(db, "carol", 3)  # 3: carol answered it herself (done)
        taken, passed = db.claim_first("team", "carol", [(1, 1, "{}"), (2, 1, "{}"), (3, 2, "{}"), (4, 1, '{"n": 4}'),
                                                         (5, 1, "{}")], 60.0)
        assert taken == 4 and {k: passed[k] for k in (1, 2, 3)} == {1: False, 2: True, 3: True}
        assert 4 not in passed and 5 not in passed  # 5: after the one taken, not tried (SQLite) or with room
        held = {(c["key"], c["session"]) for c in db.claims("team")}
        assert (4, "carol") in held and (5, "carol") not in held
        # overlap 2: two sessions get task 6, the third the next one
        assert db.claim_first("team", "a", [(6, 2, "{}"), (7, 2, "{}")], 60.0)[0] == 6
        assert db.claim_first("team", "b", [(6, 2, "{}"), (7, 2, "{}")], 60.0)[0] == 6
        taken, passed = db.claim_first("team", "c", [(6, 2, "{}"), (7, 2, "{}")], 60.0)
        assert taken == 7 and passed[6] is False
        taken, passed = db.claim_first("team", "d", [(6, 2, "{}")], 60.0)
        assert taken is None and passed == {6: False}
        assert db.claim_first("team", "d", [], 60.0) == (None, {})
        assert sorted(c["session"] for c in db.claims("team") if c["key"] == 6) == ["a", "b"]
    with tuiannot.connect(database) as other, tuiannot.connect(database) as db:
        db.add_dataset("gone")
        db.claim("gone", "x", 1, 1, 60.0, "{}")
        other.drop_dataset("gone")
        with pytest.raises(DatasetDropped):
            db.claim_first("gone", "x", [(9, 1, "{}")], 60.0)


def test_claim_first_is_one_round_trip_to_postgres(postgres_url: str, tmp_path: Path) -> None:
    with tuiannot.connect(postgres_url) as db:
        db.add_dataset("team")
        db.claim_first("team", "alice", [(1, 2, "{}")], 60.0)  # (the dataset's id cached)
        trace = tmp_path / "trace.txt"
        with trace.open("w") as f:
            with db._pool.connection() as conn:  # type: ignore[attr-defined]
                conn.pgconn.trace(f.fileno())
            try:
                assert db.claim_first("team", "alice", [(1, 2, "{}"), (2, 2, "{}"), (3, 2, "{}")], 60.0)[0] == 2
            finally:
                with db._pool.connection() as conn:  # type: ignore[attr-defined]
                    conn.pgconn.untrace()
        sent = [f[3].strip() for f in (line.split("\t") for line in trace.read_text().splitlines())
                if len(f) > 3 and f[1] == "F"]
        assert sent.count("Sync") == 1 and sent.count("Execute") == 4  # BEGIN, pick, claim, COMMIT


def test_a_task_being_claimed_that_moment_is_skipped_not_waited_for(postgres_url: str) -> None:
    """Another transaction holds task 1's lock (it is claiming or answering it): claim_first takes task 2 at
    once and leaves 1 untried (neither taken nor passed over), where ``claim`` would queue on the lock."""
    with tuiannot.connect(postgres_url) as db:
        db.add_dataset("team")
        dataset_id = db._dataset("team")[0]  # type: ignore[attr-defined]
        with psycopg.connect(postgres_url.split("?")[0]) as other:
            other.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(dataset_id, 1),))  # (a transaction, open)
            start = time.monotonic()
            taken, passed = db.claim_first("team", "alice", [(1, 1, "{}"), (2, 1, "{}")], 60.0)
            assert taken == 2 and passed == {} and time.monotonic() - start < 5
            other.rollback()
        assert db.claim_first("team", "alice", [(1, 1, "{}")], 60.0)[0] == 1  # free again: taken


def controller(database: str, source: Path, session: str, overlap: float = 2.0) -> Controller:
    components = Components.from_value(get_recipe("textcat")(str(source), label="POS", dataset="team"))
    return Controller(components, tuiannot.connect(database), session, routing=Routing(overlap=overlap)).start()


def test_a_session_alone_is_served_in_the_source_order(database: str, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "s.jsonl", [{"text": f"task {i}"} for i in range(80)])
    c = controller(database, source, "alice", overlap=1.0)
    try:
        seen = []
        task = c.next_task(timeout=30)
        while task is not None:
            seen.append(task["text"])
            c.answer("accept", ["POS"])
            task = c.next_task(timeout=30)
        assert seen == [f"task {i}" for i in range(80)]
        assert c.claims is not None and c.claims.rounds <= 81  # one claim a task (and one at the end)
    finally:
        c.close()


@pytest.mark.slow
def test_sessions_at_one_frontier_share_it_exactly_and_spread(database: str, tmp_path: Path) -> None:
    """Six annotators (overlap 2) answer 300 tasks together as fast as they can: every task twice, none to one
    annotator twice, and far fewer round trips than one per task per annotator (the herd walking in step)."""
    source = write_jsonl(tmp_path / "s.jsonl", [{"text": f"task {i}"} for i in range(300)])
    controllers = [controller(database, source, f"annotator{i}") for i in range(6)]
    shown: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def work(c: Controller) -> None:
        try:
            mine = shown.setdefault(c.session, [])
            task = c.next_task(timeout=60)
            while task is not None and task is not Controller.PENDING:
                mine.append(task["text"])
                c.answer("accept", ["POS"])
                task = c.next_task(timeout=60)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(c,)) for c in controllers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    rounds = sum(c.claims.rounds for c in controllers if c.claims is not None)
    for c in controllers:
        c.close()
    assert not errors
    assert all(len(v) == len(set(v)) for v in shown.values())
    with tuiannot.connect(database) as db:
        answered = [a["text"] for a in db.answers("team")]
    assert sorted(answered) == sorted([f"task {i}" for i in range(300)] * 2)
    assert rounds < 3 * 600  # one round trip per task per annotator would be 1,800
