"""Inter-annotator agreement at the document level: kappas, alpha, AC1/AC2, and for multi-choice questions.

Pure functions in plain Python (no I/O, no numpy): 8,000 ratings take a few milliseconds.

Input
=====

Document level: ``ratings`` is an iterable of ``(item, annotator, label)`` triples. ``item`` and
``annotator`` are any hashables (an input hash and a session name, say); ``label`` is a hashable
(``"POS"``, ``"accept"``, ``3``). A missing answer is simply absent; a ``None`` (or NaN) label counts as
absent too. If the same annotator rates the same item twice, the last rating wins (as an answer replaced
after an undo); :func:`document_agreement` counts these ``duplicates``.

Which items count
=================

Agreement needs at least two annotators on an item. Items rated by a single annotator are counted
(``items_single_annotator``) and never compared; each coefficient then takes them as its own definition does:

* **observed agreement** (percent agreement, the ``p_a`` of Fleiss' kappa and of Gwet's AC1/AC2) is over the
  ``n'`` items with two or more ratings: a lone rating agrees or disagrees with nobody.
* **the chance term of Fleiss' kappa and Gwet's AC1/AC2** (the category prevalence ``pi_k``) is over all ``n``
  rated items, single-rated ones included: a lone rating still tells how often a category is chosen. This is
  Gwet's (2014) definition and irrCAC's computation; the categories (and AC1's ``q``) are likewise those used
  on any rated item.
* **Krippendorff's alpha** leaves them out altogether (unpairable values, Krippendorff's definition, as the
  ``krippendorff`` package and irrCAC compute it), and **Cohen's kappa** takes the items both annotators rated.

With no single-rated item every figure is the textbook one on the whole table. With some, Fleiss' kappa and AC1
are not their value on the table restricted to the compared items: on Krippendorff's (2011) example of 4
annotators and 12 items, one of them rated once, AC1 is 0.775444 (0.775152 without that rating) and Fleiss'
kappa 0.761169 (0.762483).

Coefficients
============

With ``r_i`` annotators on item ``i`` and ``r_ik`` of them choosing category ``k``, ``n`` rated items and the
``n'`` of them with ``r_i >= 2``:

* **percent agreement** ``p_a``: the share of agreeing annotator pairs on an item, averaged over the ``n'``
  items, ``(1/n') sum_i sum_k r_ik (r_ik - 1) / (r_i (r_i - 1))``. With two annotators: the share of items they
  agree on.
* **Cohen's kappa** (exactly two annotators; :func:`cohens_kappa` raises :class:`ValueError` with more,
  returns ``None`` with fewer): on the items both rated, ``(p_o - p_e) / (1 - p_e)`` with ``p_e`` from each
  annotator's own marginals. Equal to ``sklearn.metrics.cohen_kappa_score``. Optional linear or quadratic
  weights (equal to sklearn's when the categories are consecutive integers or ordered names).
* **Fleiss' kappa**: ``p_a`` as above, ``p_e = sum_k pi_k^2`` with ``pi_k = (1/n) sum_i r_ik / r_i`` over all
  ``n`` rated items. Fleiss (1971) assumes the same number of raters per item; when it varies we use this
  generalisation (Gwet 2014, the ``irrCAC`` package), which is exactly Fleiss' formula (and ``statsmodels``'
  ``fleiss_kappa``) when it does not. We do not refuse varying numbers: crowds and partial overlaps are the
  normal case. Equal to ``irrCAC``.
* **Krippendorff's alpha**: ``1 - D_o / D_e`` from the coincidence matrix of pairable values, at the
  ``nominal``, ``ordinal``, ``interval`` or ``ratio`` level, or with a distance of your own (``"masi"`` and
  ``"jaccard"`` for sets of labels). Equal to the ``krippendorff`` package.
* **Gwet's AC1**: ``p_a`` as above, ``p_e = sum_k pi_k (1 - pi_k) / (q - 1)`` with ``pi_k`` as for Fleiss, ``q``
  the number of categories (those used, or ``categories=`` when the label set is known: an unused category
  changes AC1).
  **AC2** is the weighted form: ``p_a`` counts partial credit ``w_kl`` between categories and
  ``p_e = T_w sum_k pi_k (1 - pi_k) / (q (q - 1))`` with ``T_w`` the sum of the weights. Weights:
  ``identity`` (AC2 = AC1), ``linear``, ``quadratic``, ``ordinal``, ``radical``, ``ratio``, ``circular``,
  ``bipolar`` (as defined by Gwet and irrCAC) or a ``q x q`` matrix. Weighted figures need the categories'
  order: numbers are used by value; other labels need ``categories=[...]`` in order (never guessed from
  the alphabet). Equal to ``irrCAC``.

Degenerate cases (never a ZeroDivisionError)
============================================

A figure that is undefined is ``None`` (JSON ``null``), and :func:`document_agreement` says why in
``notes``:

* **no item with two or more annotators** (one annotator only, or annotators who never overlap): every
  figure is ``None``.
* **a single category used** (everyone always said ``POS``): the expected agreement is 1 and kappa and
  alpha are ``0/0``: Cohen's and Fleiss' kappa and Krippendorff's alpha are ``None`` (scikit-learn and
  statsmodels give NaN, the krippendorff package raises). Percent agreement is 1.0, and Gwet's AC1/AC2 are
  1.0, as irrCAC gives: AC1's chance term is 0 when one category takes all ratings. If the compared items
  all have one category and another appears only on single-rated items, Cohen's kappa and alpha are still
  ``None``, and Fleiss' kappa and AC1 are 1.0 (``p_a = 1`` and a chance term below 1), as in irrCAC.

Multi-choice questions (several labels per answer)
==================================================

An answer that is a ``frozenset``, ``set`` or ``list`` of labels makes the question multi-choice (with
``multi_label=True`` a ``tuple`` is a set too, and a single label a set of one); an empty set is a real
answer ("none of them apply").
:func:`document_agreement` then reports what a reviewer of a multi-label guideline needs:

* ``per_label``: each label as its own yes/no question (does this annotator's answer include the label?),
  with every coefficient above. This is where disagreement is found and acted on.
* ``macro``: the mean of the per-label figures (labels whose figure is ``None`` left out).
* ``exact``: the whole set as one category (percent agreement = identical answers; kappa, alpha and AC1 on
  sets as categories). Strict: one label apart is a full disagreement.
* ``jaccard`` (mean pairwise ``|A & B| / |A | B|``, averaged like ``p_a``), ``masi`` (mean pairwise MASI
  similarity, Passonneau 2006) and ``krippendorff_alpha_masi`` (alpha with the MASI distance, as NLTK
  computes it): partial credit for overlapping sets. Two empty sets agree fully.

Span-level agreement (strict and lenient F-scores) is in :mod:`.spans`.
"""


