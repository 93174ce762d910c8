"""Blind A/B comparison data (tuiannot.data.compare): two systems' files matched by id or by input, every record
left out named by file and line and counted, the blind order stable and balanced, and what a stored compare
answer means, through the real controller and a real database."""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import tuiannot
from tuiannot.components import Components
from tuiannot.controller import Controller
from tuiannot.data.compare import (ComparePairs, add_winners, blind_sides, choice_answer, compare_judgements,
                                   compare_outcome, from_prodigy_compare, shown_outputs, winner_of)
from tuiannot.errors import InvalidRecord, SourceError
from tuiannot.metrics.preference import compare_stats

from .helpers import write_jsonl


def record(rid: Any, text: str, output: str, **extra: Any) -> dict[str, Any]:
    return {**({"id": rid} if rid is not None else {}), "input": {"text": text}, "output": {"text": output}, **extra}


def pairs_of(tmp_path: Path, a_rows: list[Any], b_rows: list[Any], **options: Any) -> ComparePairs:
    return ComparePairs(write_jsonl(tmp_path / "a.jsonl", a_rows), write_jsonl(tmp_path / "b.jsonl", b_rows),
                        **options)


def test_records_are_matched_by_id_and_the_task_keeps_both_outputs_blind(tmp_path: Path) -> None:
    pairs = pairs_of(tmp_path, [record(1, "one", "A says one", model="gpt-x"), record(2, "two", "A says two")],
                     [record(2, "two", "B says two"), record(1, "one", "B says one", latency=3)], seed="ann")
    tasks = list(pairs)
    assert pairs.warnings == [] and pairs.total == 2 and len(tasks) == 2 and pairs.progress() == 1.0
    one = tasks[0]
    assert one["text"] == "one" and one["input"] == {"text": "one"} and one["id"] == 1
    assert one["outputs"] == {"A": {"text": "A says one", "meta": {"model": "gpt-x"}},
                              "B": {"text": "B says one", "meta": {"latency": 3}}}
    assert "meta" not in one  # what could name a system stays under outputs and _compare, never shown
    assert one["_compare"] == {"A": {"source": str(tmp_path / "a.jsonl"), "line": 1},
                               "B": {"source": str(tmp_path / "b.jsonl"), "line": 2}}
    assert one["_sides"] == blind_sides(one["_input_hash"], "ann")
    left, right = shown_outputs(one)
    assert {left, right} == {"A says one", "B says one"}
    assert left == one["outputs"][one["_sides"][0]]["text"]


def test_without_ids_records_are_matched_by_their_input_and_plain_strings_are_accepted(tmp_path: Path) -> None:
    pairs = pairs_of(tmp_path, [{"input": "alpha", "output": "a1"}, {"input": "beta", "output": "a2"}],
                     [record(None, "beta", "b2"), {"id": "x", "input": "alpha", "output": "b1"}])
    tasks = list(pairs)
    assert [t["text"] for t in tasks] == ["alpha", "beta"] and pairs.warnings == []
    assert tasks[0]["id"] == "x"  # B's id when A has none
    assert tasks[0]["outputs"] == {"A": {"text": "a1"}, "B": {"text": "b1"}}


def test_every_record_left_out_is_a_warning_with_file_and_line_and_counted(tmp_path: Path) -> None:
    a_rows = [record(1, "one", "a1"), "{not json", record(1, "again", "x"), {"input": "no output"},
              record(5, "only in a", "a5"), record(7, "seven", "a7"), record(8, "eight", "same"),
              {"id": True, "input": "i", "output": "o"}, record(None, "dup", "d1"), record(None, "dup", "d2")]
    b_rows = [record(1, "one", "b1"), record(9, "only in b", "b9"), record(7, "SEVEN", "b7"),
              record(8, "eight", "same"), record(None, "dup", "d3")]
    pairs = pairs_of(tmp_path, a_rows, b_rows)
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert pairs.warnings == [
        f"{a}:2: invalid JSON: Expecting property name enclosed in double quotes (column 2)",
        f"{a}:3: id 1 again (first on line 1): left out",
        f"{a}:4: no 'output' (this system's output)",
        f"{a}:8: 'id' must be a string or a whole number, not a boolean",
        f"{a}:10: the same input again (first on line 9), and no id to tell them apart: left out",
        f"{a}:5: no record in {b} has id 5: left out",
        f"{a}:6: the input differs from {b}:3, which has the same id: both left out",
        f"{a}:7: the same output as {b}:4: nothing to compare, left out",
        f"{b}:2: no record in {a} has id 9: left out",
    ]
    assert pairs.counts == Counter({"invalid": 3, "duplicate": 2, "unmatched": 2, "input differs": 1,
                                    "identical outputs": 1})
    assert [t["text"] for t in pairs] == ["one", "dup"] and pairs.total == 2
    assert pairs.note() == ("2 pairs to compare; left out: 3 invalid records, 2 duplicates, 2 records without a "
                            "partner, 1 pair whose inputs differ, 1 pair with the same output")


