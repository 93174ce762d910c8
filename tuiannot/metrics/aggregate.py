"""Aggregating several annotators' labels into one per item: majority vote and Dawid-Skene.

Pure functions over the same ``ratings`` as :mod:`tuiannot.metrics.agreement`: ``(item, annotator, label)``
triples, ``None`` labels ignored, the last rating of an annotator on an item winning.

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
  Each step works on flat numpy arrays of the ratings (indices of item, annotator and label), one
  ``bincount`` per class: 100 iterations over a million ratings take about 9 s (2 CPUs), what loops in
  Python took for 50,000. The posteriors are handed out per item from the matrix (a dict per item only when
  asked for).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Hashable, Iterable, Iterator, NamedTuple

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
    import numpy as np

    if max_iter < 0 or tol < 0 or smoothing < 0:
        raise ValueError("max_iter, tol and smoothing must not be negative")
    table = RatingTable.build(ratings)
    classes = ordered({label for answers in table.items.values() for label in answers.values()})
    annotators = table.annotators
    k_count, a_count = len(classes), len(annotators)
    cls = {c: i for i, c in enumerate(classes)}
    ann = {a: i for i, a in enumerate(annotators)}
    items = list(table.items)
    # the observations, flat: item, annotator and label indices of every rating
    sizes = np.fromiter((len(answers) for answers in table.items.values()), dtype=np.int64, count=len(items))
    item_of = np.repeat(np.arange(len(items)), sizes)
    ann_of = np.fromiter((ann[a] for answers in table.items.values() for a in answers), dtype=np.int64,
                         count=int(sizes.sum()))
    label_of = np.fromiter((cls[label] for answers in table.items.values() for label in answers.values()),
                           dtype=np.int64, count=int(sizes.sum()))
    obs = _Observations(item_of, ann_of, label_of, len(items), k_count, a_count)

    post = obs.votes() / np.maximum(sizes, 1)[:, None]  # initial posteriors: the vote shares
    iterations = 0
    converged = k_count <= 1
    log_likelihood = 0.0
    floor = 1e-300
    while True:
        priors, confusion = _m_step(post, obs, smoothing)
        if converged or iterations >= max_iter:
            break
        iterations += 1
        new_post, log_likelihood = _e_step(obs, priors, confusion, floor)
        change = float(np.abs(new_post - post).max()) if post.size else 0.0
        post = new_post
        if change < tol:
            converged = True
    if k_count > 1:
        _, log_likelihood = _e_step(obs, priors, confusion, floor)

    best = post.argmax(axis=1) if post.size else np.zeros(0, dtype=np.int64)  # ties: the first label
    labels: dict[Hashable, Any] = {item: classes[k] for item, k in zip(items, best.tolist(), strict=True)}
    posteriors = _Posteriors(items, post, classes)
    right = np.bincount(ann_of, weights=post[item_of, label_of], minlength=a_count) if len(ann_of) else \
        np.zeros(a_count)
    seen = np.bincount(ann_of, minlength=a_count)
    accuracy = {name: float(right[j] / seen[j]) for j, name in enumerate(annotators)}
    matrices = {name: {classes[k]: {classes[el]: float(confusion[j, k, el]) for el in range(k_count)}
                       for k in range(k_count)} for j, name in enumerate(annotators)}
    result = DawidSkeneResult(labels, posteriors, accuracy, matrices)  # type: ignore[arg-type]
    result.priors = {classes[k]: float(priors[k]) for k in range(k_count)}
    result.classes = classes
    result.iterations = iterations
    result.converged = converged
    result.log_likelihood = float(log_likelihood)
    return result


class _Posteriors(Mapping[Hashable, dict[Any, float]]):
    """``{item: {label: probability}}`` over the posterior matrix: a dict is made for an item when asked for
    (a dict per item would take more memory than the whole algorithm on millions of items)."""

    def __init__(self, items: list[Hashable], post: Any, classes: list[Any]) -> None:
        self._row = {item: i for i, item in enumerate(items)}
        self._post, self._classes = post, classes

    def __getitem__(self, item: Hashable) -> dict[Any, float]:
        return dict(zip(self._classes, self._post[self._row[item]].tolist(), strict=True))

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)


class _Observations(NamedTuple):
    item: Any  # numpy arrays, one entry per rating
    annotator: Any
    label: Any
    items: int
    classes: int
    annotators: int

    def votes(self) -> Any:
        """items x classes: how many ratings gave each label."""
        import numpy as np

        flat = np.bincount(self.item * self.classes + self.label, minlength=self.items * self.classes)
        return flat.reshape(self.items, self.classes).astype(float)


def _m_step(post: Any, obs: _Observations, smoothing: float) -> tuple[Any, Any]:
    import numpy as np

    n, k_count, a_count = obs.items, obs.classes, obs.annotators
    priors = post.sum(axis=0) / n if n else np.full(k_count, 1.0 / max(k_count, 1))
    extra = smoothing / k_count if k_count else 0.0
    counts = np.full((a_count, k_count, k_count), extra)
    cell = obs.annotator * k_count + obs.label
    for k in range(k_count):  # counts[a, k, l] += P(item is k) for each rating l by a
        counts[:, k, :] += np.bincount(cell, weights=post[obs.item, k], minlength=a_count * k_count).reshape(
            a_count, k_count)
    totals = counts.sum(axis=2, keepdims=True)
    # a row with no weight: this annotator never rated an item believed to be k: no information
    confusion = np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0), 1.0 / max(k_count, 1))
    return priors, confusion


def _e_step(obs: _Observations, priors: Any, confusion: Any, floor: float) -> tuple[Any, float]:
    import numpy as np

    log_priors = np.log(np.maximum(priors, floor))
    log_conf = np.log(np.maximum(confusion, floor))
    scores = np.empty((obs.items, obs.classes))
    for k in range(obs.classes):
        scores[:, k] = log_priors[k] + np.bincount(obs.item, weights=log_conf[obs.annotator, k, obs.label],
                                                   minlength=obs.items)
    top = scores.max(axis=1, keepdims=True) if obs.items else np.zeros((0, 1))
    weights = np.exp(scores - top)
    total = weights.sum(axis=1, keepdims=True)
    log_likelihood = float((top[:, 0] + np.log(total[:, 0])).sum())
    return weights / total, log_likelihood