from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Callable, Hashable, Iterable, Sequence

Rating = tuple[Hashable, Hashable, Any]

LEVELS = ("nominal", "ordinal", "interval", "ratio")
WEIGHTS = ("identity", "linear", "quadratic", "ordinal", "radical", "ratio", "circular", "bipolar")

__all__ = [
    "LEVELS", "WEIGHTS", "cohens_kappa", "document_agreement", "fleiss_kappa", "gwet_ac1",
    "gwet_ac2", "jaccard_distance", "krippendorff_alpha", "masi_distance", "pairwise_agreement",
    "percent_agreement", "weight_matrix",
]


# -- input -------------------------------------------------------------------------------------------

def _missing(label: Any) -> bool:
    return label is None or (isinstance(label, float) and label != label)


def _as_set(label: Any) -> frozenset:
    if isinstance(label, frozenset):
        return label
    if isinstance(label, (set, list, tuple)):
        return frozenset(label)
    return frozenset((label,))


@dataclass
class RatingTable:
    """Ratings grouped by item: ``items[item][annotator] = label`` (the last rating wins)."""

    items: dict[Hashable, dict[Hashable, Any]] = field(default_factory=dict)
    duplicates: int = 0
    ratings: int = 0

    @classmethod
    def build(cls, ratings: "Iterable[Rating] | RatingTable", *, multi_label: bool = False) -> "RatingTable":
        if isinstance(ratings, RatingTable):
            if not multi_label:
                return ratings
            ratings = ratings.triples()
        table = cls()
        items = table.items
        for row in ratings:
            try:
                item, annotator, label = row
            except (TypeError, ValueError):
                raise ValueError(f"a rating is (item, annotator, label), not {row!r}") from None
            if _missing(label):
                continue
            if multi_label:
                label = _as_set(label)
            answers = items.get(item)
            if answers is None:
                answers = items[item] = {}
            elif annotator in answers:
                table.duplicates += 1
                table.ratings -= 1
            answers[annotator] = label
            table.ratings += 1
        return table

    def triples(self) -> Iterable[Rating]:
        for item, answers in self.items.items():
            for annotator, label in answers.items():
                yield item, annotator, label

    @property
    def annotators(self) -> list[Hashable]:
        return ordered({a for answers in self.items.values() for a in answers})

    def compared(self) -> list[dict[Hashable, Any]]:
        """The answers of the items with two or more annotators."""
        return [answers for answers in self.items.values() if len(answers) >= 2]

    @property
    def single(self) -> int:
        return sum(1 for answers in self.items.values() if len(answers) == 1)


