"""Preference: the figures of a blind comparison (tuiannot.metrics.preference, against scipy's binomtest and
statsmodels' Wilson interval) and the preference pairs of rank, compare and tournament answers
(tuiannot.data.preference), written as JSONL and read back pair by pair, from a real database."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from scipy.stats import binomtest
from statsmodels.stats.proportion import proportion_confint

import tuiannot
from tuiannot.data.preference import PreferenceCounts, answer_pairs, preference_pairs
from tuiannot.metrics.preference import compare_stats, sign_test, wilson_interval

from .helpers import seed

SPLITS = [(0, 1), (1, 1), (0, 5), (2, 5), (3, 10), (7, 10), (5, 10), (9, 12), (40, 100), (61, 100), (480, 1000),
          (13, 1001), (700, 1200), (1, 3000)]


@pytest.mark.parametrize(("wins", "n"), SPLITS)
def test_the_sign_test_is_scipys_exact_binomial_test(wins: int, n: int) -> None:
    assert sign_test(wins, n) == pytest.approx(binomtest(wins, n, 0.5).pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("wins", "n"), SPLITS)
def test_the_interval_is_statsmodels_wilson_interval(wins: int, n: int) -> None:
    low, high = proportion_confint(wins, n, alpha=0.05, method="wilson")
    assert wilson_interval(wins, n) == pytest.approx((low, high), abs=1e-12)


def test_no_decided_comparison_has_no_rate_interval_or_test() -> None:
    assert sign_test(0, 0) is None and wilson_interval(0, 0) is None
    figures = compare_stats([("ann", "tie"), ("ann", "both-bad")])["overall"]
    assert figures == {"judgements": 2, "wins_a": 0, "wins_b": 0, "ties": 1, "both_bad": 1, "decided": 0,
                       "win_rate_a": None, "interval_a": None, "sign_test_p": None, "preferred": None}
    with pytest.raises(ValueError, match="unknown outcome"):
        compare_stats([("ann", "left")])
    with pytest.raises(ValueError):
        sign_test(4, 3)


def test_compare_stats_over_everyone_and_per_annotator() -> None:
    judgements = [("ann", "A")] * 14 + [("ann", "B")] * 2 + [("ann", "tie")] * 3 + \
                 [("bob", "A")] * 3 + [("bob", "B")] * 3 + [("bob", "both-bad")]
    stats = compare_stats(judgements)
    overall = stats["overall"]
    assert (overall["wins_a"], overall["wins_b"], overall["ties"], overall["both_bad"]) == (17, 5, 3, 1)
    assert overall["decided"] == 22 and overall["judgements"] == 26
    assert overall["win_rate_a"] == pytest.approx(17 / 22)
    assert overall["interval_a"] == pytest.approx(list(proportion_confint(17, 22, method="wilson")))
    assert overall["sign_test_p"] == pytest.approx(binomtest(17, 22).pvalue)
    assert overall["preferred"] == "A"  # p = 0.017
    assert stats["by_annotator"]["ann"]["preferred"] == "A"
    assert stats["by_annotator"]["bob"]["preferred"] is None and stats["by_annotator"]["bob"]["sign_test_p"] == 1.0
    assert stats["by_annotator"]["bob"]["win_rate_a"] == 0.5
    assert compare_stats(judgements, alpha=0.01)["overall"]["preferred"] is None
    json.dumps(stats)  # JSON-ready


# -- preference pairs -------------------------------------------------------------------------------------------
RESPONSES = ["Paris.", {"text": "It is Paris, the capital.", "id": "long"}, "Lyon.", "I do not know."]


def rank(ranking: Any, answer: str = "accept", **extra: Any) -> dict[str, Any]:
    return {"prompt": "What is the capital of France?", "responses": RESPONSES, "ranking": ranking,
            "answer": answer, "_view_id": "rank", "_session_id": "prefs-ann", **extra}


def compare(winner: str | None, choice: str | None, sides: list[str], answer: str = "accept",
            **extra: Any) -> dict[str, Any]:
    task = {"text": "Summarise: the cat sat.", "outputs": {"A": {"text": "A cat sat."}, "B": {"text": "Cats."}},
            "_sides": sides, "answer": answer, "_view_id": "compare", "_session_id": "prefs-ann", **extra}
    if choice is not None:
        task["choice"] = choice
    if winner is not None:
        task["winner"] = winner
    return task


def test_every_pair_a_ranking_implies_with_ties_and_unranked_counted() -> None:
    result = answer_pairs(rank(["long", [0, 3]]))  # long first; 0 and 3 tie; 2 (Lyon) not ranked: last
    assert result.kind == "rank" and result.problem is None
    got = {(p["chosen"], p["rejected"]) for p in result.pairs}
    assert got == {("It is Paris, the capital.", "Paris."), ("It is Paris, the capital.", "I do not know."),
                   ("It is Paris, the capital.", "Lyon."), ("Paris.", "Lyon."), ("I do not know.", "Lyon.")}
    assert len(result.pairs) == 5 and result.left_out_pairs == Counter({"tied": 1})
    assert all(p["prompt"] == "What is the capital of France?" for p in result.pairs)
    best_only = answer_pairs(rank(["long"]))  # one key: the best, the other three tie below it, unordered
    assert len(best_only.pairs) == 3 and best_only.left_out_pairs == Counter({"not ranked": 3})
    full = answer_pairs(rank(["long", 0, 2, 3]))
    assert len(full.pairs) == 6 and not full.left_out_pairs


@pytest.mark.parametrize(("ranking", "problem"), [
    (["long", "long"], "twice"), ([7], "not among"), (["1"], "not among"), ([], "no 'ranking'"),
])
def test_a_malformed_ranking_is_left_out_whole_with_its_reason(ranking: Any, problem: str) -> None:
    result = answer_pairs(rank(ranking))  # "1" is not the response at index 1, whose id is "long"
    assert result.pairs == [] and result.left_out == "malformed" and problem in str(result.problem)


def test_compare_and_tournament_answers_give_one_pair_or_a_counted_reason() -> None:
    left_is_b = compare("B", "left", ["B", "A"])
    assert answer_pairs(left_is_b).pairs == [{"prompt": "Summarise: the cat sat.", "chosen": "Cats.",
                                              "rejected": "A cat sat."}]
    # the choice and the sides decide, whatever a stale winner says
    assert answer_pairs(compare("B", "right", ["B", "A"])).pairs[0]["chosen"] == "A cat sat."
    assert answer_pairs(compare("tie", "tie", ["A", "B"])).left_out == "tie"
    assert answer_pairs(compare("both-bad", "both-bad", ["A", "B"], answer="reject")).left_out == "both bad"
    assert answer_pairs(compare(None, None, ["A", "B"], answer="ignore")).left_out == "skipped"
    duel = compare("A", "right", ["B", "A"], prompt="the user's prompt", _duel={"A": {"candidate": "x"}})
    assert answer_pairs(duel).kind == "tournament"
    assert answer_pairs(duel).pairs == [{"prompt": "the user's prompt", "chosen": "A cat sat.", "rejected": "Cats."}]
    same = compare("A", "left", ["A", "B"])
    same["outputs"]["B"]["text"] = "A cat sat."
    assert answer_pairs(same).left_out_pairs == Counter({"same text": 1})
    prodigy = {"input": {"text": "x"}, "text": "x", "accept": {"text": "second"}, "reject": {"text": "first"},
               "mapping": {"A": "reject", "B": "accept"}, "answer": "reject"}
    assert answer_pairs(prodigy).pairs == [{"prompt": "x", "chosen": "first", "rejected": "second"}]
    assert answer_pairs({"text": "t", "answer": "accept", "accept": ["POS"]}).kind is None


def test_the_preference_export_read_back_pair_by_pair(tmp_path: Path, db_path: Path) -> None:
    answers = [
        rank(["long", [0, 3]]),                      # 5 pairs, 1 tied
        rank([2], answer="reject"),                  # the task is wrong: no pair
        rank(["long", "nope"]),                      # malformed
        compare("B", "left", ["B", "A"]),            # 1 pair
        compare("tie", "tie", ["A", "B"]),           # no pair
        compare(None, None, ["B", "A"], answer="ignore"),
        {"text": "a text", "answer": "accept", "accept": ["POS"], "_view_id": "choice"},
    ]
    for i, answer in enumerate(answers):  # distinct tasks for the database
        answer["meta"] = {"i": i}
        answer["_input_hash"] = i + 1
        answer["_task_hash"] = i + 1
    seed(db_path, "prefs", answers)
    counts = PreferenceCounts()
    problems: list[tuple[int, str]] = []
    out = tmp_path / "pairs.jsonl"
    with tuiannot.connect(db_path) as db, open(out, "w", encoding="utf-8") as f:
        for pair in preference_pairs(db.answers("prefs"), counts, lambda n, task, why: problems.append((n, why))):
            f.write(json.dumps(pair, ensure_ascii=False) + "\n")
    read = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert all(set(pair) == {"prompt", "chosen", "rejected"} for pair in read)
    assert read[:5] == answer_pairs(rank(["long", [0, 3]])).pairs
    assert read[5] == {"prompt": "Summarise: the cat sat.", "chosen": "Cats.", "rejected": "A cat sat."}
    assert len(read) == 6
    assert counts.answers == 7 and counts.pairs == Counter({"rank": 5, "compare": 1})
    assert counts.left_out_pairs == Counter({"tied": 1})
    assert counts.left_out_answers == Counter({"rejected": 1, "malformed": 1, "tie": 1, "skipped": 1,
                                               "not a preference answer": 1})
    assert problems == [(3, "the ranking names 'nope', which is not among the responses' ids")]
    assert counts.summary() == ("6 pairs (5 from rank, 1 from compare); left out: 1 tied pair; answers giving no "
                                "pair: 1 malformed, 1 not a preference answer, 1 rejected, 1 skipped, 1 tie")
