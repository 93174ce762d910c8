"""Several annotators (separate processes) writing one database at once, and kill -9 durability: on a SQLite
file and on PostgreSQL (the ``database`` fixture); the two tests of SQLite's one-writer lock are SQLite's own.

Each worker is a fresh ``python`` process running the real textcat recipe and
the real Controller. The workers wait at a start line (a file the test creates)
so that they open the database, create its schema and answer at the same time.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import tuiannot

from .helpers import is_postgres, raw_sql, stored, write_jsonl

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and file semantics")

WORKER = r'''
import json, os, signal, sys, time
from pathlib import Path

import tuiannot
from tuiannot.controller import Controller
from tuiannot.recipes import Components, get_recipe

mode, db_path, source, session, index, meeting = sys.argv[1:7]


def meet(phase):
    """Wait until every worker has reached ``phase`` (the test says go)."""
    Path(meeting, f"{phase}-ready-{index}").touch()
    deadline = time.monotonic() + 60
    while not Path(meeting, f"{phase}-go").exists():
        if time.monotonic() > deadline:
            sys.exit(f"never told to go on with {phase}")
        time.sleep(0.001)


def decide(text):
    n = int(text.rsplit(" ", 1)[1])
    return [("accept", ["POS"]), ("reject", []), ("ignore", []), ("accept", ["NEG", "POS"])][n % 4]


meet("open")  # everyone opens (and so creates) the database at once
db = tuiannot.connect(db_path)
components = Components.from_value(get_recipe("textcat")(source, label="POS,NEG", dataset="shared"))
controller = Controller(components, db, session).start()
if not controller.wait_ready(timeout=60):
    sys.exit("the first task never came")
meet("answer")  # everyone starts answering at once
answered = []
times = []
while True:
    task = controller.next_task(timeout=60)
    if task is None:
        break
    if task is Controller.PENDING:
        sys.exit("no task within 60 s")
    answer, accept = decide(task["text"])
    result = controller.answer(answer, accept)
    answered.append(result["_task_hash"])
    times.append(time.time())
    time.sleep(0.001)  # a (very) fast annotator: keeps the four writing side by side on few CPUs
    if mode.startswith("kill") and len(answered) == 3:
        # the answer() call has returned: report it, then die without any cleanup
        sys.stdout.write(json.dumps({"answered": answered, "pid": os.getpid()}) + "\n")
        sys.stdout.flush()
        if mode == "kill-self":
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(120)  # "kill-parent": the test kills us now
        sys.exit("was not killed")
summary = controller.close()
db.close()
print(json.dumps({"answered": answered, "invalid": summary.invalid, "error": summary.error,
                  "exhausted": summary.exhausted, "by_answer": summary.by_answer,
                  "first": times[0] if times else None, "last": times[-1] if times else None}))
'''


def decide(text: str) -> tuple[str, list[str]]:
    n = int(text.rsplit(" ", 1)[1])
    return [("accept", ["POS"]), ("reject", []), ("ignore", []), ("accept", ["NEG", "POS"])][n % 4]


def source_file(path: Path, prefix: str, n: int) -> Path:
    return write_jsonl(path, [{"text": f"{prefix} number {i}"} for i in range(n)])


def start_workers(tmp_path: Path, db_path: Path | str,
                  jobs: list[tuple[str, Path, str]]) -> list[subprocess.Popen[str]]:
    """Start one process per (mode, source, session); release them together at each meeting point."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    meeting = tmp_path / "meeting"
    meeting.mkdir()
    processes = [subprocess.Popen(
        [sys.executable, str(script), mode, str(db_path), str(source), session, str(i), str(meeting)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        for i, (mode, source, session) in enumerate(jobs)]
    for phase in ("open", "answer"):
        deadline = time.monotonic() + 60
        while not all((meeting / f"{phase}-ready-{i}").exists() for i in range(len(jobs))):
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                for p in processes:
                    p.kill()
                raise AssertionError(f"workers did not reach {phase!r}: " + " | ".join(
                    p.communicate()[1] for p in processes))
            time.sleep(0.002)
        (meeting / f"{phase}-go").touch()
    return processes


def finish(processes: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    results = []
    for p in processes:
        try:
            out, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            raise AssertionError(f"a worker hung: {err}") from None
        assert p.returncode == 0, err
        assert err == "", err  # no warnings, no errors, no tracebacks
        results.append(json.loads(out))
    return results


def test_four_processes_with_their_own_sources(tmp_path: Path, database: str) -> None:
    n = 200
    sessions = ["ann0", "ann1", "ann2", "ann3"]
    jobs = [("all", source_file(tmp_path / f"src{k}.jsonl", f"p{k} text", n), s) for k, s in enumerate(sessions)]
    if not is_postgres(database):  # (SQLite: created at once, see test_new_database_while_another_writes_it;
        tuiannot.connect(database).close()  # PostgreSQL: the four make the schema at once, one of them does it)
    results = finish(start_workers(tmp_path, database, jobs))

    for result in results:
        assert len(result["answered"]) == n
        assert (result["invalid"], result["error"], result["exhausted"]) == (0, None, True)
        assert sum(result["by_answer"].values()) == n
    # they really wrote at the same time: every worker answered before any other had finished
    assert max(r["first"] for r in results) < min(r["last"] for r in results)
    rows = stored(database, "shared")
    assert len(rows) == 4 * n  # every answer present, none lost, none twice
    assert Counter((r["_session_id"], r["text"]) for r in rows) == Counter(
        {(f"shared-{s}", f"p{k} text number {i}"): 1 for k, s in enumerate(sessions) for i in range(n)})
    for row in rows:
        answer, accept = decide(row["text"])
        assert (row["answer"], row["accept"]) == (answer, accept), row
    by_session: dict[str, list[int]] = {}
    for row in rows:
        by_session.setdefault(row["_session_id"], []).append(row["_task_hash"])
    for session, result in zip(sessions, results, strict=True):
        # each worker's answers are stored in the order it gave them
        assert by_session[f"shared-{session}"] == result["answered"]
    with tuiannot.connect(database) as db:
        counts = db.dataset_counts("shared")
        assert counts.answers == counts.tasks == counts.inputs == 4 * n
        assert {name: s.answers for name, s in counts.sessions.items()} == {s: n for s in sessions}
        assert counts.by_answer == {"accept": 2 * n, "reject": n, "ignore": n}
        assert db.datasets() == ["shared"]
    assert raw_sql(database, "SELECT count(*) FROM sessions") == [(4,)]


def test_four_processes_on_the_same_source(tmp_path: Path, database: str) -> None:
    """Same source, same dataset: a task answered by one annotator is skipped by the others when read, but two
    may take the same task while both hold it in their prefetch queue. So: every task answered at least once,
    every answer a process gave is stored exactly once, and nothing else is stored."""
    n = 200
    source = source_file(tmp_path / "shared.jsonl", "shared text", n)
    sessions = ["ann0", "ann1", "ann2", "ann3"]
    tuiannot.connect(database).close()
    results = finish(start_workers(tmp_path, database, [("all", source, s) for s in sessions]))

    for result in results:
        assert (result["invalid"], result["error"], result["exhausted"]) == (0, None, True)
        assert len(result["answered"]) == len(set(result["answered"])) <= n  # never the same task twice
    rows = stored(database, "shared")
    assert len(rows) == sum(len(r["answered"]) for r in results)
    assert {r["text"] for r in rows} == {f"shared text number {i}" for i in range(n)}  # all answered
    for session, result in zip(sessions, results, strict=True):
        mine = [r["_task_hash"] for r in rows if r["_session_id"] == f"shared-{session}"]
        assert mine == result["answered"]
    for row in rows:
        answer, accept = decide(row["text"])
        assert (row["answer"], row["accept"]) == (answer, accept)
    with tuiannot.connect(database) as db:  # the running totals agree with the rows
        counts = db.dataset_counts("shared")
        assert (counts.answers, counts.tasks, counts.inputs) == (len(rows), n, n)
        assert {name: s.answers for name, s in counts.sessions.items() if s.answers} == {
            s: len(r["answered"]) for s, r in zip(sessions, results, strict=True) if r["answered"]}


@pytest.mark.parametrize("killer", ["kill-self", "kill-parent"])
def test_sigkill_right_after_answer_keeps_the_answers(tmp_path: Path, database: str, killer: str) -> None:
    source = source_file(tmp_path / "src.jsonl", "text", 20)
    (process,) = start_workers(tmp_path, database, [(killer, source, "victim")])
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, process.stderr.read() if process.stderr else ""
    report = json.loads(line)
    if killer == "kill-parent":
        os.kill(report["pid"], signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    process.stdout.close()
    assert process.stderr is not None
    process.stderr.close()

    rows = stored(database, "shared")
    assert [r["_task_hash"] for r in rows] == report["answered"]
    assert [r["text"] for r in rows] == ["text number 0", "text number 1", "text number 2"]
    assert [r["answer"] for r in rows] == ["accept", "reject", "ignore"]
    assert all(r["_session_id"] == "shared-victim" for r in rows)
    # and the database is healthy: the next annotator continues where the killed one stopped
    from .helpers import make_controller

    controller = make_controller(source, database, labels="POS,NEG", session="next", dataset="shared")
    try:
        task = controller.next_task(timeout=10)
        assert task is not None and task["text"] == "text number 3"
    finally:
        controller.close()
        controller.db.close()
    if not is_postgres(database):
        with tuiannot.connect(database) as db:
            assert db.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_existing_database_waits_for_a_concurrent_writer(db_path: Path) -> None:
    """SQLite's: a writer waits for the file's one write lock (PostgreSQL locks rows, not the database)."""
    tuiannot.connect(db_path).close()
    other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO datasets (name, created, meta) VALUES ('theirs', 0, '{}')")
    releaser = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    releaser.start()
    try:
        with tuiannot.connect(db_path) as db:
            db.add_answer("mine", {"text": "t", "answer": "accept"})  # waits for the lock, then commits
            assert db.datasets() == ["mine", "theirs"]
    finally:
        releaser.join()
        other.close()


def test_new_database_while_another_writes_it(db_path: Path) -> None:
    """SQLite's: a new file's schema is made while another process holds its write lock."""
    other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE something_else (x)")
    releaser = threading.Timer(0.5, lambda: other.execute("COMMIT"))
    releaser.start()
    try:
        with tuiannot.connect(db_path) as db:  # must wait (the busy timeout is 30 s), not fail
            db.add_answer("ds", {"text": "t", "answer": "accept"})
            assert db.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        releaser.join()
        other.close()
