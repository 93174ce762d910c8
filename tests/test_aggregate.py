"""Label aggregation: majority vote with ties, Dawid-Skene EM (synthetic noisy crowds, the Snow et al.
2008 RTE crowd against its gold labels)."""

from __future__ import annotations

import csv
import math
import random

import pytest

from tuiannot.metrics.aggregate import DawidSkeneResult, dawid_skene, majority_vote

from .helpers import SHARED, growth

SNOW = SHARED / "agreement" / "snow2008_rte"


def test_majority_vote_and_ties() -> None:
    ratings = [
        (1, "a", "x"), (1, "b", "x"), (1, "c", "y"),
        (2, "a", "x"), (2, "b", "y"),
        (3, "a", "z"),
        (4, "a", "y"), (4, "b", "x"), (4, "c", "z"), (4, "d", None),
        (5, "a", "y"), (5, "a", "x"), (5, "b", "x"),  # a changed its answer: the last counts
    ]
    labels, ties = majority_vote(ratings)
    assert labels == {1: "x", 3: "z", 5: "x"}
    assert ties == {2: ["x", "y"], 4: ["x", "y", "z"]}
    assert majority_vote([]) == ({}, {})


def test_dawid_skene_shape_and_determinism() -> None:
    truth, ratings = noisy_crowd(0, items=120)
    result = dawid_skene(ratings)
    assert isinstance(result, DawidSkeneResult)
    labels, posteriors, accuracy, confusion = result
    assert set(labels) == set(truth) == set(posteriors)
    for item, p in posteriors.items():
        assert math.isclose(sum(p.values()), 1.0) and labels[item] == max(p, key=p.get)
    for matrix in confusion.values():
        assert set(matrix) == {"a", "b", "c"}
        for row in matrix.values():
            assert math.isclose(sum(row.values()), 1.0)
    assert set(accuracy) == {a for _, a, _ in ratings} and all(0 <= v <= 1 for v in accuracy.values())
    assert math.isclose(sum(result.priors.values()), 1.0) and result.classes == ["a", "b", "c"]
    assert result.converged and 0 < result.iterations <= 100 and result.log_likelihood < 0
    # deterministic: the same answer every time, and whatever the order of the ratings
    again = dawid_skene(ratings)
    assert again.labels == labels and again.posteriors == posteriors
    shuffled = list(ratings)
    random.Random(1).shuffle(shuffled)
    other = dawid_skene(shuffled)
    assert other.labels == labels
    assert all(abs(other.posteriors[i][k] - posteriors[i][k]) < 1e-9 for i in posteriors for k in posteriors[i])


def test_dawid_skene_degenerate_inputs() -> None:
    empty = dawid_skene([])
    assert empty.labels == {} and empty.posteriors == {} and empty.accuracy == {} and empty.confusion == {}
    one_label = dawid_skene([(1, "a", "x"), (1, "b", "x"), (2, "a", "x")])
    assert one_label.labels == {1: "x", 2: "x"} and one_label.posteriors[1] == {"x": 1.0}
    assert one_label.accuracy == {"a": 1.0, "b": 1.0}
    alone = dawid_skene([(1, "a", "x"), (2, "a", "y"), (3, "a", "x")])
    assert alone.labels == {1: "x", 2: "y", 3: "x"}
    tie = dawid_skene([(1, "a", "x"), (1, "b", "y")])  # nothing to learn from: a tie goes to the first label
    assert tie.labels == {1: "x"} and math.isclose(tie.posteriors[1]["x"], 0.5)
    plain = dawid_skene(noisy_crowd(2, items=60)[1], smoothing=0.0, max_iter=5)
    assert plain.iterations == 5 and not plain.converged
    with pytest.raises(ValueError):
        dawid_skene([], tol=-1)


ACCURACY = {"good1": 0.9, "good2": 0.85, "good3": 0.8, "noisy1": 0.45, "noisy2": 0.4, "noisy3": 0.4,
            "noisy4": 0.35}


def noisy_crowd(seed: int, items: int = 400, classes: tuple[str, ...] = ("a", "b", "c")):
    """Three good annotators and four noisy ones (a majority of the votes); each skips a fifth of the items."""
    rng = random.Random(seed)
    truth, ratings = {}, []
    for i in range(items):
        t = truth[i] = rng.choice(classes)
        for annotator, p in ACCURACY.items():
            if rng.random() < 0.2:
                continue
            label = t if rng.random() < p else rng.choice([c for c in classes if c != t])
            ratings.append((i, annotator, label))
    return truth, ratings


