"""What a stored answer means as training data, decided once for every export and for training.

A stored answer is a Prodigy-compatible task dict. Three kinds carry training data:

* span answers (``spans``: character offsets, end exclusive; view ``ner_manual`` with no overlaps,
  ``spans_manual`` where spans may overlap), with ``tokens`` (Prodigy token dicts, or plain strings found
  in the text in order, as ``ner`` accepts on input) or without (imported data: tokenised with
  ``spacy.blank(lang)``); relation answers (view ``relations``) are span answers whose ``relations`` link two
  of their spans each (:func:`task_relations`): the formats that hold relations (doccano, Label Studio) write
  them, the others write the spans and say which answers had relations they left out;
* choice answers (view ``choice``): ``options`` and the ``accept``-ed option ids;
* yes/no answers (view ``classification``): one ``label``, ``accept`` = it applies, ``reject`` = it does not.

**A span answer without spans is data**: an accepted answer that marks nothing says "this text has no
entities" (every token outside an entity), not "not annotated". Prodigy data sets may leave the ``spans``
key out of such answers. :func:`answer_kind` decides, in this order: no ``text`` (an image): none; a text
classification view (``classification``, ``choice``): text classification if it has ``options``, ``accept``
or a ``label``, else none, whatever spans or tokens it shows; a manual span view (``ner_manual``,
``spans_manual``), with or without a ``spans`` key, or any answer with a ``spans`` list: spans; then
``options``, ``accept`` or a ``label``: text classification; then any other answer with ``tokens`` (no view,
or a view this version does not know): spans, none marked. The binary span views (``ner``, ``spans``: one
suggested span accepted or rejected, not a complete annotation) are never span answers. Feedback answers and
preference answers (``compare``, ``rank``: which reply is better) are none. Only an answer that is missing
(never given, rejected, ignored) is missing.

What an answer *means* (:func:`answer_kind`, :func:`cats`, :func:`task_spans`) is decided here once, and
used by ``db-out`` (:mod:`.export`, one record per answer) and by :mod:`.corpus` (answers merged per input).

Nothing is dropped silently: a span that cannot be represented (misaligned with the tokens, overlapping
where the format forbids it, bad offsets) is reported through :class:`Problems` as
``warning: <dataset> answer <n> (input hash <h>): span [start, end) LABEL: <reason>`` and counted.
``<n>`` is the answer's line number in ``tuiannot db-out <dataset>`` (the full JSONL export). The first
:data:`SHOWN_WARNINGS` warnings are written, then (:meth:`Problems.finish`) one line with the number of
the rest, e.g. ``… and 1,234 more warnings``; the counts always cover every one.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from ..components import stored_views
from ..sanitize import one_line

SPANS_KEY = "sc"
"""The ``doc.spans`` key span categorisation (``spans_manual``) answers go to; spaCy's spancat default."""

OVERLAPPING_VIEWS = stored_views(kind="spans", overlapping=True)
"""Views whose spans may overlap: exported as ``doc.spans["sc"]``, not ``doc.ents``."""
BINARY_SPAN_VIEWS = stored_views(kind="binary_spans")
"""Views that accept or reject one suggested span: not a complete annotation of the text."""
SPAN_VIEWS = stored_views(kind="spans")
"""Views whose answers mark every span of the text (``ner_manual``, ``spans_manual``): no spans = none there."""

TEXTCAT_VIEWS = stored_views(kind="textcat")
FEEDBACK_VIEWS = stored_views(kind="feedback")
PREFERENCE_VIEWS = stored_views(kind="compare") | stored_views(kind="rank")
"""Views whose answers say which reply is better (compare, tournament, rank): preference pairs, not training
examples of the text (:mod:`.preference`)."""
RELATION_VIEWS = stored_views(relations=True)
"""Views whose answers link their spans (``relations``): span answers with ``relations`` besides."""

Span3 = tuple[int, int, str]
SPAN_KEYS = ("start", "end", "token_start", "token_end", "label")
"""What a relation's ``head_span`` and ``child_span`` hold (Prodigy's)."""
Relation3 = tuple[Span3, Span3, str]
"""A relation: its head span, its child span, its label."""


# -- reporting ----------------------------------------------------------------------
SHOWN_WARNINGS = 20
"""Warnings written one line each; the rest are counted (:meth:`Problems.finish` writes how many)."""

RETOKENISED = "tokenised again"
SPACE_IN_TOKEN = "whitespace in a token written as _"
RELATIONS_LEFT = "relations not written"


