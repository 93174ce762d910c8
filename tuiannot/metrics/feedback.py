"""Agreement and aggregation on feedback answers (``tuiannot feedback``): per question, by the question's type.

Pure functions in plain Python (no I/O). One question's answers are ``(item, annotator, value)`` triples, as in
:mod:`.agreement` (``value`` as stored under the question's name in ``answers``; ``None`` is no answer, and
an annotator's last value on an item wins); the coefficients are :mod:`.agreement`'s and :mod:`.spans`'.

Agreement (:func:`question_agreement`)
======================================

* **rating** (:func:`rating_agreement`; whole numbers 1..scale): ``percent_agreement``, the share of
  annotator pairs on an item who gave the same rating (``p_a``, averaged over the items compared);
  Krippendorff's alpha at the ``ordinal`` and ``interval`` levels; Gwet's AC2 with quadratic weights over the
  whole scale (categories 1..scale: a rating nobody gave still counts in AC2's chance term, as with irrCAC's
  ``categories``); Cohen's kappa with quadratic weights, per pair of annotators on the items both rated, and
  ``cohens_kappa_quadratic``, its mean over the pairs that have one (two annotators: their kappa). ``means``
  (each annotator's mean rating) tells a lenient annotator from a strict one.
* **label** (:func:`label_agreement`): what :func:`.agreement.document_agreement` reports for any label
  question, with the question's labels as the categories. One label per answer is a nominal category (no
  label chosen: no answer); with ``multiple`` an answer is a set of labels (each label as a yes/no question,
  exact sets, Jaccard, MASI), and an empty set is the answer "none of them".
* **text** (:func:`text_agreement`): ``exact_match``, the share of pairs on an item who wrote the same text
  (surrounding whitespace aside; ``p_a`` averaged over the items), and ``edit_similarity``,
  ``1 - levenshtein(a, b) / max(len(a), len(b))`` in characters (1 for equal texts), its mean over the pairs
  on an item averaged over the items. A blank text is no answer.
* **span**: :func:`.spans.span_agreement` over the question's spans (strict and lenient F per pair); an answer
  that marks nothing says "nothing to mark here".
* **ranking** (:func:`ranking_agreement`; the items' ids, the most preferred first): ``exact_match`` (the same
  order), ``kendall_tau`` between two annotators' orders (over the items both ranked; tau-a, which is tau-b as
  an order has no ties), its mean over the pairs on an item averaged over the items, and
  ``krippendorff_alpha_ordinal`` with each ranked item of a task as a unit and its place (1 = best) as an
  ordinal value: Krippendorff's own reading of ranks. The places in one order are not independent (the items
  of a task take different places), so alpha goes beside tau, not instead of it.

Every report has ``items``, ``ratings`` (answers given), ``annotators``, ``items_compared`` (2+ annotators),
``items_single_annotator``, ``pairs`` (per pair of annotators with an item in common: the figures on the items
they share) and ``notes`` (why a figure is ``None``), as :func:`.agreement.document_agreement`'s.

Aggregation (:func:`aggregate_question`)
========================================

One question of one input, from the answers of the annotators who accepted the task:

* **rating**: the median; with an even number of ratings the lower of the two middle ones (never a value
  nobody gave, and the cautious side of a split).
* **label**: the label most of them chose (a tie is a conflict); with ``multiple``, per label: kept when more
  than half of them chose it, left out when fewer than half did, a conflict when exactly half did.
* **text**: the text more than half of them wrote (the same, surrounding whitespace aside); else a conflict.
* **span**: each span (start, end, label) that more than half of them marked exactly; the others are left out.
* **ranking**: Borda count (an item in place ``p`` of an order of ``n`` gets ``n - 1 - p`` points), the most
  points first; equal points on two items is a conflict.

Nobody answering a question leaves it unanswered (not a conflict). A conflict is never guessed: the report
names it, and a reviewer settles it.
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import combinations
from typing import Any, Callable, Hashable, Iterable, Mapping, NamedTuple, Sequence

from .agreement import (RatingTable, cohens_kappa, document_agreement, gwet_ac2, krippendorff_alpha, ordered,
                        percent_agreement)
from .spans import span_agreement

Answer = tuple[Hashable, Hashable, Any]

__all__ = ["Decision", "aggregate_question", "edit_similarity", "kendall_tau", "label_agreement", "levenshtein",
           "question_agreement", "question_values", "ranking_agreement", "rating_agreement", "text_agreement"]


# -- what an answer says ---------------------------------------------------------------------------------------
def question_values(question: Mapping[str, Any], answers: Iterable[Answer]) -> list[Answer]:
    """The triples whose value answers ``question`` (its settings: ``type``, ``multiple``...), made comparable: a
    rating an int, a single label its label, several labels a frozenset, a text stripped, a ranking a tuple,
    spans as they are (a list of span dicts). Values that do not answer it (None, a blank text, no label of a
    single-label question, a value of another type) are left out."""
    kind = question.get("type")
    multiple = bool(question.get("multiple"))
    kept = []
    for item, who, value in answers:
        said = _value(kind, multiple, value)
        if said is not None:
            kept.append((item, who, said))
    return kept


def _value(kind: Any, multiple: bool, value: Any) -> Any:
    if kind == "rating":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if kind == "label":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None
        if multiple:
            return frozenset(value)
        return value[0] if len(value) == 1 else frozenset(value) if value else None
    if kind == "text":
        return value.strip() if isinstance(value, str) and value.strip() else None
    if kind == "ranking":
        if not isinstance(value, list) or not value or not all(isinstance(v, (str, int)) for v in value):
            return None
        return tuple(value)
    if kind == "span":
        if not isinstance(value, list):
            return None
        return [s for s in value if isinstance(s, Mapping) and isinstance(s.get("start"), int)
                and isinstance(s.get("end"), int)]
    return None


# -- edit distance and rank correlation ------------------------------------------------------------------------
def levenshtein(a: str, b: str) -> int:
    """The Levenshtein distance between two strings (insertions, deletions and substitutions of characters).

    The common prefix and suffix are taken off first (a correction is mostly the text it corrects), then
    Hyyrö's bit-parallel form of Myers' algorithm runs over the shorter string as one Python integer: about
    ``len(a)`` steps of a few operations on ``len(b)``-bit integers, so two replies of 2,000 characters take a
    few milliseconds where the textbook table takes seconds."""
    if a == b:
        return 0
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end = 0
    while end < len(a) - start and end < len(b) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    a, b = a[start:len(a) - end], b[start:len(b) - end]
    if len(a) < len(b):
        a, b = b, a
    m = len(b)
    if m == 0:
        return len(a)
    peq: dict[str, int] = {}
    for i, c in enumerate(b):
        peq[c] = peq.get(c, 0) | (1 << i)
    mask = (1 << m) - 1
    high = 1 << (m - 1)
    pv, mv, score = mask, 0, m
    for c in a:
        eq = peq.get(c, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | (~(xh | pv) & mask)
        mh = pv & xh
        if ph & high:
            score += 1
        elif mh & high:
            score -= 1
        ph = ((ph << 1) | 1) & mask
        mh = (mh << 1) & mask
        pv = mh | (~(xv | ph) & mask)
        mv = ph & xv
    return score


def edit_similarity(a: str, b: str) -> float:
    """``1 - levenshtein(a, b) / max(len(a), len(b))``: 1 for equal texts (two empty ones too), 0 for texts with
    nothing in common at any place."""
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - levenshtein(a, b) / longest


def kendall_tau(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Kendall's tau between two orders (the most preferred first) over the items both have:
    ``(concordant - discordant) / (n (n - 1) / 2)``; None with fewer than two items in common."""
    place_b = {item: i for i, item in enumerate(b)}
    common = [item for item in a if item in place_b]
    n = len(common)
    if n < 2:
        return None
    places = [place_b[item] for item in common]  # b's places, in a's order
    score = 0
    for i in range(n):
        for j in range(i + 1, n):
            score += 1 if places[i] < places[j] else -1
    return score / (n * (n - 1) / 2)


