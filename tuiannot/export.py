"""Stored answers as training data: spaCy Docs, IOB2 (CoNLL), doccano and Label Studio.

A stored answer is a Prodigy-compatible task dict. Three kinds carry training data:

* span answers (``spans``: character offsets, end exclusive; view ``ner_manual`` with no overlaps,
  ``spans_manual`` where spans may overlap), with ``tokens`` (Prodigy token dicts) or without
  (imported data: tokenised with ``spacy.blank(lang)``);
* choice answers (view ``choice``): ``options`` and the ``accept``-ed option ids;
* yes/no answers (view ``classification``): one ``label``, ``accept`` = it applies, ``reject`` = it does not.

What an answer *means* as training data (:func:`cats`, :func:`task_spans`) is decided here once, and used
by ``db-out`` (one record per answer) and by :mod:`tuiannot.training` (answers merged per input).

Nothing is dropped silently: a span that cannot be represented (misaligned with the tokens, overlapping
where the format forbids it, bad offsets) is reported through :class:`Problems` as
``warning: <dataset> answer <n> (input hash <h>): span [start, end) LABEL: <reason>`` and counted.
``<n>`` is the answer's line number in ``tuiannot db-out <dataset>`` (the full JSONL export).

spaCy is imported only by the functions that build Docs (doccano and Label Studio need none).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from .errors import UserError
from .sanitize import one_line

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span

FORMATS: tuple[str, ...] = ("jsonl", "spacy", "conll", "doccano", "label-studio")
SPANS_KEY = "sc"
"""The ``doc.spans`` key span categorisation (``spans_manual``) answers go to; spaCy's spancat default."""

OVERLAPPING_VIEWS = frozenset({"spans_manual"})
"""Views whose spans may overlap: exported as ``doc.spans["sc"]``, not ``doc.ents``."""
BINARY_SPAN_VIEWS = frozenset({"ner", "spans"})
"""Views that accept or reject one suggested span: not a complete annotation of the text."""

TEXTCAT_VIEWS = frozenset({"classification", "choice"})

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
    text = task.get("text") if isinstance(task.get("text"), str) else ""
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


# -- spaCy Docs ------------------------------------------------------------------------
def blank(lang: str) -> "Language":
    """``spacy.blank(lang)``, or a one-line error for an unknown language code."""
    import spacy

    try:
        return spacy.blank(lang)
    except (ImportError, ValueError, KeyError):
        raise UserError(f"unknown language code {lang!r} for spaCy (e.g. en, de, fr, xx)") from None


def _words_from_tokens(text: str, tokens: Any) -> tuple[list[str], list[bool]] | None:
    """Words and spaces for a Doc whose text is exactly ``text``, from Prodigy token dicts, or None.

    Tokens with ``start``/``end`` are placed by offset; a gap between tokens that is not a single space
    becomes a whitespace token (as spaCy makes). Without offsets, ``text`` + ``ws`` must rebuild the text.
    """
    if not isinstance(tokens, list) or not tokens or not all(isinstance(t, dict) for t in tokens):
        return None
    words: list[str] = []
    spaces: list[bool] = []
    if all(isinstance(t.get("start"), int) and isinstance(t.get("end"), int) for t in tokens):
        position = 0
        for token in tokens:
            start, end = token["start"], token["end"]
            if start < position or end <= start or end > len(text):
                return None
            gap = text[position:start]
            if gap:
                if gap.strip():
                    return None  # the tokens skip characters
                if words and gap[0] == " " and not spaces[-1]:
                    spaces[-1] = True
                    gap = gap[1:]
                if gap:
                    words.append(gap)
                    spaces.append(False)
            words.append(text[start:end])
            spaces.append(False)
            position = end
        tail = text[position:]
        if tail.strip():
            return None
        if tail:
            if tail[0] == " ":
                spaces[-1] = True
                tail = tail[1:]
            if tail:
                words.append(tail)
                spaces.append(False)
        return words, spaces
    if not all(isinstance(t.get("text"), str) and t["text"] for t in tokens):
        return None
    words = [t["text"] for t in tokens]
    spaces = [bool(t.get("ws", True)) for t in tokens]
    spaces[-1] = spaces[-1] and text.endswith(" ")
    if "".join(w + (" " if s else "") for w, s in zip(words, spaces)) != text:
        return None
    return words, spaces


