"""Aggregating several annotators' labels into one per item: majority vote and Dawid-Skene.

Pure functions in plain Python over the same ``ratings`` as :mod:`tuiannot.metrics.agreement`:
``(item, annotator, label)`` triples, ``None`` labels ignored, the last rating of an annotator on an item
winning.

* :func:`majority_vote` gives the most frequent label per item and reports ties apart (never broken at
  random: a tie is a question for an adjudicator).
* :func:`dawid_skene` is the EM algorithm of Dawid & Skene (1979): each annotator has a confusion matrix
  ``P(says l | truth k)``, the classes a prior; the E-step gives each item's posterior over the true
  label, the M-step re-estimates priors and confusion matrices from those posteriors. It starts from the
  vote shares (soft majority vote: a tie starts split evenly) and is fully deterministic (no random
  start, labels in sorted order, ties in the final argmax go to the first label in that order).
  Confusion-matrix rows get ``smoothing`` pseudo-counts (default 0.01, spread over the row), so an
  annotator seen only a few times cannot veto a label with a zero probability; ``smoothing=0`` is the
  plain maximum-likelihood algorithm (zero probabilities are then floored at 1e-300 in the logs).
"""

from __future__ import annotations

import math
from typing import Any, Hashable, Iterable, NamedTuple

from .agreement import Rating, RatingTable, ordered

__all__ = ["DawidSkeneResult", "MajorityVote", "dawid_skene", "majority_vote"]


class MajorityVote(NamedTuple):
    labels: dict[Hashable, Any]
    """``{item: label}`` for the items with a single most frequent label."""
    ties: dict[Hashable, list[Any]]
    """``{item: [tied labels, sorted]}`` for the items where two or more labels share the top count."""


def majority_vote(ratings: "Iterable[Rating] | RatingTable") -> MajorityVote:
    """The most frequent label per item; ties apart (``labels, ties = majority_vote(ratings)``)."""
    table = RatingTable.build(ratings)
    labels: dict[Hashable, Any] = {}
    ties: dict[Hashable, list[Any]] = {}
    for item, answers in table.items.items():
        votes: dict[Any, int] = {}
        for label in answers.values():
            votes[label] = votes.get(label, 0) + 1
        top = max(votes.values())
        best = [label for label, n in votes.items() if n == top]
        if len(best) == 1:
            labels[item] = best[0]
        else:
            ties[item] = ordered(best)
    return MajorityVote(labels, ties)


class _Result(NamedTuple):
    labels: dict[Hashable, Any]
    posteriors: dict[Hashable, dict[Any, float]]
    accuracy: dict[Hashable, float]
    confusion: dict[Hashable, dict[Any, dict[Any, float]]]


class DawidSkeneResult(_Result):
    """``(labels, posteriors, accuracy, confusion)``, unpackable as a 4-tuple, plus attributes:

    * ``labels``: ``{item: label}``, the most probable true label;
    * ``posteriors``: ``{item: {label: probability}}`` (each sums to 1);
    * ``accuracy``: ``{annotator: float}``, the expected share of the annotator's labels that are right
      (``sum_i sum_k P(truth_i = k) [annotator said k on i] / annotator's ratings``);
    * ``confusion``: ``{annotator: {true label: {given label: probability}}}``;
    * ``priors`` ``{label: probability}``, ``classes`` (sorted labels), ``iterations``, ``converged``
      (the largest change of a posterior fell under ``tol``) and ``log_likelihood``.
    """

    priors: dict[Any, float]
    classes: list[Any]
    iterations: int
    converged: bool
    log_likelihood: float