# -- agreement ---------------------------------------------------------------------------------------------------
def _base(table: RatingTable) -> dict[str, Any]:
    return {"items": len(table.items), "ratings": table.ratings, "annotators": table.annotators,
            "items_compared": len(table.compared()), "items_single_annotator": table.single}


def _notes(table: RatingTable) -> list[str]:
    if len(table.annotators) < 2:
        return ["fewer than two annotators: no agreement to measure"]
    if not table.compared():
        return ["no item has two or more annotators: no agreement to measure"]
    return [f"{table.single} item(s) with a single annotator left out"] if table.single else []


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return math.fsum(kept) / len(kept) if kept else None


def _pairwise(table: RatingTable, figures: Mapping[str, Callable[[Any, Any], float | None]]
              ) -> tuple[dict[str, float | None], list[dict[str, Any]]]:
    """Each figure of two annotators' values: its mean over the pairs on an item, averaged over the items; and per
    pair of annotators, its mean over the items they share."""
    rank = {a: i for i, a in enumerate(table.annotators)}
    per_item: dict[str, list[float]] = {name: [] for name in figures}
    pairs: dict[tuple[Hashable, Hashable], dict[str, Any]] = {}
    for answers in table.compared():
        names = sorted(answers, key=rank.__getitem__)
        on_item: dict[str, list[float]] = {name: [] for name in figures}
        for a, b in combinations(names, 2):
            pair = pairs.setdefault((a, b), {"items": 0, **{name: [] for name in figures}})
            pair["items"] += 1
            for name, figure in figures.items():
                value = figure(answers[a], answers[b])
                if value is not None:
                    on_item[name].append(value)
                    pair[name].append(value)
        for name, values in on_item.items():
            if values:
                per_item[name].append(math.fsum(values) / len(values))
    overall = {name: _mean(values) for name, values in per_item.items()}
    rows = [{"a": a, "b": b, "items": pairs[(a, b)]["items"], **{name: _mean(pairs[(a, b)][name]) for name in figures}}
            for a, b in combinations(table.annotators, 2) if (a, b) in pairs]
    return overall, rows