@dataclass
class Problems:
    """Counts what could not be represented or was resolved, and writes the first warnings, one line each.

    Every warning is counted; only the first ``limit`` are written (None: all). :meth:`finish` writes
    ``… and N more warnings`` for the rest: the exports and the corpus builder call it when they end.
    """

    write: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr))
    limit: int | None = SHOWN_WARNINGS
    spans: int = 0  # spans not represented
    relations: int = 0  # relations not represented
    answers: int = 0  # whole answers not represented
    notes: int = 0  # answers kept with a caveat (tokenised again, whitespace in a token written as _)
    conflicts: int = 0  # inputs with contradictory answers
    noted: dict[str, int] = field(default_factory=dict)  # caveat (RETOKENISED, SPACE_IN_TOKEN) -> answers
    shown: int = 0  # warnings written
    hidden: int = 0  # warnings counted but not written, since the last finish()
    keep: bool = False  # keep every warning in ``messages`` (for --json, which carries them all)
    messages: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.spans + self.relations + self.answers

    def _warn(self, line: str) -> None:
        if self.keep:
            self.messages.append(line.removeprefix("warning: "))
        if self.limit is None or self.shown < self.limit:
            self.shown += 1
            self.write(line)
        else:
            self.hidden += 1

    def finish(self) -> None:
        """Write how many warnings were counted but not written (if any) since the last call."""
        if self.hidden:
            self.write(f"… and {self.hidden:,} more warning{'s' if self.hidden != 1 else ''}")
            self.hidden = 0

    def span(self, where: "Where", start: Any, end: Any, label: Any, reason: str) -> None:
        self.spans += 1
        self._warn(f"warning: {where}: span [{one_line(str(start), 20)}, {one_line(str(end), 20)}) "
                   f"{one_line(str(label), 60)}: {reason}")

    def relation(self, where: "Where", relation: Any, reason: str) -> None:
        self.relations += 1
        label = relation.get("label") if isinstance(relation, dict) else "?"
        self._warn(f"warning: {where}: relation {one_line(str(label), 60)}: {reason}")

    def answer(self, where: "Where", reason: str) -> None:
        self.answers += 1
        self._warn(f"warning: {where}: {reason}")

    def note(self, where: "Where", reason: str, caveat: str = RETOKENISED) -> None:
        """An answer kept with a caveat (``caveat``: what the summary calls it)."""
        self.notes += 1
        self.noted[caveat] = self.noted.get(caveat, 0) + 1
        self._warn(f"warning: {where}: {reason}")

    def conflict(self, message: str) -> None:
        self.conflicts += 1
        self._warn(f"warning: {message}")

    def summary(self) -> list[str]:
        """The counts for a summary line, e.g. ``["2 spans could not be represented", "1 answer tokenised
        again"]`` (empty when nothing was reported; contradictions are reported by the corpus)."""
        def answers(n: int) -> str:
            return f"{n} answer{'s' if n != 1 else ''}"

        parts = []
        if self.spans:
            parts.append(f"{self.spans} span{'s' if self.spans != 1 else ''} could not be represented")
        if self.relations:
            parts.append(f"{self.relations} relation{'s' if self.relations != 1 else ''} could not be represented")
        if self.answers:
            parts.append(f"{answers(self.answers)} not exported")
        if self.noted.get(RETOKENISED):
            parts.append(f"{answers(self.noted[RETOKENISED])} tokenised again")
        if self.noted.get(SPACE_IN_TOKEN):
            parts.append(f"{answers(self.noted[SPACE_IN_TOKEN])} with whitespace in a token written as _")
        if self.noted.get(RELATIONS_LEFT):
            parts.append(f"{answers(self.noted[RELATIONS_LEFT])} with relations the format does not hold")
        return parts


@dataclass(frozen=True)
class Where:
    """An answer, named for messages: dataset, line in the full JSONL export, input hash."""

    dataset: str
    n: int
    input_hash: Any

    def __str__(self) -> str:
        return f"{self.short} (input hash {self.input_hash})"

    @property
    def short(self) -> str:
        return f"{one_line(self.dataset, 80)} answer {self.n}"


def quoted(text: str, limit: int = 40) -> str:
    return json.dumps(one_line(text, limit), ensure_ascii=False)


# -- what an answer means ------------------------------------------------------------
def answer_kind(task: dict[str, Any]) -> str | None:
    """``"spans"``, ``"textcat"`` or None (nothing a trainer can use); the rule is in the module docstring.

    A span answer with no ``spans`` key (Prodigy data sets may leave it out when nothing was marked) is a
    span answer with no spans: "no entities here" is data."""
    if not isinstance(task.get("text"), str):
        return None  # images (and other inputs without text) have their own exports: coco, folders
    view = task.get("_view_id")
    if view in FEEDBACK_VIEWS or view in PREFERENCE_VIEWS:  # several questions, or which reply is better: the
        return None  # text's own spans or labels are not the answer (preference data: db-out --format preference)
    asks_labels = "options" in task or "accept" in task or isinstance(task.get("label"), str)
    if view in TEXTCAT_VIEWS:  # a text question may show spans (highlighted matches): still about the text
        return "textcat" if asks_labels else None
    # one suggested span accepted or rejected (binary span views) says nothing about the rest of the text
    complete = view not in BINARY_SPAN_VIEWS
    if complete and (view in SPAN_VIEWS or isinstance(task.get("spans"), list)):
        return "spans"
    if asks_labels:
        return "textcat"
    if complete and isinstance(task.get("tokens"), list) and task["tokens"]:
        return "spans"  # tokenised for span annotation, nothing marked
    return None