def ordered(values: Iterable[Any]) -> list[Any]:
    values = list(values)
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=lambda v: (type(v).__name__, sort_repr(v)))


def sort_repr(value: Any) -> str:
    if isinstance(value, frozenset):
        return repr(ordered(value))
    return repr(value)


def _counts(compared: list[dict[Hashable, Any]]) -> list[tuple[int, Counter]]:
    return [(len(answers), Counter(answers.values())) for answers in compared]


def _rated_and_compared(ratings: "Iterable[Rating] | RatingTable"
                        ) -> tuple[list[tuple[int, Counter]], list[tuple[int, Counter]]]:
    """The counts of every rated item (for the chance term) and of those with 2+ ratings (observed agreement)."""
    rated = _counts(list(RatingTable.build(ratings).items.values()))
    return rated, [(r, cnt) for r, cnt in rated if r >= 2]


def _categories(counts: list[tuple[int, Counter]], categories: Sequence[Any] | None) -> list[Any]:
    used: set[Any] = set()
    for _, c in counts:
        used.update(c)
    if categories is None:
        return ordered(used)
    cats = list(dict.fromkeys(categories))
    unknown = used.difference(cats)
    if unknown:
        raise ValueError(f"labels not in categories: {', '.join(map(repr, ordered(unknown)))}")
    return cats


# -- weights -----------------------------------------------------------------------------------------

def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def weight_matrix(categories: Sequence[Any], weights: "str | Sequence[Sequence[float]]" = "identity"
                  ) -> list[list[float]]:
    """Agreement weights ``w[k][l]`` (1 on the diagonal) between ``categories``, as defined by Gwet
    (2014) and irrCAC. Numeric categories are placed by value, others by their position in the list."""
    q = len(categories)
    if not isinstance(weights, str):
        matrix = [[float(w) for w in row] for row in weights]
        if len(matrix) != q or any(len(row) != q for row in matrix):
            raise ValueError(f"a weight matrix for {q} categories must be {q} x {q}")
        return matrix
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHTS)} or a matrix, not {weights!r}")
    if weights == "identity" or q < 2:
        return [[1.0 if k == el else 0.0 for el in range(q)] for k in range(q)]
    x = [float(c) for c in categories] if all(_is_number(c) for c in categories) else \
        [float(i) for i in range(1, q + 1)]
    lo, hi = min(x), max(x)
    span = hi - lo
    if weights == "linear":
        return [[1 - abs(a - b) / span for b in x] for a in x]
    if weights == "quadratic":
        return [[1 - ((a - b) / span) ** 2 for b in x] for a in x]
    if weights == "radical":
        return [[1 - math.sqrt(abs(a - b)) / math.sqrt(span) for b in x] for a in x]
    if weights == "ratio":
        if lo <= 0:
            raise ValueError("ratio weights need positive categories")
        scale = (span / (hi + lo)) ** 2
        return [[1 - ((a - b) / (a + b)) ** 2 / scale for b in x] for a in x]
    if weights == "ordinal":
        raw = [[(abs(k - el) + 1) * abs(k - el) / 2 for el in range(q)] for k in range(q)]
    elif weights == "circular":
        u = span + 1
        raw = [[math.sin(math.pi * (a - b) / u) ** 2 for b in x] for a in x]
    else:  # bipolar
        raw = [[0.0 if k == el else (x[k] - x[el]) ** 2 / ((x[k] + x[el] - 2 * lo) * (2 * hi - x[k] - x[el]))
                for el in range(q)] for k in range(q)]
    top = max(max(row) for row in raw)
    return [[1 - v / top for v in row] for row in raw]


