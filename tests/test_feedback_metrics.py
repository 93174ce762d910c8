"""Agreement and aggregation on feedback answers, per question (tuiannot.metrics.feedback): a case computed by
hand, the reference packages (krippendorff, scikit-learn, irrCAC, scipy) on random answers, the edit distance
against the textbook table, and the aggregation rules."""

from __future__ import annotations

import math
import random
from itertools import combinations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from irrCAC.raw import CAC
from scipy.stats import kendalltau
from sklearn.metrics import cohen_kappa_score

from tuiannot.metrics.agreement import document_agreement
from tuiannot.metrics.feedback import (aggregate_question, edit_similarity, kendall_tau, levenshtein,
                                       question_agreement, rating_agreement)

EXACT = 1e-9
RATING = {"name": "quality", "type": "rating", "scale": 5}


def close(a: float | None, b: float | None, tol: float = EXACT) -> bool:
    return a is not None and b is not None and abs(float(a) - float(b)) <= tol


# -- by hand ------------------------------------------------------------------------------------------------------
def test_a_hand_computed_case() -> None:
    """Two annotators rate four replies on a scale of 3; they also correct one text and rank three replies.

    ======  ======  ======
    item    alice   bob
    ======  ======  ======
    r1      1       1
    r2      2       3
    r3      3       3
    r4      3       2
    ======  ======  ======

    Same rating on r1 and r3: percent agreement 2/4 = 0.5.

    Quadratic weights on 1..3, ``w = 1 - ((a - b) / 2)^2``: 1 apart 0.75, 2 apart 0. Observed weighted agreement
    ``p_o = (1 + 0.75 + 1 + 0.75) / 4 = 0.875``.

    Cohen: both annotators' marginals are (1/4, 1/4, 1/2) for 1, 2, 3, so
    ``p_e = sum p_i p_j w_ij = 1/4 (1/4 + 3/16 + 0) + 1/4 (3/16 + 1/4 + 3/8) + 1/2 (0 + 3/16 + 1/2) = 0.65625``,
    kappa ``= (0.875 - 0.65625) / (1 - 0.65625) = 7/11``.

    Gwet AC2: ``p_a`` is the same 0.875 (two raters: the weighted pairs); the prevalences ``pi`` are (1/4, 1/4,
    1/2), the weights sum to ``T_w = 6`` and ``q = 3``: ``p_e = 6 / (3 * 2) * (3/16 + 3/16 + 1/4) = 0.625``,
    AC2 ``= (0.875 - 0.625) / (1 - 0.625) = 2/3``.

    Krippendorff: the coincidences are o(1,1) = 2, o(2,3) = o(3,2) = 2, o(3,3) = 2; n_1 = 2, n_2 = 2, n_3 = 4,
    n = 8. Interval (``delta^2 = (c - k)^2``): ``D_o = (2 + 2) / 8 = 0.5``, ``D_e = 2 (2*2*1 + 2*4*4 + 2*4*1) /
    (8 * 7) = 88/56``, alpha ``= 1 - 0.5 * 56 / 88 = 15/22``. Ordinal (``delta^2(c, k) = (n_c + ... + n_k - (n_c
    + n_k) / 2)^2``): delta(1,2) = (4 - 2)^2 = 4, delta(2,3) = (6 - 3)^2 = 9, delta(1,3) = (8 - 3)^2 = 25;
    ``D_o = 4 * 9 / 8 = 4.5``, ``D_e = 2 (16 + 200 + 72) / 56 = 576/56``, alpha ``= 1 - 4.5 * 56 / 576 = 9/16``.

    Text: "abc" and "abd" are one substitution apart, similarity ``1 - 1/3 = 2/3``. Ranking: alice 0 > 1 > 2,
    bob 1 > 0 > 2: of the three pairs of items one is swapped, tau ``= (2 - 1) / 3 = 1/3``.
    """
    alice, bob = [1, 2, 3, 3], [1, 3, 3, 2]
    ratings = [(f"r{i}", "alice", v) for i, v in enumerate(alice, 1)] + \
              [(f"r{i}", "bob", v) for i, v in enumerate(bob, 1)]
    report = question_agreement({"name": "q", "type": "rating", "scale": 3}, ratings)
    assert report["percent_agreement"] == 0.5
    assert close(report["cohens_kappa_quadratic"], 7 / 11) and report["cohens_kappa_pairs"] == 1
    assert close(report["gwet_ac2_quadratic"], 2 / 3)
    assert close(report["krippendorff_alpha_interval"], 15 / 22)
    assert close(report["krippendorff_alpha_ordinal"], 9 / 16)
    assert report["means"] == {"alice": 2.25, "bob": 2.25}
    assert report["pairs"] == [{"a": "alice", "b": "bob", "items": 4, "percent_agreement": 0.5,
                                "cohens_kappa_quadratic": pytest.approx(7 / 11)}]
    text = question_agreement({"name": "fix", "type": "text"}, [("t", "alice", "abc "), ("t", "bob", "abd")])
    assert text["exact_match"] == 0.0 and close(text["edit_similarity"], 2 / 3)
    ranking = question_agreement({"name": "best", "type": "ranking"}, [("t", "alice", [0, 1, 2]),
                                                                       ("t", "bob", [1, 0, 2])])
    assert close(ranking["kendall_tau"], 1 / 3) and ranking["exact_match"] == 0.0