def is_binary(task: dict[str, Any]) -> bool:
    """A yes/no question about one label (view ``classification``)."""
    return "options" not in task and "accept" not in task and isinstance(task.get("label"), str)


def has_relations(task: dict[str, Any]) -> bool:
    """A relation answer: stored from a relation view (``relations``), or with a ``relations`` list."""
    return task.get("_view_id") in RELATION_VIEWS or isinstance(task.get("relations"), list)


def overlapping(task: dict[str, Any]) -> bool:
    """Whether the answer's spans are categories that may overlap (``spans_manual``)."""
    return task.get("_view_id") in OVERLAPPING_VIEWS


def is_training_answer(task: dict[str, Any]) -> bool:
    """The default selection: accepted answers, and rejected yes/no questions (the label does not apply)."""
    answer = task.get("answer")
    return answer == "accept" or (answer == "reject" and answer_kind(task) == "textcat" and is_binary(task))


def choice_labels(task: dict[str, Any]) -> list[str]:
    accept = task.get("accept") or []
    return [str(a) for a in (accept if isinstance(accept, list) else [accept])]


def option_ids(task: dict[str, Any]) -> list[str]:
    options = task.get("options")
    if not isinstance(options, list):
        return []
    return [str(o.get("id")) if isinstance(o, dict) else str(o) for o in options
            if not isinstance(o, dict) or o.get("id") is not None]


def cats(task: dict[str, Any]) -> dict[str, float]:
    """The categories an answer states: 1.0 applies, 0.0 does not; labels it says nothing about are absent.

    A yes/no question: accept gives ``{label: 1.0}``, reject ``{label: 0.0}``. A choice: every option is
    stated, the accepted ones 1.0 (accepted ids that are not among the options are added). An ignored
    answer, or a rejected choice (the question itself was wrong), states nothing.
    """
    answer = task.get("answer")
    if is_binary(task):
        if answer not in ("accept", "reject"):
            return {}
        return {task["label"]: 1.0 if answer == "accept" else 0.0}
    if answer != "accept":
        return {}
    accepted = choice_labels(task)
    result = {label: 0.0 for label in option_ids(task)}
    result.update({label: 1.0 for label in accepted})
    return result


def positive_labels(task: dict[str, Any]) -> list[str]:
    return [label for label, value in cats(task).items() if value == 1.0]


def task_spans(task: dict[str, Any], where: Where, problems: Problems) -> list[Span3]:
    """The answer's spans with valid offsets and labels, sorted; the others reported."""
    text = task.get("text")
    text = text if isinstance(text, str) else ""
    result: list[Span3] = []
    for span in task.get("spans") or []:
        if not isinstance(span, dict):
            problems.span(where, "?", "?", "?", "not an object")
            continue
        start, end, label = span.get("start"), span.get("end"), span.get("label")
        if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool) \
                or isinstance(end, bool):
            problems.span(where, start, end, label, "start and end must be integers")
        elif not (0 <= start < end <= len(text)):
            problems.span(where, start, end, label, f"offsets outside the text (length {len(text)})")
        elif not isinstance(label, str) or not label.strip():
            problems.span(where, start, end, label, "no label")
        else:
            result.append((start, end, label))
    return sorted(set(result), key=lambda s: (s[0], -s[1], s[2]))