def make_doc(nlp: "Language", task: dict[str, Any], where: Where | None = None,
             problems: Problems | None = None) -> "Doc":
    """A Doc of the task's text: words from its ``tokens`` when they fit the text, else ``nlp``'s tokenizer."""
    from spacy.tokens import Doc

    text = task.get("text") if isinstance(task.get("text"), str) else ""
    tokens = task.get("tokens")
    if tokens:
        found = _words_from_tokens(text, tokens)
        if found is not None:
            return Doc(nlp.vocab, words=found[0], spaces=found[1])
        if where is not None and problems is not None:
            problems.note(where, "its tokens do not match its text; tokenised again (spans may not align)")
    return nlp.make_doc(text)


def aligned_spans(doc: "Doc", spans: Iterable[Span3], where: Where, problems: Problems) -> list["Span"]:
    """spaCy Spans for character spans that start and end on token boundaries; the others reported."""
    result = []
    for start, end, label in spans:
        span = doc.char_span(start, end, label=label, alignment_mode="strict")
        if span is None:
            problems.span(where, start, end, label,
                          f"does not align with the token boundaries ({quoted(doc.text[start:end])})")
        else:
            result.append(span)
    return result


def set_entities(doc: "Doc", spans: list[Span3], where: Where, problems: Problems) -> None:
    """``doc.ents`` from complete NER spans (every other token is outside an entity)."""
    kept = without_overlaps(spans, where, problems, "entities cannot overlap")
    doc.ents = aligned_spans(doc, kept, where, problems)


def set_span_group(doc: "Doc", spans: list[Span3], where: Where, problems: Problems,
                   key: str = SPANS_KEY) -> None:
    from spacy.tokens import SpanGroup

    doc.spans[key] = SpanGroup(doc, name=key, spans=aligned_spans(doc, spans, where, problems))


def answer_doc(nlp: "Language", task: dict[str, Any], where: Where, problems: Problems) -> "Doc":
    """One answer as a Doc: ents (NER), ``spans["sc"]`` (span categories) or cats (text classification)."""
    doc = make_doc(nlp, task, where, problems)
    kind = answer_kind(task)
    if kind == "spans":
        spans = task_spans(task, where, problems)
        if overlapping(task):
            set_span_group(doc, spans, where, problems)
        else:
            set_entities(doc, spans, where, problems)
    elif kind == "textcat":
        doc.cats = cats(task)
    return doc


# -- IOB2 ------------------------------------------------------------------------------
_INNER_SPACE = re.compile(r"\s")


def iob_lines(doc: "Doc", spans: list[Span3], where: Where, problems: Problems) -> list[str]:
    """``token<TAB>tag`` lines (IOB2). Whitespace tokens are left out; overlaps reported."""
    kept = without_overlaps(spans, where, problems, "IOB tags cannot represent overlapping spans")
    tags = ["O"] * len(doc)
    for span in aligned_spans(doc, kept, where, problems):
        inside = [t.i for t in span if not t.is_space]
        if not inside:
            problems.span(where, span.start_char, span.end_char, span.label_, "only whitespace")
            continue
        tags[inside[0]] = f"B-{span.label_}"
        for i in inside[1:]:
            tags[i] = f"I-{span.label_}"
    return [f"{_INNER_SPACE.sub('_', t.text)}\t{tags[t.i]}" for t in doc if not t.is_space]