def rating_agreement(ratings: Iterable[Answer], scale: int | None = None) -> dict[str, Any]:
    """Agreement on a rating question (see the module docstring); ``scale``: the ratings are 1..scale."""
    table = RatingTable.build(ratings)
    used = {v for answers in table.items.values() for v in answers.values()}
    categories = sorted(used | set(range(1, scale + 1))) if scale else sorted(used)
    report = _base(table)
    notes = _notes(table)
    kappa_pairs = []
    for pair in _pairwise(table, {})[1]:
        two = [(item, who, answers[who]) for item, answers in table.items.items() for who in (pair["a"], pair["b"])
               if pair["a"] in answers and pair["b"] in answers]
        kappa = cohens_kappa(two, (pair["a"], pair["b"]), weights="quadratic", categories=categories)
        agree = [answers[pair["a"]] == answers[pair["b"]] for answers in table.items.values()
                 if pair["a"] in answers and pair["b"] in answers]
        kappa_pairs.append({**pair, "percent_agreement": sum(agree) / len(agree), "cohens_kappa_quadratic": kappa})
    with_kappa = [p["cohens_kappa_quadratic"] for p in kappa_pairs if p["cohens_kappa_quadratic"] is not None]
    compared_values = {v for answers in table.compared() for v in answers.values()}
    report.update({
        "scale": scale,
        "percent_agreement": percent_agreement(table),
        "krippendorff_alpha_ordinal": krippendorff_alpha(table, "ordinal"),
        "krippendorff_alpha_interval": krippendorff_alpha(table, "interval"),
        "gwet_ac2_quadratic": gwet_ac2(table, "quadratic", categories) if categories else None,
        "cohens_kappa_quadratic": _mean(with_kappa),
        "cohens_kappa_pairs": len(with_kappa),
        "means": {who: math.fsum(vals) / len(vals) for who in table.annotators
                  if (vals := [answers[who] for answers in table.items.values() if who in answers])},
        "pairs": kappa_pairs,
    })
    if table.compared() and len(compared_values) == 1:
        notes.append("a single rating on the items compared: alpha and kappa are undefined (0/0)")
    if len(with_kappa) < len(kappa_pairs):
        notes.append(f"{len(kappa_pairs) - len(with_kappa)} pair(s) of annotators have no kappa (a single rating "
                     "between them): left out of its mean")
    report["notes"] = notes
    return report