# -- the reference packages ---------------------------------------------------------------------------------------
def random_ratings(seed: int, items: int = 60, annotators: int = 4, scale: int = 5, missing: float = 0.3) -> list:
    """Ratings that lean on a latent truth, with missing answers (None: a question left unanswered)."""
    rng = random.Random(seed)
    rows = []
    for i in range(items):
        truth = rng.randint(1, scale)
        for a in range(annotators):
            if rng.random() < missing:
                rows.append((f"item{i}", f"ann{a}", None))
                continue
            rating = truth if rng.random() < 0.5 else min(scale, max(1, truth + rng.choice((-1, 1, 2))))
            rows.append((f"item{i}", f"ann{a}", rating))
    return rows


def coders_by_units(rows: list) -> np.ndarray:
    df = pd.DataFrame([r for r in rows if r[2] is not None], columns=["item", "who", "v"]).pivot(
        index="who", columns="item", values="v")
    return df.astype(float).values


@pytest.mark.parametrize("seed", range(5))
def test_ratings_equal_krippendorff_sklearn_and_irrcac(seed: int) -> None:
    rows = random_ratings(seed)
    report = question_agreement(RATING, rows)
    data = coders_by_units(rows)
    for level in ("ordinal", "interval"):
        assert close(report[f"krippendorff_alpha_{level}"], krippendorff.alpha(data, level_of_measurement=level))
    wide = pd.DataFrame([r for r in rows if r[2] is not None], columns=["item", "who", "v"]).pivot(
        index="item", columns="who", values="v").astype(float)
    irr = CAC(wide, weights="quadratic", categories=[1, 2, 3, 4, 5], digits=12).gwet()["est"]["coefficient_value"]
    assert close(report["gwet_ac2_quadratic"], irr)
    kappas = []
    for pair in report["pairs"]:
        both = wide[[pair["a"], pair["b"]]].dropna()
        reference = cohen_kappa_score(both[pair["a"]].astype(int), both[pair["b"]].astype(int),
                                      weights="quadratic", labels=[1, 2, 3, 4, 5])
        assert pair["items"] == len(both) and close(pair["cohens_kappa_quadratic"], reference)
        kappas.append(reference)
    assert len(kappas) == 6 and close(report["cohens_kappa_quadratic"], sum(kappas) / len(kappas))
    assert report["ratings"] == sum(1 for r in rows if r[2] is not None)


def test_two_annotators_cohen_is_their_kappa_and_an_unused_rating_moves_only_ac2() -> None:
    rows = [r for r in random_ratings(11, annotators=2, scale=4, missing=0.1) if r[2] is None or r[2] <= 3]
    y = pd.DataFrame([r for r in rows if r[2] is not None], columns=["item", "who", "v"]).pivot(
        index="item", columns="who", values="v").dropna().astype(int)
    four = rating_agreement([r for r in rows if r[2] is not None], scale=4)
    three = rating_agreement([r for r in rows if r[2] is not None], scale=3)
    assert close(four["cohens_kappa_quadratic"], cohen_kappa_score(y["ann0"], y["ann1"], weights="quadratic"))
    assert close(four["cohens_kappa_quadratic"], three["cohens_kappa_quadratic"])  # a scale-free ratio
    assert close(four["krippendorff_alpha_ordinal"], three["krippendorff_alpha_ordinal"])
    assert not close(four["gwet_ac2_quadratic"], three["gwet_ac2_quadratic"], 1e-4)  # q and the weights change


