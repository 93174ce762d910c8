"""Other tools' annotations as stored answers: the readers of ``db-in --format``.

A team moves to tuiannot from Prodigy, Label Studio, doccano, spaCy or CoNLL files, and back. Each reader turns a
peer's export into stored answers, which all that follows (``db-out``, ``train``, ``iaa``, ``review``) takes as
if annotated here:

* spans: ``{"text", "tokens", "spans": [{"start", "end", "label", "token_start", "token_end"}], "answer":
  "accept", "_view_id"}``, ``ner_manual``, or ``spans_manual`` where spans overlap (and for a DocBin's
  ``doc.spans``). Tokens are the file's own words where it has them (CoNLL, DocBin), else ``spacy.blank(lang)``'s;
  a span that does not sit on token boundaries is reported and left out, never moved.
* categories: ``{"text", "options": [{"id", "text"}], "accept": [...], "answer": "accept", "_view_id":
  "choice"}``, the options every category label the file uses (doccano and Label Studio do not list those
  offered) or the record's own (spaCy ``cats``, a score of 0.5 or more accepted); an option not accepted "does
  not apply", as in a choice answered here.

**Round trips are the point**: what ``db-out --format X`` writes, :func:`read` reads back to the same texts, spans
and labels (tokens may be made again). What a format does not hold cannot come back: CoNLL keeps no spacing (a
sentence is its tokens joined by single spaces: "Ann left." comes back as "Ann left .", the same tokens, spans
and labels) and writes whitespace inside a token as ``_``; in doccano and Label Studio an answer that marks
nothing (``"label": []``, an empty result) means "no entities" in a file of spans and "none of the labels" in a
file of categories, and in a file of both cannot be told apart: it is reported.

What each reader takes (:func:`detect` says how a file is recognised): **prodigy** tasks as they are (checking
them is ``db-in``'s job). **label-studio**: every annotation of a task that was not cancelled (Label Studio's
"skip"; ``predictions`` are a model's, not answers), with ``_annotator_id`` from ``completed_by``,
``_timestamp`` from ``updated_at``, ``_seconds`` from ``lead_time``; ``labels`` results are spans (checked against
the result's ``text``, and read as the UTF-16 offsets of Label Studio's browser front end where only those fit),
``choices`` categories, other result types reported. **doccano**: ``"label"`` (``"labels"`` before doccano 1.0)
as ``[[start, end, "LABEL"], ...]`` or ``["POS", ...]``, or the relation export's ``"entities"`` (relations
reported). **spacy**: a DocBin, whose ``doc.ents`` (where the Doc has entity annotation, even none), each
``doc.spans`` group and ``doc.cats`` are answers of their own; or JSONL of ``{"text", "cats"}``. **conll**: IOB2
(IOB1, BIOES, BILOU too) ``token<TAB>tag`` lines, or whitespace-separated columns with the tag last (CoNLL-2003);
a tag that is not IOB is reported and read as ``O``, a line that is no token line is reported with its sentence
(without one of its tokens it would be another text).

Nothing is dropped silently, and no shape is trusted (any field may hold any JSON type): a record the format
cannot read, a span that cannot be kept, a result not read is a warning ``FILE:ITEM: reason`` (ITEM: the line, or
``document N`` in a DocBin) given to ``warn``, and what it names is left out; a file with nothing readable, or a
DocBin whose documents cannot be made, is a :class:`~tuiannot.errors.UserError`, never an empty success or an
exception. A pipe or standard input (``-``) is copied to a temporary file (doccano and Label Studio are read
twice). Headless: no Textual, Rich or SQL; spaCy is imported only to tokenise and to read a DocBin.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from functools import partial
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import accumulate, count, islice
from numbers import Real
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from ..nlp.load import blank
from ..nlp.spans import align_spans, doc_tokens, tokens_from_words
from ..sanitize import one_line
from ..sources import STDIN, Record, Source, check_text_task
from ..tasks import INPUT_KEYS, is_hash
from .answers import quoted

if TYPE_CHECKING:
    from spacy.language import Language

FORMATS: tuple[str, ...] = ("prodigy", "label-studio", "doccano", "spacy", "conll")

Warn = Callable[[str], None]
Item = tuple[int, dict[str, Any]]  # what read() yields: the record's line (a DocBin: document number) and an answer

HEAD_BYTES = 1 << 16  # what detect() reads of a file
DETECT_RECORDS = 20  # records detect() goes through for the first JSON object
CONLL_LINES = 50  # lines detect() checks to call a file CoNLL

_CHOOSE = f"pass --format ({', '.join(FORMATS)})"
_TAG = re.compile(r"(?:([BIESLU])-(\S.*)|O)\Z")
_LS_ANNOTATIONS = ("annotations", "completions")
_SPAN_KEYS = ("start", "end", "label", "token_start", "token_end")


# -- detection -----------------------------------------------------------------------------------------------------
def detect(path: str | os.PathLike[str]) -> str:
    """The format of the file at ``path`` (one of :data:`FORMATS`), from its extension and first records.

    ``.spacy`` (or zlib-compressed bytes): spacy. JSON (``[`` or ``{`` first, or a ``.json``/``.jsonl`` name): the
    first object decides: ``annotations``/``completions``/``predictions`` lists, or ``data`` and no ``text``:
    label-studio; ``label`` or ``labels`` a list, or doccano ``entities``: doccano; ``cats``: spacy; else an input
    field or ``_input_hash``: prodigy. Other text: conll if its first lines are token lines. Two formats or none,
    an empty or binary file, or a pipe (read once: nothing can be looked at first) is a :class:`UserError`.
    """
    name, p = _name(path), Path(path)
    if _is_pipe(path):
        raise UserError(f"{name}: the format of a pipe or standard input cannot be detected (it is read only "
                        f"once); {_CHOOSE}")
    head = _head(p, name)
    if p.suffix.lower() == ".spacy" or _is_docbin(head):
        return "spacy"
    if _binary(head):
        raise UserError(f"{name}: a binary file of no format tuiannot reads; {_CHOOSE}")
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not text:
        raise UserError(f"{name}: the file is empty: nothing to import")
    if text[0] in "[{" or p.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return _detect_json(p, name)
    lines = text.splitlines()
    if _looks_conll(lines[:-1] if len(head) == HEAD_BYTES and len(lines) > 1 else lines):  # the last one cut
        return "conll"
    raise UserError(f"{name}: neither JSON records nor token<TAB>tag lines: cannot tell the format; {_CHOOSE}")


def _detect_json(path: Path, name: str) -> str:
    for record in islice(_json_records(path), DETECT_RECORDS):
        if record.error is not None:
            continue
        where = f"{name}:{record.line}"
        if not isinstance(record.task, dict):
            raise UserError(f"{where}: not a JSON object: cannot tell the format; {_CHOOSE}")
        shapes = _shapes(record.task)
        if len(shapes) == 1:
            return shapes[0]
        if shapes:
            raise UserError(f"{where}: the first record fits {' and '.join(shapes)}: cannot tell which; {_CHOOSE}")
        keys = ", ".join(one_line(str(k), 30) for k in list(record.task)[:8]) or "none"
        raise UserError(f"{where}: the first record (keys: {keys}) is no format tuiannot reads; {_CHOOSE}")
    raise UserError(f"{name}: no JSON object in its first records: cannot tell the format; {_CHOOSE}")


def _shapes(task: dict[str, Any]) -> list[str]:
    """The formats whose records look like ``task`` (none: an empty list)."""
    entities = task.get("entities")
    found = [fmt for fmt, fits in (
        ("label-studio", any(isinstance(task.get(k), list) for k in (*_LS_ANNOTATIONS, "predictions"))
         or (isinstance(task.get("data"), dict) and "text" not in task)),
        ("doccano", isinstance(task.get("label"), list) or isinstance(task.get("labels"), list)
         or (isinstance(entities, list) and bool(entities)
             and all(isinstance(e, dict) and "start_offset" in e for e in entities))),
        ("spacy", isinstance(task.get("cats"), dict))) if fits]
    if not found and (any(k in task for k in INPUT_KEYS) or is_hash(task.get("_input_hash"))):
        found.append("prodigy")
    return found


def _token_line(line: str) -> tuple[str, str] | None:
    """``(token, tag)``, or None for no token line: ``token<TAB>...<TAB>tag`` with any tag (the reader reports an
    unknown one), or whitespace-separated columns whose last is an IOB tag (CoNLL-2003)."""
    cols = line.rstrip("\r\n").split("\t") if "\t" in line else line.split()
    if len(cols) < 2 or not cols[0].strip() or not cols[-1].strip():
        return None
    token, tag = cols[0].strip(), cols[-1].strip()
    return None if "\t" not in line and not _TAG.match(tag) else (token, tag)


def _skipped_line(line: str) -> bool:
    """A blank line, ``-DOCSTART-``, or a comment (``#`` first, unless it is a token ``#`` with an IOB tag)."""
    stripped = line.strip()
    if stripped.startswith("#"):
        pair = _token_line(line)
        return pair is None or _TAG.match(pair[1]) is None
    return not stripped or stripped.startswith("-DOCSTART-")


def _looks_conll(lines: list[str]) -> bool:
    """Every one of the first lines a token line, and most of their tags IOB."""
    found = [_token_line(line) for line in lines if not _skipped_line(line)][:CONLL_LINES]
    return bool(found) and all(found) and 2 * sum(bool(p and _TAG.match(p[1])) for p in found) >= len(found)


def _binary(head: bytes) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return True
    return b"\x00" in head[:8192]


def _is_docbin(head: bytes) -> bool:
    """zlib's header (a DocBin is compressed msgpack) on bytes that are not text."""
    return len(head) >= 2 and head[0] == 0x78 and (head[0] << 8 | head[1]) % 31 == 0 and _binary(head)


# -- files -------------------------------------------------------------------------------------------------------
def _name(path: str | os.PathLike[str]) -> str:
    return "<stdin>" if str(path) == STDIN else str(path)


def _is_pipe(path: str | os.PathLike[str]) -> bool:
    """Standard input, a pipe, a FIFO or a device: read once."""
    try:
        return str(path) == STDIN or not (stat.S_ISREG(mode := os.stat(path).st_mode) or stat.S_ISDIR(mode))
    except OSError:
        return False  # missing: _head says so


def _head(path: Path, name: str) -> bytes:
    """The file's first bytes (whether it is there and readable checked on the way)."""
    try:
        with open(path, "rb") as f:
            return f.read(HEAD_BYTES)
    except OSError as e:
        reason = {FileNotFoundError: "no such file", IsADirectoryError: "is a directory, not a file"}.get(type(e))
        raise UserError(f"{name}: {reason or f'cannot be read ({e.strerror})'}") from None


@contextmanager
def _regular_file(path: str | os.PathLike[str], name: str) -> Iterator[Path]:
    """``path`` itself, or for a pipe or standard input a temporary copy of it (deleted afterwards)."""
    if not _is_pipe(path):
        yield Path(path)
        return
    with tempfile.NamedTemporaryFile(prefix="tuiannot-import-", delete=False) as copy:
        try:
            with nullcontext(sys.stdin.buffer) if str(path) == STDIN else open(path, "rb") as source:
                shutil.copyfileobj(source, copy)
        except OSError as e:
            os.unlink(copy.name)
            raise UserError(f"{name}: cannot be read ({e.strerror})") from None
    try:
        yield Path(copy.name)
    finally:
        os.unlink(copy.name)


def _json_records(path: Path) -> Iterator[Record]:
    """A JSON array's elements or JSONL's lines, as :mod:`tuiannot.sources` reads them (a bad one: an error)."""
    first = _head(path, str(path)).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")[:1]
    return iter(Source(path, loader="json" if first == "[" else "jsonl", validate=None))


# -- reading -----------------------------------------------------------------------------------------------------
@dataclass
class _Reader:
    """What one :func:`read` shares: the file's name, the warnings given, the tokenizer (made when first needed)."""

    name: str
    lang: str
    warn: Warn
    warnings: int = 0
    first_warning: str = ""
    _nlp: "Language | None" = None

    def report(self, item: int | str, *reason: str) -> None:
        line = f"{self.name}:{item}: {''.join(reason)}"
        self.warnings += 1
        self.first_warning = self.first_warning or line
        self.warn(line)

    def task(self, record: Record, check: Callable[[Any], str | None] = check_text_task) -> dict[str, Any] | None:
        """The record's object if it could be read (:mod:`tuiannot.sources`: JSON, UTF-8, size) and ``check`` (an
        object with a non-empty ``text``) finds nothing wrong; else what is wrong reported."""
        problem = record.error or check(record.task)
        if problem is not None:
            self.report(record.line, problem)
            return None
        return record.task

    def span_answer(self, item: int | str, text: str, entries: Iterable[Any], prefix: str = "",
                    tokens: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """A span answer from ``[start, end, label]`` character offsets: malformed ones, outside the text or not on
        token boundaries reported and left out; ``spans_manual`` where the spans overlap."""
        report = partial(self.report, item, prefix)
        spans: list[tuple[int, int, str]] = []
        for entry in entries:
            if not (isinstance(entry, (list, tuple)) and len(entry) == 3):
                report(f"span {one_line(str(entry), 60)} is not [start, end, label]; left out")
                continue
            start, end, label = entry
            where = f"span [{one_line(str(start), 20)}, {one_line(str(end), 20)}) {one_line(str(label), 60)}"
            if not (_is_int(start) and _is_int(end)):
                report(f"{where}: start and end must be integers; left out")
            elif not 0 <= start < end <= len(text):
                report(f"{where}: offsets outside the text (length {len(text)}); left out")
            elif not (isinstance(label, str) and label.strip()):
                report(f"{where}: the label must be a non-empty string; left out")
            elif (start, end, label) not in spans:  # the same span twice says it once
                spans.append((start, end, label))
        overlapping = any(a[0] < b[1] and b[0] < a[1] for i, a in enumerate(spans) for b in spans[i + 1:])
        if tokens is None:
            self._nlp = self._nlp or blank(self.lang)
            tokens = doc_tokens(self._nlp.make_doc(text))
        aligned = align_spans([{"start": s, "end": e, "label": lab} for s, e, lab in spans], tokens,
                              overlapping=overlapping, labels=None, report=report)
        return {"text": text, "tokens": tokens, "spans": [{k: s[k] for k in _SPAN_KEYS} for s in aligned],
                "answer": "accept", "_view_id": "spans_manual" if overlapping else "ner_manual"}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _choice_answer(text: str, options: Iterable[str], accept: Iterable[str]) -> dict[str, Any]:
    accepted = list(dict.fromkeys(accept))
    return {"text": text, "options": [{"id": o, "text": o} for o in dict.fromkeys([*options, *accepted])],
            "accept": accepted, "answer": "accept", "_view_id": "choice"}


def _meta(record: dict[str, Any], read: Iterable[str], renamed: dict[str, str]) -> dict[str, Any]:
    """``{"meta": ...}`` of the record's fields the answer is not made of (its own ``meta`` first; empty values
    left out; ``renamed`` keys, an ``id``, under a clearer name), or ``{}``."""
    meta: dict[str, Any] = dict(record["meta"]) if isinstance(record.get("meta"), dict) else {}
    meta.update((renamed.get(k, k), v) for k, v in record.items()
                if k not in read and k != "meta" and v not in ([], {}, None))
    return {"meta": meta} if meta else {}


def read(path: str | os.PathLike[str], fmt: str, *, lang: str = "en",
         warn: Warn = lambda line: print(f"warning: {line}", file=sys.stderr)) -> Iterator[Item]:
    """The answers in the file at ``path`` (``-``: standard input), read as ``fmt`` (one of :data:`FORMATS`).

    Yields ``(line, answer)``: the line the record starts on (in a DocBin the document's number, from 1) and an
    answer in the stored format (``prodigy`` records as they are). One record may give several answers (Label
    Studio's annotators; a Doc's entities, span groups and categories). Everything left out is a
    ``warn("FILE:ITEM: reason")``; a file in which nothing could be read raises :class:`UserError` at its end.
    An unknown format or a missing file raises at once.
    """
    if fmt not in FORMATS:
        raise UserError(f"unknown import format {fmt!r} (choose from {', '.join(FORMATS)})")
    if not _is_pipe(path):
        _head(Path(path), _name(path))  # a missing file: at once
    return _read(path, fmt, _Reader(_name(path), lang, warn))


def _read(path: str | os.PathLike[str], fmt: str, reader: _Reader) -> Iterator[Item]:
    given = 0
    with _regular_file(path, reader.name) as local:
        for line, answer in _READERS[fmt](local, reader):
            try:
                json.dumps(answer, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError as e:  # what SQLite and the hashes cannot take
                reader.report(line, f"not text: a lone surrogate {e.object[e.start:e.end]!r}; left out")
                continue
            given += 1
            yield line, answer
    if not given:
        n = reader.warnings
        detail = f": {n} warning{'s' if n != 1 else ''}, the first {one_line(reader.first_warning, 300)}" if n else ""
        raise UserError(f"no records of {fmt} in {reader.name}{detail}")


def _prodigy(path: Path, r: _Reader) -> Iterator[Item]:
    def problem(task: Any) -> str | None:
        if not isinstance(task, dict):
            return "expected a JSON object (a Prodigy task)"
        if not (any(k in task for k in INPUT_KEYS) or is_hash(task.get("_input_hash"))):
            return f"no input field ({', '.join(INPUT_KEYS)}) and no _input_hash: not a task"
        return None

    for record in _json_records(path):
        if (task := r.task(record, problem)) is not None:
            yield record.line, task


Piece = tuple[int, str, str, list[Any], dict[str, Any], str]
"""A doccano record's or Label Studio annotation's part: line, text, kind (``spans``: ``[start, end, label]``
entries; ``cats``: labels; ``empty``: nothing marked), entries, other fields, prefix for warnings."""


def _by_kind(pieces: Callable[[_Reader], Iterator[Piece]], r: _Reader) -> Iterator[Item]:
    """Answers from the pieces, read twice: first (quietly) for what the file marks (spans, categories and their
    labels in the order first seen), then for the answers. A piece that marks nothing is of the file's one kind
    (spans if it has neither); in a file of both it is reported."""
    spans, cats, labels = False, False, dict[str, None]()
    for _, _, kind, entries, _, _ in pieces(_Reader(r.name, r.lang, lambda line: None)):
        spans, cats = spans or kind == "spans", cats or kind == "cats"
        labels.update(dict.fromkeys(str(e) for e in entries) if kind == "cats" else {})
    for line, text, kind, entries, fields, prefix in pieces(r):
        if kind == "empty" and spans and cats:
            r.report(line, f"{prefix}nothing marked, in a file with both spans and text labels: cannot tell whether "
                           "it means no entities or none of the labels; left out")
            continue
        if kind == "spans" or (kind == "empty" and not cats):
            yield line, {**r.span_answer(line, text, entries, prefix), **fields}
        else:
            yield line, {**_choice_answer(text, labels, entries), **fields}


# -- doccano -----------------------------------------------------------------------------------------------------
def _doccano_labels(task: dict[str, Any]) -> tuple[str, list[Any]]:
    """``("spans", [[start, end, label], ...])``, ``("cats", [label, ...])``, ``("empty", [])`` or ``("bad",
    [reason])``."""
    value = next((task[k] for k in ("label", "labels") if isinstance(task.get(k), list)), None)
    if value is None:
        entities = task.get("entities")
        if not isinstance(entities, list):
            return "bad", ["no 'label' list ([[start, end, label], ...] or text labels): not a doccano record"]
        value = [[e.get("start_offset"), e.get("end_offset"), e.get("label")] if isinstance(e, dict) else e
                 for e in entities]
    if not value:
        return "empty", []
    if all(isinstance(v, str) for v in value):
        return ("cats", value) if all(v.strip() for v in value) else ("bad", ["a text label in 'label' is blank"])
    if all(isinstance(v, list) for v in value):
        return "spans", value
    return "bad", ["'label' is neither a list of [start, end, label] spans nor a list of text labels"]


def _doccano(path: Path, r: _Reader) -> Iterator[Piece]:
    for record in _json_records(path):
        if (task := r.task(record)) is None:
            continue
        line = record.line
        kind, value = _doccano_labels(task)
        if kind == "bad":
            r.report(line, value[0])
            continue
        if relations := task.get("relations"):
            r.report(line, f"{len(relations) if isinstance(relations, list) else 'its'} relation(s) not read "
                           "(tuiannot stores spans, not relations)")
        meta = _meta(task, ("text", "label", "labels", "entities", "relations"), {"id": "doccano_id"})
        yield line, task["text"], kind, value, meta, ""


# -- Label Studio --------------------------------------------------------------------------------------------------
def _ls_annotations(task: dict[str, Any]) -> list[Any]:
    return next((task[k] for k in _LS_ANNOTATIONS if isinstance(task.get(k), list)), [])  # of any shape


def _ls_text_key(task: dict[str, Any]) -> str | None:
    """The ``data`` key of the text: ``text``, else the one string, else the string a result points at."""
    strings = [k for k, v in task["data"].items() if isinstance(v, str)]
    if "text" in strings or len(strings) == 1:
        return "text" if "text" in strings else strings[0]
    results = (a["result"] for a in _ls_annotations(task) if isinstance(a, dict) and isinstance(a.get("result"), list))
    return next((str(res["to_name"]) for result in results for res in result
                 if isinstance(res, dict) and res.get("to_name") in strings), None)


def _from_utf16(text: str, start: int, end: int) -> tuple[int, int] | None:
    """UTF-16 code unit offsets (JavaScript's, which Label Studio's front end counts) as Python's."""
    found = {units: i for i, units in enumerate(accumulate((2 if ord(c) > 0xFFFF else 1 for c in text), initial=0))}
    return (found[start], found[end]) if start in found and end in found else None


def _ls_results(annotation: dict[str, Any], text: str, report: Warn) -> tuple[list[Any] | None, list[str] | None]:
    """An annotation's spans (``[start, end, label]``; None: no labels result) and choices (None: no choices
    result); what cannot be read reported."""
    spans: list[Any] | None = None
    choices: list[str] | None = None
    not_read: dict[str, int] = {}
    for result in annotation["result"]:
        value = result.get("value") if isinstance(result, dict) else None
        kind = str(result.get("type")) if isinstance(result, dict) else "(none)"
        if kind == "labels" and isinstance(value, dict):
            spans = spans or []
            labels, start, end, quote = value.get("labels"), value.get("start"), value.get("end"), value.get("text")
            if not (isinstance(labels, list) and labels):
                report(f"a labels result at [{start}, {end}) has no labels; left out")
                continue
            if isinstance(start, int) and isinstance(end, int) and isinstance(quote, str) and text[start:end] != quote:
                moved = _from_utf16(text, start, end)
                if moved is None or text[moved[0]:moved[1]] != quote:
                    report(f"span [{start}, {end}) {one_line(str(labels[0]), 60)}: the text there "
                           f"({quoted(text[start:end])}) is not the result's ({quoted(quote)}); left out")
                    continue
                start, end = moved
            spans.extend([start, end, label] for label in labels)
        elif kind == "choices" and isinstance(value, dict):
            if isinstance(found := value.get("choices"), list) and all(isinstance(c, str) and c.strip() for c in found):
                choices = [*(choices or []), *found]
            else:
                report("a choices result whose 'choices' is not a list of labels (non-empty strings); left out")
        else:
            not_read[kind] = not_read.get(kind, 0) + 1
    for kind, n in not_read.items():
        report(f"{n} result{'s' if n != 1 else ''} of type {one_line(kind, 40)} not read (tuiannot reads labels "
               "and choices)")
    return spans, choices


def _annotator(annotation: Any) -> str | None:
    who = annotation.get("completed_by") if isinstance(annotation, dict) else None
    who = (who.get("email") or who.get("id")) if isinstance(who, dict) else who
    return str(who) if isinstance(who, (int, str)) and not isinstance(who, bool) and who != "" else None


def _ls_fields(task: dict[str, Any], annotation: dict[str, Any], text_key: str) -> dict[str, Any]:
    """Who, when (``updated_at``, else ``created_at``), how long; the task's other data and its id as ``meta``."""
    who = _annotator(annotation)
    found: dict[str, Any] = {"_annotator_id": who, "_session_id": who} if who is not None else {}
    for key in ("updated_at", "created_at"):
        try:
            moment = datetime.fromisoformat(annotation[key].replace("Z", "+00:00"))
        except (AttributeError, KeyError, TypeError, ValueError):
            continue
        found["_timestamp"] = max(0, int(moment.replace(tzinfo=moment.tzinfo or timezone.utc).timestamp()))
        break
    if type(seconds := annotation.get("lead_time", -1)) in (int, float) and 0 <= seconds < 1e9:  # not a boolean
        found["_seconds"] = float(seconds)
    meta = {k: v for k, v in task["data"].items() if k != text_key}
    meta.update({"label_studio_id": task["id"]} if _is_int(task.get("id")) else {})
    return {**found, **({"meta": meta} if meta else {})}


def _label_studio(path: Path, r: _Reader) -> Iterator[Piece]:
    problem = "not a Label Studio task (an object with 'data' and 'annotations')"
    for record in _json_records(path):
        if (task := r.task(record, lambda t: None if isinstance(t, dict) and isinstance(t.get("data"), dict)
                           else problem)) is None:
            continue
        line, key = record.line, _ls_text_key(task)
        if key is None or not task["data"][key].strip():
            r.report(line, "no text in 'data' (a 'text' string, or one string field)")
            continue
        text, annotations = task["data"][key], [(n, a) for n, a in enumerate(_ls_annotations(task), 1)
                                                 if not (isinstance(a, dict) and a.get("was_cancelled"))]  # skipped
        if not annotations:
            r.report(line, "no annotations (predictions are a model's suggestions, not answers); left out"
                     if task.get("predictions") else "no annotations (or only skipped ones); left out")
        for number, annotation in annotations:
            who = _annotator(annotation)
            prefix = f"annotation {number}{f' (by {one_line(who, 60)})' if who else ''}: "
            if not (isinstance(annotation, dict) and isinstance(annotation.get("result"), list)):
                r.report(line, f"{prefix}not an object with a 'result' list; left out")
                continue
            spans, choices = _ls_results(annotation, text, partial(r.report, line, prefix))
            fields = _ls_fields(task, annotation, key)
            marked = [(kind, v) for kind, v in (("spans", spans), ("cats", choices)) if v is not None]
            for kind, entries in marked or [("empty", [])]:  # an annotation that marks nothing
                yield line, text, kind, entries, fields, prefix


# -- spaCy -------------------------------------------------------------------------------------------------------
def _spacy(path: Path, r: _Reader) -> Iterator[Item]:
    if path.suffix.lower() == ".spacy" or _binary(_head(path, r.name)):
        yield from _docbin(path, r)
        return
    for record in _json_records(path):
        if (task := r.task(record)) is None:
            continue
        line = record.line
        if not isinstance(task.get("cats"), dict) or not task["cats"]:
            r.report(line, "no 'cats' object ({label: score}): not a spaCy record")
            continue
        if scores := _scores(task["cats"], partial(r.report, line)):
            accept = [k for k, v in scores.items() if v >= 0.5]
            yield line, {**_choice_answer(task["text"], scores, accept), **_meta(task, ("text", "cats"), {})}


def _scores(cats: dict[Any, Any], report: Warn) -> dict[str, float]:
    """The categories whose label is a non-empty string and whose score is a number from 0 to 1; others reported."""
    scores = {}
    for label, score in cats.items():
        named = isinstance(label, str) and bool(label.strip())
        if named and isinstance(score, Real) and not isinstance(score, bool) and 0 <= float(score) <= 1:
            scores[label] = float(score)  # Real: numpy's float32 too, as a model's scores are
        else:
            why = f"{one_line(repr(score), 30)} is not a score from 0 to 1" if named else "no label"
            report(f"category {one_line(label if isinstance(label, str) else repr(label), 60)}: {why}; left out")
    return scores


def _docbin(path: Path, r: _Reader) -> Iterator[Item]:
    from spacy.tokens import DocBin
    try:
        doc_bin = DocBin().from_bytes(path.read_bytes())
    except OSError as e:
        raise UserError(f"{r.name}: cannot be read ({e.strerror})") from None
    except Exception as e:  # zlib's, msgpack's or spaCy's own errors: not a DocBin
        raise UserError(f"{r.name}: not a spaCy DocBin ({type(e).__name__}); {_CHOOSE}") from None
    docs = doc_bin.get_docs(blank(r.lang).vocab)
    for number in count(1):
        try:  # the Doc, its strings and spans: spaCy's and msgpack's own errors where the file is damaged
            if (doc := next(docs, None)) is None:
                return
            item, tokens, answers = f"document {number}", doc_tokens(doc), []
            if not doc.text.strip():
                r.report(item, "empty text; left out")
                continue
            if any(t.ent_iob != 0 for t in doc):  # entity annotation, even if it marks nothing
                ents = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
                answers.append(r.span_answer(item, doc.text, ents, tokens=tokens))
            for key, group in doc.spans.items():
                spans = [(s.start_char, s.end_char, s.label_) for s in group]
                answers.append({**r.span_answer(item, doc.text, spans, f"spans[{key!r}]: ", tokens),
                                "_view_id": "spans_manual", **({"meta": {"spans_key": key}} if key != "sc" else {})})
            if isinstance(doc.cats, dict) and (scores := _scores(doc.cats, partial(r.report, item))):
                answers.append(_choice_answer(doc.text, scores, [k for k, v in scores.items() if v >= 0.5]))
            if not answers:
                r.report(item, "no entity annotation, span groups or categories: nothing to import; left out")
        except (ArithmeticError, AttributeError, IndexError, KeyError, TypeError, ValueError) as e:  # not UserError
            raise UserError(f"{r.name}: document {number}: a damaged DocBin ({type(e).__name__})") from None
        yield from ((number, answer) for answer in answers)


# -- CoNLL -------------------------------------------------------------------------------------------------------
def _conll(path: Path, r: _Reader) -> Iterator[Item]:
    rows: list[tuple[int, str, str] | None] = []  # None: a line that could not be read
    start = 0

    def sentence() -> Iterator[Item]:
        if None in rows:
            r.report(start, "the sentence starting here is left out (a line of it could not be read)")
        elif rows:
            yield _conll_sentence([row for row in rows if row is not None], r)

    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8").lstrip("\ufeff" if number == 1 else "")
            except UnicodeDecodeError as e:
                r.report(number, f"invalid UTF-8 at byte {e.start}")
                line = None
            if line is not None and _skipped_line(line):
                yield from sentence()
                rows = []
                continue
            start = start if rows else number
            pair = _token_line(line) if line is not None else None
            if line is not None and pair is None:
                r.report(number, f"expected token<TAB>tag, got {quoted(line.rstrip(chr(10)))}")
            rows.append((number, *pair) if pair else None)
    yield from sentence()


def _conll_sentence(rows: list[tuple[int, str, str]], r: _Reader) -> Item:
    """One sentence's answer: its tokens joined by single spaces, entities from the tags."""
    words = [word for _, word, _ in rows]
    text = " ".join(words)
    tokens = tokens_from_words(text, words)
    spans: list[dict[str, Any]] = []
    open_label: str | None = None  # the label of the entity the last token is in
    for i, (number, _, tag) in enumerate(rows):
        match = _TAG.match(tag)
        if match is None:
            r.report(number, f"tag {quoted(tag)} is not IOB (B-, I-, O; or E-, S-, L-, U-): read as O")
        prefix, label = (match.group(1), match.group(2)) if match else (None, None)
        if prefix is None or label is None:
            open_label = None
            continue
        if prefix in "BSU" or label != open_label:  # I- after O or after another label starts one (as in IOB1)
            spans.append({"start": tokens[i]["start"], "label": label, "token_start": i})
        spans[-1].update(end=tokens[i]["end"], token_end=i)
        open_label = None if prefix in "ESLU" else label
    return rows[0][0], {"text": text, "tokens": tokens, "spans": [{k: s[k] for k in _SPAN_KEYS} for s in spans],
                        "answer": "accept", "_view_id": "ner_manual"}


_READERS: dict[str, Callable[[Path, _Reader], Iterator[Item]]] = {
    "prodigy": _prodigy, "spacy": _spacy, "conll": _conll,
    "label-studio": lambda path, r: _by_kind(lambda quiet: _label_studio(path, quiet), r),
    "doccano": lambda path, r: _by_kind(lambda quiet: _doccano(path, quiet), r),
}
