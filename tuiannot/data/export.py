"""Stored answers as training data: spaCy Docs, IOB2 (CoNLL), doccano, Label Studio and chat data (SFT);
db-out's writer.

What each answer means is decided in :mod:`.answers`; this module only writes it in each peer's format.
Every answer that cannot be written is counted in :class:`~.answers.Problems` and named in a warning
(dataset, line in the full JSONL export, input hash), never dropped silently.

spaCy is imported only by the functions that build Docs (doccano and Label Studio need none).

Relation answers (``tuiannot rel``) are span answers with ``relations`` besides: doccano writes them as its
relation export (``entities`` with ids, ``relations`` with ``from_id``, ``to_id``, ``type``), Label Studio as
``labels`` regions with ids and ``relation`` results between them (``from_id``, ``to_id``, ``direction``,
``labels``); ``spacy`` and ``conll`` write their spans and say, per answer, that its relations were left out.

Feedback answers (``tuiannot feedback``: several questions about a prompt and a model's reply) are neither
labels nor spans of a text: the training formats leave them out with a warning, and ``sft`` writes them as the
chat data TRL's SFT trainer reads (:func:`sft_record`).

Preference answers (``compare`` and ``tournament`` duels, ``rank``, and feedback ranking questions: which reply
is better) are written by ``preference``, TRL's DPO format, a ``{"prompt", "chosen", "rejected"}`` line per pair
(:mod:`.preference`): without ``--answer`` every answer is read (a skip, a tie or "both bad" gives no pair, and is
counted), the pairs left out (ties) and the answers that give none are counted in one line at the end, and a
malformed one is a warning. The other training formats leave preference answers out with a warning.
"""


from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from ..components import stored_views
from ..nlp.load import blank
from ..nlp.spans import tokens_from_words
from ..tasks import input_hash
from .answers import (
    RELATIONS_LEFT,
    SPACE_IN_TOKEN,
    SPANS_KEY,
    Problems,
    Span3,
    Where,
    answer_kind,
    cats,
    has_relations,
    is_training_answer,
    overlapping,
    positive_labels,
    quoted,
    task_relations,
    task_spans,
    without_overlaps,
)
from .preference import PreferenceCounts, answer_pairs

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span

FORMATS: tuple[str, ...] = ("jsonl", "spacy", "conll", "doccano", "label-studio", "sft", "preference")
FEEDBACK_VIEWS = stored_views(kind="feedback")
PREFERENCE_VIEWS = stored_views(kind="compare") | stored_views(kind="rank")


# -- spaCy Docs ------------------------------------------------------------------------
def _words_from_tokens(text: str, tokens: Any) -> tuple[list[str], list[bool]] | None:
    """Words and spaces for a Doc whose text is exactly ``text``, from the answer's tokens, or None.

    Prodigy token dicts with ``start``/``end`` are placed by offset; a gap between tokens that is not a
    single space becomes a whitespace token (as spaCy makes). Without offsets, ``text`` + ``ws`` must rebuild
    the text. Plain strings (which ``ner`` accepts on input) are found in the text in order, as ``ner``
    finds them (:func:`~tuiannot.nlp.spans.tokens_from_words`): only whitespace may lie between them.
    """
    if isinstance(tokens, list) and tokens and all(isinstance(t, str) for t in tokens):
        try:
            tokens = tokens_from_words(text, tokens)
        except ValueError:
            return None
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
    if "".join(w + (" " if s else "") for w, s in zip(words, spaces, strict=True)) != text:
        return None
    return words, spaces


def make_doc(nlp: "Language", task: dict[str, Any], where: Where | None = None,
             problems: Problems | None = None) -> "Doc":
    """A Doc of the task's text: words from its ``tokens`` when they fit the text, else ``nlp``'s tokenizer."""
    from spacy.tokens import Doc

    text = task.get("text")
    text = text if isinstance(text, str) else ""
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
    """``token<TAB>tag`` lines (IOB2). Whitespace tokens are left out; overlaps reported; whitespace inside a
    token (a stored token "New York", a no-break space) is written as ``_`` and noted."""
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
    words = [t for t in doc if not t.is_space]
    spaced = [t.text for t in words if _INNER_SPACE.search(t.text)]
    if spaced:
        problems.note(where, f"{len(spaced)} token{'s have' if len(spaced) != 1 else ' has'} whitespace inside "
                      f"(first {quoted(spaced[0])}): written with _ in its place", SPACE_IN_TOKEN)
    return [f"{_INNER_SPACE.sub('_', t.text)}\t{tags[t.i]}" for t in words]


