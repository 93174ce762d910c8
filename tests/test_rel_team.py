"""``iaa`` and ``progress`` on a dataset of relation answers (issue 20, part 2): the span figures of any span dataset
plus the relations', from the shell, over answers stored as ``tuiannot rel`` stores them (Prodigy's relations).

The case is the one tests/test_rel_metrics.py works by hand (alice and bob; its docstring has the arithmetic), in
real texts, with carol besides on the first text, a superseded answer, a reject, an ignore and a relation whose
end is no span of its answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import tuiannot
from tuiannot.data.answers import make_relation
from tuiannot.team.reports import agreement_report, progress_report

from .helpers import run, seed, span_answer

pytestmark = pytest.mark.usefixtures("cli_env")

WF, LI = "WORKS_FOR", "LOCATED_IN"
T1, T2, T3, T4, T5 = ("Ann Lee works for Acme Corp in Berlin.", "Bo Li joined Zeta.", "Ann Lee moved to Berlin.",
                      "Di Ho runs Kilo.", "Cy Wu left Omni.")
ANN, ACME, BERLIN, IN_BERLIN = (0, 7, "PERSON"), (18, 27, "ORG"), (31, 37, "LOC"), (28, 37, "LOC")
BO, ZETA, DI, KILO, CY, OMNI = (0, 5, "PERSON"), (13, 17, "ORG"), (0, 5, "PERSON"), (11, 15, "ORG"), (0, 5, "PERSON"), \
    (11, 15, "ORG")


def rel(text: str, spans: list[tuple[int, int, str]], relations: list[tuple[int, int, str]], who: str,
        answer: str = "accept", timestamp: int = 1_700_000_000) -> dict[str, Any]:
    """A relation answer as ``tuiannot rel`` stores it: ``relations`` (head, child, label) index ``spans``."""
    task = span_answer(text, spans, answer=answer, view="relations", session=who, timestamp=timestamp)
    task["relations"] = [make_relation(task["spans"][h], task["spans"][c], label) for h, c, label in relations]
    return task


def answers() -> list[dict[str, Any]]:
    broken = rel(T3, [ANN, (17, 23, "LOC")], [(0, 1, LI)], "bob")
    broken["relations"].append({**broken["relations"][0], "child": 2,  # "moved": no span of the answer
                                "child_span": {"start": 8, "end": 13, "token_start": 2, "token_end": 2,
                                               "label": "LOC"}})
    return [
        rel(T1, [ANN, ACME, BERLIN], [(0, 1, WF), (1, 2, LI)], "alice"),
        rel(T2, [BO, ZETA], [(0, 1, WF)], "alice"),
        rel(T3, [ANN, (17, 23, "LOC")], [], "alice"),
        rel(T4, [DI, KILO], [(0, 1, WF)], "alice"),
        rel(T5, [CY, OMNI], [(1, 0, WF)], "alice"),
        rel(T1, [ANN, ACME, IN_BERLIN], [(0, 1, WF), (1, 2, LI)], "bob"),  # "in Berlin": a lenient match only
        rel(T2, [BO, ZETA], [(0, 1, WF)], "bob"),  # superseded by the next one: the last word counts
        rel(T2, [BO, ZETA], [(0, 1, LI)], "bob", timestamp=1_700_000_100),
        broken,
        rel(T4, [DI, KILO], [(0, 1, LI)], "bob", answer="reject"),  # a reject says nothing about relations
        rel(T5, [CY, OMNI], [(0, 1, WF)], "bob"),
        rel(T1, [ANN, ACME], [(0, 1, WF)], "carol"),
        rel(T2, [BO, ZETA], [(0, 1, LI)], "carol", answer="ignore"),
    ]


def test_iaa_json_has_the_spans_and_the_relations_worked_by_hand(db_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """alice-bob: strict tp 1 of |A| 4, |B| 5 (P 1/5, R 1/4, F 2/9), lenient tp 2 (P 2/5, R 1/2, F 4/9); alice-carol
    and bob-carol on T1: tp 1 of 2 and 1 (P 1, R 1/2, F 2/3) both ways. Means over the three pairs: strict F 14/27,
    P 11/15, R 5/12; lenient F 16/27; WORKS_FOR strict F (0.4 + 1 + 1)/3 = 0.8, LOCATED_IN 0. Confusions summed over
    the pairs: alice-bob's (see test_rel_metrics) plus alice-carol's and bob-carol's on T1, each WF/WF 1 and
    LI/(none) 1."""
    seed(db_path, "ds", answers())
    code, out, err = run(capsys, "iaa", "ds", "--json", "--db", db_path)
    assert code == 0, err
    report = json.loads(out)
    assert report["kind"] == "spans" and report["spans"]["annotators"] == ["alice", "bob", "carol"]
    r = report["relations"]
    assert (r["items"], r["items_compared"], r["items_single_annotator"], r["pairs_compared"]) == (5, 4, 1, 3)
    assert r["relations_left_out"] == 1 and r["labels"] == [LI, WF]
    assert r["strict"]["f"] == pytest.approx(14 / 27) and r["lenient"]["f"] == pytest.approx(16 / 27)
    assert r["strict"]["precision"] == pytest.approx(11 / 15) and r["strict"]["recall"] == pytest.approx(5 / 12)
    assert r["strict"]["by_label"][WF]["f"] == pytest.approx(0.8) and r["strict"]["by_label"][LI]["f"] == 0
    pairs = {(p["a"], p["b"]): p for p in r["pairs"]}
    ab = pairs[("alice", "bob")]
    assert (ab["items"], ab["a_relations"], ab["b_relations"]) == (4, 4, 5)
    assert ab["strict"] == {"tp": 1, "precision": 0.2, "recall": 0.25, "f": pytest.approx(2 / 9)}
    assert ab["lenient"] == {"tp": 2, "precision": 0.4, "recall": 0.5, "f": pytest.approx(4 / 9)}
    assert ab["by_label"][LI]["lenient"] == {"tp": 1, "precision": pytest.approx(1 / 3), "recall": 1.0, "f": 0.5}
    assert ab["confusion"]["strict"] == {LI: {LI: 0, WF: 0, "(none)": 1}, WF: {LI: 1, WF: 1, "(none)": 1},
                                         "(none)": {LI: 2, WF: 1, "(none)": 0}}
    assert pairs[("bob", "carol")]["strict"] == {"tp": 1, "precision": 1.0, "recall": 0.5, "f": pytest.approx(2 / 3)}
    assert r["confusion"]["strict"] == {LI: {LI: 0, WF: 0, "(none)": 3}, WF: {LI: 1, WF: 3, "(none)": 1},
                                        "(none)": {LI: 2, WF: 1, "(none)": 0}}
    assert r["confusion"]["lenient"] == {LI: {LI: 1, WF: 0, "(none)": 2}, WF: {LI: 1, WF: 3, "(none)": 1},
                                         "(none)": {LI: 1, WF: 1, "(none)": 0}}


def test_iaa_and_progress_for_people(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(db_path, "ds", answers())
    code, out, err = run(capsys, "iaa", "ds", "--db", db_path)
    assert code == 0, err
    assert "Span agreement (pairwise F)" in out  # the spans, as for any span dataset
    assert "Relations: 11 relations in the accepted answers to 5 items by 3 annotators; 4 items compared, 1 with " \
           "one annotator left out" in out
    assert "1 relation left out: an end is not one of the answer's spans, or no label" in out
    assert "Relation agreement (mean over 3 pairs of annotators)" in out
    lines = out.splitlines()
    strict = next(line for line in lines if line.startswith("strict (the same spans and label)"))
    assert strict.split()[-3:] == ["73.3%", "41.7%", "51.9%"]  # 11/15, 5/12, 14/27
    lenient = next(line for line in lines if line.startswith("lenient (overlapping spans, same labels)"))
    assert lenient.split()[-1] == "59.3%"  # 16/27
    works_for = next(line for line in lines if line.startswith(WF))
    assert works_for.split()[3] == "80.0%"  # strict F
    assert "Relation labels, strict" in out and "Relation labels, lenient" in out

    code, out, err = run(capsys, "progress", "ds", "--json", "--db", db_path)
    assert code == 0, err
    report = json.loads(out)
    mine = {p["annotator"]: p["relation_agreement_with_others"] for p in report["annotators"]}
    # alice: (2/9 + 2/3) / 2 = 4/9; bob the same; carol (2/3 + 2/3) / 2
    assert mine == {"alice": pytest.approx(0.4444), "bob": pytest.approx(0.4444), "carol": pytest.approx(0.6667)}
    assert report["relations"] == {"measure": "strict_f", "pairs_compared": 3, "f": pytest.approx(14 / 27),
                                   "relations_left_out": 1}
    assert all(p["agreement_with_others"] is not None for p in report["annotators"])  # the span F, beside it
    code, out, err = run(capsys, "progress", "ds", "--db", db_path)
    assert code == 0, err
    compact = out[out.index("Strict F with the others"):]
    assert next(line for line in compact.splitlines() if line.startswith("carol ")).split() == ["carol", "80.0%",
                                                                                              "66.7%"]  # 4/5 spans
    assert "Strict relation F, mean over 3 pairs of annotators: 51.9%" in out


def test_a_relation_label_in_markup_is_shown_literally_and_lone_annotators_are_said(
        db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(db_path, "ds", [rel(T1, [ANN, ACME], [(0, 1, "[bold]LIKES")], who) for who in ("alice", "bob")])
    code, out, err = run(capsys, "iaa", "ds", "--db", db_path)
    assert code == 0, err
    assert "[bold]LIKES" in out and "1 relation left out" not in out
    assert next(line for line in out.splitlines() if line.startswith("[bold]LIKES")).split()[1:] == ["100.0%"] * 6

    seed(db_path, "alone", [rel(T1, [ANN, ACME], [(0, 1, WF)], "alice")])
    code, out, err = run(capsys, "iaa", "alone", "--db", db_path)
    assert code == 0, err
    assert "No two annotators answered the same item: no relation agreement." in out


def test_a_span_dataset_has_no_relation_block(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(db_path, "ner", [span_answer(T1, [ANN], session=who) for who in ("alice", "bob")])
    code, out, err = run(capsys, "iaa", "ner", "--json", "--db", db_path)
    assert code == 0, err
    assert "relations" not in json.loads(out) and json.loads(out)["spans"]["strict"]["f"] == 1.0
    code, out, err = run(capsys, "progress", "ner", "--json", "--db", db_path)
    assert code == 0, err
    assert "relations" not in json.loads(out)
    assert all("relation_agreement_with_others" not in p for p in json.loads(out)["annotators"])


def test_relations_come_in_the_compact_rows_of_either_backend(database: str) -> None:
    """The reports read relations through Database.answer_fields: the same figures from SQLite and PostgreSQL."""
    with tuiannot.connect(database) as db:
        db.add_answers("ds", answers())
        report = agreement_report(db, "ds")["relations"]
        progress = progress_report(db, "ds")
    assert report["strict"]["f"] == pytest.approx(14 / 27) and report["relations_left_out"] == 1
    assert progress["relations"]["f"] == pytest.approx(14 / 27)
