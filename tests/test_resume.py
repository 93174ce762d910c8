"""Resume in constant time (issue 15): a restart seeks to the session's checkpoint instead of re-reading and
re-hashing the answered part of the source, and falls back to the full scan whenever that would be wrong."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest

import tuiannot
from tuiannot.controller import Controller, answer_all
from tuiannot.team.routing import Routing

from .helpers import make_controller, stored, texts, write_jsonl

N = 400


def source_of(tmp_path: Path, n: int = N) -> Path:
    return write_jsonl(tmp_path / "in.jsonl", texts(n))


def run(source: Path, db_path: Path, answers: int, session: str = "alice", **kw) -> tuple[Controller, str | None]:
    """A session that answers ``answers`` tasks and quits; the text of the task it was shown next."""
    controller = make_controller(source, db_path, labels="POS", session=session, **kw)
    try:
        answer_all(controller, lambda t: ("accept", None), limit=answers)
        task = controller.next_task(timeout=10)
        return controller, task["text"] if task else None
    finally:
        controller.close()
        controller.db.close()


def first_after_restart(source: Path, db_path: Path, session: str = "alice", **kw) -> tuple[str | None, int | None]:
    controller = make_controller(source, db_path, labels="POS", session=session, **kw)
    try:
        task = controller.next_task(timeout=10)
        checkpoint = controller._checkpoint
        return (task["text"] if task else None), (checkpoint.resumed_at if checkpoint else None)
    finally:
        controller.close()
        controller.db.close()


def test_a_restart_seeks_to_the_checkpoint_and_shows_the_next_open_task(tmp_path: Path, db_path: Path) -> None:
    source = source_of(tmp_path)
    _, shown = run(source, db_path, 300)
    assert shown == "text number 300"
    text, resumed_at = first_after_restart(source, db_path)
    assert text == "text number 300"
    assert resumed_at is not None and 290 <= resumed_at <= 300  # the records before were not read again
    # a second restart seeks again, and answering on keeps every answer once
    controller = make_controller(source, db_path, labels="POS")
    assert answer_all(controller, lambda t: ("reject", None)) == N - 300
    controller.close()
    controller.db.close()
    answers = stored(db_path, "in")
    assert len(answers) == N and len({a["text"] for a in answers}) == N


def test_a_changed_source_is_read_from_the_start(tmp_path: Path, db_path: Path) -> None:
    source = source_of(tmp_path)
    run(source, db_path, 100)
    lines = source.read_text().splitlines(keepends=True)
    lines[10] = json.dumps({"text": "an edited line"}) + "\n"  # an edit before the checkpoint
    source.write_text("".join(lines))
    text, resumed_at = first_after_restart(source, db_path)
    assert resumed_at is None and text == "an edited line"  # the new task is not skipped
    with source.open("a") as f:  # an append: still correct (a full scan), the first open task first
        f.write(json.dumps({"text": "appended"}) + "\n")
    text, resumed_at = first_after_restart(source, db_path)
    assert resumed_at is None and text == "an edited line"


def test_a_checkpoint_whose_task_differs_falls_back_to_the_full_scan(tmp_path: Path, db_path: Path) -> None:
    source = source_of(tmp_path)
    run(source, db_path, 50)
    conn = sqlite3.connect(db_path)
    (key, value), = conn.execute("SELECT key, value FROM checkpoints").fetchall()
    saved = json.loads(value)
    conn.execute("UPDATE checkpoints SET value = ? WHERE key = ?", (json.dumps({**saved, "key": 12345}), key))
    conn.commit()
    conn.close()
    controller = make_controller(source, db_path, labels="POS")
    try:
        assert controller.next_task(timeout=10)["text"] == "text number 50"
        assert controller._checkpoint is not None and controller._checkpoint.resumed_at is None
    finally:
        controller.close()
        controller.db.close()


def test_undo_then_quit_keeps_the_answers_and_the_checkpoint_right(tmp_path: Path, db_path: Path) -> None:
    source = source_of(tmp_path, 60)
    controller = make_controller(source, db_path, labels="POS")
    try:
        answer_all(controller, lambda t: ("accept", None), limit=30)
        for _ in range(5):
            assert controller.undo() is not None  # back to task 25, its answer kept (undo replaces)
        controller.answer("reject")  # 25 answered again; 26..29 come again, with their answers
    finally:
        controller.close()
        controller.db.close()
    text, resumed_at = first_after_restart(source, db_path)
    assert text == "text number 30" and resumed_at is not None and resumed_at <= 30
    assert len(stored(db_path, "in")) == 30


def test_skipped_and_answered_tasks_come_back_exactly_as_a_full_scan_would_serve_them(tmp_path: Path) -> None:
    rng = random.Random(7)
    source = write_jsonl(tmp_path / "in.jsonl", texts(120) + texts(30))  # 30 repeats at the end
    for round_ in range(6):
        db_path = tmp_path / f"r{round_}.db"
        for _ in range(4):  # sessions that answer some, leave one open, quit
            controller = make_controller(source, db_path, labels="POS")
            try:
                for _ in range(rng.randrange(1, 40)):
                    task = controller.next_task(timeout=10)
                    if task is None:
                        break
                    if rng.random() < 0.1:
                        break  # quit with this one open
                    controller.answer(rng.choice(["accept", "reject", "ignore"]))
            finally:
                controller.close()
                controller.db.close()
        done = {a["text"] for a in stored(db_path, "in")}
        expected = [t["text"] for t in texts(120) if t["text"] not in done]
        controller = make_controller(source, db_path, labels="POS")
        served = []
        try:
            while (task := controller.next_task(timeout=10)) is not None:
                served.append(task["text"])
                controller.answer("accept")
        finally:
            controller.close()
            controller.db.close()
        assert served == expected


def test_with_claims_a_task_held_by_another_annotator_stops_the_checkpoint(tmp_path: Path, db_path: Path) -> None:
    source = source_of(tmp_path, 40)
    components = tuiannot.get_recipe("textcat")(str(source), label="POS")
    from tuiannot.components import Components

    bob = Controller(Components.from_value(components), tuiannot.connect(db_path), "bob",
                     routing=Routing(overlap=1.0)).start()
    try:
        held = bob.next_task(timeout=10)  # bob holds task 0 (and the one claimed ahead of it)
        assert held is not None and held["text"] == "text number 0"
        alice = Controller(Components.from_value(tuiannot.get_recipe("textcat")(str(source), label="POS")),
                           tuiannot.connect(db_path), "alice", routing=Routing(overlap=1.0)).start()
        try:
            for _ in range(10):
                task = alice.next_task(timeout=10)
                assert task is not None and task["text"] != "text number 0"
                alice.answer("accept")
        finally:
            alice.close()
            alice.db.close()
        conn = sqlite3.connect(db_path)
        assert conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0] == 0  # nothing before 0 is done
        conn.close()
        bob.answer("accept")
    finally:
        bob.close()
        bob.db.close()
    assert len(stored(db_path, "in")) == 11


def test_dropping_the_dataset_drops_its_checkpoints(tmp_path: Path, db_path: Path) -> None:
    source = source_of(tmp_path, 50)
    run(source, db_path, 20)
    with tuiannot.connect(db_path) as db:
        assert db.checkpoint("in", _key(db_path)) is not None
        db.drop_dataset("in")
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0] == 0
    conn.close()
    text, resumed_at = first_after_restart(source, db_path)
    assert text == "text number 0" and resumed_at is None


def _key(db_path: Path) -> str:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT key FROM checkpoints").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize("loader", ["csv", "json"])
def test_sources_a_record_of_which_may_span_lines_are_not_checkpointed(tmp_path: Path, db_path: Path,
                                                                      loader: str) -> None:
    path = tmp_path / f"in.{loader}"
    if loader == "csv":
        path.write_text("text\n" + "".join(f"row {i}\n" for i in range(30)))
    else:
        path.write_text(json.dumps([{"text": f"row {i}"} for i in range(30)]))
    controller = make_controller(path, db_path, labels="POS")
    try:
        assert controller._checkpoint is None
        answer_all(controller, lambda t: ("accept", None), limit=10)
    finally:
        controller.close()
        controller.db.close()
    controller = make_controller(path, db_path, labels="POS")
    try:
        assert controller.next_task(timeout=10)["text"] == "row 10"
    finally:
        controller.close()
        controller.db.close()


def test_invalid_records_before_the_checkpoint_are_still_counted_on_a_resume(tmp_path: Path,
                                                                              db_path: Path) -> None:
    lines = [json.dumps(t) for t in texts(30)]
    lines[3], lines[7] = "{not json", '{"no": "text"}'
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    controller, shown = run(source, db_path, 20)
    assert shown == "text number 22"
    controller = make_controller(source, db_path, labels="POS")
    try:
        assert controller.next_task(timeout=10)["text"] == "text number 22"
        assert controller._checkpoint is not None and controller._checkpoint.resumed_at is not None
        summary = controller.close()
    finally:
        controller.db.close()
    assert summary.invalid == 2
    assert summary.warnings == [f"{source}: 2 invalid records before line {controller._checkpoint.resumed_at:,} "
                                "skipped (each was reported when it was first read; a restart seeks past them)"]