# -- doccano and Label Studio ------------------------------------------------------------
def doccano_record(task: dict[str, Any], where: Where, problems: Problems) -> dict[str, Any]:
    """``{"text", "label"}`` (spans as ``[start, end, label]``, or text labels); a relation answer as doccano's
    relation export: ``entities`` with ids (``start_offset``, ``end_offset``, ``label``) and ``relations``
    (``from_id``, ``to_id``, ``type``)."""
    text = task.get("text", "")
    if answer_kind(task) == "spans":
        spans = task_spans(task, where, problems)
        if has_relations(task):
            ids = {span: i for i, span in enumerate(spans)}
            return {"text": text,
                    "entities": [{"id": i, "start_offset": s, "end_offset": e, "label": lab}
                                 for (s, e, lab), i in ids.items()],
                    "relations": [{"id": i, "from_id": ids[head], "to_id": ids[child], "type": lab}
                                  for i, (head, child, lab) in enumerate(task_relations(task, where, spans, problems))]}
        label: list[Any] = [[s, e, lab] for s, e, lab in spans]
    else:
        label = positive_labels(task)
    return {"text": text, "label": label}


MAX_TASK_ID = (1 << 53) - 1
"""The largest task id: JavaScript (Label Studio's front end) holds integers up to this one exactly."""


def label_studio_id(task: dict[str, Any], taken: set[int]) -> int:
    """A Label Studio task ``id``: a positive integer derived from the input hash, so the same answer gets
    the same id in every export; a hash that is not in 1..:data:`MAX_TASK_ID` is wrapped into it. An id
    already ``taken`` (another answer about the same input) moves on to the next free one; added to ``taken``.
    """
    h = task.get("_input_hash")
    if not isinstance(h, int) or isinstance(h, bool):
        h = input_hash(task)
    found = h if 0 < h <= MAX_TASK_ID else 1 + h % MAX_TASK_ID
    while found in taken:
        found = found % MAX_TASK_ID + 1
    taken.add(found)
    return found


def label_studio_task(task: dict[str, Any], where: Where, problems: Problems, task_id: int) -> dict[str, Any]:
    text = task.get("text", "")
    result: list[dict[str, Any]] = []
    if answer_kind(task) == "spans":
        spans = task_spans(task, where, problems)
        ids = {span: f"{where.n}-{i}" for i, span in enumerate(spans)}  # (what a relation's from_id names)
        for (start, end, label), span_id in ids.items():
            result.append({"id": span_id, "from_name": "label", "to_name": "text", "type": "labels",
                           "value": {"start": start, "end": end, "text": text[start:end], "labels": [label]}})
        if has_relations(task):  # Label Studio's relation results: between two regions, by their ids
            result.extend({"from_id": ids[head], "to_id": ids[child], "type": "relation", "direction": "right",
                           "labels": [label]} for head, child, label in task_relations(task, where, spans, problems))
    else:
        chosen = positive_labels(task)
        if chosen:
            result.append({"id": f"{where.n}-0", "from_name": "label", "to_name": "text", "type": "choices",
                           "value": {"choices": chosen}})
    return {"id": task_id, "data": {"text": text}, "annotations": [{"result": result}]}


# -- chat data for supervised fine-tuning ------------------------------------------------------
@dataclass(frozen=True)
class SftFields:
    """Where ``sft`` finds a record's two turns: the prompt in a task field, the reply in the answer to a text
    question (by default the first text question of the answer's ``_questions``), else in the task's
    ``response`` (the reply as the model gave it)."""

    prompt_field: str = "prompt"
    response_question: str | None = None


def sft_response(task: dict[str, Any], question: str | None) -> tuple[str | None, str]:
    """The reply an answer gives for ``sft``, or None and why there is none."""
    given_answers, given_questions = task.get("answers"), task.get("_questions")
    answers: dict[str, Any] = given_answers if isinstance(given_answers, dict) else {}
    asked: list[Any] = given_questions if isinstance(given_questions, list) else []
    texts = [str(q.get("name")) for q in asked if isinstance(q, dict) and q.get("type") == "text"]
    if question is not None and asked and question not in texts:
        return None, f"no text question {quoted(question)} among its questions (text questions: " \
                     f"{', '.join(quoted(t) for t in texts) or 'none'})"
    name = question if question is not None else (texts[0] if texts else None)
    given = answers.get(name) if name is not None else task.get("user_input")  # (Prodigy's text_input)
    if isinstance(given, str) and given.strip():
        return given, ""
    response = task.get("response")
    if isinstance(response, str) and response.strip():
        return response, ""  # no correction given: the reply as the model gave it
    asked_for = f"no answer to the text question {quoted(name)}" if name is not None else "no text answer"
    return None, f"{asked_for} and no 'response' to write as the reply"


def sft_record(task: dict[str, Any], where: Where, problems: Problems, fields: SftFields) -> dict[str, Any] | None:
    """``{"messages": [user: prompt, assistant: corrected reply]}``, or None (the reason counted and warned)."""
    prompt = task.get(fields.prompt_field)
    if not isinstance(prompt, str) or not prompt.strip():
        problems.answer(where, f"no prompt in {quoted(fields.prompt_field)} (choose the field with --prompt-field): "
                               "not exported")
        return None
    response, why = sft_response(task, fields.response_question)
    if response is None:
        problems.answer(where, f"{why}: not exported")
        return None
    return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]}


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


