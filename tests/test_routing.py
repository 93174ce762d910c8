"""Task routing for teams: overlap, leases, late joiners, custom routers.

Several *processes* answer at once through the same Controller the screen uses
(no UI), each as its own annotator, all on one database: a SQLite file, then a
PostgreSQL schema (the ``database`` fixture).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

import tuiannot
from tuiannot.controller import Controller, TaskTaken, answer_all
from tuiannot.errors import UserError
from tuiannot.recipes import Components, get_recipe
from tuiannot.team.routing import Routing, parse_overlap, share

from .helpers import texts, write_jsonl

WORKER = r'''
import json, sys, time
import tuiannot
from tuiannot.controller import Controller
from tuiannot.recipes import Components, get_recipe
from tuiannot.team.routing import Routing, parse_overlap

db_path, source, session, overlap, annotators, lease, stop_after, start_line = sys.argv[1:9]
if start_line:  # wait there with the others: all open the database and answer at once
    from pathlib import Path
    Path(f"{start_line}-{session}").touch()
    while not Path(start_line).exists():
        time.sleep(0.005)
routing = Routing(overlap=parse_overlap(overlap), annotators=[a for a in annotators.split(",") if a],
                  lease=float(lease))
components = Components.from_value(get_recipe("textcat")(source, label="POS", dataset="team"))
controller = Controller(components, tuiannot.connect(db_path), session, routing=routing).start()
answered = []
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    task = controller.next_task(timeout=0.5)
    if task is None:
        break
    if task is Controller.PENDING:
        continue
    controller.answer("accept")
    answered.append(task["text"])
    print(json.dumps(task["text"]), flush=True)
    if len(answered) == int(stop_after):
        time.sleep(60)  # hold the claims until killed
    time.sleep(0.002)
controller.close()
'''


def spawn(db: Path | str, source: Path, session: str, overlap: str = "1", annotators: str = "", lease: float = 300,
          stop_after: int = -1, start_line: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WORKER, str(db), str(source), session, overlap, annotators,
                             str(lease), str(stop_after), str(start_line or "")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})


def finish(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        out, err = p.communicate(timeout=90)
        assert p.returncode == 0, err[-2000:]


def answers_by_task(db: Path | str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    with tuiannot.connect(db) as conn:
        for row in conn.answers("team"):
            found[row["text"]].append(row["_session_id"].split("-", 1)[1])
    return found


@pytest.mark.parametrize("overlap, expected", [("1", 1), ("2", 2), ("all", 3)])
def test_each_task_goes_to_exactly_overlap_annotators(tmp_path: Path, database: str, overlap: str,
                                                      expected: int) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(60))
    tuiannot.connect(database).close()
    procs = [spawn(database, source, name, overlap, "alice,bob,carol") for name in ("alice", "bob", "carol")]
    finish(procs)
    found = answers_by_task(database)
    assert len(found) == 60  # nothing lost
    for text, sessions in found.items():
        assert len(sessions) == expected, (text, sessions)
        assert len(set(sessions)) == expected  # distinct annotators, nobody twice
    if overlap == "1":
        assert all(n > 0 for n in Counter(s for v in found.values() for s in v).values())  # the work is split
    with tuiannot.connect(database) as conn:
        assert conn.claims("team") == []  # every claim was answered or given back


def test_eight_annotators_at_once_get_exact_overlap(tmp_path: Path, database: str) -> None:
    """Eight writers claiming and answering one source at once (overlap 2): every task has exactly two distinct
    annotators, nothing is lost, nobody holds a claim at the end, and the running totals agree with the rows."""
    source = write_jsonl(tmp_path / "data.jsonl", texts(120))
    names = [f"ann{i}" for i in range(8)]
    go = tmp_path / "go"
    procs = [spawn(database, source, name, "2", start_line=go) for name in names]
    deadline = time.monotonic() + 60
    while not all(Path(f"{go}-{name}").exists() for name in names):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "the workers did not start"
        time.sleep(0.01)
    go.touch()  # all at once: they make the schema at once, too
    finish(procs)
    found = answers_by_task(database)
    assert len(found) == 120
    assert all(len(s) == len(set(s)) == 2 for s in found.values()), found
    per_annotator = Counter(s for v in found.values() for s in v)
    assert sum(per_annotator.values()) == 240 and len(per_annotator) >= 4  # (the work was shared out)
    with tuiannot.connect(database) as conn:
        assert conn.claims("team") == []
        counts = conn.dataset_counts("team")
        assert (counts.answers, counts.tasks, counts.inputs) == (240, 120, 120)
        assert sum(s.answers for s in counts.sessions.values()) == 240


def test_fractional_overlap_gives_each_task_its_own_target(tmp_path: Path, database: str) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(80))
    tuiannot.connect(database).close()
    procs = [spawn(database, source, name, "1.5") for name in ("alice", "bob", "carol")]
    finish(procs)
    found = answers_by_task(database)
    routing = Routing(overlap=1.5)
    tasks = {t["text"]: t for t in Components.from_value(
        get_recipe("textcat")(str(source), label="POS")).stream}
    assert len(found) == 80
    for text, sessions in found.items():
        assert len(sessions) == len(set(sessions)) == routing.target(tasks[text]["_task_hash"])
    average = sum(len(s) for s in found.values()) / 80
    assert 1.3 <= average <= 1.7


def test_a_killed_session_gives_its_tasks_back_after_the_lease(tmp_path: Path, database: str) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(20))
    tuiannot.connect(database).close()
    doomed = spawn(database, source, "alice", lease=1.5, stop_after=3)
    for _ in range(3):
        assert doomed.stdout.readline()  # three answers given
    time.sleep(0.3)
    with tuiannot.connect(database) as conn:
        held = [c for c in conn.claims("team") if c["session"] == "alice"]
    assert held  # alice holds tasks she has not answered
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    bob = spawn(database, source, "bob", lease=1.5)
    finish([bob])
    found = answers_by_task(database)
    assert len(found) == 20
    assert all(len(s) == 1 for s in found.values())
    assert Counter(s[0] for s in found.values()) == {"alice": 3, "bob": 17}  # bob got alice's leased tasks


def test_a_late_joiner_still_gets_their_share(tmp_path: Path, database: str) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(15))
    tuiannot.connect(database).close()
    finish([spawn(database, source, "alice", "all", "alice,bob")])
    finish([spawn(database, source, "bob", "all", "alice,bob")])
    found = answers_by_task(database)
    assert all(sorted(s) == ["alice", "bob"] for s in found.values()) and len(found) == 15


def controller(source: Path, db: Path | str, session: str, **routing) -> Controller:
    components = Components.from_value(get_recipe("textcat")(str(source), label="POS", dataset="team"))
    return Controller(components, tuiannot.connect(db), session, routing=Routing(**routing)).start()


def test_waiting_for_leases_held_by_others_then_done(tmp_path: Path, database: str) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(4))
    alice = controller(source, database, "alice")
    first = alice.next_task(timeout=10)
    alice.wait_ready(timeout=5)
    bob = controller(source, database, "bob")
    bob_tasks = []
    deadline = time.monotonic() + 10
    while bob.waiting is None and time.monotonic() < deadline:
        task = bob.next_task(timeout=0.2)
        if isinstance(task, dict):
            bob_tasks.append(task["text"])
            bob.answer("accept")
    assert bob.waiting and "held by other annotators" in bob.waiting
    assert bob.next_task(timeout=0.3) is Controller.PENDING  # nothing yet, but not the end
    alice.answer("accept")
    while (task := alice.next_task(timeout=5)) is not None:
        alice.answer("accept")
    alice.close()
    assert bob.next_task(timeout=10) is None  # now everything is answered: all done
    assert first["text"] not in bob_tasks
    found = answers_by_task(database)
    assert len(found) == 4 and all(len(s) == 1 for s in found.values())


def test_an_answer_after_the_lease_went_to_someone_else_is_not_stored(tmp_path: Path, database: str) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(1))
    alice = controller(source, database, "alice", lease=0.4)
    task = alice.next_task(timeout=10)
    alice.claims.active_at -= 100  # alice went for lunch: her leases are not renewed
    time.sleep(0.6)
    bob = controller(source, database, "bob", lease=0.4)
    assert bob.next_task(timeout=10)["text"] == task["text"]
    bob.answer("reject")
    with pytest.raises(TaskTaken, match="went to another annotator"):
        alice.answer("accept")
    assert alice.next_task(timeout=5) is None
    assert [(r["text"], r["answer"]) for r in tuiannot.connect(database).answers("team")] == [(task["text"], "reject")]


def test_a_recipe_can_route_tasks_itself(tmp_path: Path, database: str) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(10))

    def by_parity(task, sessions, state):
        return ["alice"] if int(task["text"].rsplit(" ", 1)[1]) % 2 == 0 else ["bob", "carol"]

    results = {}
    for name in ("alice", "bob", "carol"):
        components = Components.from_value(get_recipe("textcat")(str(source), label="POS", dataset="team"))
        components.task_router = by_parity
        c = Controller(components, tuiannot.connect(database), name, routing=Routing(overlap=1)).start()
        results[name] = answer_all(c, lambda t: ("accept", None))
        c.close()
    assert results == {"alice": 5, "bob": 5, "carol": 5}


def test_routing_options_are_checked() -> None:
    assert parse_overlap("all") == "all" and parse_overlap("1.5") == 1.5 and parse_overlap(None) == 1.0
    for bad in ("0", "0.5", "-1", "nan", "two", "inf"):
        with pytest.raises(UserError, match="--overlap"):
            parse_overlap(bad)
    with pytest.raises(UserError, match="not one of the expected annotators"):
        Routing(annotators=["alice", "bob"]).check("mallory")
    with pytest.raises(UserError, match="more than the 2 annotators"):
        Routing(overlap=3.0, annotators=["alice", "bob"]).check("alice")
    shares = [share(k) for k in range(-5000, 5000, 7)]
    assert 0 <= min(shares) and max(shares) < 1 and 0.45 < sum(shares) / len(shares) < 0.55


def test_a_restarted_session_gets_its_own_claims_back_at_once(tmp_path: Path, database: str) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(5))
    first = controller(source, database, "alice")  # lease 300 s
    task = first.next_task(timeout=10)
    first.wait_ready(timeout=5)
    first._stop.set()  # dies without giving anything back
    first._thread.join(timeout=5)
    again = controller(source, database, "alice")
    assert again.next_task(timeout=10)["text"] == task["text"]
    assert answer_all(again, lambda t: ("accept", None)) == 5