@pytest.mark.parametrize("seed", range(4))
def test_rankings_kendall_tau_equals_scipy_and_alpha_krippendorff(seed: int) -> None:
    rng = random.Random(seed)
    rows = []
    for i in range(40):
        truth = list(range(rng.randint(2, 6)))
        rng.shuffle(truth)
        for a in range(3):
            order = list(truth)
            if rng.random() < 0.6:
                x, y = rng.sample(range(len(order)), 2)
                order[x], order[y] = order[y], order[x]
            if rng.random() > 0.2:
                rows.append((f"task{i}", f"ann{a}", order))
    report = question_agreement({"name": "best", "type": "ranking"}, rows)
    by_item: dict = {}
    for item, who, order in rows:
        by_item.setdefault(item, {})[who] = order
    per_item = []
    for answers in by_item.values():
        taus = []
        for a, b in combinations(sorted(answers), 2):
            x, y = answers[a], answers[b]
            tau = kendalltau([x.index(e) for e in x], [y.index(e) for e in x]).statistic
            assert close(kendall_tau(x, y), tau)
            taus.append(tau)
        if taus:
            per_item.append(sum(taus) / len(taus))
    assert close(report["kendall_tau"], sum(per_item) / len(per_item))
    units = sorted({(item, e) for item, _, order in rows for e in order})
    coders = sorted({who for _, who, _ in rows})
    data = np.full((len(coders), len(units)), np.nan)
    for item, who, order in rows:
        for place, e in enumerate(order, 1):
            data[coders.index(who), units.index((item, e))] = place
    assert close(report["krippendorff_alpha_ordinal"], krippendorff.alpha(data, level_of_measurement="ordinal"))


def test_label_questions_are_agreed_on_as_any_label_question() -> None:
    single = [("t1", "a", ["x"]), ("t1", "b", ["x"]), ("t2", "a", ["y"]), ("t2", "b", ["x"]),
              ("t3", "a", []), ("t3", "b", ["y"]), ("t4", "a", ["z"]), ("t4", "b", ["z"])]
    report = question_agreement({"name": "topic", "type": "label", "labels": ["x", "y", "z"]}, single)
    flat = [(i, w, v[0]) for i, w, v in single if v]
    assert report["items_compared"] == 3 and report["items_single_annotator"] == 1  # no label chosen: no answer
    assert report == document_agreement(flat, categories=["x", "y", "z"])
    assert close(report["cohens_kappa"], cohen_kappa_score(["x", "y", "z"], ["x", "x", "z"]))
    several = [("t1", "a", ["x", "y"]), ("t1", "b", ["x"]), ("t2", "a", []), ("t2", "b", [])]
    report = question_agreement({"name": "problems", "type": "label", "labels": ["x", "y", "z"], "multiple": True},
                                several)
    assert report["multi_label"] and report["labels"] == ["x", "y", "z"]
    assert report["jaccard"] == pytest.approx((1 / 2 + 1) / 2)  # two empty sets agree fully
    assert report["per_label"]["x"]["percent_agreement"] == 1.0 and report["per_label"]["y"]["percent_agreement"] \
        == 0.5


def test_span_questions_use_the_span_agreement() -> None:
    spans = [("t1", "a", [{"start": 0, "end": 4, "label": "WRONG"}]),
             ("t1", "b", [{"start": 0, "end": 4, "label": "WRONG"}, {"start": 6, "end": 9, "label": "UNSAFE"}]),
             ("t2", "a", []), ("t2", "b", [{"start": 2, "end": 5, "label": "WRONG"}])]
    report = question_agreement({"name": "errors", "type": "span", "labels": ["WRONG", "UNSAFE"]}, spans)
    assert report["items_compared"] == 2 and report["strict"]["f"] == pytest.approx(2 * 1 / (1 + 3))


# -- the edit distance --------------------------------------------------------------------------------------------
def textbook(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="abcé ☃\n", max_size=90), st.text(alphabet="abcé ☃\n", max_size=90))
def test_levenshtein_equals_the_textbook_table(a: str, b: str) -> None:
    assert levenshtein(a, b) == textbook(a, b) == levenshtein(b, a)


def test_edit_similarity_examples_and_long_texts() -> None:
    assert levenshtein("kitten", "sitting") == 3 and edit_similarity("kitten", "sitting") == pytest.approx(4 / 7)
    assert edit_similarity("", "") == 1.0 and edit_similarity("abc", "") == 0.0 and edit_similarity("ab", "ab") == 1.0
    rng = random.Random(3)
    long_a = "".join(rng.choice("abcdefgh ") for _ in range(130))  # more than 64 bits: big integers
    long_b = "".join(rng.choice("abcdefgh ") for _ in range(150))
    assert levenshtein(long_a, long_b) == textbook(long_a, long_b)
    assert levenshtein("x" + long_a + "y", "z" + long_a) == 2