def test_strict_stops_at_the_first_bad_record_and_other_formats_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidRecord, match=r"a\.jsonl:2: no 'input'"):
        pairs_of(tmp_path, [record(1, "one", "a1"), {"output": "x"}], [record(1, "one", "b1")], strict=True)
    (tmp_path / "a.csv").write_text("text\nhello\n")
    with pytest.raises(SourceError, match="JSONL or JSON"):
        ComparePairs(tmp_path / "a.csv", write_jsonl(tmp_path / "b.jsonl", []))


def test_a_json_array_and_a_pipe_are_read_once_and_kept(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps([record(1, "one", "a1"), record(2, "two", "a2")]))
    fifo = tmp_path / "b.pipe"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "w") as f:
            f.write(json.dumps(record(2, "two", "b2")) + "\n" + json.dumps(record(1, "one", "b1")) + "\n")

    writer = threading.Thread(target=feed, daemon=True)  # never holds up the end of the tests
    writer.start()
    pairs = ComparePairs(tmp_path / "a.json", fifo, loader=(None, "jsonl"))  # the pipe's format named
    writer.join()
    assert [(t["outputs"]["A"]["text"], t["outputs"]["B"]["text"]) for t in pairs] == [("a1", "b1"), ("a2", "b2")]


def test_a_file_changed_after_it_was_read_leaves_the_changed_records_out(tmp_path: Path) -> None:
    pairs = pairs_of(tmp_path, [record(1, "one", "a1"), record(2, "two", "a2")],
                     [record(1, "one", "b1"), record(2, "two", "b2")])
    write_jsonl(tmp_path / "b.jsonl", [record(1, "one", "B1"), record(2, "two", "b2")])  # an edit in place
    assert [t["text"] for t in pairs] == ["two"]
    assert pairs.warnings == [f"{tmp_path / 'b.jsonl'}:1: the file changed since it was read: left out"]
    write_jsonl(tmp_path / "b.jsonl", [record(1, "one", "b1 longer"), record(2, "two", "b2")])  # all moved on
    assert list(pairs) == [] and pairs.counts["changed"] == 3


def test_the_blind_order_is_stable_and_balanced(tmp_path: Path) -> None:
    n = 2000
    a_rows = [record(i, f"input {i}", f"a {i}") for i in range(n)]
    b_rows = [record(i, f"input {i}", f"b {i}") for i in range(n)]
    first = [t["_sides"] for t in pairs_of(tmp_path, a_rows, b_rows, seed="ann")]
    again = [t["_sides"] for t in pairs_of(tmp_path, a_rows, b_rows, seed="ann")]
    other = [t["_sides"] for t in pairs_of(tmp_path, a_rows, b_rows, seed="bob")]
    assert first == again  # a restart shows the same order
    left_a = sum(s == ["A", "B"] for s in first)
    assert abs(left_a - n / 2) < 3.5 * (n / 4) ** 0.5  # binomial(2000, 1/2): within 3.5 standard deviations
    differ = sum(x != y for x, y in zip(first, other, strict=True))
    assert abs(differ - n / 2) < 3.5 * (n / 4) ** 0.5  # another annotator: an order of their own
    assert all(sorted(s) == ["A", "B"] for s in first)