def _weighted_categories(counts: list[tuple[int, Counter]], categories: Sequence[Any] | None,
                         weights: "str | Sequence[Sequence[float]]") -> list[Any]:
    cats = _categories(counts, categories)
    if weights == "identity" or len(cats) < 2:
        return cats
    if all(_is_number(c) for c in cats):
        return cats if categories is not None and not isinstance(weights, str) else sorted(cats)
    if categories is None:
        raise ValueError("weighted agreement needs the categories in order: pass categories=[...] "
                         "(labels that are not numbers are never ordered alphabetically)")
    return cats


# -- document level ----------------------------------------------------------------------------------

def _pa(counts: list[tuple[int, Counter]]) -> float | None:
    if not counts:
        return None
    return math.fsum(sum(c * (c - 1) for c in cnt.values()) / (r * (r - 1)) for r, cnt in counts) / len(counts)


def _prevalence(counts: list[tuple[int, Counter]], cats: list[Any]) -> list[float]:
    """``pi_k = (1/n) sum_i r_ik / r_i`` over ``counts``: every rated item (Gwet 2014, irrCAC)."""
    n = len(counts)
    sums = dict.fromkeys(cats, 0.0)
    for r, cnt in counts:
        for k, c in cnt.items():
            sums[k] += c / r
    return [sums[k] / n for k in cats]


def percent_agreement(ratings: "Iterable[Rating] | RatingTable") -> float | None:
    """The share of agreeing annotator pairs per item, averaged over the items with 2+ annotators."""
    return _pa(_counts(RatingTable.build(ratings).compared()))


def fleiss_kappa(ratings: "Iterable[Rating] | RatingTable") -> float | None:
    """Fleiss' kappa, generalised to a varying number of annotators per item: observed agreement on the items
    with 2+ annotators, chance agreement from every rated item (module docstring)."""
    rated, counts = _rated_and_compared(ratings)
    cats = _categories(rated, None)
    if not counts or len(cats) < 2:
        return None
    pa = _pa(counts)
    assert pa is not None  # counts is not empty
    pe = math.fsum(p * p for p in _prevalence(rated, cats))
    return (pa - pe) / (1 - pe)


def gwet_ac2(ratings: "Iterable[Rating] | RatingTable", weights: "str | Sequence[Sequence[float]]" = "linear",
             categories: Sequence[Any] | None = None) -> float | None:
    """Gwet's AC2 with ``weights`` (``identity`` gives AC1). ``categories``: every possible label, in order
    (needed for weights unless the labels are numbers; an unused category changes the figure). Observed
    agreement on the items with 2+ annotators, chance agreement from every rated item (module docstring)."""
    rated, counts = _rated_and_compared(ratings)
    if not counts:
        return None
    cats = _weighted_categories(rated, categories, weights)
    q = len(cats)
    w = weight_matrix(cats, weights)
    index = {k: i for i, k in enumerate(cats)}
    total = 0.0
    for r, cnt in counts:
        present = [(index[k], c) for k, c in cnt.items()]
        s = 0.0
        for i, c in present:
            row = w[i]
            s += c * (math.fsum(row[j] * d for j, d in present) - 1)
        total += s / (r * (r - 1))
    pa = total / len(counts)
    if q < 2:
        return 1.0  # one category: irrCAC's convention (chance agreement taken as 1 - 1e-15)
    pi = _prevalence(rated, cats)
    tw = math.fsum(math.fsum(row) for row in w)
    pe = tw * math.fsum(p * (1 - p) for p in pi) / (q * (q - 1))
    if pe >= 1:
        return None
    return (pa - pe) / (1 - pe)


def gwet_ac1(ratings: "Iterable[Rating] | RatingTable", categories: Sequence[Any] | None = None) -> float | None:
    """Gwet's AC1 (``categories``: every possible label, if some were never used)."""
    return gwet_ac2(ratings, "identity", categories)


def cohens_kappa(ratings: "Iterable[Rating] | RatingTable", annotators: tuple[Hashable, Hashable] | None = None,
                 *, weights: "str | Sequence[Sequence[float]] | None" = None,
                 categories: Sequence[Any] | None = None) -> float | None:
    """Cohen's kappa of two annotators over the items both rated.

    Without ``annotators`` the ratings must come from exactly two annotators (:class:`ValueError` with
    more: use :func:`fleiss_kappa` or :func:`pairwise_agreement`; ``None`` with fewer). ``weights``:
    ``None`` (unweighted), ``"linear"``, ``"quadratic"`` or any of :data:`WEIGHTS`, with ``categories`` in
    order for labels that are not numbers.
    """
    table = RatingTable.build(ratings)
    if annotators is None:
        names = table.annotators
        if len(names) > 2:
            raise ValueError(f"Cohen's kappa is for two annotators, these ratings have {len(names)}: "
                             "use Fleiss' kappa, Krippendorff's alpha or the pairwise table")
        if len(names) < 2:
            return None
        annotators = (names[0], names[1])
    a, b = annotators
    pairs = [(ans[a], ans[b]) for ans in table.items.values() if a in ans and b in ans]
    return _cohen(pairs, weights, categories)