def test_text_agreement_averages_pairs_per_item_then_items() -> None:
    rows = [("t1", "a", "same"), ("t1", "b", "same"), ("t1", "c", "sane"),  # pairs 1, 3/4, 3/4
            ("t2", "a", "x"), ("t2", "b", "y"), ("t3", "a", "   "), ("t3", "b", "lonely")]
    report = question_agreement({"name": "fix", "type": "text"}, rows)
    assert report["items_compared"] == 2 and report["items_single_annotator"] == 1  # a blank text is no answer
    assert close(report["edit_similarity"], ((1 + 0.75 + 0.75) / 3 + 0.0) / 2)
    assert close(report["exact_match"], (1 / 3 + 0) / 2)
    pair_ab = next(p for p in report["pairs"] if (p["a"], p["b"]) == ("a", "b"))
    assert pair_ab["items"] == 2 and pair_ab["exact_match"] == 0.5


def test_degenerate_reports_say_why_instead_of_dividing_by_zero() -> None:
    alone = rating_agreement([("t1", "a", 3), ("t2", "a", 4)], scale=5)
    assert alone["krippendorff_alpha_ordinal"] is None and alone["cohens_kappa_quadratic"] is None
    assert "fewer than two annotators" in alone["notes"][0]
    same = rating_agreement([("t1", "a", 3), ("t1", "b", 3), ("t2", "a", 3), ("t2", "b", 3)], scale=5)
    assert same["krippendorff_alpha_interval"] is None and same["percent_agreement"] == 1.0
    assert same["gwet_ac2_quadratic"] == 1.0 and any("single rating" in n for n in same["notes"])
    assert question_agreement({"type": "ranking"}, [("t", "a", [1, 0]), ("t", "b", [1, 0])])["kendall_tau"] == 1.0
    assert kendall_tau(["a", "b"], ["b", "c"]) is None  # one item in common


# -- aggregation ---------------------------------------------------------------------------------------------------
def test_ratings_take_the_lower_median() -> None:
    assert aggregate_question(RATING, {"a": 4, "b": 2, "c": 5}).value == 4
    decided = aggregate_question(RATING, {"a": 2, "b": 5, "c": None})
    assert decided.value == 2 and decided.conflict is None and decided.provenance["votes"] == {"a": 2, "b": 5}
    assert aggregate_question(RATING, {"a": None}).value is None


def test_labels_by_majority_and_per_label_ties_are_conflicts() -> None:
    topic = {"name": "topic", "type": "label", "labels": ["billing", "technical"]}
    assert aggregate_question(topic, {"a": ["billing"], "b": ["billing"], "c": ["technical"]}).value == ["billing"]
    tie = aggregate_question(topic, {"a": ["billing"], "b": ["technical"], "c": []})
    assert tie.value is None and tie.conflict == "a tie between billing, technical"
    problems = {"name": "problems", "type": "label", "labels": ["long", "wrong", "rude"], "multiple": True}
    decided = aggregate_question(problems, {"a": ["wrong", "long"], "b": ["wrong"], "c": []})
    assert decided.value == ["wrong"] and decided.conflict is None  # long: 1 of 3
    assert aggregate_question(problems, {"a": ["wrong"], "b": []}).conflict == "half of 2 chose wrong"


def test_texts_need_a_majority_and_spans_are_kept_by_majority() -> None:
    fix = {"name": "fix", "type": "text"}
    decided = aggregate_question(fix, {"a": "It is 4.\n", "b": "It is 4.", "c": "Four."})
    assert decided.value == "It is 4.\n" and decided.provenance["chosen_by"] == ["a", "b"]
    assert aggregate_question(fix, {"a": "x", "b": "y"}).conflict == "no text written by more than half of 2"
    assert aggregate_question(fix, {"a": "  ", "b": ""}).value == ""  # nobody answered: left unanswered
    errors = {"name": "errors", "type": "span", "labels": ["WRONG"]}
    span = {"start": 0, "end": 3, "label": "WRONG", "token_start": 0, "token_end": 0}
    other = {"start": 5, "end": 8, "label": "WRONG", "token_start": 2, "token_end": 2}
    decided = aggregate_question(errors, {"a": [span, other], "b": [span], "c": []})
    assert decided.value == [span] and decided.provenance["spans"] == {"kept": 1, "left out": 1}


def test_rankings_by_borda_count_and_equal_points_are_a_conflict() -> None:
    best = {"name": "best", "type": "ranking"}
    decided = aggregate_question(best, {"a": [2, 0, 1], "b": [2, 1, 0], "c": [0, 2, 1]})
    assert decided.value == [2, 0, 1] and decided.provenance["points"] == [[2, 5], [0, 3], [1, 1]]
    tie = aggregate_question(best, {"a": ["x", "y"], "b": ["y", "x"]})
    assert tie.value is None and tie.conflict == "equal points for x, y"
    assert math.isclose(kendall_tau([2, 0, 1], [2, 1, 0]), 1 / 3)
