"""The command line, run in-process through ``tuiannot.cli.main`` (and a few times as ``python -m tuiannot``).

Exit codes: 0 success, 1 a user error, 2 a usage error. A user error is one
line on stderr starting with ``error:``, never a traceback.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import tuiannot
from tuiannot.tasks import input_hash, task_hash

from .helpers import assert_one_line_error, make_controller, run, seed, stored, texts, write_jsonl

PRODIGY_FIELDS = ("text", "answer", "_input_hash", "_task_hash", "_session_id", "_annotator_id", "_timestamp",
                  "_view_id")


pytestmark = pytest.mark.usefixtures("cli_env")


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def seed_with_controller(tmp_path: Path, db_path: Path) -> Path:
    """Dataset 'reviews': alice answers 4 (accept POS, accept NEG+POS, reject, ignore), bob 2 (accept NEG x2)."""
    source = write_jsonl(tmp_path / "reviews.jsonl", texts(6, "review"))
    alice = make_controller(source, db_path, labels="POS,NEG", session="alice")
    try:
        for ans, accept in [("accept", ["POS"]), ("accept", ["NEG", "POS"]), ("reject", []), ("ignore", [])]:
            assert alice.next_task(timeout=10) is not None
            alice.answer(ans, accept)
    finally:
        alice.close()
        alice.db.close()
    bob = make_controller(source, db_path, labels="POS,NEG", session="bob")
    try:
        for _ in range(2):
            assert bob.next_task(timeout=10) is not None
            bob.answer("accept", ["NEG"])
    finally:
        bob.close()
        bob.db.close()
    return source


# -- stats -------------------------------------------------------------------------
def test_stats_json_figures(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path) -> None:
    seed_with_controller(tmp_path, db_path)
    code, out, err = run(capsys, "stats", "reviews", "--json", "--db", db_path)
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["database"] == str(db_path)
    assert report["dataset"] == "reviews"
    assert report["answers"] == 6
    assert report["sessions"] == 2
    assert report["inputs"] == 6  # bob got the tasks alice had not answered
    assert report["tasks"] == 6
    assert report["by_answer"] == {"accept": 4, "reject": 1, "ignore": 1}
    assert report["by_label"] == {"NEG": {"accept": 3, "reject": 0, "ignore": 0},
                                  "POS": {"accept": 2, "reject": 0, "ignore": 0}}
    assert set(report["by_session"]) == {"alice", "bob"}
    assert report["by_session"]["alice"]["answers"] == 4
    assert report["by_session"]["alice"]["by_answer"] == {"accept": 2, "reject": 1, "ignore": 1}
    assert report["by_session"]["bob"]["by_answer"] == {"accept": 2, "reject": 0, "ignore": 0}
    assert report["median_seconds"] is not None and report["median_seconds"] >= 0
    assert report["first"].endswith("Z") and report["last"].endswith("Z")


def test_stats_json_exact_rates(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    seed(db_path, "timed", [
        {"text": t, "answer": "accept", "label": "L", "_session_id": "timed-ann", "_seconds": s,
         "_timestamp": 1_700_000_000 + i}
        for i, (t, s) in enumerate([("a", 10), ("b", 20), ("c", 5000)])])
    code, out, _ = run(capsys, "stats", "timed", "--json", "--db", db_path)
    report = json.loads(out)
    assert code == 0
    assert report["answers_per_hour"] == round(3600 * 3 / (10 + 20 + 300), 1)
    assert report["median_seconds"] == 20
    assert report["by_session"]["ann"]["answers_per_hour"] == report["answers_per_hour"]
    assert report["by_label"] == {"L": {"accept": 3, "reject": 0, "ignore": 0}}
    assert report["first"] == "2023-11-14T22:13:20Z" and report["last"] == "2023-11-14T22:13:22Z"


def test_stats_overview_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path) -> None:
    seed_with_controller(tmp_path, db_path)
    with tuiannot.connect(db_path) as db:
        db.add_dataset("empty")
    code, out, err = run(capsys, "stats", "--json", "--db", db_path)
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["database"] == str(db_path)
    rows = {r["dataset"]: r for r in report["datasets"]}
    assert rows["reviews"]["answers"] == 6 and rows["reviews"]["sessions"] == 2
    assert rows["empty"] == {"dataset": "empty", "answers": 0, "sessions": 0, "first": None, "last": None}


def test_stats_human_output_mentions_the_database(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                  db_path: Path) -> None:
    seed_with_controller(tmp_path, db_path)
    code, out, err = run(capsys, "stats", "--db", db_path)
    assert (code, err) == (0, "")
    assert f"Database: {db_path}" in out
    assert "reviews" in out
    code, out, err = run(capsys, "stats", "reviews", "--db", db_path)
    assert (code, err) == (0, "")
    assert f"Database: {db_path}" in out
    for word in ("reviews", "alice", "bob", "POS", "NEG", "accept", "reject", "ignore"):
        assert word in out


def test_stats_on_an_empty_database(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    code, out, _ = run(capsys, "stats", "--db", db_path)
    assert code == 0 and "No datasets yet." in out and str(db_path) in out


def test_stats_uses_tuiannot_db_env(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                    tmp_path: Path) -> None:
    monkeypatch.setenv("TUIANNOT_DB", str(tmp_path / "from-env.db"))
    code, out, _ = run(capsys, "stats", "--json")
    assert code == 0 and json.loads(out)["database"] == str(tmp_path / "from-env.db")


def test_stats_human_output_keeps_a_long_path_on_one_line(capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    db_path = tmp_path / ("a-rather-long-folder-name-" * 3) / "answers.db"
    tuiannot.connect(db_path).close()
    code, out, _ = run(capsys, "stats", "--db", db_path)
    assert code == 0
    assert f"Database: {db_path}" in out.splitlines()


def test_stats_unknown_dataset(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    code, out, err = run(capsys, "stats", "nope", "--db", db_path)
    assert (code, out) == (1, "")
    assert_one_line_error(err, "no dataset named 'nope'")


# -- db-out ------------------------------------------------------------------------
def test_db_out_to_stdout(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path) -> None:
    seed_with_controller(tmp_path, db_path)
    code, out, err = run(capsys, "db-out", "reviews", "--db", db_path)
    assert (code, err) == (0, "")
    records = jsonl(out)
    assert len(records) == 6
    for record in records:
        for key in PRODIGY_FIELDS:
            assert key in record, key
        assert record["_input_hash"] == input_hash(record)
        assert record["_task_hash"] == task_hash(record)
        assert record["_view_id"] == "choice"
        assert record["_session_id"] == record["_annotator_id"]
        assert record["_session_id"] in ("reviews-alice", "reviews-bob")
        assert isinstance(record["_timestamp"], int)
        assert [o["id"] for o in record["options"]] == ["POS", "NEG"]
        assert "_answer_id" not in record
    assert [r["answer"] for r in records] == ["accept", "accept", "reject", "ignore", "accept", "accept"]
    assert records[1]["accept"] == ["NEG", "POS"]
    # the same with "-" as the output
    code, out2, _ = run(capsys, "db-out", "reviews", "-", "--db", db_path)
    assert code == 0 and out2 == out


@pytest.mark.parametrize("kind,expected", [("accept", 4), ("reject", 1), ("ignore", 1)])
def test_db_out_answer_filter(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path, kind: str,
                              expected: int) -> None:
    seed_with_controller(tmp_path, db_path)
    code, out, _ = run(capsys, "db-out", "reviews", "--answer", kind, "--db", db_path)
    assert code == 0
    assert [r["answer"] for r in jsonl(out)] == [kind] * expected


def test_db_out_to_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path) -> None:
    seed_with_controller(tmp_path, db_path)
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    target = out_dir / "accepted.jsonl"
    code, out, err = run(capsys, "db-out", "reviews", target, "--answer", "accept", "--db", db_path)
    assert code == 0 and out == ""
    assert err == f"Exported 4 answers from 'reviews' to {target}\n"
    records = jsonl(target.read_text(encoding="utf-8"))
    assert len(records) == 4 and {r["answer"] for r in records} == {"accept"}
    assert all(all(k in r for k in PRODIGY_FIELDS) for r in records)
    assert sorted(p.name for p in out_dir.iterdir()) == ["accepted.jsonl"]  # no temporary file left
    # overwriting an existing file replaces it
    code, _, _ = run(capsys, "db-out", "reviews", target, "--answer", "reject", "--db", db_path)
    assert code == 0 and [r["answer"] for r in jsonl(target.read_text())] == ["reject"]


def test_db_out_to_an_unwritable_place(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path) -> None:
    with tuiannot.connect(db_path) as db:
        db.add_answer("ds", {"text": "t", "answer": "accept"})
    code, out, err = run(capsys, "db-out", "ds", tmp_path / "no" / "such" / "dir" / "x.jsonl", "--db", db_path)
    assert code == 1
    assert_one_line_error(err, "cannot write")


def test_db_out_unknown_dataset(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    code, out, err = run(capsys, "db-out", "nope", "--db", db_path)
    assert (code, out) == (1, "")
    assert_one_line_error(err, "no dataset named 'nope'", str(db_path))


def test_db_out_db_in_round_trip(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path) -> None:
    seed_with_controller(tmp_path, db_path)
    export = tmp_path / "export.jsonl"
    assert run(capsys, "db-out", "reviews", export, "--db", db_path)[0] == 0
    other_db = tmp_path / "other.db"
    code, out, err = run(capsys, "db-in", "reviews", export, "--db", other_db)
    assert (code, err) == (0, "")
    assert "Imported 6 answers into 'reviews' (accept 4, reject 1, ignore 1); 0 invalid records skipped." in out
    again = tmp_path / "again.jsonl"
    assert run(capsys, "db-out", "reviews", again, "--db", other_db)[0] == 0
    assert jsonl(again.read_text()) == jsonl(export.read_text())
    assert again.read_bytes() == export.read_bytes()
    # the figures survive the trip
    with tuiannot.connect(db_path) as a, tuiannot.connect(other_db) as b:
        assert a.dataset_counts("reviews").by_answer == b.dataset_counts("reviews").by_answer
        assert set(b.dataset_counts("reviews").sessions) == {"alice", "bob"}
    # into a dataset of another name: the Prodigy session ids are kept as they are
    code, _, _ = run(capsys, "db-in", "copy", export, "--db", other_db)
    assert code == 0
    assert [r["_session_id"] for r in stored(other_db, "copy")] == [r["_session_id"] for r in jsonl(export.read_text())]


def test_db_in_computes_missing_hashes_and_keeps_given_ones(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                           db_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [
        {"text": "no hashes", "label": "POS"},
        {"text": "given hashes", "_input_hash": 11, "_task_hash": 22, "answer": "reject"},
        {"text": "input hash only", "_input_hash": 33},
        {"_input_hash": 44, "answer": "ignore"},  # no input field, but a hash: accepted
    ])
    code, out, err = run(capsys, "db-in", "imported", source, "--db", db_path)
    assert (code, err) == (0, "")
    assert "Imported 4 answers into 'imported' (accept 2, reject 1, ignore 1); 0 invalid records skipped." in out
    rows = stored(db_path, "imported")
    assert rows[0]["_input_hash"] == input_hash({"text": "no hashes"})
    assert rows[0]["_task_hash"] == task_hash({"text": "no hashes", "label": "POS"})
    assert rows[0]["answer"] == "accept"
    assert (rows[1]["_input_hash"], rows[1]["_task_hash"]) == (11, 22)
    assert rows[2]["_input_hash"] == 33 and rows[2]["_task_hash"] == task_hash({}, in_hash=33)
    assert rows[3]["_input_hash"] == 44


def test_db_in_default_answer_option(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": "a"}, {"text": "b", "answer": "accept"}])
    code, out, _ = run(capsys, "db-in", "ds", source, "--answer", "reject", "--db", db_path)
    assert code == 0 and "(accept 1, reject 1)" in out
    assert [r["answer"] for r in stored(db_path, "ds")] == ["reject", "accept"]


def test_db_in_counts_and_reports_invalid_lines(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                db_path: Path) -> None:
    source = tmp_path / "annotations.jsonl"
    source.write_bytes(b"\n".join([
        b'{"text": "fine", "answer": "accept"}',               # 1
        b"{not json",                                          # 2
        b'{"meta": {}}',                                       # 3 no input
        b'{"text": "t", "answer": "maybe"}',                  # 4 bad answer
        b'{"text": "t", "_task_hash": "abc"}',                # 5 bad hash
        b"[1, 2]",                                            # 6 not an object
        b'{"text": "caf\xe9"}',                               # 7 bad UTF-8
        b'{"text": "also fine", "answer": "reject"}',         # 8
    ]) + b"\n")
    code, out, err = run(capsys, "db-in", "ds", source, "--db", db_path)
    assert code == 0
    assert "Imported 2 answers into 'ds' (accept 1, reject 1); 6 invalid records skipped." in out
    warnings = err.splitlines()
    assert len(warnings) == 6
    assert [w.split(": ", 2)[1] for w in warnings] == [f"{source}:{n}" for n in (2, 3, 4, 5, 6, 7)]
    assert all(w.startswith("warning: ") for w in warnings)
    assert "'answer' must be accept, reject or ignore, not 'maybe'" in warnings[2]
    assert "'_task_hash' must be an integer" in warnings[3]
    assert "invalid UTF-8" in warnings[5]
    assert [r["text"] for r in stored(db_path, "ds")] == ["fine", "also fine"]


def test_db_in_shows_at_most_twenty_warnings(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                             db_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", ["oops"] * 30 + [{"text": "ok"}])
    code, out, err = run(capsys, "db-in", "ds", source, "--db", db_path)
    assert code == 0
    assert "Imported 1 answer into" in out and "30 invalid records skipped" in out
    lines = err.splitlines()  # twenty warnings, then how many more there were
    assert len(lines) == 21 and lines[-1] == "warning: … and 10 more invalid records"


@pytest.mark.parametrize("make,needle", [
    (lambda p: p / "missing.jsonl", "no such file"),
    (lambda p: (p / "bin.jsonl").write_bytes(b"\x00\x01\x02binary\x00") and p / "bin.jsonl", "binary"),
    (lambda p: (p / "dir.jsonl").mkdir() or p / "dir.jsonl", "is a directory"),
])
def test_db_in_unreadable_source(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path, make: Any,
                                 needle: str) -> None:
    code, out, err = run(capsys, "db-in", "ds", make(tmp_path), "--db", db_path)
    assert (code, out) == (1, "")
    assert_one_line_error(err, needle)


@pytest.mark.parametrize("body,fmt", [
    (b'{"what": 1}\n"oops"\n', None),                                          # Prodigy JSONL, nothing valid
    (b'{"text": "Ann left.", "label": [[0, 3, "PER"]]\n', "doccano"),           # not JSON
    (b'{"text": "no label here"}\n', "doccano"),                                 # the reader finds nothing
    (b'{"text": "x", "answer": "maybe"}\n{"text": "y"}\n', "prodigy --strict"),  # --strict stops it
])
def test_db_in_that_imports_nothing_leaves_no_new_dataset_behind(capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path, db_path: Path, body: bytes,
                                                                 fmt: str | None) -> None:
    """A failed import ("nothing imported", exit 1) left an empty dataset that stats showed with 0 answers; a
    dataset that was there before stays, with its answers."""
    source = tmp_path / "in.jsonl"
    source.write_bytes(body)
    options = ("--format", *fmt.split()) if fmt else ()
    seed(db_path, "before", [{"text": "kept", "answer": "accept"}])
    with tuiannot.connect(db_path) as db:
        db.add_dataset("empty before")
    for dataset in ("new", "before", "empty before"):
        code, out, err = run(capsys, "db-in", dataset, source, *options, "--db", db_path)
        assert (code, out) == (1, "") and err.startswith("error: "), (out, err)
    with tuiannot.connect(db_path) as db:
        assert sorted(db.datasets()) == ["before", "empty before"]
        assert db.count_answers("before") == 1
    code, out, _ = run(capsys, "stats", "--db", db_path)
    assert code == 0 and "new" not in out


def test_db_in_counts_records_imported_with_a_note_apart(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                         db_path: Path) -> None:
    """A doccano record with one span off the tokens is imported without it: "imported with a note", not among
    the invalid records skipped; --strict refuses it (a span left out is data lost)."""
    source = write_jsonl(tmp_path / "in.jsonl", [
        {"text": "Ann met Bob.", "label": [[0, 3, "PER"], [8, 10, "PER"], [8, 11, "PER"]]},  # [8, 10): off tokens
        {"text": "Carl left.", "label": [[0, 4, "PER"], [5, 9, 7]]},                         # a label that is no text
        {"text": 5, "label": [[0, 3, "PER"]]},                                               # invalid: skipped
        {"text": "Eve came.", "label": [[0, 3, "PER"]]},
    ])
    code, out, err = run(capsys, "db-in", "ds", source, "--db", db_path)
    assert code == 0, err
    assert "Imported 3 answers from doccano into 'ds' (accept 3); 1 invalid record skipped; 2 records imported " \
           "with a note." in out, out
    assert [w.split(": ", 2)[1] for w in err.splitlines()] == [f"{source}:{n}" for n in (1, 2, 3)]
    assert [[s["end"] for s in r["spans"]] for r in stored(db_path, "ds")] == [[3, 11], [4], [3]]
    code, out, err = run(capsys, "db-in", "strict", source, "--strict", "--db", db_path)
    assert (code, out) == (1, "") and f"{source}:1: span [8, 10) PER" in err and "--strict" in err, err
    with tuiannot.connect(db_path) as db:
        assert "strict" not in db.datasets()


# -- drop --------------------------------------------------------------------------
class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def seed_small(db_path: Path) -> None:
    seed(db_path, "doomed", [{"text": f"t{i}", "answer": "accept"} for i in range(3)])
    seed(db_path, "kept", [{"text": "k", "answer": "accept"}])


def datasets(db_path: Path) -> list[str]:
    with tuiannot.connect(db_path) as db:
        return db.datasets()


def test_drop_with_yes(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    seed_small(db_path)
    code, out, err = run(capsys, "drop", "doomed", "--yes", "--db", db_path)
    assert (code, err) == (0, "")
    assert out == "Deleted dataset 'doomed' (3 answers).\n"
    assert datasets(db_path) == ["kept"]
    code, _, _ = run(capsys, "drop", "kept", "-y", "--db", db_path)
    assert code == 0 and datasets(db_path) == []


def test_drop_without_yes_and_no_terminal_refuses(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    seed_small(db_path)
    code, out, err = run(capsys, "drop", "doomed", "--db", db_path)
    assert (code, out) == (1, "")
    assert_one_line_error(err, "--yes")
    assert datasets(db_path) == ["doomed", "kept"]


def test_drop_confirmation_answered_no(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                       db_path: Path) -> None:
    seed_small(db_path)
    monkeypatch.setattr(sys, "stdin", FakeTTY("n\n"))
    code, out, err = run(capsys, "drop", "doomed", "--db", db_path)
    assert code == 1
    assert "Delete dataset 'doomed' and its 3 answers?" in out
    assert "Nothing deleted." in err and "Traceback" not in err
    assert datasets(db_path) == ["doomed", "kept"]


def test_drop_confirmation_default_is_no(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                         db_path: Path) -> None:
    seed_small(db_path)
    monkeypatch.setattr(sys, "stdin", FakeTTY("\n"))
    code, _, _ = run(capsys, "drop", "doomed", "--db", db_path)
    assert code == 1 and datasets(db_path) == ["doomed", "kept"]


def test_drop_confirmation_answered_yes(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                        db_path: Path) -> None:
    seed_small(db_path)
    monkeypatch.setattr(sys, "stdin", FakeTTY("y\n"))
    code, out, err = run(capsys, "drop", "doomed", "--db", db_path)
    assert (code, err) == (0, "")
    assert "Delete dataset 'doomed' and its 3 answers?" in out
    assert "Deleted dataset 'doomed' (3 answers)." in out
    assert datasets(db_path) == ["kept"]


def test_drop_confirmation_at_end_of_input_deletes_nothing(capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch, db_path: Path) -> None:
    seed_small(db_path)
    monkeypatch.setattr(sys, "stdin", FakeTTY(""))  # Ctrl-D at the prompt
    code, _, err = run(capsys, "drop", "doomed", "--db", db_path)
    assert code == 1 and "Traceback" not in err
    assert datasets(db_path) == ["doomed", "kept"]


def test_drop_unknown_dataset(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    code, out, err = run(capsys, "drop", "nope", "--yes", "--db", db_path)
    assert (code, out) == (1, "")
    assert_one_line_error(err, "no dataset named 'nope'")


def test_dataset_names_with_sql_and_unicode(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                            db_path: Path) -> None:
    name = "x'; DROP TABLE answers; -- ✓"
    source = write_jsonl(tmp_path / "in.jsonl", texts(2))
    assert run(capsys, "db-in", name, source, "--db", db_path)[0] == 0
    code, out, _ = run(capsys, "stats", name, "--json", "--db", db_path)
    assert code == 0 and json.loads(out)["dataset"] == name and json.loads(out)["answers"] == 2
    code, out, _ = run(capsys, "db-out", name, "--db", db_path)
    assert code == 0 and len(jsonl(out)) == 2
    code, out, _ = run(capsys, "drop", name, "--yes", "--db", db_path)
    assert code == 0 and datasets(db_path) == []


# -- exit codes and error lines ---------------------------------------------------
def test_textcat_without_a_terminal(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "news.jsonl", texts(3))
    code, out, err = run(capsys, "textcat", source, "--label", "POS", "--db", db_path)
    assert (code, out) == (1, "")
    assert_one_line_error(err, "terminal")
    assert not db_path.exists()  # nothing created before the check


def test_textcat_needs_stdout_to_be_a_terminal_too(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                   db_path: Path) -> None:
    monkeypatch.setattr(sys, "stdin", FakeTTY(""))
    source = write_jsonl(tmp_path / "news.jsonl", texts(3))
    code, _, err = run(capsys, "textcat", source, "-l", "POS,NEG", "--db", db_path)
    assert code == 1
    assert_one_line_error(err, "terminal")


@pytest.mark.parametrize("make,needle", [
    (lambda p: p / "missing.jsonl", "no such file"),
    (lambda p: (p / "bin.jsonl").write_bytes(b"PK\x03\x04\x00\x00zip") and p / "bin.jsonl", "binary"),
    (lambda p: (p / "data.xlsx").write_text("text\nx\n") and p / "data.xlsx", "--loader"),
    (lambda p: (p / "data.csv").write_text("id,label\n1,x\n") and p / "data.csv", "no 'text' column"),
])
def test_textcat_unreadable_source(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path, make: Any,
                                   needle: str) -> None:
    code, out, err = run(capsys, "textcat", make(tmp_path), "--label", "POS", "--db", db_path)
    assert (code, out) == (1, "")
    assert_one_line_error(err, needle)


@pytest.mark.parametrize("labels,needle", [(" , ", "at least one label"),
                                           (",".join(f"L{i}" for i in range(11)), "at most 10")])
def test_textcat_bad_labels(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path, labels: str,
                            needle: str) -> None:
    source = write_jsonl(tmp_path / "news.jsonl", texts(1))
    code, _, err = run(capsys, "textcat", source, "--label", labels, "--db", db_path)
    assert code == 1
    assert_one_line_error(err, needle)


@pytest.mark.parametrize("argv", [
    ["textcat", "SOURCE"],                            # missing --label
    ["no-such-command"],                              # unknown command
    ["db-out", "ds", "--answer", "maybe"],            # bad --answer
    ["db-in", "ds", "SOURCE", "--answer", "yes"],     # bad --answer
    ["db-out"],                                       # missing argument
    ["stats", "--no-such-option"],                    # unknown option
    ["drop", "ds", "--yes", "extra-argument"],        # extra argument
])
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path,
                             argv: list[str]) -> None:
    source = write_jsonl(tmp_path / "news.jsonl", texts(1))
    with tuiannot.connect(db_path) as db:
        db.add_answer("ds", {"text": "t", "answer": "accept"})
    argv = [str(source) if a == "SOURCE" else a for a in argv]
    if argv[0] != "no-such-command":
        argv += ["--db", str(db_path)]
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    assert "Traceback" not in err + out
    assert "Error" in err or "error" in err
    with tuiannot.connect(db_path) as db:  # nothing happened to the data
        assert db.count_answers("ds") == 1


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--help")
    assert (code, err) == (0, "")
    for command in ("textcat", "stats", "db-out", "db-in", "drop"):
        assert command in out
    code, out, _ = run(capsys, "textcat", "--help")
    assert code == 0 and "--label" in out and "--db" in out and "--strict" in out


def test_internal_error_is_one_line_and_logged(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               db_path: Path) -> None:
    recipe_file = tmp_path / "buggy.py"
    recipe_file.write_text(textwrap.dedent('''
        from tuiannot import recipe

        @recipe("buggy-recipe")
        def buggy(source: str):
            return 1 / 0
    '''))
    code, out, err = run(capsys, "-F", recipe_file, "buggy-recipe", "x", "--db", db_path)
    assert (code, out) == (1, "")
    assert_one_line_error(err, "internal error: ZeroDivisionError")
    log = tmp_path / "home" / ".tuiannot" / "crash.log"
    assert str(log) in err
    assert "Traceback" in log.read_text() and "ZeroDivisionError" in log.read_text()


# -- custom recipes ----------------------------------------------------------------
RECIPE = '''
from typing import Optional

from tuiannot import recipe
from tuiannot.sources import Source
from tuiannot.stream import Stream


@recipe("{name}", help="Rate the mood of short texts.")
def mood(source: str, dataset: str = "moods", threshold: float = 0.5, mood_label: Optional[str] = None):
    stream = Stream(Source(source)).map(lambda t: {{**t, "label": mood_label or "HAPPY"}})
    return {{"dataset": dataset, "stream": stream, "view_id": "classification"}}
'''


def test_custom_recipe_help_shows_its_options_and_the_runner_options(capsys: pytest.CaptureFixture[str],
                                                                     tmp_path: Path) -> None:
    recipe_file = tmp_path / "my_recipes.py"
    recipe_file.write_text(RECIPE.format(name="mood-check"))
    code, out, err = run(capsys, "-F", recipe_file, "mood-check", "--help")
    assert (code, err) == (0, "")
    assert "Rate the mood of short texts." in out
    assert "[OPTIONS] {source}" in out or "[OPTIONS] SOURCE" in out
    for option in ("--dataset", "--threshold", "--mood-label", "--db", "--session", "--strict"):
        assert option in out, option
    assert "[default: moods]" in out and "[default: 0.5]" in out
    # and it is listed as a command, also with --file=FILE
    code, out, _ = run(capsys, f"--file={recipe_file}", "--help")
    assert code == 0 and "mood-check" in out and "textcat" in out


def test_custom_recipe_runs_up_to_the_terminal_check(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                     db_path: Path) -> None:
    recipe_file = tmp_path / "my_recipes.py"
    recipe_file.write_text(RECIPE.format(name="mood-run"))
    source = write_jsonl(tmp_path / "in.jsonl", texts(2))
    code, out, err = run(capsys, "-F", recipe_file, "mood-run", source, "--threshold", "0.9", "--db", db_path)
    assert (code, out) == (1, "")
    assert_one_line_error(err, "terminal")
    code, _, err = run(capsys, "-F", recipe_file, "mood-run", source, "--threshold", "high", "--db", db_path)
    assert code == 2 and "Traceback" not in err


def test_custom_recipe_raising_on_import(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    recipe_file = tmp_path / "broken.py"
    recipe_file.write_text("from tuiannot import recipe\n\nraise RuntimeError('boom\\nsecond line')\n")
    code, out, err = run(capsys, "-F", recipe_file, "anything", "--help")
    assert (code, out) == (1, "")
    assert_one_line_error(err, "broken.py", "RuntimeError", "boom")


def test_custom_recipe_with_a_syntax_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    recipe_file = tmp_path / "syntax.py"
    recipe_file.write_text("def oops(:\n")
    code, _, err = run(capsys, "-F", recipe_file, "--help")
    assert code == 1
    assert_one_line_error(err, "syntax.py", "SyntaxError")


def test_missing_recipe_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "-F", tmp_path / "nope.py", "--help")
    assert code == 1
    assert_one_line_error(err, "no such recipe file")


def test_custom_recipe_returning_a_bad_view(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    recipe_file = tmp_path / "badview.py"
    recipe_file.write_text(textwrap.dedent('''
        from tuiannot import recipe

        @recipe("bad-view")
        def bad_view(dataset: str = "d"):
            return {"dataset": dataset, "stream": [], "view_id": "spans-that-do-not-exist"}
    '''))
    code, _, err = run(capsys, "-F", recipe_file, "bad-view")
    assert code == 1
    assert_one_line_error(err, "unknown view_id")


# -- as a real process ---------------------------------------------------------------
def tuiannot_process(*argv: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tuiannot", *map(str, argv)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60, **kwargs)


def test_process_errors_are_one_line_with_exit_code(tmp_path: Path, db_path: Path) -> None:
    result = tuiannot_process("db-out", "nope", "--db", db_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert_one_line_error(result.stderr, "no dataset named 'nope'")
    binary = tmp_path / "image.jsonl"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    result = tuiannot_process("textcat", binary, "-l", "A", "--db", db_path)
    assert result.returncode == 1
    assert_one_line_error(result.stderr, "binary")
    result = tuiannot_process("textcat", tmp_path / "missing.jsonl", "-l", "A", "--db", db_path)
    assert result.returncode == 1
    assert_one_line_error(result.stderr, "no such file")
    result = tuiannot_process("textcat", binary, "--db", db_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_process_db_out_and_stats(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", texts(3))
    result = tuiannot_process("db-in", "ds", source, "--db", db_path)
    assert result.returncode == 0, result.stderr
    result = tuiannot_process("db-out", "ds", "--db", db_path)
    assert result.returncode == 0 and len(jsonl(result.stdout)) == 3
    result = tuiannot_process("stats", "ds", "--json", "--db", db_path)
    assert result.returncode == 0 and json.loads(result.stdout)["answers"] == 3


@pytest.fixture
def big_dataset(db_path: Path) -> Path:
    seed(db_path, "big", ({"text": f"text {i} " + "x" * 100, "answer": "accept"} for i in range(5000)))
    return db_path


def _db_out_into_closed_pipe(db_path: Path) -> tuple[int, str]:
    process = subprocess.Popen([sys.executable, "-m", "tuiannot", "db-out", "big", "--db", str(db_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    assert json.loads(first)["text"].startswith("text 0 ")
    process.stdout.close()  # like `| head -n 1`
    err = process.stderr.read().decode()
    return process.wait(timeout=60), err


def test_db_out_into_a_closed_pipe_has_no_traceback(big_dataset: Path) -> None:
    _, err = _db_out_into_closed_pipe(big_dataset)
    assert "Traceback" not in err and "Exception ignored" not in err


def test_db_out_into_a_closed_pipe_exits_0(big_dataset: Path) -> None:
    code, _ = _db_out_into_closed_pipe(big_dataset)
    assert code == 0


def test_the_start_profile_names_every_phase_up_to_the_first_task(tmp_path: Path, db_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """TUIANNOT_PROFILE_START=1: the annotation command notes each start-up phase and prints them on exit."""
    import time as _time

    from tuiannot.cli import annotate
    from tuiannot.screens.app import AnnotationApp

    real = annotate.print_start_profile
    monkeypatch.setattr(annotate, "START_MARKS", [])
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("TUIANNOT_PROFILE_START", "1")
    monkeypatch.setattr(AnnotationApp, "run", lambda self: setattr(self, "first_task_at", _time.perf_counter()))
    printed: list[str] = []
    monkeypatch.setattr(annotate, "print_start_profile",
                        lambda first: printed.extend(p for p, _ in annotate.START_MARKS) or printed.append(
                            "first task" if first is not None else "no first task"))
    source = write_jsonl(tmp_path / "in.jsonl", texts(3))
    from tuiannot.components import Components

    components = Components.from_value(tuiannot.get_recipe("textcat")(str(source), label="POS"))
    annotate.run_components(components, str(db_path), "alice", False)
    assert printed == ["open the database (and check or migrate it)",
                       "start the controller (its prefetch thread reads the source)", "import the screens (Textual)",
                       "first task"]
    # and the printing itself: one line per phase and the total, on stderr
    monkeypatch.setattr(annotate, "START_MARKS", [("a", 1.0), ("b", 1.5)])
    buffer = io.StringIO()
    from rich.console import Console

    monkeypatch.setattr("tuiannot.cli.show.stderr_console", lambda: Console(file=buffer, width=100))
    real(2.0)
    lines = buffer.getvalue().splitlines()
    assert lines[0].startswith("start-up profile") and "500.0  b" in lines[2] and "500.0  the app" in lines[3]
    assert lines[-1].endswith("in all, to the first task on screen")
