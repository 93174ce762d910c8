"""Inter-annotator agreement on spans: strict and lenient precision, recall and F per pair of annotators.

Pure functions in plain Python (no I/O, no numpy).

Input
=====

``annotations`` maps ``(item, annotator)`` to that annotator's spans on that item, each
``(start, end, label)`` or a Prodigy span dict (``{"start", "end", "label"}``). A key with an empty list
means "annotated, no span"; an absent key means "not annotated". Only items that two or more annotators
annotated count (see :mod:`.agreement`).

Spans
=====

For each pair of annotators ``(A, B)`` (sorted names, ``A`` the reference) over the items both annotated:

* **strict**: a span of B matches one of A with the same start, end and label;
* **lenient**: a span of B matches one of A that overlaps it (``[start, end)`` intervals share a
  character; equal empty spans overlap) and has the same label. Matching is one-to-one (a maximum
  matching): one long span does not count for two short ones.

``tp`` is the number of matched spans; ``precision = tp / |B|``, ``recall = tp / |A|``,
``f = 2 tp / (|A| + |B|)``, symmetric in A and B. Counts are summed over items (micro average), per pair,
per label and over all pairs. With no span on either side, precision, recall and F are ``None``.

The ``confusion`` matrix (rows A's label, columns B's label, :data:`MISSING` for no counterpart) counts
matched spans on the diagonal, spans with the same boundaries (strict) or an overlap (lenient) but a
different label off it, and spans with no counterpart in the ``MISSING`` row or column. Row sums are A's
spans, column sums B's.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from typing import Any, Callable, Hashable, Iterable, Mapping

from .agreement import ordered, sort_repr

Span = tuple[int, int, Hashable]

MISSING = "(missing)"
"""The row/column of the span confusion matrix for a span with no counterpart."""

__all__ = ["MISSING", "span_agreement"]


# -- spans -------------------------------------------------------------------------------------------

def _span(span: Any) -> tuple[int, int, Any]:
    if isinstance(span, Mapping):
        return int(span["start"]), int(span["end"]), span.get("label")
    start, end, label = span
    return int(start), int(end), label


def _overlap(a: tuple[int, int, Any], b: tuple[int, int, Any]) -> int:
    """Characters shared by two half-open spans; -1 if they do not overlap (0 for equal empty spans)."""
    shared = min(a[1], b[1]) - max(a[0], b[0])
    if shared > 0:
        return shared
    return 0 if (a[0] == b[0] and a[1] == b[1]) else -1


def _max_matching(adjacency: list[list[int]], right: int) -> list[int]:
    """A maximum bipartite matching (augmenting paths, iterative); ``match[left] = right or -1``."""
    match_left = [-1] * len(adjacency)
    match_right = [-1] * right
    for start in range(len(adjacency)):
        if not adjacency[start]:
            continue
        seen = [False] * right
        parent: dict[int, int] = {}
        stack = [(start, iter(adjacency[start]))]
        found = -1
        while stack and found < 0:
            node, neighbours = stack[-1]
            for v in neighbours:
                if seen[v]:
                    continue
                seen[v] = True
                parent[v] = node
                if match_right[v] < 0:
                    found = v
                else:
                    stack.append((match_right[v], iter(adjacency[match_right[v]])))
                break
            else:
                stack.pop()
        v = found
        while v >= 0:
            node = parent[v]
            previous = match_left[node]
            match_left[node] = v
            match_right[v] = node
            v = previous
    return match_left


def _bounds(span: tuple[int, int, Any]) -> tuple[int, int]:
    return span[0], span[1]


def _match(a: list[Any], b: list[Any], same_label: bool,
           fit: Callable[[Any, Any], int] = _overlap,
           order: Callable[[Any], tuple[Any, ...]] = _bounds) -> list[tuple[int, int]]:
    """A maximum one-to-one matching of ``a`` to ``b`` (index pairs): ``fit`` scores a candidate (-1: no
    match; spans: the characters shared), the same label required when ``same_label``; each one's
    candidates are tried best score first, then by ``order`` (spans: leftmost first), then in ``b``'s
    order. :mod:`.relations` matches its relations with its own ``fit``."""
    adjacency = []
    for x in a:
        neighbours = []
        for j, y in enumerate(b):
            if same_label and x[2] != y[2]:
                continue
            score = fit(x, y)
            if score >= 0:
                neighbours.append(((-score, *order(y)), j))
        adjacency.append([j for _, j in sorted(neighbours, key=lambda t: t[0])])
    match = _max_matching(adjacency, len(b))
    return [(i, j) for i, j in enumerate(match) if j >= 0]


class _Tally:
    def __init__(self) -> None:
        self.tp = 0
        self.a = 0
        self.b = 0

    def add(self, tp: int, a: int, b: int) -> None:
        self.tp += tp
        self.a += a
        self.b += b

    def report(self, direction: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"tp": self.tp}
        if direction:
            out["precision"] = self.tp / self.b if self.b else None
            out["recall"] = self.tp / self.a if self.a else None
        out["f"] = 2 * self.tp / (self.a + self.b) if self.a + self.b else None
        return out


def _confusion_add(matrix: dict[Any, Counter], row: Any, col: Any, count: int = 1) -> None:
    matrix.setdefault(row, Counter())[col] += count


Match = Callable[[list[Any], list[Any], bool], list[tuple[int, int]]]


def _item_pair(a: list[Any], b: list[Any], tallies: dict[str, dict[Any, _Tally]],
               confusion: dict[str, dict[Any, Counter]], match: Match = _match, missing: Any = MISSING) -> None:
    """Tally one item's ``a`` and ``b`` (in a fixed order; each ``(end, end, label)``: a span's start and end,
    or :mod:`.relations`' head and child spans) into ``tallies`` and ``confusion`` (per mode, per label):
    strict on equal ends, lenient by ``match``; ``missing`` is the no-counterpart row/column."""
    ca = Counter(x[2] for x in a)
    cb = Counter(y[2] for y in b)
    # strict: same ends, same label; leftovers at the same ends are label confusions
    by_ends: dict[tuple[Any, Any], tuple[list, list]] = {}
    for x in a:
        by_ends.setdefault((x[0], x[1]), ([], []))[0].append(x[2])
    for y in b:
        by_ends.setdefault((y[0], y[1]), ([], []))[1].append(y[2])
    tp_strict: Counter = Counter()
    for la, lb in by_ends.values():
        ma, mb = Counter(la), Counter(lb)
        both = ma & mb
        tp_strict.update(both)
        for label, c in both.items():
            _confusion_add(confusion["strict"], label, label, c)
        rest_a = ordered((ma - both).elements())
        rest_b = ordered((mb - both).elements())
        for k in range(max(len(rest_a), len(rest_b))):
            _confusion_add(confusion["strict"], rest_a[k] if k < len(rest_a) else missing,
                           rest_b[k] if k < len(rest_b) else missing)
    # lenient: one-to-one overlap with the same label, then with another label (for the confusion only)
    pairs = match(a, b, True)
    tp_lenient = Counter(a[i][2] for i, _ in pairs)
    for label, c in tp_lenient.items():
        _confusion_add(confusion["lenient"], label, label, c)
    done_a = {i for i, _ in pairs}
    done_b = {j for _, j in pairs}
    rest_a_ids = [i for i in range(len(a)) if i not in done_a]
    rest_b_ids = [j for j in range(len(b)) if j not in done_b]
    crossed = match([a[i] for i in rest_a_ids], [b[j] for j in rest_b_ids], False)
    for i, j in crossed:
        _confusion_add(confusion["lenient"], a[rest_a_ids[i]][2], b[rest_b_ids[j]][2])
    crossed_a = {rest_a_ids[i] for i, _ in crossed}
    crossed_b = {rest_b_ids[j] for _, j in crossed}
    for i in rest_a_ids:
        if i not in crossed_a:
            _confusion_add(confusion["lenient"], a[i][2], missing)
    for j in rest_b_ids:
        if j not in crossed_b:
            _confusion_add(confusion["lenient"], missing, b[j][2])
    for label in set(ca) | set(cb):
        tallies["strict"].setdefault(label, _Tally()).add(tp_strict[label], ca[label], cb[label])
        tallies["lenient"].setdefault(label, _Tally()).add(tp_lenient[label], ca[label], cb[label])


def _span_key(span: tuple[int, int, Any]) -> tuple[int, int, str]:
    return span[0], span[1], sort_repr(span[2])


def _matrix(confusion: dict[Any, Counter], labels: list[Any], missing: Any = MISSING) -> dict[Any, dict[Any, int]]:
    axis = labels + [missing]
    return {row: {col: confusion.get(row, Counter()).get(col, 0) for col in axis} for row in axis}


def _pair_states(by_item: Mapping[Hashable, Mapping[Hashable, list[Any]]], annotators: list[Any],
                 match: Match = _match, missing: Any = MISSING) -> tuple[dict[tuple[Any, Any], dict[str, Any]], int]:
    """Per pair of annotators (``annotators`` in order, the first the reference), the items both annotated and the
    :func:`_item_pair` tallies and confusions summed over them; and how many items two or more annotated."""
    rank = {who: i for i, who in enumerate(annotators)}
    states: dict[tuple[Any, Any], dict[str, Any]] = {}
    compared = 0
    for answers in by_item.values():
        if len(answers) < 2:
            continue
        compared += 1
        for a, b in combinations(sorted(answers, key=rank.__getitem__), 2):
            state = states.get((a, b))
            if state is None:
                state = states[(a, b)] = {"items": 0, "tallies": {"strict": {}, "lenient": {}},
                                          "confusion": {"strict": {}, "lenient": {}}}
            state["items"] += 1
            _item_pair(answers[a], answers[b], state["tallies"], state["confusion"], match, missing)
    return states, compared


def _pair_rows(states: dict[tuple[Any, Any], dict[str, Any]], annotators: list[Any], labels: list[Any], unit: str,
               missing: Any = MISSING) -> tuple[list[dict[str, Any]], dict[str, dict[Any, Counter]]]:
    """The report's row of each pair of :func:`_pair_states` (counts named ``a_{unit}``, ``b_{unit}``), and the
    confusions summed over the pairs."""
    rows = []
    total_confusion: dict[str, dict[Any, Counter]] = {"strict": {}, "lenient": {}}
    for a, b in combinations(annotators, 2):
        state = states.get((a, b))
        if state is None:
            continue
        row: dict[str, Any] = {"a": a, "b": b, "items": state["items"]}
        by_label: dict[Any, dict[str, Any]] = {}
        for mode in ("strict", "lenient"):
            overall = _Tally()
            for label, tally in state["tallies"][mode].items():
                overall.add(tally.tp, tally.a, tally.b)
                entry = by_label.setdefault(label, {f"a_{unit}": tally.a, f"b_{unit}": tally.b})
                entry[mode] = tally.report()
            row[f"a_{unit}"], row[f"b_{unit}"] = overall.a, overall.b
            row[mode] = overall.report()
            for r, cols in state["confusion"][mode].items():
                total_confusion[mode].setdefault(r, Counter()).update(cols)
        row["by_label"] = {label: by_label[label] for label in labels if label in by_label}
        row["confusion"] = {mode: _matrix(state["confusion"][mode], labels, missing) for mode in ("strict", "lenient")}
        rows.append(row)
    return rows, total_confusion


def span_agreement(annotations: Mapping[tuple[Hashable, Hashable], Iterable[Any]]) -> dict[str, Any]:
    """Strict and lenient span F-scores per annotator pair, per label and overall, with label confusion
    matrices (see the module docstring). Returns JSON-ready data::

        {"items", "annotators", "items_compared", "items_single_annotator", "labels",
         "strict": {"tp", "f", "by_label": {label: {"tp", "f"}}}, "lenient": {...},
         "pairs": [{"a", "b", "items", "a_spans", "b_spans",
                    "strict": {"tp", "precision", "recall", "f"}, "lenient": {...},
                    "by_label": {label: {"a_spans", "b_spans", "strict": {...}, "lenient": {...}}},
                    "confusion": {"strict": matrix, "lenient": matrix}}],
         "confusion": {"strict": matrix, "lenient": matrix}}   # matrix[a_label][b_label] = spans
    """
    by_item: dict[Hashable, dict[Hashable, list[tuple[int, int, Any]]]] = {}
    for (item, annotator), spans in annotations.items():
        by_item.setdefault(item, {})[annotator] = sorted((_span(s) for s in spans), key=_span_key)
    annotators = ordered({a for answers in by_item.values() for a in answers})
    labels: set = set()
    for answers in by_item.values():
        for spans in answers.values():
            labels.update(s[2] for s in spans)
    label_list = ordered(labels)
    states, compared = _pair_states(by_item, annotators)
    pairs, total_confusion = _pair_rows(states, annotators, label_list, "spans")
    total: dict[str, dict[Any, _Tally]] = {"strict": {}, "lenient": {}}
    for state in states.values():
        for mode in ("strict", "lenient"):
            for label, tally in state["tallies"][mode].items():
                total[mode].setdefault(label, _Tally()).add(tally.tp, tally.a, tally.b)
    report: dict[str, Any] = {
        "items": len(by_item),
        "annotators": annotators,
        "items_compared": compared,
        "items_single_annotator": sum(1 for answers in by_item.values() if len(answers) == 1),
        "labels": label_list,
    }
    for mode in ("strict", "lenient"):
        overall = _Tally()
        for tally in total[mode].values():
            overall.add(tally.tp, tally.a, tally.b)
        report[mode] = {**overall.report(direction=False),
                        "by_label": {label: total[mode][label].report(direction=False)
                                     for label in label_list if label in total[mode]}}
    report["pairs"] = pairs
    report["confusion"] = {mode: _matrix(total_confusion[mode], label_list) for mode in ("strict", "lenient")}
    return report