def task_relations(task: dict[str, Any], where: Where, spans: list[Span3], problems: Problems) -> list[Relation3]:
    """The answer's relations between its ``spans`` (:func:`task_spans`), in the order stored, duplicates once; a
    relation whose head or child is not one of them, or without a label, reported.

    An end is found by its span's offsets (``head_span``, ``child_span``), else by its token (``head``,
    ``child``: the span's last token, as Prodigy stores it); the span's own label is the one kept."""
    given = task.get("relations")
    if not isinstance(given, list):
        return []
    by_offsets: dict[tuple[Any, Any], Span3] = {(s, e): (s, e, label) for s, e, label in spans}
    by_token: dict[Any, Span3] = {}
    for span in task.get("spans") or []:
        if isinstance(span, dict) and (span.get("start"), span.get("end")) in by_offsets:
            by_token.setdefault(span.get("token_end"), by_offsets[(span["start"], span["end"])])
    result: list[Relation3] = []
    for relation in given:
        if not isinstance(relation, dict):
            problems.relation(where, relation, "not an object")
            continue
        ends = []
        for end in ("head", "child"):
            span = relation.get(f"{end}_span")
            found = by_offsets.get(_offsets(span)) if isinstance(span, dict) \
                else by_token.get(relation.get(end)) if isinstance(relation.get(end), int) else None
            if found is None:
                shown = (f"[{one_line(str(span.get('start')), 20)}, {one_line(str(span.get('end')), 20)})"
                         if isinstance(span, dict) else f"at token {one_line(str(relation.get(end)), 20)}")
                problems.relation(where, relation, f"its {end} span {shown} is not among the answer's spans")
                break
            ends.append(found)
        label = relation.get("label")
        if len(ends) < 2:
            continue
        if not isinstance(label, str) or not label.strip():
            problems.relation(where, relation, "no label")
        elif (ends[0], ends[1], label) not in result:
            result.append((ends[0], ends[1], label))
    return result


def make_relation(head: dict[str, Any], child: dict[str, Any], label: str, **extra: Any) -> dict[str, Any]:
    """A relation as Prodigy stores it, between two aligned spans."""
    return {**extra, "head": head["token_end"], "child": child["token_end"],
            "head_span": {k: head[k] for k in SPAN_KEYS}, "child_span": {k: child[k] for k in SPAN_KEYS},
            "label": label}


def align_relations(relations: Any, spans: list[dict[str, Any]], labels: list[str] | None,
                    report: Callable[[str], None]) -> list[dict[str, Any]]:
    """The relations (as given to ``rel``, or read by an import) between two of ``spans`` (aligned with the
    tokens, as :func:`~tuiannot.nlp.spans.align_spans` gives them), rebuilt from those spans; the others
    reported, never moved to another span: malformed, a label not among ``labels`` (None: any), an end that is
    not one of the spans, from a span to itself. The same relation twice is kept once.

    An end is the span at the offsets of ``head_span``/``child_span``, else the span whose last token is
    ``head``/``child``. Other keys of a relation (Prodigy's ``color``) are kept."""
    if relations is None:
        return []
    if not isinstance(relations, list):
        report("'relations' is not a list; ignored")
        return []
    by_offsets = {(s["start"], s["end"]): s for s in spans}
    by_token = {s["token_end"]: s for s in spans}
    kept: list[dict[str, Any]] = []
    for relation in relations:
        shown = json.dumps(relation, ensure_ascii=False)[:80]
        if not isinstance(relation, dict) or not isinstance(relation.get("label"), str):
            report(f"relation {shown} is malformed (needs a str label, head_span and child_span); left out")
            continue
        label = relation["label"]
        if labels is not None and label not in labels:
            report(f"relation {label}: the label is not among --relation; left out")
            continue
        ends = []
        for end in ("head", "child"):
            span = relation.get(f"{end}_span")
            if isinstance(span, dict):
                found = by_offsets.get(_offsets(span))
                where = f"[{span.get('start')}, {span.get('end')})"
            else:
                token = relation.get(end)
                found = by_token.get(token) if isinstance(token, int) and not isinstance(token, bool) else None
                where = f"at token {token}"
            if found is None:
                report(f"relation {label}: its {end} span {where} is not one of the task's spans; left out")
                break
            ends.append(found)
        if len(ends) < 2:
            continue
        if ends[0] is ends[1]:
            report(f"relation {label}: from a span to itself ([{ends[0]['start']}, {ends[0]['end']})); left out")
            continue
        made = make_relation(ends[0], ends[1], label, **{k: v for k, v in relation.items()
                                                         if k not in ("head", "child", "head_span", "child_span",
                                                                      "label")})
        if any((r["head"], r["child"], r["label"]) == (made["head"], made["child"], label) for r in kept):
            continue  # the same relation twice says it once
        kept.append(made)
    return kept


def without_overlaps(spans: list[Span3], where: Where, problems: Problems, reason: str) -> list[Span3]:
    """Spans that do not overlap, first come (by start, longest first) first kept; the rest reported."""
    kept: list[Span3] = []
    for span in spans:
        clash = next((k for k in kept if span[0] < k[1] and k[0] < span[1]), None)
        if clash is None:
            kept.append(span)
        else:
            problems.span(where, *span, f"overlaps [{clash[0]}, {clash[1]}) {one_line(clash[2], 60)}; {reason}")
    return kept


def _offsets(span: dict[str, Any]) -> tuple[Any, Any]:
    """A span's (start, end) as a key, or a key no span has when they are not whole numbers (a list there would
    not be a key at all)."""
    start, end = span.get("start"), span.get("end")
    ok = all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end))
    return (start, end) if ok else (None, None)