def label_agreement(answers: Iterable[Answer], labels: Sequence[str] = (), multiple: bool = False
                    ) -> dict[str, Any]:
    """Agreement on a label question: :func:`.agreement.document_agreement` with the question's ``labels``."""
    rows = list(answers)
    multiple = multiple or any(isinstance(v, frozenset) for _, _, v in rows)
    if multiple:
        rows = [(item, who, v if isinstance(v, frozenset) else frozenset((v,))) for item, who, v in rows]
        used = {label for _, _, v in rows for label in v}
    else:
        used = {v for _, _, v in rows}
    categories = list(dict.fromkeys([*labels, *ordered(used - set(labels))]))
    return document_agreement(rows, categories=categories, multi_label=multiple)


def text_agreement(texts: Iterable[Answer]) -> dict[str, Any]:
    """Agreement on a text question: exact match and edit similarity (see the module docstring)."""
    table = RatingTable.build(texts)
    report = _base(table)
    overall, pairs = _pairwise(table, {"exact_match": lambda a, b: float(a == b), "edit_similarity": edit_similarity})
    report.update({"exact_match": percent_agreement(table), "edit_similarity": overall["edit_similarity"],
                   "pairs": pairs, "notes": _notes(table)})
    return report


def ranking_agreement(rankings: Iterable[Answer]) -> dict[str, Any]:
    """Agreement on a ranking question: identical orders, Kendall's tau, alpha over places (module docstring)."""
    table = RatingTable.build((item, who, tuple(order)) for item, who, order in rankings)
    report = _base(table)
    overall, pairs = _pairwise(table, {"exact_match": lambda a, b: float(a == b), "kendall_tau": kendall_tau})
    places = [((item, entry), who, place) for item, answers in table.items.items() for who, order in answers.items()
              for place, entry in enumerate(order, 1)]
    notes = _notes(table)
    alpha = krippendorff_alpha(places, "ordinal")
    if table.compared() and alpha is None:
        notes.append("every order gives each item the same place: alpha is undefined (0/0)")
    report.update({"exact_match": percent_agreement(table), "kendall_tau": overall["kendall_tau"],
                   "krippendorff_alpha_ordinal": alpha, "pairs": pairs, "notes": notes})
    return report


def question_agreement(question: Mapping[str, Any], answers: Iterable[Answer]) -> dict[str, Any]:
    """The agreement report of one question (its settings as stored in ``_questions``) on its answers."""
    kind = question.get("type")
    values = question_values(question, answers)
    if kind == "rating":
        scale = question.get("scale")
        return rating_agreement(values, scale if isinstance(scale, int) and not isinstance(scale, bool) else None)
    if kind == "label":
        return label_agreement(values, [str(label) for label in question.get("labels") or []],
                               bool(question.get("multiple")))
    if kind == "text":
        return text_agreement(values)
    if kind == "ranking":
        return ranking_agreement(values)
    if kind == "span":
        return span_agreement({(item, who): spans for item, who, spans in values})
    raise ValueError(f"unknown question type {kind!r}")


# -- aggregation -------------------------------------------------------------------------------------------------
class Decision(NamedTuple):
    value: Any
    """What the final answer holds for the question (as stored in ``answers``)."""
    provenance: dict[str, Any]
    """How it was decided: ``method`` and what went in (JSON-ready)."""
    conflict: str | None = None
    """Why nothing decides (then ``value`` is None), or None."""
    answered: int = 0
    """How many of the annotators answered the question (none: it is left unanswered)."""


def _json(value: Any) -> Any:
    return sorted(value) if isinstance(value, frozenset) else list(value) if isinstance(value, tuple) else value