def test_what_a_choice_means_for_the_systems() -> None:
    assert winner_of("left", ["B", "A"]) == "B" and winner_of("right", ["B", "A"]) == "A"
    assert winner_of("tie", ["A", "B"]) == "tie" and winner_of("both-bad", ["A", "B"]) == "both-bad"
    with pytest.raises(ValueError, match="unknown choice"):
        winner_of("up", ["A", "B"])
    task = {"text": "t", "outputs": {"A": {"text": "a"}, "B": {"text": "b"}}, "_sides": ["B", "A"]}
    assert choice_answer(task, "left") == ("accept", {"choice": "left", "winner": "B"})
    assert choice_answer(task, "both-bad") == ("reject", {"choice": "both-bad", "winner": "both-bad"})
    # an undo then a skip: the earlier choice must not stay with the skipped task
    assert add_winners([{**task, "answer": "ignore", "choice": "left", "winner": "B"}])[0].keys() == \
        {"text", "outputs", "_sides", "answer"}
    assert add_winners([{**task, "answer": "accept", "choice": "right", "winner": "B"}])[0]["winner"] == "A"
    assert compare_outcome({**task, "answer": "accept", "choice": "right"}) == "A"
    assert compare_outcome({**task, "answer": "ignore", "choice": "right"}) is None


def test_prodigy_compare_answers_are_read_and_converted() -> None:
    prodigy = {"id": 3, "input": {"text": "FedEx von Cyberattacke getroffen"}, "accept": {"text": "second"},
               "reject": {"text": "first"}, "mapping": {"A": "accept", "B": "reject"}, "answer": "accept"}
    assert compare_outcome(prodigy) == "A"  # accept: the output in the accept slot, A's, is better
    assert compare_outcome({**prodigy, "answer": "reject"}) == "B"
    assert compare_outcome({**prodigy, "answer": "ignore"}) is None
    ours = from_prodigy_compare(prodigy)
    assert ours["outputs"] == {"A": {"text": "second"}, "B": {"text": "first"}}
    assert ours["_sides"] == ["B", "A"]  # Prodigy shows the reject slot first
    assert ours["choice"] == "right" and ours["winner"] == "A" and ours["text"] == prodigy["input"]["text"]
    assert "accept" not in ours and "reject" not in ours and compare_outcome(ours) == "A"
    with pytest.raises(ValueError, match="not a Prodigy compare answer"):
        from_prodigy_compare({"text": "x", "answer": "accept"})


def test_compare_answers_through_the_controller_into_a_real_database(tmp_path: Path, db_path: Path) -> None:
    n = 12
    pairs = pairs_of(tmp_path, [record(i, f"input {i}", f"system a {i}") for i in range(n)] + [record(99, "x", "y")],
                     [record(i, f"input {i}", f"system b {i}") for i in range(n)], seed="ann")
    stream = pairs.stream()
    assert stream.warnings[-1].endswith("no record in " + str(tmp_path / "b.jsonl") + " has id 99: left out")
    components = Components(dataset="cmp", stream=stream, view_id="compare", before_db=add_winners,
                            progress=lambda controller: pairs.progress())
    db = tuiannot.connect(db_path)
    controller = Controller(components, db, session="ann").start()
    choices = ["left", "right", "tie", "both-bad", "skip"]
    said: dict[str, str] = {}
    try:
        for i in range(n):
            task = controller.next_task(timeout=10)
            assert task is not None
            # the annotator prefers system A's output wherever it is shown, but for a few ties, both-bad, skips
            choice = choices[i] if i < 5 else ("left" if task["_sides"][0] == "A" else "right")
            if choice == "skip":
                controller.answer("ignore")
            else:
                answer, fields = choice_answer(task, choice)
                controller.answer(answer, fields={"choice": fields["choice"]})  # the screen posts the choice only
            said[task["text"]] = choice
        assert controller.next_task(timeout=10) is None
    finally:
        summary = controller.close()
        db.close()
    assert summary.invalid == 1 and summary.by_answer == {"accept": 10, "reject": 1, "ignore": 1}
    with tuiannot.connect(db_path) as db:
        stored = list(db.answers("cmp"))
    assert len(stored) == n
    for answer in stored:
        choice = said[answer["text"]]
        assert answer["_view_id"] == "compare"
        if choice == "skip":
            assert answer["answer"] == "ignore" and "choice" not in answer and "winner" not in answer
        else:
            assert answer["choice"] == choice and answer["winner"] == winner_of(choice, answer["_sides"])
    judgements, left_out = compare_judgements(stored, "cmp")
    assert left_out == Counter({"skipped": 1})
    stats = compare_stats(judgements)["overall"]
    assert (stats["ties"], stats["both_bad"], stats["wins_a"] + stats["wins_b"]) == (1, 1, 9)
    assert stats["wins_a"] >= 8  # every preference but the first two is A's
    assert {name for name, _ in judgements} == {"ann"}
