"""What the command line prints: no raw escape, bidi or invisible character reaches the terminal, ``--json``
escapes them and parses back to the very values, counts are said in the right number, figures stay short
whatever old rows hold, and the runner's options are checked (blank names, the lease, the ``--strict`` summary).
Every command of the program (the list taken from the Typer app, so a new one is run or the test names it) is run
on a hostile dataset, session, label, path and task text.
"""

from __future__ import annotations

import json
import sys
import os
import re
import time
from unittest import mock
from pathlib import Path
from typing import Any

import pytest

from tuiannot.cli.show import STRICT_UNNAMED, print_summary
from tuiannot.controller import Summary
from tuiannot.sanitize import blank, escape_json, json_text, one_line, printable

from .helpers import (assert_one_line_error, choice_answer, make_controller, run, seed, seed_votes, span_answer,
                      texts, vote, warnings, write_jsonl)

pytestmark = pytest.mark.usefixtures("cli_env")

# the labels: the first sets the window title, the second clears the screen
TITLE = "\x1b]2;PWNED\x1b\\A"
CLEAR = "B\x1b[2J"
HOSTILE = "\x9b2J\u202e\u200b\u200d\u2060\ufeff\u200f"  # 8-bit CSI, RLO, zero-width space/joiner, WJ, BOM, RLM
DATASET = f"ds\x1b[31m{HOSTILE}x"
EVE = f"eve\x1b]0;t\x07{HOSTILE}"
TEXT = f"text \x1b[2J{HOSTILE} end"

RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
                 "\U000e0000-\U000e007f]")
"""What must never reach a terminal raw: C0 (but newline), DEL, C1, bidi controls, zero-width characters, tags."""


def assert_clean(*outputs: str) -> None:
    for output in outputs:
        found = RAW.search(output)
        assert found is None, (found and repr(found.group()), output)


def seed_hostile(db_path: Path) -> None:
    """DATASET: 3 single-choice texts answered by alice and EVE; they disagree on the first (a tie)."""
    options = [{"id": TITLE, "text": TITLE}, {"id": CLEAR, "text": CLEAR}]
    rows = []
    for i in range(3):
        for who, label in (("alice", TITLE), (EVE, CLEAR if i == 0 else TITLE)):
            row = choice_answer(f"{TEXT} {i}", [label], session=who, options=options)
            row["_session_id"] = row["_annotator_id"] = f"{DATASET}-{who}"
            rows.append(row)
    seed(db_path, DATASET, rows)


# -- the sanitiser ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200e", "\u200f", "\u061c",
                                 "\u202a", "\u202e", "\u2066", "\u2069", "\u2064", "\u034f", "\u3164", "\U000e0041"])
def test_invisible_and_bidi_characters_get_a_visible_stand_in(raw: str) -> None:
    text = f"ad{raw}min"
    assert printable(text) == "ad�min" and len(printable(text)) == len(text)  # one for one: offsets stay valid
    assert one_line(text) == "ad�min"
    assert json.loads(json_text(text)) == text and json_text(text).isascii()


def test_what_draws_something_is_left_alone() -> None:
    for text in ("plain ünïcödé 日本語 ✓ 🎉", "❤️ with a variation selector", "soft\xadhyphen", "a\u3000b"):
        assert printable(text) == text and one_line(text) == text
        assert json.loads(json_text(text)) == text and "\\u" not in json_text(text)


def test_json_text_escapes_controls_and_parses_to_the_same_values() -> None:
    value = {TITLE: [CLEAR, DATASET, EVE, "\x7f\x85\u2028\u2029\ud800", 1.5, None, True], "ok": "日本"}
    text = json_text(value)
    assert_clean(text)
    assert "\u2028" not in text and "\ud800" not in text and "日本" in text
    assert json.loads(text) == value


def test_escape_json_makes_stored_json_printable() -> None:
    value = {"text": TEXT, "label": TITLE, "n": [1, 2.5]}
    for stored in (json.dumps(value, ensure_ascii=False), json.dumps(value, ensure_ascii=False, indent=1)):
        escaped = escape_json(stored)
        assert_clean(escaped)
        assert json.loads(escaped) == value
    assert escape_json('{"a": "日本"}') == '{"a": "日本"}'


def test_blank() -> None:
    assert blank("") and blank("   ") and blank("\t\n") and blank("\u200b") and blank(" \ufeff\u3000\u202e ")
    assert not blank("a") and not blank(" a ") and not blank("\x1b")