# -- doccano and Label Studio ------------------------------------------------------------
def doccano_record(task: dict[str, Any], where: Where, problems: Problems) -> dict[str, Any]:
    if answer_kind(task) == "spans":
        label: list[Any] = [[s, e, lab] for s, e, lab in task_spans(task, where, problems)]
    else:
        label = positive_labels(task)
    return {"text": task.get("text", ""), "label": label}


def label_studio_task(task: dict[str, Any], where: Where, problems: Problems) -> dict[str, Any]:
    text = task.get("text", "")
    result: list[dict[str, Any]] = []
    if answer_kind(task) == "spans":
        for i, (start, end, label) in enumerate(task_spans(task, where, problems)):
            result.append({"id": f"{where.n}-{i}", "from_name": "label", "to_name": "text", "type": "labels",
                           "value": {"start": start, "end": end, "text": text[start:end], "labels": [label]}})
    else:
        chosen = positive_labels(task)
        if chosen:
            result.append({"id": f"{where.n}-0", "from_name": "label", "to_name": "text", "type": "choices",
                           "value": {"choices": chosen}})
    return {"data": {"text": text}, "annotations": [{"result": result}]}


# -- db-out ---------------------------------------------------------------------------------
@dataclass
class ExportSummary:
    records: int = 0
    left_out: dict[str, int] = field(default_factory=dict)  # reason -> answers


def numbered_answers(db: Any, dataset: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(n, answer)``: n is the line number in ``tuiannot db-out DATASET``."""
    for n, task in enumerate(db.answers(dataset), 1):
        task.pop("_answer_id", None)
        yield n, task


def export(db: Any, dataset: str, fmt: str, out: Any, *, answer: str | None, lang: str, problems: Problems,
           advance: Callable[[int], None] = lambda n: None) -> ExportSummary:
    """Write ``dataset`` in ``fmt`` to ``out`` (a text file; a binary one for ``spacy``).

    ``answer`` None selects the training answers (:func:`is_training_answer`) for ``spacy``, and the
    accepted answers for the formats without negative labels (conll, doccano, label-studio).
    """
    summary = ExportSummary()

    def leave_out(reason: str) -> None:
        summary.left_out[reason] = summary.left_out.get(reason, 0) + 1

    nlp = blank(lang) if fmt in ("spacy", "conll") else None
    doc_bin = None
    if fmt == "spacy":
        from spacy.tokens import DocBin

        doc_bin = DocBin(store_user_data=False)
    first = True
    if fmt == "label-studio":
        out.write("[")
    for n, task in numbered_answers(db, dataset):
        advance(n)
        if answer is not None:
            if task.get("answer") != answer:
                continue
        elif not (is_training_answer(task) if fmt == "spacy" else task.get("answer") == "accept"):
            leave_out(str(task.get("answer")))
            continue
        where = Where(dataset, n, task.get("_input_hash"))
        kind = answer_kind(task)
        if kind is None:
            problems.answer(where, "neither spans nor text labels: not exported")
            continue
        if fmt == "spacy":
            assert nlp is not None and doc_bin is not None
            doc_bin.add(answer_doc(nlp, task, where, problems))
        elif fmt == "conll":
            if kind != "spans":
                problems.answer(where, "a text classification answer: IOB tags hold spans only")
                continue
            assert nlp is not None
            doc = make_doc(nlp, task, where, problems)
            lines = iob_lines(doc, task_spans(task, where, problems), where, problems)
            out.write(("" if first else "\n") + "".join(line + "\n" for line in lines))
        elif fmt == "doccano":
            out.write(json.dumps(doccano_record(task, where, problems), ensure_ascii=False) + "\n")
        elif fmt == "label-studio":
            out.write(("\n" if first else ",\n") + json.dumps(label_studio_task(task, where, problems),
                                                             ensure_ascii=False))
        first = False
        summary.records += 1
    if fmt == "label-studio":
        out.write("\n]\n" if not first else "]\n")
    if doc_bin is not None:
        out.write(doc_bin.to_bytes())
    return summary