def aggregate_question(question: Mapping[str, Any], votes: Mapping[Hashable, Any]) -> Decision:
    """One question of one input decided from ``votes`` (annotator -> the value they stored for it; the
    annotators who accepted the task), as the module docstring says."""
    decision = _decide(question, votes)
    multiple = bool(question.get("multiple"))
    return decision._replace(answered=sum(1 for v in votes.values() if _value(question.get("type"), multiple, v)
                                          is not None))


def _decide(question: Mapping[str, Any], votes: Mapping[Hashable, Any]) -> Decision:
    kind = question.get("type")
    multiple = bool(question.get("multiple"))
    given = {who: said for who, raw in votes.items() if (said := _value(kind, multiple, raw)) is not None}
    shown = {str(who): _json(v) for who, v in given.items()} if kind not in ("text", "span") else None
    provenance: dict[str, Any]
    if kind == "rating":
        ratings = sorted(given.values())
        value = ratings[(len(ratings) - 1) // 2] if ratings else None
        return Decision(value, {"method": "lower median", "votes": shown})
    if kind == "label" and not multiple and not any(isinstance(v, frozenset) for v in given.values()):
        counts = Counter(given.values())
        if not counts:
            return Decision([], {"method": "majority", "votes": shown})
        top = max(counts.values())
        best = ordered(label for label, n in counts.items() if n == top)
        if len(best) > 1:
            return Decision(None, {"method": "majority", "votes": shown},
                            f"a tie between {', '.join(map(str, best))}")
        return Decision([best[0]], {"method": "majority", "votes": shown})
    if kind == "label":
        sets = [v if isinstance(v, frozenset) else frozenset((v,)) for v in given.values()]
        counts = Counter(label for s in sets for label in s)
        labels = [str(label) for label in question.get("labels") or []]
        order = list(dict.fromkeys([*labels, *ordered(set(counts) - set(labels))]))
        kept = [label for label in order if 2 * counts[label] > len(sets)]
        split = [label for label in order if 2 * counts[label] == len(sets) and counts[label]]
        provenance = {"method": "majority per label", "votes": shown}
        if split:
            return Decision(None, provenance, f"half of {len(sets)} chose {', '.join(split)}")
        return Decision(kept, provenance)
    if kind == "text":
        counts = Counter(given.values())
        provenance = {"method": "majority", "answered": sorted(map(str, given))}
        if not counts:
            return Decision("", provenance)
        text, n = counts.most_common(1)[0]
        if 2 * n <= len(given):
            return Decision(None, provenance, f"no text written by more than half of {len(given)}")
        provenance["chosen_by"] = sorted(str(who) for who, v in given.items() if v == text)
        original = next(raw for who, raw in votes.items() if who in given and given[who] == text)
        return Decision(original, provenance)
    if kind == "span":
        marked: Counter = Counter()
        first: dict[tuple[int, int, Any], dict[str, Any]] = {}
        for spans in given.values():
            keys = {(s["start"], s["end"], s.get("label")) for s in spans}
            marked.update(keys)
            for s in spans:
                first.setdefault((s["start"], s["end"], s.get("label")), dict(s))
        kept_spans = sorted((k for k, n in marked.items() if 2 * n > len(given)), key=lambda k: (k[0], k[1], str(k[2])))
        return Decision([first[k] for k in kept_spans], {
            "method": "majority per span", "annotators": len(given),
            "spans": {"kept": len(kept_spans), "left out": len(marked) - len(kept_spans)}})
    if kind == "ranking":
        points: Counter = Counter()
        for order in given.values():
            for place, entry in enumerate(order):
                points[entry] += len(order) - 1 - place
        provenance = {"method": "Borda count", "votes": shown,
                      "points": [[_json(entry), n] for entry, n in points.most_common()]}
        ranking = sorted(points, key=lambda entry: -points[entry])
        tied = [entry for entry in ranking if sum(1 for other in ranking if points[other] == points[entry]) > 1]
        if tied:
            return Decision(None, provenance, f"equal points for {', '.join(map(str, tied))}")
        return Decision(ranking, provenance)
    raise ValueError(f"unknown question type {kind!r}")