def dawid_skene(ratings: "Iterable[Rating] | RatingTable", max_iter: int = 100, tol: float = 1e-6,
                smoothing: float = 0.01) -> DawidSkeneResult:
    """Dawid & Skene (1979) EM over ``ratings``; see the module docstring."""
    if max_iter < 0 or tol < 0 or smoothing < 0:
        raise ValueError("max_iter, tol and smoothing must not be negative")
    table = RatingTable.build(ratings)
    classes = ordered({label for answers in table.items.values() for label in answers.values()})
    annotators = table.annotators
    k_count = len(classes)
    cls = {c: i for i, c in enumerate(classes)}
    ann = {a: i for i, a in enumerate(annotators)}
    items = list(table.items)
    # per item: [(annotator index, label index)]
    obs = [[(ann[a], cls[label]) for a, label in table.items[item].items()] for item in items]

    # initial posteriors: the vote shares
    post = []
    for answers in obs:
        row = [0.0] * k_count
        for _, label in answers:
            row[label] += 1.0
        total = len(answers)
        post.append([v / total for v in row])

    iterations = 0
    converged = k_count <= 1
    log_likelihood = 0.0
    priors = [1.0] * k_count
    confusion = [[[1.0 if k == el else 0.0 for el in range(k_count)] for k in range(k_count)] for _ in annotators]
    floor = 1e-300
    while True:
        priors, confusion = _m_step(post, obs, k_count, len(annotators), smoothing)
        if converged or iterations >= max_iter:
            break
        iterations += 1
        new_post, log_likelihood = _e_step(obs, priors, confusion, k_count, floor)
        change = max((abs(x - y) for p, q in zip(post, new_post, strict=True) for x, y in zip(p, q, strict=True)),
                     default=0.0)
        post = new_post
        if change < tol:
            converged = True
    if k_count > 1:
        _, log_likelihood = _e_step(obs, priors, confusion, k_count, floor)

    labels: dict[Hashable, Any] = {}
    posteriors: dict[Hashable, dict[Any, float]] = {}
    for item, p in zip(items, post, strict=True):
        best = max(range(k_count), key=lambda k: (p[k], -k))
        labels[item] = classes[best]
        posteriors[item] = {classes[k]: p[k] for k in range(k_count)}
    right = [0.0] * len(annotators)
    seen = [0] * len(annotators)
    for answers, p in zip(obs, post, strict=True):
        for a, label in answers:
            right[a] += p[label]
            seen[a] += 1
    accuracy = {name: right[j] / seen[j] for j, name in enumerate(annotators)}
    matrices = {name: {classes[k]: {classes[el]: confusion[j][k][el] for el in range(k_count)}
                       for k in range(k_count)} for j, name in enumerate(annotators)}
    result = DawidSkeneResult(labels, posteriors, accuracy, matrices)
    result.priors = {classes[k]: priors[k] for k in range(k_count)}
    result.classes = classes
    result.iterations = iterations
    result.converged = converged
    result.log_likelihood = log_likelihood
    return result


def _m_step(post: list[list[float]], obs: list[list[tuple[int, int]]], k_count: int, a_count: int,
            smoothing: float) -> tuple[list[float], list[list[list[float]]]]:
    n = len(post)
    priors = [sum(p[k] for p in post) / n for k in range(k_count)] if n else [1.0 / max(k_count, 1)] * k_count
    extra = smoothing / k_count if k_count else 0.0
    counts = [[[extra] * k_count for _ in range(k_count)] for _ in range(a_count)]
    for answers, p in zip(obs, post, strict=True):
        for a, label in answers:
            rows = counts[a]
            for k in range(k_count):
                if p[k]:
                    rows[k][label] += p[k]
    for rows in counts:
        for k, row in enumerate(rows):
            total = sum(row)
            if total > 0:
                rows[k] = [v / total for v in row]
            else:  # this annotator never rated an item believed to be k: no information
                rows[k] = [1.0 / k_count] * k_count
    return priors, counts


def _e_step(obs: list[list[tuple[int, int]]], priors: list[float], confusion: list[list[list[float]]],
            k_count: int, floor: float) -> tuple[list[list[float]], float]:
    log_priors = [math.log(max(p, floor)) for p in priors]
    log_conf = [[[math.log(max(v, floor)) for v in row] for row in rows] for rows in confusion]
    post = []
    log_likelihood = 0.0
    for answers in obs:
        scores = list(log_priors)
        for a, label in answers:
            rows = log_conf[a]
            for k in range(k_count):
                scores[k] += rows[k][label]
        top = max(scores)
        weights = [math.exp(s - top) for s in scores]
        total = sum(weights)
        log_likelihood += top + math.log(total)
        post.append([w / total for w in weights])
    return post, log_likelihood