# -- hostile names, labels and texts through the commands -------------------------------------------------------
def test_team_commands_print_hostile_names_escaped(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    seed_hostile(db_path)
    code, out, err = run(capsys, "aggregate", DATASET, "-o", f"final{HOSTILE}", "--db", db_path)
    assert code == 0, err
    assert_clean(out, err)
    assert "1 tie left out" in out and "␛]2;PWNED␛\\A, B␛[2J" in out  # the tied labels, shown literally
    assert "wrote 2 final answers" in out
    for command in ("iaa", "progress"):
        code, out, err = run(capsys, command, DATASET, "--db", db_path)
        assert code == 0, err
        assert_clean(out, err)
        assert "eve␛]0;t␇" in out and "ds␛[31m" in out


def test_team_commands_json_parses_to_the_original_values(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    seed_hostile(db_path)
    code, out, err = run(capsys, "aggregate", DATASET, "-o", "final", "--json", "--db", db_path)
    assert code == 0, err
    assert_clean(out, err)
    report = json.loads(out)
    assert report["dataset"] == DATASET and list(report["ties"].values()) == [[TITLE, CLEAR]]
    code, out, err = run(capsys, "iaa", DATASET, "--json", "--db", db_path)
    assert code == 0, err
    assert_clean(out, err)
    report = json.loads(out)
    assert report["dataset"] == DATASET and EVE in report["documents"]["annotators"]
    assert set(report["documents"]["categories"]) == {TITLE, CLEAR}
    code, out, err = run(capsys, "progress", DATASET, "--json", "--db", db_path)
    assert code == 0, err
    assert_clean(out, err)
    report = json.loads(out)
    assert report["dataset"] == DATASET and {p["annotator"] for p in report["annotators"]} == {"alice", EVE}


def test_stats_prints_hostile_names_and_the_database_path_escaped(capsys: pytest.CaptureFixture[str],
                                                                   tmp_path: Path) -> None:
    db_path = tmp_path / f"db\x1b]2;PWNED\x07{HOSTILE}" / "answers.db"
    seed_hostile(db_path)
    for argv in (("stats",), ("stats", DATASET)):
        code, out, err = run(capsys, *argv, "--db", db_path)
        assert code == 0, err
        assert_clean(out, err)
        assert "Database: " + one_line(str(db_path), 4096) in out.splitlines()
    assert "by 2 sessions" in out and "␛]2;PWNED␛\\A" in out  # a tied label, in the by-label table


def test_stats_json_escapes_hostile_names(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db_path = tmp_path / f"db{HOSTILE}" / "answers.db"
    seed_hostile(db_path)
    code, out, err = run(capsys, "stats", DATASET, "--json", "--db", db_path)
    assert code == 0, err
    report = json.loads(out)
    assert report["database"] == str(db_path) and report["dataset"] == DATASET and EVE in report["by_session"]
    assert set(report["by_label"]) == {TITLE, CLEAR}
    code, overview, err = run(capsys, "stats", "--json", "--db", db_path)
    assert [row["dataset"] for row in json.loads(overview)["datasets"]] == [DATASET]
    assert_clean(out, overview, err)


def test_db_out_to_standard_output_escapes_stored_answers(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    seed_hostile(db_path)
    code, out, err = run(capsys, "db-out", DATASET, "--db", db_path)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 6 and rows[0]["text"] == f"{TEXT} 0" and rows[0]["accept"] == [TITLE]
    assert_clean(out, err)


def test_db_in_warnings_escape_the_file_name(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                             db_path: Path) -> None:
    source = write_jsonl(tmp_path / f"in\x1b[2J{HOSTILE}.jsonl", [{"text": "good", "answer": "accept"}, "{bad"])
    code, out, err = run(capsys, "db-in", DATASET, source, "--db", db_path)
    assert code == 0, err
    assert_clean(out, err)
    assert len(warnings(err)) == 1 and "in␛[2J" in err


def test_usage_errors_quote_what_was_typed_escaped(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    code, out, err = run(capsys, "stats", f"--bogus\x1b[2J{HOSTILE}", "--db", db_path)
    assert code == 2 and out == ""
    assert_clean(err)
    assert "No such option" in err and "Usage: tuiannot stats" in err


# -- the summary after annotating -------------------------------------------------------------------------------
def summary(**fields: Any) -> Summary:
    given: dict[str, Any] = {"dataset": "data", "session": "alice", "database": "/tmp/answers.db",
                             "by_answer": {"accept": 1}, "invalid": 0, "warnings": []}
    return Summary(**{**given, **fields})


def test_the_summary_prints_hostile_names_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    code = print_summary(summary(dataset=DATASET, session=EVE, database=f"/tmp/{HOSTILE}\x1b]2;x\x07/a.db",
                                 invalid=2, warnings=[f"{TEXT}.jsonl:2: bad", f"{TEXT}.jsonl:3: {CLEAR}"],
                                 exhausted=True, note=f"no more {TITLE}"), None)
    out, err = capsys.readouterr()
    assert code == 0
    assert_clean(out, err)
    assert "Saved 1 answer to dataset 'ds␛[31m" in out and "Database: /tmp/�" in out
    assert err.startswith("Skipped 2 invalid records:\n") and err.count("\n  ") == 2 and "B␛[2J" in err


def test_the_recipes_end_note_is_printed_on_quitting_too(capsys: pytest.CaptureFixture[str]) -> None:
    # --teach --output: quitting never said the model was saved, or where (issue 14, section 7)
    assert print_summary(summary(exhausted=False, note="Model saved to /tmp/m (3 updates from 30 answers)."),
                         None) == 0
    assert "Model saved to /tmp/m (3 updates from 30 answers)." in capsys.readouterr().out
    assert print_summary(summary(exhausted=True), None) == 0
    assert "The source has no more tasks." in capsys.readouterr().out


@pytest.mark.parametrize(("answers", "invalid", "said"), [
    ({"accept": 1}, 1, ("Saved 1 answer ", "Skipped 1 invalid record:")),
    ({"accept": 2, "reject": 1}, 3, ("Saved 3 answers ", "Skipped 3 invalid records:")),
])
def test_the_summary_says_counts_in_the_right_number(capsys: pytest.CaptureFixture[str], answers: dict[str, int],
                                                     invalid: int, said: tuple[str, str]) -> None:
    assert print_summary(summary(by_answer=answers, invalid=invalid, warnings=["f:1: bad"] * invalid), None) == 0
    out, err = capsys.readouterr()
    assert said[0] in out and err.startswith(said[1])


def test_strict_names_the_record_that_ended_the_session(capsys: pytest.CaptureFixture[str]) -> None:
    error = f"{TEXT}.jsonl:3: invalid JSON"
    code = print_summary(summary(invalid=1, error=error), error, strict=True)
    out, err = capsys.readouterr()
    assert code == 1
    assert "Skipped" not in err  # under --strict nothing is skipped
    assert_one_line_error(err, "--strict: stopped at an invalid record: ", ".jsonl:3: invalid JSON")
    assert_clean(out, err)


def test_strict_error_of_the_controller_is_the_failure_when_the_app_gave_none(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert print_summary(summary(invalid=1, error="data.jsonl:2: invalid JSON"), None, strict=True) == 1
    _, err = capsys.readouterr()
    assert_one_line_error(err, "data.jsonl:2: invalid JSON")


def test_strict_fails_when_the_invalid_record_was_read_ahead_but_not_reached(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert print_summary(summary(invalid=1), None, strict=True) == 1
    _, err = capsys.readouterr()
    assert_one_line_error(err, STRICT_UNNAMED)


def test_strict_summary_from_a_real_session(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                            db_path: Path) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", [{"text": "good one"}, "{bad", {"text": "never"}])
    controller = make_controller(source, db_path, labels="POS", strict=True)
    try:
        assert controller.next_task(timeout=10) is not None
        controller.answer("accept")
        assert controller.next_task(timeout=10) is None  # the invalid record ends the session
    finally:
        result = controller.close()
        controller.db.close()
    assert print_summary(result, None, strict=True) == 1
    out, err = capsys.readouterr()
    assert "Saved 1 answer to dataset 'data'" in out
    assert_one_line_error(err, "--strict: stopped at an invalid record: ", "data.jsonl:2:")


def test_strict_summary_when_the_annotator_quit_before_the_invalid_record(capsys: pytest.CaptureFixture[str],
                                                                          tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", [*texts(2), "{bad"])
    controller = make_controller(source, db_path, labels="POS", strict=True)
    try:
        assert controller.next_task(timeout=10) is not None
        controller.answer("accept")
        deadline = time.monotonic() + 10
        while controller.invalid == 0 and time.monotonic() < deadline:  # read ahead by the prefetch thread
            time.sleep(0.01)
        assert controller.invalid == 1
    finally:
        result = controller.close()  # quits with a task still ahead of the invalid record
        controller.db.close()
    assert print_summary(result, None, strict=True) == 1
    out, err = capsys.readouterr()
    assert "Skipped" not in err and err.startswith("error: ") and err.count("\n") == 1
    # the controller keeps the read-ahead error for its summary: the record is named
    assert f"{source}:3: invalid JSON" in err


# -- the runner's options ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("session", ["", "   ", "\t", "\u200b", " \u3000 "])
def test_a_blank_session_name_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path,
                                         session: str) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(2))
    code, out, err = run(capsys, "textcat", source, "--label", "POS", "--session", session, "--db", db_path)
    assert (code, out) == (1, "")
    assert_one_line_error(err, "--session", "is blank")
    assert_clean(err)


def test_a_blank_login_name_is_refused_too(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "  ")
    source = write_jsonl(tmp_path / "data.jsonl", texts(2))
    code, _, err = run(capsys, "textcat", source, "--label", "POS", "--db", db_path)
    assert code == 1
    assert_one_line_error(err, "login name", "--session NAME")


@pytest.mark.parametrize("dataset", ["   ", "\t", "\u200b\u200b", " \ufeff "])
def test_a_blank_dataset_name_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path,
                                         dataset: str) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(2))
    code, out, err = run(capsys, "textcat", source, "--label", "POS", "--dataset", dataset, "--db", db_path)
    assert (code, out) == (1, "")
    assert_one_line_error(err, "textcat: the dataset name must be a non-empty string")
    assert_clean(err)
    code, out, _ = run(capsys, "stats", "--json", "--db", db_path)
    assert code == 0 and json.loads(out)["datasets"] == []  # no blank row


def test_a_blank_aggregate_output_is_refused(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    seed_hostile(db_path)
    code, out, err = run(capsys, "aggregate", DATASET, "-o", "  ", "--db", db_path)
    assert (code, out) == (1, "")
    assert_one_line_error(err, "--output", "is blank")
    code, out, _ = run(capsys, "stats", "--json", "--db", db_path)
    assert code == 0 and len(json.loads(out)["datasets"]) == 1  # no blank row


@pytest.mark.parametrize("lease", ["inf", "nan", "-inf", "-5", "0", "86401", "1e300"])
def test_a_lease_out_of_range_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path,
                                         lease: str) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(2))
    code, out, err = run(capsys, "textcat", source, "--label", "POS", "--lease", lease, "--db", db_path)
    assert (code, out) == (1, "")
    assert_one_line_error(err, "--lease must be a number of seconds greater than 0 and at most 86400")


@pytest.mark.parametrize("lease", ["0.5", "300", "86400"])
def test_a_lease_in_range_is_accepted(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path,
                                      lease: str) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(2))
    code, _, err = run(capsys, "textcat", source, "--label", "POS", "--lease", lease, "--db", db_path)
    assert code == 1
    assert_one_line_error(err, "terminal")  # past the options: only the missing terminal stops it


def test_routing_refuses_a_lease_that_never_runs_out() -> None:
    from tuiannot.errors import UserError
    from tuiannot.team.routing import Routing

    for lease in (float("inf"), float("nan"), 0.0, -1.0):
        with pytest.raises(UserError, match="--lease must be"):
            Routing(lease=lease).check("alice")
    Routing(lease=0.4).check("alice")


# -- plurals ----------------------------------------------------------------------------------------------------
def test_stats_and_aggregate_say_one_in_the_singular(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    seed(db_path, "one", [choice_answer("a text", ["POS"], session="alice")])
    code, out, _ = run(capsys, "stats", "one", "--db", db_path)
    assert code == 0
    assert "1 answer to 1 question about 1 input, by 1 session" in out
    code, out, _ = run(capsys, "aggregate", "one", "-o", "final", "--db", db_path)
    assert code == 0 and "wrote 1 final answer from" in out
    code, out, _ = run(capsys, "progress", "one", "--db", db_path)
    assert code == 0 and "1 answer to 1 input" in out
    code, out, _ = run(capsys, "iaa", "one", "--db", db_path)
    assert code == 0 and "1 item, 1 rating, 1 annotator;" in out


@pytest.mark.parametrize(("text", "shown"), [
    ("👩\u200d💻", "👩\u200d💻"),  # an emoji sequence: the joiner does its job
    ("می\u200cخواهم", "می\u200cخواهم"),  # a Persian word with a non-joiner
    ("क्\u200dष", "क्\u200dष"),
    ("ad\u200dmin", "ad�min"),  # in a Latin word it only hides something
    ("\u200dx", "�x"), ("a \u200c b", "a � b"), ("\u200b\u200d\u2060", "���"),
])
def test_joiners_are_kept_only_where_they_join(text: str, shown: str) -> None:
    assert printable(text) == shown


# -- figures and tables for people (issue 14, section 6) --------------------------------------------------------
def test_figures_are_said_as_people_read_them_and_json_keeps_them_whole(capsys: pytest.CaptureFixture[str],
                                                                        db_path: Path) -> None:
    """``progress`` printed 1079.1000 per hour and ``iaa`` 0.7667: per-hour rates are whole numbers, proportions
    percentages, coefficients two decimals; --json keeps the figures as computed."""
    seed_votes(db_path)  # 3 annotators, 6 items, 2 s an answer
    code, out, _ = run(capsys, "iaa", "ds", "--json", "--db", db_path)
    d = json.loads(out)["documents"]
    assert d["percent_agreement"] == pytest.approx(2 / 3, abs=1e-12) and len(str(d["fleiss_kappa"])) > 6
    code, out, _ = run(capsys, "iaa", "ds", "--db", db_path)
    assert code == 0
    assert re.search(r"percent agreement +66\.7%", out) and f"{d['fleiss_kappa']:.2f}" in out
    assert re.search(r"alice +bob +6 +83\.3% +0\.67", out), out
    assert not re.search(r"\d\.\d{3}", out), out  # no figure with three decimals or more
    code, out, _ = run(capsys, "progress", "ds", "--json", "--db", db_path)
    alice = json.loads(out)["annotators"][0]
    assert (alice["answers_per_hour"], alice["median_seconds"], alice["agreement_with_others"]) == (1800.0, 2.0, 0.75)
    code, out, _ = run(capsys, "progress", "ds", "--db", db_path)
    assert code == 0 and "(3.0 per input)" in out
    assert re.search(r"alice +6 +33% +1800 +2\.0 +— +75\.0% +0 ", out), out
    assert not re.search(r"\d\.\d{3}", out) and "1800.0" not in out
    code, out, _ = run(capsys, "stats", "ds", "--db", db_path)
    assert code == 0 and "1800 answers per hour, median 2.0 s per task" in out
    assert re.search(r"alice +6 +4 +2 +0 +1800 +2\.0 ", out), out


@pytest.mark.parametrize(("value", "shown"), [(1079.1, "1079"), (12.96, "13"), (4.56, "4.6"), (0.4, "0.4")])
def test_rates_per_hour_are_whole_numbers_or_one_decimal_under_ten(value: float, shown: str) -> None:
    from tuiannot.cli.show import rate

    assert rate(value) == shown


@pytest.mark.parametrize(("name", "value", "shown"), [
    ("rate", 1e308, "1e+308"), ("rate", 3.6e303, "3.6e+303"), ("rate", 999_999.4, "999999"), ("rate", 1e6, "1e+06"),
    ("rate", float("inf"), "—"), ("rate", float("nan"), "—"), ("decimal", 1e308, "1e+308"), ("decimal", 12.34, "12.3"),
    ("decimal", float("-inf"), "—"), ("percent", 0.767, "76.7%"), ("percent", float("nan"), "—"),
    ("coefficient", -0.5, "-0.50"), ("coefficient", float("nan"), "—")])
def test_figures_stay_a_few_characters_whatever_old_rows_hold(name: str, value: float, shown: str) -> None:
    """A median of 1e308 s was printed with its 300 digits and broke the tables into a character per line."""
    from tuiannot.cli import show

    assert getattr(show, name)(value) == shown


def test_json_says_null_for_what_is_no_number(capsys: pytest.CaptureFixture[str]) -> None:
    from tuiannot.cli.show import print_json

    print_json({"median": float("inf"), "rates": [float("nan"), 1.5, 1e308], "pair": (float("-inf"), "x")})
    out = capsys.readouterr().out
    assert json.loads(out, parse_constant=lambda name: {}[name]) == {"median": None, "rates": [None, 1.5, 1e308],
                                                                     "pair": [None, "x"]}


def test_iaa_says_what_happens_to_an_item_rated_once(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The header said the single-rated item was "left out" while the note said it counts in the chance term."""
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("1,a,X\n1,b,X\n2,a,Y\n2,b,X\n3,a,Y\n", encoding="utf-8")
    code, out, _ = run(capsys, "iaa", "--from", ratings)
    header, *rest = out.splitlines()
    assert code == 0 and header.endswith("2 items compared, 1 rated by one annotator only (not compared; see the "
                                         "note)") and "left out" not in header, header
    assert "counted in the chance term of Fleiss' kappa and AC1" in " ".join(rest)
    ratings.write_text("1,a,X\n1,b,X\n", encoding="utf-8")
    assert run(capsys, "iaa", "--from", ratings)[1].splitlines()[0].endswith("1 item compared")


def test_reports_fit_80_columns_without_cutting_dates_names_or_headers(capsys: pytest.CaptureFixture[str],
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       db_path: Path) -> None:
    """At 80 columns ``stats`` and ``progress`` cut dates (2023-1…) and headers (annot…)."""
    from rich.cells import cell_len

    monkeypatch.setenv("COLUMNS", "80")
    long_name = "carol-the-second-annotator"
    rows = [vote(f"item {i}", who, "accept" if (i + j) % 3 else "reject", _timestamp=1_700_000_000 + 60 * i)
            for i in range(6) for j, who in enumerate(("alice", "bob", long_name))]
    seed(db_path, "ds", rows)
    headers = {"progress ds": ["annotator", "answers", "share", "per", "hour", "median", "gold", "agreement",
                               "holding", "last", "answer"],
               "stats ds": ["session", "answers", "accept", "reject", "ignore", "per", "hour", "median", "s"],
               "stats": ["dataset", "answers", "sessions", "first", "last", "answer", "(UTC)"],
               "iaa ds": ["annotator", "items", "agreement", "Cohen's", "kappa"]}
    for command, words in headers.items():
        code, out, err = run(capsys, *command.split(), "--db", db_path)
        assert (code, err) == (0, "")
        # the tables fit; a path and the summary lines that name things are left whole, for the terminal to wrap
        lines = [line for line in out.splitlines() if not line.startswith(("Database: ", "ds: "))]
        assert max(cell_len(line.rstrip()) for line in lines) <= 80, out
        assert "…" not in out, out
        for word in words:
            assert re.search(rf"(^| ){re.escape(word)}( |$)", out, re.M), (word, out)
        if command != "iaa ds":
            assert "2023-11-14" in out and ("22:13" in out or "22:18" in out), out  # a date and its time
        if command == "iaa ds":
            assert long_name in out  # there is room for the whole name
        elif command != "stats":
            assert "carol-the" in out  # folded: no room


# -- every command of the program, on hostile names, labels, paths and texts ---------------------------------------
EVIL = "\x1b]2;PWNED\x07\x1b[2J\x9b2J\u202e\u200b"  # sets the title (OSC), clears (CSI 2J), 8-bit CSI, RLO, ZWSP
EVIL_DS, EVIL_CHOICES, EVIL_IMAGES = f"ner{EVIL}x", f"cats{EVIL}x", f"img{EVIL}x"
EVIL_LABEL, EVIL_WHO = f"L{EVIL}", f"eve{EVIL}"
TERMINAL_RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069"
                          "\ufeff\U000e0000-\U000e007f]")
""":data:`RAW` but the tab, which is no escape (CoNLL's columns)."""


def db_out_formats() -> list[str]:
    """Every ``db-out --format``, as its option lists them (a new format is run here without a word)."""
    import typer

    from tuiannot.cli.program import build_app

    option = next(p for p in typer.main.get_command(build_app([])).commands["db-out"].params
                  if "--format" in p.opts)
    return str(option.metavar).split("|")


def seed_evil(folder: Path, db_path: Path) -> dict[str, Path]:
    """Span, choice and image answers whose dataset, session, label and task text are all hostile; the paths of
    the files the commands are given (in a folder whose name is hostile too)."""
    from PIL import Image

    folder.mkdir(parents=True)
    picture = folder / "cat.png"
    Image.new("RGB", (40, 30), "orange").save(picture)
    spans, choices, images = [], [], []
    for i in range(3):
        text = f"Ann {EVIL} met Bob {i}."
        for who in ("alice", EVIL_WHO):
            stamp = {"_session_id": f"{EVIL_DS}-{who}", "_annotator_id": f"{EVIL_DS}-{who}"}
            spans.append({**span_answer(text, [(0, 3, EVIL_LABEL), (len(text) - 6, len(text) - 3, "PER")]), **stamp})
            label = EVIL_LABEL if who == "alice" or i else "OTHER"  # a tie on the first
            choices.append({**choice_answer(text, [label], options=[{"id": x, "text": x}
                                                                     for x in (EVIL_LABEL, "OTHER")]),
                            "_session_id": f"{EVIL_CHOICES}-{who}", "_annotator_id": f"{EVIL_CHOICES}-{who}"})
    box = {"label": EVIL_LABEL, "type": "rect", "x": 1, "y": 2, "width": 10, "height": 5,
           "points": [[1, 2], [11, 2], [11, 7], [1, 7]]}
    images.append({"image": str(picture), "width": 40, "height": 30, "spans": [box], "answer": "accept",
                   "_view_id": "image_manual", "_session_id": f"{EVIL_IMAGES}-alice"})
    seed(db_path, EVIL_DS, spans)
    seed(db_path, EVIL_CHOICES, choices)
    seed(db_path, EVIL_IMAGES, images)
    source = write_jsonl(folder / "texts.jsonl", [{"text": f"t {i} {EVIL}", "meta": {EVIL: EVIL}} for i in range(3)])
    bad = json.dumps({"text": f"Ann {EVIL}", "label": [[0, 3, EVIL_LABEL], [50, 60, EVIL_LABEL]]})
    (folder / "bad.jsonl").write_text(f'{bad}\n{{"text": "{EVIL}"}}\n{{{EVIL}\n', encoding="utf-8")
    (folder / "questions.toml").write_text(f'[[question]]\nname = "{EVIL_LABEL}"\nkind = "{EVIL}"\n', encoding="utf-8")
    ratings = folder / "ratings.csv"
    ratings.write_text("".join(f"{i},{who},{EVIL_LABEL if i != 2 or who == 'a' else 'X'}\n" for i in range(4)
                               for who in ("a", EVIL_WHO) if (i, who) != (3, EVIL_WHO)), encoding="utf-8")
    return {"source": source, "bad": folder / "bad.jsonl", "ratings": ratings, "questions": folder / "questions.toml",
            "missing": folder / f"missing{EVIL}.jsonl"}


def hostile_runs(folder: Path, db_path: Path) -> dict[str, list[list[Any]]]:
    """Per command, the runs that give it hostile input: to a full run where it needs no model or server, else
    to its first user error (a model path, a server, a terminal it does not get)."""
    import grp

    files = seed_evil(folder, db_path)
    db = ["--db", db_path]
    source, bad, missing = files["source"], files["bad"], files["missing"]
    annotate = ["--dataset", EVIL_DS, "--session", EVIL_WHO, *db]
    group, model = grp.getgrgid(os.getgid()).gr_name, folder / f"model{EVIL}"
    return {
        "stats": [["stats", *db], ["stats", "--json", *db], ["stats", EVIL_DS, *db], ["stats", EVIL_DS, "--json", *db],
                  ["stats", f"none{EVIL}", *db]],
        "iaa": [["iaa", EVIL_CHOICES, *db], ["iaa", EVIL_CHOICES, "--json", *db], ["iaa", EVIL_DS, *db],
                ["iaa", EVIL_DS, "--json", *db], ["iaa", "--from", files["ratings"]],
                ["iaa", "--from", files["ratings"], "--json"], ["iaa", "--from", missing]],
        "progress": [["progress", EVIL_CHOICES, *db], ["progress", EVIL_DS, "--json", *db]],
        "aggregate": [["aggregate", EVIL_CHOICES, "-o", f"final{EVIL}", *db],
                      ["aggregate", EVIL_CHOICES, "-o", f"json{EVIL}", "--json", *db],
                      ["aggregate", EVIL_CHOICES, "--from", f"models{EVIL}", "-o", f"f{EVIL}", *db]],
        "team-init": [["team-init", folder / f"team{EVIL}", "--group", group],
                      ["team-init", folder / f"team2{EVIL}", "--group", group, "--json"],
                      ["team-init", folder / "team3", "--group", f"nogroup{EVIL}"]],
        "db-out": [*(["db-out", EVIL_DS, "--format", fmt, *db] for fmt in db_out_formats()),  # to standard output
                   *(["db-out", EVIL_IMAGES, "--format", fmt, *db] for fmt in ("jsonl", "coco")),
                   ["db-out", EVIL_DS, folder / f"out{EVIL}.spacy", "--format", "spacy", *db],
                   ["db-out", EVIL_IMAGES, folder / f"folders{EVIL}", "--format", "folders", *db],
                   ["db-out", f"none{EVIL}", *db]],
        "db-in": [*(["db-in", f"in-{fmt}{EVIL}", bad, "--format", fmt, *db]
                    for fmt in ("prodigy", "label-studio", "doccano", "spacy", "conll")),
                  ["db-in", f"in{EVIL}", bad, "--strict", *db], ["db-in", f"in{EVIL}", missing, *db]],
        "drop": [["drop", EVIL_IMAGES, "--yes", *db], ["drop", f"none{EVIL}", "--yes", *db]],
        "history": [["history", EVIL_DS, *db], ["history", EVIL_DS, "--json", *db], ["history", f"none{EVIL}", *db]],
        "data-to-spacy": [["data-to-spacy", folder / f"corpus{EVIL}", "--ner", EVIL_DS, *db],
                          ["data-to-spacy", folder / f"corpus2{EVIL}", "--textcat", EVIL_CHOICES, "--json", *db]],
        "train": [["train", "ner", f"none{EVIL}", "-o", model, *db],
                  ["train", "ner", EVIL_DS, "-o", model, "--base-model", missing, *db]],
        "vectors": [["vectors", missing, "-o", model], ["vectors", source, "-o", model, "--encoder", missing]],
        "model-annotate": [["model-annotate", f"m{EVIL}", source, "--task", "ner", "--label", EVIL_LABEL, "--model",
                            missing, *db],
                           ["model-annotate", f"m{EVIL}", missing, "--task", "textcat", "--llm", "http://127.0.0.1:9",
                            "--label", EVIL_LABEL, *db]],
        "llm-cache": [["llm-cache", EVIL_DS, "--stats", *db], ["llm-cache", EVIL_DS, "--stats", "--json", *db],
                      ["llm-cache", EVIL_DS, "--clear", *db]],
        "textcat": [["textcat", source, "--label", f"{EVIL_LABEL},B", *annotate],
                    ["textcat", missing, "--label", EVIL_LABEL, *annotate]],
        "ner": [["ner", source, "--label", EVIL_LABEL, *annotate], ["ner", missing, "--label", EVIL_LABEL, *annotate]],
        "spans": [["spans", source, "--label", EVIL_LABEL, *annotate],
                  ["spans", source, "--label", EVIL_LABEL, "--patterns", missing, *annotate]],
        "image": [["image", folder, "--label", EVIL_LABEL, *annotate],
                  ["image", missing, "--label", EVIL_LABEL, *annotate]],
        "review": [["review", EVIL_DS, "-o", f"final{EVIL}", *db], ["review", f"none{EVIL}", "-o", "final", *db]],
        "feedback": [["feedback", source, "--questions", files["questions"], *annotate],
                     ["feedback", source, "--questions", missing, *annotate]],
        "compare": [["compare", EVIL_DS, source, missing, *db], ["compare", EVIL_DS, source, source, *db]],
        "rank": [["rank", source, *annotate], ["rank", missing, *annotate]],
        "rel": [["rel", source, "--relation", EVIL_LABEL, "--label", EVIL_LABEL, *annotate],
                ["rel", missing, "--relation", EVIL_LABEL, "--label", EVIL_LABEL, *annotate]],
        "tournament": [["tournament", EVIL_DS, source, "--prompts", missing, "--llm", "http://127.0.0.1:9", *db],
                       ["tournament", EVIL_DS, missing, "--prompts", missing, "--llm", "http://127.0.0.1:9", *db]],
        "compare-stats": [["compare-stats", EVIL_DS, *db], ["compare-stats", EVIL_DS, "--json", *db]],
        "tournament-stats": [["tournament-stats", EVIL_DS, *db], ["tournament-stats", EVIL_DS, "--json", *db]],
        "db-migrate": [["db-migrate", db_path, folder / f"copy{EVIL}.db"],
                       ["db-migrate", db_path, folder / f"copy2{EVIL}.db", "--json"], ["db-migrate", missing, model]],
        "plugins": [["plugins"], ["plugins", "--json"]],
        "config": [["config"], ["config", "--json"], ["config", "textcat"], ["config", f"none{EVIL}"]],
        "db-roles": [["db-roles", f"postgresql://lead:secret@127.0.0.1:9/db{EVIL}", "--lead", f"lead{EVIL}",
                      "--annotators", f"ann{EVIL}"],
                     ["db-roles", db_path, "--lead", "lead", "--annotators", "ann", "--json"]],
    }


def test_no_command_lets_an_escape_reach_the_terminal(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Every command of the program (as the Typer app lists them: a new one without runs here fails, named), run
    on a hostile dataset, session, label, path and task text (a title-setting OSC, CSI 2J, a raw 8-bit CSI,
    U+202E, U+200B): no ESC, C1, bidi or invisible character on stdout or stderr, one line per error, and
    ``--json`` parses (strictly). ``db-out`` in every format to standard output (those that need a file say so)."""
    import typer

    from tuiannot.cli.program import build_app

    def name(info: Any) -> str:
        return info.name or typer.main.get_command_name(info.callback.__name__)

    db_path = tmp_path / f"db{EVIL}" / "answers.db"
    runs = hostile_runs(tmp_path / f"files{EVIL}", db_path)
    commands = sorted(name(info) for info in build_app([]).registered_commands)
    unknown, gone = [c for c in commands if c not in runs], [c for c in runs if c not in commands]
    assert unknown == [], f"commands with no hostile run in hostile_runs(): {', '.join(unknown)}: add them"
    assert gone == [], f"hostile_runs() has runs of commands the program no longer has: {', '.join(gone)}"
    problems = []
    for command in commands:
        for argv in runs[command]:
            if command == "db-out" and "conll" in argv:  # CoNLL has no escapes: stand-ins on a terminal only
                with mock.patch.object(type(sys.stdout), "isatty", lambda _: True):
                    code, out, err = run(capsys, *argv)
            else:
                code, out, err = run(capsys, *argv)
            said = f"tuiannot {' '.join(map(str, argv))!r} (exit {code})"
            for stream, text in (("stdout", out), ("stderr", err)):
                if found := TERMINAL_RAW.search(text):
                    problems.append(f"{said}: {stream} has {found.group()!r} raw: "
                                    f"{text[max(0, found.start() - 40):found.end() + 20]!r}")
            if "internal error" in err or "Traceback" in err:
                problems.append(f"{said}: {err!r}")
            elif code == 1 and not (err.startswith("error: ") or "\nerror: " in err) or code not in (0, 1, 2):
                problems.append(f"{said}: not one error line: {err!r}")
            if "--json" in argv and code == 0:
                try:
                    json.loads(out, parse_constant=lambda constant: {}[constant])
                except (ValueError, KeyError) as e:
                    problems.append(f"{said}: --json is not JSON ({e}): {out[:200]!r}")
    assert problems == [], "\n".join(problems)
