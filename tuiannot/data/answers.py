"""What a stored answer means as training data, decided once for every export and for training.

A stored answer is a Prodigy-compatible task dict. Three kinds carry training data:

* span answers (``spans``: character offsets, end exclusive; view ``ner_manual`` with no overlaps,
  ``spans_manual`` where spans may overlap), with ``tokens`` (Prodigy token dicts) or without
  (imported data: tokenised with ``spacy.blank(lang)``);
* choice answers (view ``choice``): ``options`` and the ``accept``-ed option ids;
* yes/no answers (view ``classification``): one ``label``, ``accept`` = it applies, ``reject`` = it does not.

What an answer *means* (:func:`answer_kind`, :func:`cats`, :func:`task_spans`) is decided here once, and
used by ``db-out`` (:mod:`.export`, one record per answer) and by :mod:`.corpus` (answers merged per input).

Nothing is dropped silently: a span that cannot be represented (misaligned with the tokens, overlapping
where the format forbids it, bad offsets) is reported through :class:`Problems` as
``warning: <dataset> answer <n> (input hash <h>): span [start, end) LABEL: <reason>`` and counted.
``<n>`` is the answer's line number in ``tuiannot db-out <dataset>`` (the full JSONL export).
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

TEXTCAT_VIEWS = stored_views(kind="textcat")

Span3 = tuple[int, int, str]


# -- reporting ----------------------------------------------------------------------
@dataclass
class Problems:
    """Counts (and writes, one line each) what could not be represented or was resolved."""

    write: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr))
    spans: int = 0  # spans not represented
    answers: int = 0  # whole answers not represented
    notes: int = 0  # answers kept with a caveat (tokenised again)
    conflicts: int = 0  # inputs with contradictory answers

    @property
    def total(self) -> int:
        return self.spans + self.answers

    def span(self, where: "Where", start: Any, end: Any, label: Any, reason: str) -> None:
        self.spans += 1
        self.write(f"warning: {where}: span [{one_line(str(start), 20)}, {one_line(str(end), 20)}) "
                   f"{one_line(str(label), 60)}: {reason}")

    def answer(self, where: "Where", reason: str) -> None:
        self.answers += 1
        self.write(f"warning: {where}: {reason}")

    def note(self, where: "Where", reason: str) -> None:
        self.notes += 1
        self.write(f"warning: {where}: {reason}")

    def conflict(self, message: str) -> None:
        self.conflicts += 1
        self.write(f"warning: {message}")


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
    """``"spans"``, ``"textcat"`` or None (nothing a trainer can use)."""
    if not isinstance(task.get("text"), str):
        return None  # images (and other inputs without text) have their own exports: coco, folders
    view = task.get("_view_id")
    if view in TEXTCAT_VIEWS:  # a text question may show spans (highlighted matches): still about the text
        return "textcat" if ("options" in task or "accept" in task or isinstance(task.get("label"), str)) else None
    if isinstance(task.get("spans"), list) and view not in BINARY_SPAN_VIEWS:
        return "spans"
    if "options" in task or "accept" in task or isinstance(task.get("label"), str):
        return "textcat"
    return None


def is_binary(task: dict[str, Any]) -> bool:
    """A yes/no question about one label (view ``classification``)."""
    return "options" not in task and "accept" not in task and isinstance(task.get("label"), str)


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