class FlaggedOnly:
    """A database as ``db-out --flagged`` reads it: its readers yield the flagged answers alone (``"_flagged":
    true``), streamed as the database's are (an answer whose JSON has no ``"_flagged"`` key is not parsed); what
    ``count_answers`` says (a progress bar's end) comes from the storage's running totals. Anything else is the
    database's own."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)

    def answers(self, dataset: str, answer: str | None = None, session: str | None = None
                ) -> Iterator[dict[str, Any]]:
        return (a for a in self.db.answers(dataset, answer, session) if a.get("_flagged") is True)

    def answers_json(self, dataset: str, answer: str | None = None) -> Iterator[str]:
        return (content for content in self.db.answers_json(dataset, answer)
                if '"_flagged"' in content and json.loads(content).get("_flagged") is True)

    def count_answers(self, dataset: str, session: str | None = None) -> int:
        counts = self.db.flag_counts(dataset)
        return sum(c["flagged"] for who, c in counts.items() if session is None or who == session)


def export(db: Any, dataset: str, fmt: str, out: Any, *, answer: str | None, lang: str, problems: Problems,
           advance: Callable[[int], None] = lambda n: None, sft: SftFields | None = None) -> ExportSummary:
    """Write ``dataset`` in ``fmt`` to ``out`` (a text file; a binary one for ``spacy``).

    ``answer`` None selects the training answers (:func:`is_training_answer`) for ``spacy``, every answer for
    ``preference`` (what gives no pair is counted), and the accepted answers for the formats without negative
    labels (conll, doccano, label-studio, sft).
    ``sft`` says where ``sft`` finds the prompt and the reply (default: :class:`SftFields`).
    """
    summary = ExportSummary()
    nlp = blank(lang) if fmt in ("spacy", "conll") else None
    try:
        _export(db, dataset, fmt, out, answer, nlp, problems, advance, summary, sft or SftFields())
    finally:
        problems.finish()
    return summary


def _export(db: Any, dataset: str, fmt: str, out: Any, answer: str | None, nlp: "Language | None",
            problems: Problems, advance: Callable[[int], None], summary: ExportSummary, sft: SftFields) -> None:
    def leave_out(reason: str) -> None:
        summary.left_out[reason] = summary.left_out.get(reason, 0) + 1

    doc_bin = None
    if fmt == "spacy":
        from spacy.tokens import DocBin

        doc_bin = DocBin(store_user_data=False)
    first = True
    task_ids: set[int] = set()
    preferences = PreferenceCounts()
    if fmt == "label-studio":
        out.write("[")
    for n, task in numbered_answers(db, dataset):
        advance(n)
        if answer is not None:
            if task.get("answer") != answer:
                continue
        elif fmt != "preference" and not (is_training_answer(task) if fmt == "spacy" else
                                          task.get("answer") == "accept"):
            leave_out(str(task.get("answer")))
            continue
        where = Where(dataset, n, task.get("_input_hash"))
        if fmt == "preference":  # every answer read: what gives no pair is counted in preferences.summary()
            result = answer_pairs(task)
            preferences.add(result)
            if result.problem is not None:
                problems.answer(where, f"{result.problem}: no preference pair written")
            for pair in result.pairs:
                out.write(json.dumps(pair, ensure_ascii=False) + "\n")
            summary.records += len(result.pairs)
            continue
        if fmt == "sft":
            record = sft_record(task, where, problems, sft)
            if record is not None:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                summary.records += 1
            continue
        if task.get("_view_id") in FEEDBACK_VIEWS:
            problems.answer(where, "a feedback answer holds neither spans nor text labels: not exported "
                                   "(--format sft writes its prompt and reply)")
            continue
        if task.get("_view_id") in PREFERENCE_VIEWS:
            problems.answer(where, "a preference answer (which reply is better) holds neither spans nor text labels: "
                                   "not exported (--format preference writes its pairs)")
            continue
        kind = answer_kind(task)
        if kind is None:
            problems.answer(where, "neither spans nor text labels: not exported")
            continue
        if fmt in ("spacy", "conll") and kind == "spans" and task.get("relations"):
            n_rel = len(task["relations"]) if isinstance(task["relations"], list) else 1
            problems.note(where, f"{n_rel} relation{'s' if n_rel != 1 else ''} not written ({fmt} holds spans; "
                                 "jsonl, doccano and label-studio hold relations)", RELATIONS_LEFT)
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
            record = label_studio_task(task, where, problems, label_studio_id(task, task_ids))
            out.write(("\n" if first else ",\n") + json.dumps(record, ensure_ascii=False))
        first = False
        summary.records += 1
    if fmt == "preference":
        problems.write(f"Preference pairs: {preferences.summary()}.")
    if fmt == "label-studio":
        out.write("\n]\n" if not first else "]\n")
    if doc_bin is not None:
        out.write(doc_bin.to_bytes())
