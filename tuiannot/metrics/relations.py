"""Inter-annotator agreement on relations between spans (``tuiannot rel``): precision, recall and F per pair of
annotators on (head span, child span, label), strict and lenient, per relation label and overall, and a confusion
over the relation labels.

Pure functions in plain Python (no I/O, no numpy), the companion of :mod:`.spans`, whose matching, tallies per pair
of annotators and confusions they reuse (relations are matched as spans are, on two ends instead of one).

Input
=====

``annotations`` maps ``(item, annotator)`` to that annotator's relations on the item, each ``(head, child,
label)`` with ``head`` and ``child`` spans ``(start, end, entity label)`` or Prodigy span dicts, or a Prodigy
relation dict (``head_span``, ``child_span``, ``label``). A key with an empty list means "annotated, no
relation"; an absent key means "not annotated". Only items that two or more annotators annotated count (see
:mod:`.agreement`). The same relation given twice counts once.

Matching
========

For each pair of annotators ``(A, B)`` (sorted names, ``A`` the reference) over the items both annotated, a
relation of B matches one of A with the same relation label whose ends match its ends, head with head and child
with child (a relation the other way round is another relation):

* **strict**: each end is the same span: the same start, end and entity label (a strict span match of
  :mod:`.spans`);
* **lenient**: each end overlaps the other's (``[start, end)`` intervals share a character) and has the same
  entity label (a lenient span match of :mod:`.spans`). Matching is one-to-one over relations, a maximum
  matching (:mod:`.spans`'s, the candidates with the most shared characters first): two relations of B from
  two short spans inside one long span of A's relation do not both count for it. Every strict match is a
  lenient one, so lenient figures are never below strict ones.

``tp`` is the number of matched relations; ``precision = tp / |B|``, ``recall = tp / |A|``,
``f = 2 tp / (|A| + |B|)``, symmetric in A and B (precision and recall trade places). Counts are summed over the
items (micro average), per pair, per relation label and over all labels. With no relation on either side,
precision, recall and F are ``None``.

Over all pairs: the **mean over the pairs** of annotators of each pair's precision, recall and F, overall and per
relation label (over the pairs where the figure is defined: a pair where neither gave the label says nothing
about it), as ``progress`` averages an annotator's pairs.

Confusion
=========

``confusion`` (rows A's relation label, columns B's, :data:`NONE` for no relation) counts, for pairs of relations
whose ends match (strict: the same spans; lenient: overlapping, with the same entity labels), the label each
annotator gave: matched relations on the diagonal, two relations over matching ends with different labels off
it, and a relation over ends where the other annotator has no relation in the :data:`NONE` column (B's in the
:data:`NONE` row). Lenient pairs with different labels are matched one-to-one among the relations left unmatched,
as :mod:`.spans` does for its lenient confusion. Row sums are A's relations, column sums B's; per pair and summed
over the pairs.
"""

from __future__ import annotations

import statistics
from typing import Any, Hashable, Iterable, Mapping

from .agreement import ordered, sort_repr
from .spans import _match as _match_spans
from .spans import _matrix as _span_matrix
from .spans import _overlap, _pair_rows, _pair_states, _span

Span = tuple[int, int, Any]
Relation = tuple[Span, Span, Any]

NONE = "(none)"
"""The row/column of the relation confusion for "no relation there"."""
MODES = ("strict", "lenient")

__all__ = ["NONE", "relation_agreement"]


def _relation(relation: Any) -> Relation:
    if isinstance(relation, Mapping):
        return _span(relation["head_span"]), _span(relation["child_span"]), relation.get("label")
    head, child, label = relation
    return _span(head), _span(child), label


def _relation_key(relation: Relation) -> tuple[Any, ...]:
    head, child, label = relation
    return head[0], head[1], sort_repr(head[2]), child[0], child[1], sort_repr(child[2]), sort_repr(label)


def _relations(given: Iterable[Any]) -> list[Relation]:
    """The relations normalised, each once, in a fixed order (so that matching does not depend on the stored
    order)."""
    return sorted(set(map(_relation, given)), key=_relation_key)


def _fit(x: Relation, y: Relation) -> int:
    """Characters the two relations' ends share (head with head, child with child); -1 when an end does not
    overlap its counterpart or has another entity label."""
    total = 0
    for p, q in ((x[0], y[0]), (x[1], y[1])):
        if p[2] != q[2]:
            return -1
        shared = _overlap(p, q)
        if shared < 0:
            return -1
        total += shared
    return total


def _unordered(relation: Relation) -> tuple[()]:
    return ()


def _match(a: list[Relation], b: list[Relation], same_label: bool) -> list[tuple[int, int]]:
    """A maximum one-to-one matching of lenient matches (:mod:`.spans`'s, the best fitting candidates tried
    first)."""
    return _match_spans(a, b, same_label, fit=_fit, order=_unordered)


def _mean(values: Iterable[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return statistics.fmean(defined) if defined else None


def _means(figures: list[dict[str, Any]]) -> dict[str, float | None]:
    return {key: _mean(f.get(key) for f in figures) for key in ("precision", "recall", "f")}


def relation_agreement(annotations: Mapping[tuple[Any, Any], Iterable[Any]]) -> dict[str, Any]:
    """Strict and lenient relation precision, recall and F per annotator pair, per relation label and overall, their
    means over the pairs, and relation label confusions (see the module docstring). Returns JSON-ready data::

        {"items", "annotators", "items_compared", "items_single_annotator", "relations", "labels", "pairs_compared",
         "strict": {"precision", "recall", "f", "by_label": {label: {"precision", "recall", "f"}}},  # pair means
         "lenient": {...},
         "pairs": [{"a", "b", "items", "a_relations", "b_relations",
                    "strict": {"tp", "precision", "recall", "f"}, "lenient": {...},
                    "by_label": {label: {"a_relations", "b_relations", "strict": {...}, "lenient": {...}}},
                    "confusion": {"strict": matrix, "lenient": matrix}}],
         "confusion": {"strict": matrix, "lenient": matrix}}   # matrix[a_label][b_label] = relations
    """
    by_item: dict[Hashable, dict[Hashable, list[Relation]]] = {}
    for (item, who), given in annotations.items():
        by_item.setdefault(item, {})[who] = _relations(given)
    annotators = ordered({who for answers in by_item.values() for who in answers})
    labels = ordered({r[2] for answers in by_item.values() for given in answers.values() for r in given})
    states, compared = _pair_states(by_item, annotators, _match, NONE)
    pairs, total_confusion = _pair_rows(states, annotators, labels, "relations", NONE)
    report: dict[str, Any] = {
        "items": len(by_item),
        "annotators": annotators,
        "items_compared": compared,
        "items_single_annotator": sum(1 for answers in by_item.values() if len(answers) == 1),
        "relations": sum(len(given) for answers in by_item.values() for given in answers.values()),
        "labels": labels,
        "pairs_compared": len(pairs),
    }
    for mode in MODES:
        report[mode] = {**_means([p[mode] for p in pairs]),
                        "by_label": {label: _means([p["by_label"][label][mode] for p in pairs
                                                    if label in p["by_label"]]) for label in labels}}
    report["pairs"] = pairs
    report["confusion"] = {mode: _span_matrix(total_confusion[mode], labels, NONE) for mode in MODES}
    return report