def _cohen(pairs: list[tuple[Any, Any]], weights: Any = None, categories: Sequence[Any] | None = None
           ) -> float | None:
    if not pairs:
        return None
    counts = [(2, Counter(p)) for p in pairs]
    if weights is None:
        weights = "identity"
    cats = _weighted_categories(counts, categories, weights)
    used = {v for p in pairs for v in p}
    if len(used) < 2:
        return None  # one category: expected agreement 1, kappa 0/0
    w = weight_matrix(cats, weights)
    index = {k: i for i, k in enumerate(cats)}
    n = len(pairs)
    table = Counter((index[x], index[y]) for x, y in pairs)
    po = math.fsum(w[i][j] * c for (i, j), c in table.items()) / n
    ma = Counter(index[x] for x, _ in pairs)
    mb = Counter(index[y] for _, y in pairs)
    pe = math.fsum(w[i][j] * ca * cb for i, ca in ma.items() for j, cb in mb.items()) / (n * n)
    if pe >= 1:
        return None
    return (po - pe) / (1 - pe)


# Krippendorff ------------------------------------------------------------------------------------------

def masi_distance(a: Any, b: Any) -> float:
    """MASI distance (Passonneau 2006) between two sets of labels: ``1 - jaccard * monotonicity``
    (monotonicity 1 if equal, 2/3 if one contains the other, 1/3 if they overlap, else 0). Two empty
    sets: 0."""
    a, b = _as_set(a), _as_set(b)
    if a == b:
        return 0.0
    inter = len(a & b)
    if inter == 0:
        return 1.0
    m = 2 / 3 if (a <= b or b <= a) else 1 / 3
    return 1.0 - inter / len(a | b) * m


def jaccard_distance(a: Any, b: Any) -> float:
    """``1 - |a & b| / |a | b|`` between two sets of labels; two empty sets: 0."""
    a, b = _as_set(a), _as_set(b)
    union = len(a | b)
    return 0.0 if union == 0 else 1.0 - len(a & b) / union


_DISTANCES: dict[str, Callable[[Any, Any], float]] = {"masi": masi_distance, "jaccard": jaccard_distance}


def krippendorff_alpha(ratings: "Iterable[Rating] | RatingTable",
                       level: "str | Callable[[Any, Any], float]" = "nominal",
                       categories: Sequence[Any] | None = None) -> float | None:
    """Krippendorff's alpha at ``level``: ``nominal``, ``ordinal`` (numbers by value, other labels in the
    order of ``categories``), ``interval`` and ``ratio`` (numbers), ``masi`` or ``jaccard`` (sets of
    labels), or a distance function ``delta(a, b)`` (already squared where the level squares)."""
    counts = _counts(RatingTable.build(ratings).compared())
    if not counts:
        return None
    if callable(level) or level in _DISTANCES:
        distance = _DISTANCES[level] if isinstance(level, str) else level
        values = _categories(counts, categories)
    elif level in LEVELS:
        values = _categories(counts, categories)
        distance = None
        if level != "nominal":
            numeric = all(_is_number(v) for v in values)
            if level in ("interval", "ratio") and not numeric:
                raise ValueError(f"{level} alpha needs numbers as labels")
            if level == "ordinal" and not numeric and categories is None:
                raise ValueError("ordinal alpha needs the categories in order: pass categories=[...]")
            if numeric and (categories is None or level != "ordinal"):
                values = sorted(values)
    else:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, masi, jaccard or a function, not {level!r}")
    index = {v: i for i, v in enumerate(values)}
    v_count = len(values)
    # coincidences o[c][k]
    o = [[0.0] * v_count for _ in range(v_count)]
    for m, cnt in counts:
        present = [(index[k], c) for k, c in cnt.items()]
        for i, ci in present:
            row = o[i]
            for j, cj in present:
                row[j] += (ci * (ci - 1) if i == j else ci * cj) / (m - 1)
    n_c = [math.fsum(row) for row in o]
    n = math.fsum(n_c)
    if distance is not None:
        delta = [[distance(a, b) for b in values] for a in values]
    elif level == "nominal":
        delta = [[0.0 if i == j else 1.0 for j in range(v_count)] for i in range(v_count)]
    elif level == "ordinal":
        cumulative = [0.0]
        for c in n_c:
            cumulative.append(cumulative[-1] + c)
        delta = [[(cumulative[max(i, j) + 1] - cumulative[min(i, j)] - (n_c[i] + n_c[j]) / 2) ** 2
                  for j in range(v_count)] for i in range(v_count)]
    elif level == "interval":
        delta = [[(float(a) - float(b)) ** 2 for b in values] for a in values]
    else:  # ratio
        delta = [[0.0 if a + b == 0 else ((float(a) - float(b)) / (float(a) + float(b))) ** 2 for b in values]
                 for a in values]
    observed = math.fsum(o[i][j] * delta[i][j] for i in range(v_count) for j in range(v_count) if o[i][j])
    expected = math.fsum(n_c[i] * n_c[j] * delta[i][j] for i in range(v_count) for j in range(v_count)
                         if i != j or delta[i][j])
    if expected <= 0:
        return None  # no variation: alpha is 0/0
    return 1.0 - (n - 1) * observed / expected