def vote_accuracy(truth: dict, labels: dict, ties: dict) -> float:
    """Majority-vote accuracy with ties broken at random (their expected share of right answers)."""
    right = sum(truth[i] == label for i, label in labels.items())
    right += sum(1 / len(tied) for i, tied in ties.items() if truth[i] in tied)
    return right / len(truth)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_dawid_skene_beats_majority_on_a_noisy_crowd(seed: int) -> None:
    truth, ratings = noisy_crowd(seed)
    majority = vote_accuracy(truth, *majority_vote(ratings))
    result = dawid_skene(ratings)
    ds = sum(truth[i] == label for i, label in result.labels.items()) / len(truth)
    assert ds >= 0.87 and ds >= majority + 0.05, (ds, majority)
    # the estimated accuracies are close to the true ones on the items each annotator rated
    for annotator in ACCURACY:
        mine = [(i, label) for i, a, label in ratings if a == annotator]
        empirical = sum(truth[i] == label for i, label in mine) / len(mine)
        assert abs(result.accuracy[annotator] - empirical) < 0.05, annotator
        for k in ("a", "b", "c"):  # and so are their confusion matrices (the diagonal, class by class)
            given = [label for i, label in mine if truth[i] == k]
            assert abs(result.confusion[annotator][k][k] - given.count(k) / len(given)) < 0.1, (annotator, k)
    ranked = sorted(ACCURACY, key=result.accuracy.get, reverse=True)
    assert set(ranked[:3]) == {"good1", "good2", "good3"}


def snow() -> tuple[list[tuple], dict]:
    annotations, gold = SNOW / "annotations.csv", SNOW / "gold.csv"
    if not (annotations.exists() and gold.exists()):
        pytest.skip(f"shared data missing: {SNOW} (../shared is not beside the repository)")
    with open(annotations, newline="", encoding="utf-8") as f:
        ratings = [(row["item"], row["annotator"], row["label"]) for row in csv.DictReader(f)]
    with open(gold, newline="", encoding="utf-8") as f:
        truth = {row["item"]: row["label"] for row in csv.DictReader(f)}
    return ratings, truth


def test_snow2008_rte_majority_and_dawid_skene_against_gold() -> None:
    ratings, gold = snow()
    assert len(ratings) == 8000 and len(gold) == 800
    labels, ties = majority_vote(ratings)
    assert len(labels) + len(ties) == 800 and len(ties) == 65  # 5-5 splits of the 10 workers
    majority = vote_accuracy(gold, labels, ties)
    assert 0.88 <= majority <= 0.91  # Snow et al. report 0.897 for the majority of 10
    assert sum(gold[i] == label for i, label in labels.items()) / len(labels) > 0.93  # clear majorities
    result = dawid_skene(ratings)
    ds = sum(gold[i] == label for i, label in result.labels.items()) / 800
    assert ds >= majority - 0.01 and ds >= 0.92, (ds, majority)
    assert result.converged
    assert len(result.accuracy) == 164
    # the workers DS trusts most are right more often than those it trusts least
    ranked = sorted(result.accuracy, key=result.accuracy.get)
    def gold_accuracy(workers):
        hits = [gold[i] == label for i, a, label in ratings if a in workers]
        return sum(hits) / len(hits)
    assert gold_accuracy(set(ranked[-40:])) > gold_accuracy(set(ranked[:40])) + 0.2


def test_aggregation_grows_linearly_with_the_ratings() -> None:
    """Majority vote and Dawid-Skene over ~8,000 ratings cost about eight times ~1,000, not more (each EM round
    is one pass over the ratings; the rounds to converge do not grow with them here). The time itself is a
    bench's (bench/cost_curves.py, `aggregate --method dawid-skene`): a bound in seconds fails on a slow day."""
    _, large = noisy_crowd(5, items=1450)
    _, small = noisy_crowd(5, items=180)
    assert 7000 < len(large) < 9000 and 800 < len(small) < 1200
    assert dawid_skene(large).converged and dawid_skene(small).converged
    ratio = growth(lambda: (majority_vote(small), dawid_skene(small)),
                   lambda: (majority_vote(large), dawid_skene(large)))
    assert ratio < 20, ratio  # linear: ~8; quadratic: ~64
