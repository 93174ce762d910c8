"""Flags and comments (issue 19) beyond the keys: running totals on both backends (``stats`` reads them, never the
answers), ``db-out --flagged`` in every format, ``review`` shows them; and ``iaa``/``progress --by-guidelines``,
the figures split by the guidelines' version each answer was given under."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import tuiannot

from .helpers import assert_one_line_error, raw_sql, recipe_app, run, run_json, seed, stored, wait_done, wait_for_task

OPTIONS = [{"id": "POS", "text": "POS"}, {"id": "NEG", "text": "NEG"}]
V1 = {"hash": "0123456789ab", "version": "2024-03"}
V2 = {"hash": "ba9876543210"}


def choice(text: str, who: str, accept: list[str], dataset: str = "ds", **extra: Any) -> dict[str, Any]:
    return {"text": text, "options": OPTIONS, "accept": accept, "answer": "accept", "_view_id": "choice",
            "_session_id": f"{dataset}-{who}", "_annotator_id": f"{dataset}-{who}", **extra}


# -- the running totals, both backends ------------------------------------------------------------------------
def test_flag_counts_follow_every_write(database: str) -> None:
    with tuiannot.connect(database) as db:
        first = db.add_answer("ds", choice("a", "alice", ["POS"], _flagged=True, _comment="why?"))
        db.add_answer("ds", choice("b", "alice", ["POS"], _flagged=False, _comment=""))  # neither counts
        db.add_answer("ds", choice("c", "bob", ["NEG"], _comment="typo in the text"))
        db.add_answer("ds", choice("d", "bob", ["NEG"], label="_flagged", note='"_comment"'))  # keys as values
        assert db.flag_counts("ds") == {"alice": {"flagged": 1, "commented": 1},
                                        "bob": {"flagged": 0, "commented": 1}}
        # an import, many rows in one statement (and staged then moved, on SQLite)
        db.add_answers("ds", [choice(f"t{i}", "carol", ["POS"], _flagged=i % 3 == 0,
                                     **({"_comment": f"c{i}\u0000"} if i % 5 == 0 else {})) for i in range(1500)])
        assert db.flag_counts("ds")["carol"] == {"flagged": 500, "commented": 300}
        # undo then answer again: the flag goes, the comment changes hands
        task = next(db.answers_by_id([first]))
        task.pop("_answer_id")
        task.pop("_flagged")
        db.replace_answer(first, {**task, "_session_id": "ds-bob", "_annotator_id": "ds-bob"})
        assert db.flag_counts("ds") == {"bob": {"flagged": 0, "commented": 2},
                                        "carol": {"flagged": 500, "commented": 300}}
        db.add_answer("other", choice("a", "alice", ["POS"], dataset="other", _flagged=True))
        db.drop_dataset("ds")
        assert db.flag_counts("other") == {"alice": {"flagged": 1, "commented": 0}}
    assert raw_sql(database, "SELECT count(*) FROM flag_counts") == [(1,)]  # the dropped dataset's went with it


# -- stats --------------------------------------------------------------------------------------------------
@pytest.fixture
def flagged(db_path: Path) -> Path:
    seed(db_path, "ds", [
        choice("good film", "alice", ["POS"], _flagged=True, _comment="sarcasm?"),
        choice("bad film", "alice", ["NEG"]),
        choice("good film", "bob", ["POS"]),
        choice("odd film", "bob", ["NEG"], _flagged=True),
        choice("meh film", "bob", ["NEG"], _comment="is meh negative?"),
    ])
    return db_path


@pytest.mark.usefixtures("cli_env")
def test_stats_counts_flags_and_comments(flagged: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "stats", "ds", "--db", db_path)
    assert code == 0, err
    assert "2 answers flagged, 2 answers with a comment" in out
    header = next(line for line in out.splitlines() if line.startswith("session"))
    assert "flagged" in header.split()
    row = next(line for line in out.splitlines() if line.startswith("bob")).split()
    assert row[:6] == ["bob", "3", "3", "0", "0", "1"]  # answers, accept, reject, ignore, flagged
    report = run_json(capsys, "stats", "ds", "--json", "--db", db_path)
    assert (report["flagged"], report["commented"]) == (2, 2)
    assert report["by_session"]["alice"]["flagged"] == 1 and report["by_session"]["alice"]["commented"] == 1
    assert report["by_session"]["bob"]["flagged"] == 1 and report["by_session"]["bob"]["commented"] == 1
    # one of each: said in the singular; none: no line, no column
    seed(db_path, "one", [choice("x", "alice", ["POS"], dataset="one", _flagged=True, _comment="c"),
                          choice("y", "alice", ["POS"], dataset="one")])
    _, out, _ = run(capsys, "stats", "one", "--db", db_path)
    assert "1 answer flagged, 1 answer with a comment" in out
    seed(db_path, "calm", [choice("x", "alice", ["POS"], dataset="calm")])
    _, out, _ = run(capsys, "stats", "calm", "--db", db_path)
    assert "flagged" not in out
    assert run_json(capsys, "stats", "calm", "--json", "--db", db_path)["flagged"] == 0


# -- db-out --flagged ----------------------------------------------------------------------------------------
@pytest.mark.usefixtures("cli_env")
def test_db_out_flagged_exports_only_the_flagged_answers(flagged: Path, db_path: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "db-out", "ds", "--flagged", "--db", db_path)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["text"], r["_session_id"]) for r in rows] == [("good film", "ds-alice"), ("odd film", "ds-bob")]
    code, _, err = run(capsys, "db-out", "ds", tmp_path / "flagged.jsonl", "--flagged", "--db", db_path)
    assert code == 0 and "Exported 2 answers" in err
    assert [json.loads(line)["text"] for line in (tmp_path / "flagged.jsonl").read_text().splitlines()] == [
        "good film", "odd film"]
    code, out, err = run(capsys, "db-out", "ds", "--format", "doccano", "--flagged", "--db", db_path)
    assert code == 0, err
    assert [json.loads(line)["text"] for line in out.splitlines()] == ["good film", "odd film"]
    assert "Exported 2 records (doccano)" in err
    code, out, _ = run(capsys, "db-out", "ds", "--format", "label-studio", "--flagged", "--db", db_path)
    assert [t["data"]["text"] for t in json.loads(out)] == ["good film", "odd film"]
    code, out, _ = run(capsys, "db-out", "ds", "--db", db_path)
    assert len(out.splitlines()) == 5  # without --flagged: all of them
    code, _, err = run(capsys, "db-out", "nope", "--flagged", "--db", db_path)
    assert code == 1
    assert_one_line_error(err, "no dataset named 'nope'")


@pytest.mark.usefixtures("cli_env")
def test_db_out_flagged_as_parquet(flagged: Path, db_path: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    code, _, err = run(capsys, "db-out", "ds", tmp_path / "f.parquet", "--format", "parquet", "--flagged",
                       "--db", db_path)
    assert code == 0, err
    assert pq.read_table(tmp_path / "f.parquet").column("text").to_pylist() == ["good film", "odd film"]


# -- --by-guidelines -----------------------------------------------------------------------------------------
@pytest.fixture
def versions(db_path: Path) -> Path:
    """Under V1 alice and bob agree on every input; under V2 they agree on one of four; carol answered without."""
    answers = []
    for i in range(3):
        for who in ("alice", "bob"):
            answers.append(choice(f"v1 {i}", who, ["POS"], _guidelines=V1, _timestamp=1000 + i, _seconds=4.0))
    for i in range(4):
        answers.append(choice(f"v2 {i}", "alice", ["POS"], _guidelines=V2, _timestamp=2000 + i, _seconds=2.0))
        answers.append(choice(f"v2 {i}", "bob", ["POS" if i == 0 else "NEG"], _guidelines=V2, _timestamp=2000 + i,
                              _seconds=3.0))
    answers.append(choice("v2 0", "carol", ["POS"], _timestamp=3000))
    # alice answered "v1 0" again under V2: her last word there is under V2, so V1 compares it no more
    answers.append(choice("v1 0", "alice", ["NEG"], _guidelines=V2, _timestamp=2500))
    seed(db_path, "ds", answers)
    return db_path


@pytest.mark.usefixtures("cli_env")
def test_iaa_by_guidelines(versions: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = run_json(capsys, "iaa", "ds", "--by-guidelines", "--json", "--db", db_path)
    groups = report["by_guidelines"]
    assert [g["name"] for g in groups] == ["2024-03 (0123456789ab)", "ba9876543210", "none"]
    assert [g["guidelines"] for g in groups] == [V1, V2, None]
    assert [g["answers"] for g in groups] == [6, 9, 1]
    first, second, none = (g["documents"] for g in groups)
    assert first["items_compared"] == 2 and first["percent_agreement"] == 1.0
    assert second["items_compared"] == 4 and second["percent_agreement"] == 0.25
    assert none["items_compared"] == 0
    code, out, err = run(capsys, "iaa", "ds", "--by-guidelines", "--db", db_path)
    assert code == 0, err
    assert "3 versions" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith(("2024-03", "ba98"))}
    assert rows["2024-03"][1:6] == ["(0123456789ab)", "6", "2", "2", "100.0%"]
    assert rows["ba9876543210"][1:5] == ["9", "2", "4", "25.0%"]
    code, _, err = run(capsys, "iaa", "--from", db_path, "--by-guidelines")
    assert code == 2 and "--by-guidelines" in err


@pytest.mark.usefixtures("cli_env")
def test_progress_by_guidelines(versions: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = run_json(capsys, "progress", "ds", "--by-guidelines", "--json", "--db", db_path)
    assert report["answers"] == 16
    v1, v2, none = report["by_guidelines"]
    assert (v1["answers"], v1["inputs_answered"], v2["inputs_answered"], none["inputs_answered"]) == (6, 3, 5, 1)
    people = {p["annotator"]: p for p in v2["annotators"]}
    assert people["alice"]["answers"] == 5 and people["bob"]["answers"] == 4
    assert people["alice"]["median_seconds"] == 2.0 and people["bob"]["median_seconds"] == 3.0
    assert people["bob"]["agreement_with_others"] == 0.25
    assert {p["annotator"]: p["agreement_with_others"] for p in v1["annotators"]} == {"alice": 1.0, "bob": 1.0}
    assert [p["annotator"] for p in none["annotators"]] == ["carol"]
    code, out, err = run(capsys, "progress", "ds", "--by-guidelines", "--db", db_path)
    assert code == 0, err
    assert "16 answers under 3 versions of the guidelines" in out
    assert "Guidelines 2024-03 (0123456789ab): 6 answers to 3 inputs" in out
    assert "Guidelines none: 1 answer to 1 input" in out
    code, _, err = run(capsys, "progress", "nope", "--by-guidelines", "--db", db_path)
    assert code == 1
    assert_one_line_error(err, "no dataset named 'nope'")


# -- review --------------------------------------------------------------------------------------------------
async def test_review_shows_who_flagged_a_version_and_their_comments(db_path: Path) -> None:
    seed(db_path, "votes", [
        choice("good film", "alice", ["POS"], dataset="votes", _flagged=True, _comment="[b]irony?[/b]\x1b[2J"),
        choice("good film", "bob", ["POS"], dataset="votes"),
        choice("good film", "carol", ["NEG"], dataset="votes", _comment="clearly negative"),
    ])
    app = recipe_app("review", db_path, "votes", output="final", db=str(db_path), session="lead")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text="good film")
        panel = str(screen.query_one("#question").render())
        lines = panel.splitlines()
        majority = next(i for i, line in enumerate(lines) if "2× [alice, bob]" in line)
        assert "⚑ alice" in lines[majority]
        assert "✎ alice: [b]irony?[/b]" in lines[majority + 1] and "\x1b" not in panel  # literal, escaped
        minority = next(i for i, line in enumerate(lines) if "1× [carol]" in line)
        assert "⚑" not in lines[minority] and "✎ carol: clearly negative" in lines[minority + 1]
        await pilot.press("a")
        await wait_done(pilot)
    [final] = stored(db_path, "final")
    assert "_flagged" not in final and "_comment" not in final  # the annotators' flag is not the final answer's