# -- everything at once ------------------------------------------------------------------------------

def pairwise_agreement(ratings: "Iterable[Rating] | RatingTable") -> list[dict[str, Any]]:
    """Per pair of annotators (sorted) with at least one item in common: ``{"a", "b", "items",
    "percent_agreement", "cohens_kappa"}`` on those items (a crowd's pairs that never met are not listed)."""
    table = RatingTable.build(ratings)
    common: dict[tuple[Hashable, Hashable], list[tuple[Any, Any]]] = {}
    annotators = table.annotators
    rank = {a: i for i, a in enumerate(annotators)}
    for answers in table.items.values():
        if len(answers) < 2:
            continue
        names = sorted(answers, key=rank.__getitem__)
        for a, b in combinations(names, 2):
            common.setdefault((a, b), []).append((answers[a], answers[b]))
    rows = []
    for a, b in combinations(annotators, 2):
        pairs = common.get((a, b))
        if not pairs:
            continue
        rows.append({
            "a": a, "b": b, "items": len(pairs),
            "percent_agreement": sum(x == y for x, y in pairs) / len(pairs),
            "cohens_kappa": _cohen(pairs),
        })
    return rows


def _figures(table: RatingTable, categories: Sequence[Any] | None = None) -> dict[str, Any]:
    counts = _counts(table.compared())
    two = len(table.annotators) == 2
    return {
        "percent_agreement": _pa(counts),
        "cohens_kappa": cohens_kappa(table) if two else None,
        "fleiss_kappa": fleiss_kappa(table),
        "krippendorff_alpha": krippendorff_alpha(table),
        "gwet_ac1": gwet_ac1(table, categories),
    }


def _pairwise_similarity(compared: list[dict[Hashable, Any]], distance: Callable[[Any, Any], float]
                         ) -> float | None:
    if not compared:
        return None
    total = 0.0
    for answers in compared:
        values = list(answers.values())
        sims = [1.0 - distance(x, y) for x, y in combinations(values, 2)]
        total += math.fsum(sims) / len(sims)
    return total / len(compared)


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return math.fsum(kept) / len(kept) if kept else None


