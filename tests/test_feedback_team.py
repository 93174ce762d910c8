"""The team lead's commands on feedback datasets (issue 21): ``iaa``, ``progress`` and ``aggregate`` per question from
the shell, and ``review`` of feedback answers on the real app, over answers given in real feedback sessions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import tuiannot
from tuiannot.controller import Controller
from tuiannot.errors import UserError
from tuiannot.metrics.feedback import question_agreement
from tuiannot.recipes import Components, get_recipe
from tuiannot.screens.review import FeedbackVersionEditor, ReviewScreen
from tuiannot.team.reports import agreement_report
from tuiannot.team.routing import Routing

from .helpers import (assert_one_line_error, recipe_app, run, run_json, seed, stored, wait_done, wait_for_task,
                      write_jsonl)

pytestmark = pytest.mark.usefixtures("cli_env")

QUESTIONS = """
[[question]]
name = "quality"
type = "rating"
scale = 5
required = true

[[question]]
name = "topic"
type = "label"
labels = ["billing", "technical", "[bold]other"]

[[question]]
name = "fix"
type = "text"
field = "response"

[[question]]
name = "errors"
type = "span"
labels = ["WRONG"]
field = "response"

[[question]]
name = "best"
type = "ranking"
field = "replies"
"""

RESPONSE = "the answer is five"
FIVE = {"start": 14, "end": 18, "label": "WRONG", "token_start": 3, "token_end": 3}


def said(quality: int | None, topic: list[str], fix: str, errors: list[dict[str, Any]], best: list[int]
         ) -> dict[str, Any]:
    return {"quality": quality, "topic": topic, "fix": fix, "errors": errors, "best": best}


# p0: a majority on every question; p1: everyone alike; p2: carol rejects, alice and bob split on the topic and the
# fix (a conflict); p3: most reject; p4: alice and bob only, their orders give two replies equal points (a conflict)
PLANS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "alice": [("accept", said(4, ["billing"], "It is 4.", [FIVE], [0, 1, 2])),
              ("accept", said(3, ["[bold]other"], "ok", [], [2, 1, 0])),
              ("accept", said(1, ["billing"], "a", [], [0, 1, 2])),
              ("reject", said(None, [], RESPONSE, [], [])),
              ("accept", said(3, ["billing"], "same", [], [0, 1, 2]))],
    "bob": [("accept", said(5, ["billing"], "It is 4.\n", [FIVE], [0, 1, 2])),
            ("accept", said(3, ["[bold]other"], "ok", [], [2, 1, 0])),
            ("accept", said(2, ["technical"], "b", [], [0, 1, 2])),
            ("reject", said(None, [], RESPONSE, [], [])),
            ("accept", said(3, ["billing"], "same ", [], [1, 0, 2]))],
    "carol": [("accept", said(2, ["technical"], "Four.", [], [1, 0, 2])),
              ("accept", said(3, ["[bold]other"], "ok", [], [2, 1, 0])),
              ("reject", said(None, [], RESPONSE, [], [])),
              ("accept", said(4, ["other"], "x", [], [0, 1, 2]))],
}
ROWS = [{"prompt": f"question {i}", "response": RESPONSE, "replies": ["short", "long", "rude"]} for i in range(5)]


def annotate(tmp_path: Path, db_path: Path, plans: dict[str, list[tuple[str, dict[str, Any]]]] = PLANS) -> None:
    """Each annotator answers the tasks in order in a feedback session of their own (``--overlap all``)."""
    source = write_jsonl(tmp_path / "replies.jsonl", ROWS)
    questions = tmp_path / "questions.toml"
    questions.write_text(QUESTIONS, encoding="utf-8")
    for who, plan in plans.items():
        components = Components.from_value(get_recipe("feedback")(str(source), questions=str(questions),
                                                                  dataset="fb"), "feedback")
        controller = Controller(components, tuiannot.connect(db_path), who, routing=Routing(overlap="all")).start()
        for answer, answers in plan:
            assert controller.next_task() is not None
            controller.answer(answer, None, {"answers": answers})
        controller.close()


def by_prompt(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["prompt"]: r for r in rows}


# -- iaa ---------------------------------------------------------------------------------------------------------
def test_iaa_reports_each_question_by_its_type(tmp_path: Path, db_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    annotate(tmp_path, db_path)
    report = run_json(capsys, "iaa", "fb", "--json", "--db", db_path)
    assert report["kind"] == "feedback" and report["inputs"] == 5 and report["annotators"] == ["alice", "bob", "carol"]
    assert report["answers"] == {"accept": 11, "reject": 3}
    assert [(q["name"], q["type"]) for q in report["questions"]] == [
        ("quality", "rating"), ("topic", "label"), ("fix", "text"), ("errors", "span"), ("best", "ranking")]
    quality, topic, fix, errors, best = (q["agreement"] for q in report["questions"])
    # only accepted answers speak: p3 has carol's alone (single), p2 alice's and bob's
    assert quality["items_compared"] == 4 and quality["items_single_annotator"] == 1
    accepted = [(f"p{i}", who, plan[i][1]) for who, plan in PLANS.items() for i in range(len(plan))
                if plan[i][0] == "accept"]
    for q, name in ((quality, "quality"), (fix, "fix"), (best, "best")):
        kind = {"quality": "rating", "fix": "text", "best": "ranking"}[name]
        expected = question_agreement({"type": kind, "scale": 5}, [(i, w, a[name]) for i, w, a in accepted])
        for key in ("percent_agreement", "krippendorff_alpha_ordinal", "krippendorff_alpha_interval",
                    "gwet_ac2_quadratic", "cohens_kappa_quadratic", "exact_match", "edit_similarity", "kendall_tau"):
            if key in expected:
                assert q[key] == pytest.approx(expected[key]), (name, key)
    assert quality["percent_agreement"] == pytest.approx((0 + 1 + 0 + 1) / 4)  # p0 none of 3 pairs, p1, p2, p4
    assert fix["exact_match"] == pytest.approx((1 / 3 + 1 + 0 + 1) / 4)  # "It is 4.\n" is "It is 4."
    assert best["kendall_tau"] == pytest.approx(((1 + 1 / 3 + 1 / 3) / 3 + 1 + 1 + 1 / 3) / 4)
    assert topic["categories"] == {"billing": 5, "technical": 2, "[bold]other": 3}  # the compared items' labels
    assert errors["strict"]["f"] == pytest.approx(2 * 1 / (2 + 1 + 1))  # alice-bob 1 of 1+1, others 0 of 1+0
    code, out, _ = run(capsys, "iaa", "fb", "--db", db_path)
    assert code == 0
    for heading in ("quality (rating 1-5): 4 items compared", "topic (label: billing, technical, [bold]other)",
                    "fix (text)", "errors (span: WRONG)", "best (ranking)", "Krippendorff's alpha, ordinal",
                    "Gwet's AC2, quadratic weights", "edit similarity", "strict F", "Kendall's tau"):
        assert heading in out, heading
    assert "mean rating: alice 2.75 · bob 3.25 · carol 3.00" in out


def test_gold_rejects_and_ignores_are_left_out_and_mixed_datasets_refused(tmp_path: Path, db_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    annotate(tmp_path, db_path, {w: p[:2] for w, p in PLANS.items()})
    first = {k: v for k, v in stored(db_path, "fb")[0].items() if k != "_answer_id"}
    gold = {**first, "_gold": {"answer": "accept"}, "_session_id": "fb-dave", "_annotator_id": "fb-dave"}
    ignored = {**first, "answer": "ignore", "_session_id": "fb-erin", "_annotator_id": "fb-erin"}
    seed(db_path, "fb", [gold, ignored])
    report = run_json(capsys, "iaa", "fb", "--json", "--db", db_path)
    assert report["gold_left_out"] == 1 and report["annotators"] == ["alice", "bob", "carol", "erin"]
    assert report["answers"] == {"accept": 6, "ignore": 1}
    assert report["questions"][0]["agreement"]["ratings"] == 6
    code, out, _ = run(capsys, "progress", "fb", "--json", "--db", db_path)
    rows = {p["annotator"]: p for p in json.loads(out)["annotators"]}
    assert rows["dave"]["gold_answered"] == 1 and rows["dave"]["gold_accuracy"] is None
    seed(db_path, "fb", [{"text": "a choice", "options": [{"id": "A"}], "accept": ["A"], "answer": "accept",
                          "_view_id": "choice", "_session_id": "fb-bob"}])
    for command in ("iaa", "progress"):
        code, _, err = run(capsys, command, "fb", "--db", db_path)
        assert code == 1
        assert_one_line_error(err, "dataset 'fb' mixes feedback answers (tuiannot feedback) with other answers "
                                   "(choice)")
    with tuiannot.connect(db_path) as db, pytest.raises(UserError, match="mixes feedback answers"):
        agreement_report(db, "fb")


# -- progress ----------------------------------------------------------------------------------------------------
def test_progress_shows_answers_and_agreement_per_question(tmp_path: Path, db_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    annotate(tmp_path, db_path)
    report = run_json(capsys, "progress", "fb", "--json", "--db", db_path)
    assert report["kind"] == "feedback" and report["answers"] == 14 and report["inputs_answered"] == 5
    assert [(p["annotator"], p["answers"], p["by_answer"]) for p in report["annotators"]] == [
        ("alice", 5, {"accept": 4, "reject": 1}), ("bob", 5, {"accept": 4, "reject": 1}),
        ("carol", 4, {"accept": 3, "reject": 1})]
    measures = {q["name"]: (q["measure"], q["overall"]) for q in report["questions"]}
    assert measures["topic"] == ("percent_agreement", pytest.approx(round((1 / 3 + 1 + 0 + 1) / 4, 4)))
    assert measures["fix"][0] == "edit_similarity" and measures["errors"][0] == "strict_f"
    assert measures["quality"][0] == "cohens_kappa_quadratic" and measures["best"][0] == "kendall_tau"
    topic = next(q for q in report["questions"] if q["name"] == "topic")
    # alice-bob agree on p0, p1 and p4, not p2 (3/4); alice-carol and bob-carol on p1, not p0 (1/2)
    assert topic["by_annotator"] == {"alice": (3 / 4 + 1 / 2) / 2, "bob": (3 / 4 + 1 / 2) / 2, "carol": 0.5}
    code, out, _ = run(capsys, "progress", "fb", "--db", db_path)
    assert code == 0 and "Agreement with the others, per question" in out and "(all pairs)" in out
    assert "topic: same labels" in out and "best: Kendall's tau" in out and "Gold answers are counted" in out


# -- aggregate ---------------------------------------------------------------------------------------------------
def test_aggregate_decides_each_question_and_leaves_conflicts_for_review(tmp_path: Path, db_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    annotate(tmp_path, db_path)
    report = run_json(capsys, "aggregate", "fb", "--output", "final", "--json", "--db", db_path)
    assert (report["kind"], report["written"], report["rejected"], report["conflicts"]) == ("feedback", 3, 1, 2)
    conflicts = {c["text"]: c["questions"] for c in report["conflict_inputs"]}
    assert conflicts == {"question 2": {"topic": "a tie between billing, technical",
                                        "fix": "no text written by more than half of 2"},
                         "question 4": {"best": "equal points for 0, 1"}}
    final = by_prompt(stored(db_path, "final"))
    assert set(final) == {"question 0", "question 1", "question 3"}
    p0 = final["question 0"]
    assert p0["answers"] == {"quality": 4, "topic": ["billing"], "fix": "It is 4.", "errors": [FIVE],
                             "best": [0, 1, 2]}
    assert p0["user_input"] == "It is 4." and p0["_view_id"] == "feedback" and p0["answer"] == "accept"
    assert p0["_session_id"] == "final-majority" and p0["_tokens"]["response"][3]["text"] == "five"
    provenance = p0["_aggregate"]
    assert provenance["answer"]["votes"] == {"alice": "accept", "bob": "accept", "carol": "accept"}
    assert provenance["questions"]["quality"] == {"method": "lower median", "votes": {"alice": 4, "bob": 5, "carol": 2}}
    assert provenance["questions"]["fix"]["chosen_by"] == ["alice", "bob"]
    assert provenance["questions"]["best"]["points"] == [[0, 5], [1, 4], [2, 0]]
    assert final["question 3"]["answer"] == "reject" and final["question 3"]["answers"] == {}
    fb = by_prompt(stored(db_path, "fb"))
    assert p0["_task_hash"] == fb["question 0"]["_task_hash"]  # the recipe's own question
    code, out, _ = run(capsys, "aggregate", "fb", "--output", "final", "--db", db_path)  # again: only what is new
    assert code == 0 and "Wrote 0 final answers" in out
    assert "Not written: 2 conflicts (below); 3 already in 'final' (kept as they are)." in out
    assert "input" in out and "'question 2': topic: a tie between billing, technical" in out
    assert "Settle them with: tuiannot review fb --output final --only-conflicts" in out
    assert len(stored(db_path, "final")) == 3
    code, _, err = run(capsys, "aggregate", "fb", "--output", "other", "--method", "dawid-skene", "--db", db_path)
    assert code == 1
    assert_one_line_error(err, "--method dawid-skene does not apply to feedback answers ('fb' holds them)")
    code, _, err = run(capsys, "aggregate", "fb", "--output", "other", "--from", "models", "--db", db_path)
    assert code == 1
    assert_one_line_error(err, "'fb' holds feedback answers (tuiannot feedback): aggregate it without --from")


# -- review ------------------------------------------------------------------------------------------------------
def panel_of(screen: Any) -> str:
    return str(screen.query_one("#question").render())


async def test_review_sets_versions_side_by_side_per_question_and_edits_one(tmp_path: Path, db_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]
                                                                           ) -> None:
    annotate(tmp_path, db_path)
    assert run(capsys, "aggregate", "fb", "--output", "final", "--db", db_path)[0] == 0
    app = recipe_app("review", db_path, "fb", output="final", only_conflicts=True, db=str(db_path), session="lead")
    async with app.run_test(size=(120, 40)) as pilot:
        review = await wait_for_task(pilot, predicate=lambda s: s.current_task.get("prompt") == "question 2")
        assert isinstance(review, ReviewScreen) and review.feedback
        panel = panel_of(review)
        assert "3 versions from 3 annotators" in panel and "1× [carol] REJECT" in panel
        lines = {line.split()[1] if line.startswith(" ≠") else line.split()[0]: line for line in panel.splitlines()
                 if "1: " in line}
        assert lines["quality"].startswith(" ≠") and "1: 1 · 2: 2 · 3: —" in lines["quality"]
        assert "1: billing · 2: technical · 3: —" in lines["topic"]
        assert lines["errors"].startswith("   ") and "1: no spans · 2: no spans" in lines["errors"]
        assert "1: short > long > rude" in lines["best"]
        assert "question 2" in review.query_one("#text").shown["prompt"]
        await pilot.press("2", "a")  # bob's version
        review = await wait_for_task(pilot, predicate=lambda s: s.current_task.get("prompt") == "question 4")
        assert "1: same · 2: same" in panel_of(review)  # the texts differ by a space only: shown alike
        await pilot.press("e")
        editor = await wait_for_task(pilot, FeedbackVersionEditor)
        assert "alice's version" in str(editor.query_one("#title").render())
        values = {w.question: w.value() for w in editor.questions}
        assert values == {"quality": 3, "topic": ["billing"], "fix": "same", "errors": [], "best": [0, 1, 2]}
        await pilot.press("escape")  # back to the versions, nothing stored
        review = await wait_for_task(pilot, ReviewScreen)
        assert review.current_task["prompt"] == "question 4" and len(stored(db_path, "final")) == 4
        await pilot.press("e")
        editor = await wait_for_task(pilot, FeedbackVersionEditor)
        await pilot.press("5", "tab", "tab", "enter", "end", "!", "escape", "a")  # rate 5, fix "same!", submit
        await wait_done(pilot)
    app.controller.close()
    final = by_prompt(stored(db_path, "final"))
    p2, p4 = final["question 2"], final["question 4"]
    assert p2["answers"] == PLANS["bob"][2][1] and p2["answer"] == "accept" and p2["user_input"] == "b"
    assert p2["_review"]["chosen"] == 1 and p2["_review"]["reviewer"] == "lead" and p2["_view_id"] == "feedback"
    assert p2["_session_id"] == "final-lead" and p2["_task_hash"] == by_prompt(stored(db_path, "fb"))["question 2"][
        "_task_hash"]
    assert p4["answers"] == {**PLANS["alice"][4][1], "quality": 5, "fix": "same!"} and p4["user_input"] == "same!"
    assert p4["_review"]["chosen"] == "edited" and p4["_view_id"] == "feedback"
    assert [v["sessions"] for v in p4["_review"]["versions"]] == [["alice"], ["bob"]]


def test_a_feedback_gold_task_does_not_show_its_known_answers() -> None:
    from tuiannot.team.gold import split_gold

    shown = split_gold({"prompt": "p", "response": "r", "answers": {"quality": 5}, "answer": "accept"})
    assert "answers" not in shown and shown["_gold"] == {"answer": "accept", "answers": {"quality": 5}}