def document_agreement(ratings: "Iterable[Rating] | RatingTable", *, categories: Sequence[Any] | None = None,
                       weights: "str | Sequence[Sequence[float]] | None" = None, level: str | None = None,
                       multi_label: bool | None = None) -> dict[str, Any]:
    """Every document-level figure and the counts behind them, as JSON-ready data.

    Keys: ``ratings``, ``items``, ``annotators`` (names), ``items_compared`` (2+ annotators),
    ``items_single_annotator`` (never compared: only in the chance term of Fleiss' kappa and AC1/AC2, see the
    module docstring), ``items_unanimous``, ``duplicates``, ``categories`` (label ->
    ratings on compared items), ``percent_agreement``, ``cohens_kappa`` (two annotators only, else
    ``None``), ``fleiss_kappa``, ``krippendorff_alpha``, ``gwet_ac1``, ``pairs`` (see
    :func:`pairwise_agreement`), ``multi_label`` and ``notes`` (why a figure is ``None``). With ``weights``
    also ``gwet_ac2`` (and ``weights``); with ``level`` also ``krippendorff_alpha_<level>``.
    Multi-label answers add ``per_label``, ``macro``, ``exact``, ``jaccard``, ``masi``,
    ``krippendorff_alpha_masi``; the top-level figures are then the ``macro`` ones.
    """
    rows = ratings if isinstance(ratings, RatingTable) else list(ratings)
    if multi_label is None:
        triples = rows.triples() if isinstance(rows, RatingTable) else rows
        multi_label = any(isinstance(r[2], (set, frozenset, list)) for r in triples
                          if isinstance(r, (tuple, list)) and len(r) == 3)
    table = RatingTable.build(rows, multi_label=multi_label)
    compared = table.compared()
    annotators = table.annotators
    notes: list[str] = []
    used: Counter = Counter()
    for answers in compared:
        used.update(answers.values())
    report: dict[str, Any] = {
        "ratings": table.ratings,
        "items": len(table.items),
        "annotators": annotators,
        "items_compared": len(compared),
        "items_single_annotator": table.single,
        "items_unanimous": sum(1 for answers in compared if len(set(answers.values())) == 1),
        "duplicates": table.duplicates,
        "multi_label": multi_label,
    }
    if len(annotators) < 2:
        notes.append("fewer than two annotators: no agreement to measure")
    elif not compared:
        notes.append("no item has two or more annotators: no agreement to measure")
    if table.single and compared:
        notes.append(f"{table.single} item(s) with a single annotator: left out of the observed agreement and "
                     "alpha, counted in the chance term of Fleiss' kappa and AC1")
    elif table.single:
        notes.append(f"{table.single} item(s) with a single annotator left out")
    if len(annotators) > 2:
        notes.append("Cohen's kappa is for two annotators: see the pairs, Fleiss' kappa, Krippendorff's alpha")

    if not multi_label:
        report["categories"] = {k: used[k] for k in ordered(used)}
        report.update(_figures(table, categories))
        if compared and len(used) == 1:
            if len({label for answers in table.items.values() for label in answers.values()}) == 1:
                notes.append("a single category was used: kappa and alpha are undefined (0/0), AC1 is 1.0")
            else:
                notes.append("a single category on the items compared (others only on single-rated items): "
                             "Cohen's kappa and alpha are undefined (0/0), Fleiss' kappa and AC1 are 1.0")
        if weights is not None:
            report["weights"] = weights if isinstance(weights, str) else "custom"
            report["gwet_ac2"] = gwet_ac2(table, weights, categories)
        if level is not None and level != "nominal":
            report[f"krippendorff_alpha_{level}"] = krippendorff_alpha(table, level, categories)
        report["pairs"] = pairwise_agreement(table)
        report["notes"] = notes
        return report

    label_set = set().union(*used) if used else set()
    if categories is not None:
        label_set.update(categories)
    labels = ordered(label_set)
    per_label: dict[Any, dict[str, Any]] = {}
    for label in labels:
        binary = RatingTable(items={item: {a: label in s for a, s in answers.items()}
                                    for item, answers in table.items.items()})
        figures = _figures(binary, [False, True])
        per_label[label] = {"yes": sum(1 for answers in compared for s in answers.values() if label in s),
                            **figures, "pairs": pairwise_agreement(binary)}
    names = ("percent_agreement", "cohens_kappa", "fleiss_kappa", "krippendorff_alpha", "gwet_ac1")
    macro = {name: _mean(f[name] for f in per_label.values()) for name in names}
    report["labels"] = labels
    report["categories"] = {label: per_label[label]["yes"] for label in labels}
    report.update(macro)
    report["macro"] = macro
    report["exact"] = _figures(table)
    report["jaccard"] = _pairwise_similarity(compared, jaccard_distance)
    report["masi"] = _pairwise_similarity(compared, masi_distance)
    report["krippendorff_alpha_masi"] = krippendorff_alpha(table, "masi")
    report["per_label"] = per_label
    report["pairs"] = pairwise_agreement(table)
    if compared and any(f["fleiss_kappa"] is None or f["krippendorff_alpha"] is None for f in per_label.values()):
        notes.append("labels chosen by all or by none of the annotators have no kappa or alpha (0/0)")
    report["notes"] = notes
    return report
