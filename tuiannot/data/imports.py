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
* relations: a span answer with ``relations`` (``head``, ``child``, ``head_span``, ``child_span``, ``label``, as
  ``rel`` stores them, rebuilt by :func:`~.answers.align_relations` between the answer's own spans) and
  ``_view_id`` ``relations``. A relation whose end names no entity or region (or one left out), that has no
  label, or that goes from a span to itself is reported and left out; the rest of the record is imported.
* compare: Prodigy's compare answers (the outputs under ``accept`` and ``reject``, a ``mapping``) in tuiannot's
  compare shape (:func:`~.compare.from_prodigy_compare`: ``outputs``, ``_sides``, ``winner``).

**Round trips are the point**: what ``db-out --format X`` writes, :func:`read` reads back to the same texts, spans,
relations and labels (tokens may be made again). What a format does not hold cannot come back: CoNLL keeps no spacing (a
sentence is its tokens joined by single spaces: "Ann left." comes back as "Ann left .", the same tokens, spans
and labels) and writes whitespace inside a token as ``_``; in doccano and Label Studio an answer that marks
nothing (``"label": []``, an empty result) means "no entities" in a file of spans and "none of the labels" in a
file of categories, and in a file of both cannot be told apart: it is reported; a relation answer without
relations is, in Label Studio, one of spans only.

What each reader takes (:func:`detect` says how a file is recognised): **prodigy** tasks as they are (checking them
is ``db-in``'s job), but compare answers (:func:`from_prodigy`). **label-studio**: every annotation of a task that
was not cancelled (Label Studio's "skip"; ``predictions`` are a model's, not answers), with ``_annotator_id`` from
``completed_by``, ``_timestamp`` from ``updated_at``, ``_seconds`` from ``lead_time``; ``labels`` results are spans
(checked against the result's ``text``, and read as the UTF-16 offsets of Label Studio's browser front end where
only those fit), ``choices`` categories, ``relation`` results relations (``from_id``/``to_id`` the ids of
``labels`` regions; ``direction`` ``left`` reversed), other result types reported. **doccano**: ``"label"``
(``"labels"`` before doccano 1.0) as ``[[start, end, "LABEL"], ...]`` or ``["POS", ...]``, or the relation export's
``"entities"`` with ids and ``"relations"`` (``from_id``, ``to_id``, ``type``) between them. **spacy**: a DocBin,
whose ``doc.ents`` (where the Doc has entity annotation, even none), each ``doc.spans`` group and ``doc.cats`` are
answers of their own; or JSONL of ``{"text", "cats"}``. **conll**: IOB2 (IOB1, BIOES, BILOU too) ``token<TAB>tag``
lines, or whitespace-separated columns with the tag last (CoNLL-2003); a tag that is not IOB is reported and read
as ``O``, a line that is no token line is reported with its sentence (without one of its tokens it would be another
text).

Nothing is dropped silently, and no shape is trusted (any field may hold any JSON type): a record the format
cannot read, a span that cannot be kept, a result not read is a warning ``FILE:ITEM: reason`` (ITEM: the line, or
``document N`` in a DocBin) given to ``warn``, and what it names is left out; a file with nothing readable, or a
DocBin whose documents cannot be made, is a :class:`~tuiannot.errors.UserError`, never an empty success or an
exception. A pipe or standard input (``-``) is copied to a temporary file (doccano and Label Studio are read
twice). Headless: no Textual, Rich or SQL; spaCy is imported only to tokenise and to read a DocBin.

Three modules, one seam: this one is the entry point (:func:`detect`, :func:`read`, pipes) and reads the JSON
formats of character offsets (Prodigy, doccano, Label Studio); :mod:`.imports_spacy` reads the formats that bring
their own words (spaCy, CoNLL); :mod:`.imports_common` is what both build on (the :class:`~.imports_common.Reader`
that reports and makes span answers, JSON records, the shared answer builders) and imports neither.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from functools import partial
from itertools import accumulate, islice
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..sanitize import one_line
from ..sources import STDIN
from ..tasks import INPUT_KEYS, is_hash
from .answers import align_relations, quoted
from .compare import from_prodigy_compare
from .imports_common import (CHOOSE, FORMATS, HEAD_BYTES, Item, Reader, Warn, binary_head, choice_answer, is_int,
                             json_records, meta_fields, read_head)
from .imports_spacy import looks_conll, read_conll, read_spacy

__all__ = ["FORMATS", "Item", "Warn", "detect", "read"]

DETECT_RECORDS = 20  # records detect() goes through for the first JSON object

_LS_ANNOTATIONS = ("annotations", "completions")


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
                        f"once); {CHOOSE}")
    head = read_head(p, name)
    if p.suffix.lower() == ".spacy" or _is_docbin(head):
        return "spacy"
    if binary_head(head):
        raise UserError(f"{name}: a binary file of no format tuiannot reads; {CHOOSE}")
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not text:
        raise UserError(f"{name}: the file is empty: nothing to import")
    if text[0] in "[{" or p.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return _detect_json(p, name)
    lines = text.splitlines()
    if looks_conll(lines[:-1] if len(head) == HEAD_BYTES and len(lines) > 1 else lines):  # the last one cut
        return "conll"
    raise UserError(f"{name}: neither JSON records nor token<TAB>tag lines: cannot tell the format; {CHOOSE}")


def _detect_json(path: Path, name: str) -> str:
    for record in islice(json_records(path), DETECT_RECORDS):
        if record.error is not None:
            continue
        where = f"{name}:{record.line}"
        if not isinstance(record.task, dict):
            raise UserError(f"{where}: not a JSON object: cannot tell the format; {CHOOSE}")
        shapes = _shapes(record.task)
        if len(shapes) == 1:
            return shapes[0]
        if shapes:
            raise UserError(f"{where}: the first record fits {' and '.join(shapes)}: cannot tell which; {CHOOSE}")
        keys = ", ".join(one_line(str(k), 30) for k in list(record.task)[:8]) or "none"
        raise UserError(f"{where}: the first record (keys: {keys}) is no format tuiannot reads; {CHOOSE}")
    raise UserError(f"{name}: no JSON object in its first records: cannot tell the format; {CHOOSE}")


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


def _is_docbin(head: bytes) -> bool:
    """zlib's header (a DocBin is compressed msgpack) on bytes that are not text."""
    return len(head) >= 2 and head[0] == 0x78 and (head[0] << 8 | head[1]) % 31 == 0 and binary_head(head)


# -- files -------------------------------------------------------------------------------------------------------
def _name(path: str | os.PathLike[str]) -> str:
    return "<stdin>" if str(path) == STDIN else str(path)


def _is_pipe(path: str | os.PathLike[str]) -> bool:
    """Standard input, a pipe, a FIFO or a device: read once."""
    try:
        return str(path) == STDIN or not (stat.S_ISREG(mode := os.stat(path).st_mode) or stat.S_ISDIR(mode))
    except OSError:
        return False  # missing: read_head says so


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


# -- reading -----------------------------------------------------------------------------------------------------
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
        read_head(Path(path), _name(path))  # a missing file: at once
    return _read(path, fmt, Reader(_name(path), lang, warn))


def _read(path: str | os.PathLike[str], fmt: str, reader: Reader) -> Iterator[Item]:
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


def from_prodigy(task: Any) -> Any:
    """A Prodigy record in tuiannot's stored shape: a compare answer (one with a ``mapping``: its outputs under
    ``accept`` and ``reject``) as :func:`~.compare.from_prodigy_compare` turns it (ValueError: it is not one, the
    reason); any other record as it is (checking it is ``db-in``'s job), a task of its own too (one with an input
    field) whose ``mapping`` is something else."""
    if not (isinstance(task, dict) and "mapping" in task):
        return task
    try:
        return from_prodigy_compare(task)
    except (TypeError, ValueError) as e:  # TypeError: a mapping whose values are not all strings
        if any(k in task for k in INPUT_KEYS):
            return task
        raise ValueError(str(e) if isinstance(e, ValueError) else
                         "not a Prodigy compare answer: no mapping of A and B to accept and reject") from None


def _prodigy(path: Path, r: Reader) -> Iterator[Item]:
    def problem(task: Any) -> str | None:
        if not isinstance(task, dict):
            return "expected a JSON object (a Prodigy task)"
        if not (any(k in task for k in INPUT_KEYS) or is_hash(task.get("_input_hash"))):
            return f"no input field ({', '.join(INPUT_KEYS)}) and no _input_hash: not a task"
        return None

    for record in json_records(path):
        if record.error is None:  # a compare answer in tuiannot's shape before it is checked
            try:
                record.task = from_prodigy(record.task)
            except ValueError as e:
                record.error = str(e)
        if (task := r.task(record, problem)) is not None:
            yield record.line, task


Piece = tuple[int, str, str, list[Any], dict[str, Any], str]
"""A doccano record's or Label Studio annotation's part: line, text, kind (``spans``: ``[start, end, label]``
entries; ``cats``: labels; ``empty``: nothing marked), entries, other fields (a ``spans`` piece's ``relations``,
ends by offsets: made a relation answer by :func:`_by_kind`), prefix for warnings."""


def _by_kind(pieces: Callable[[Reader], Iterator[Piece]], r: Reader) -> Iterator[Item]:
    """Answers from the pieces, read twice: first (quietly) for what the file marks (spans, categories and their
    labels in the order first seen), then for the answers. A piece that marks nothing is of the file's one kind
    (spans if it has neither); in a file of both it is reported. Relations are aligned with the spans kept."""
    spans, cats, labels = False, False, dict[str, None]()
    for _, _, kind, entries, _, _ in pieces(Reader(r.name, r.lang, lambda line: None)):
        spans, cats = spans or kind == "spans", cats or kind == "cats"
        labels.update(dict.fromkeys(str(e) for e in entries) if kind == "cats" else {})
    for line, text, kind, entries, fields, prefix in pieces(r):
        if kind == "empty" and spans and cats:
            r.report(line, f"{prefix}nothing marked, in a file with both spans and text labels: cannot tell whether "
                           "it means no entities or none of the labels; left out")
            continue
        relations, others = fields.get("relations"), {k: v for k, v in fields.items() if k != "relations"}
        if kind == "spans" or (kind == "empty" and not cats):
            answer = {**r.span_answer(line, text, entries, prefix), **others}
            if relations is not None:  # rebuilt between the spans kept; the others reported
                answer["relations"] = align_relations(relations, answer["spans"], None, partial(r.report, line, prefix))
                answer["_view_id"] = "relations"
            yield line, answer
        else:
            yield line, {**choice_answer(text, labels, entries), **others}


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


def _doccano(path: Path, r: Reader) -> Iterator[Piece]:
    for record in json_records(path):
        if (task := r.task(record)) is None:
            continue
        line = record.line
        kind, value = _doccano_labels(task)
        if kind == "bad":
            r.report(line, value[0])
            continue
        meta = meta_fields(task, ("text", "label", "labels", "entities", "relations"), {"id": "doccano_id"})
        relations = _doccano_relations(task, partial(r.report, line)) if kind != "cats" else None
        if kind == "cats" and task.get("relations"):
            r.report(line, "its relation(s) not read (relations are between 'entities', not text labels)")
        fields = {**meta, "relations": relations} if relations is not None else meta
        yield line, task["text"], kind, value, fields, ""


def _doccano_relations(task: dict[str, Any], report: Warn) -> list[dict[str, Any]] | None:
    """The relation export's ``relations`` as :func:`~.answers.align_relations` takes them (each end by the
    offsets of the entity its ``from_id``/``to_id`` names, the label its ``type``), or None for a record without
    them; a relation that names no entity, or has no type, reported and left out."""
    relations, entities = task.get("relations"), task.get("entities")
    if relations is None or (relations == [] and not isinstance(entities, list)):
        return None
    if not (isinstance(relations, list) and isinstance(entities, list)):
        report(f"{len(relations) if isinstance(relations, list) else 'its'} relation(s) not read ('relations' must "
               "be a list beside 'entities' with ids, as doccano's relation export writes them)")
        return None
    ends = {e["id"]: {"start": e["start_offset"], "end": e["end_offset"]} for e in entities  # (offsets checked
            if isinstance(e, dict) and _is_id(e.get("id"))                                  # as spans later)
            and is_int(e.get("start_offset")) and is_int(e.get("end_offset"))}
    found: list[dict[str, Any]] = []
    for relation in relations:
        shown = one_line(json.dumps(relation, ensure_ascii=False), 80)
        if not isinstance(relation, dict):
            report(f"relation {shown} is not an object (from_id, to_id, type); left out")
            continue
        label, missing = relation.get("type"), [k for k in ("from_id", "to_id") if not _is_id(relation.get(k))
                                                or relation[k] not in ends]
        if not (isinstance(label, str) and label.strip()):
            report(f"relation {shown} has no type (its label); left out")
        elif missing:
            report(f"relation {one_line(label, 60)}: its {' and '.join(missing)} name{'s' if len(missing) == 1 else ''}"
                   " no entity with offsets; left out")
        else:
            found.append({"head_span": ends[relation["from_id"]], "child_span": ends[relation["to_id"]],
                          "label": label})
    return found


def _is_id(value: Any) -> bool:
    """An id an entity, region or relation can be named by: a string or a whole number."""
    return isinstance(value, str) or is_int(value)


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


def _ls_results(annotation: dict[str, Any], text: str,
                report: Warn) -> tuple[list[Any] | None, list[str] | None, list[dict[str, Any]] | None]:
    """An annotation's spans (``[start, end, label]``; None: no labels result), choices (None: no choices result)
    and relations (as :func:`~.answers.align_relations` takes them; None: no relation result); what cannot be read
    reported."""
    spans: list[Any] | None = None
    choices: list[str] | None = None
    regions: dict[Any, dict[str, Any]] = {}  # a kept labels result's id: its offsets (what a relation names)
    links: list[dict[str, Any]] = []  # the relation results, read once every region is known
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
            if _is_id(result.get("id")) and is_int(start) and is_int(end):
                regions[result["id"]] = {"start": start, "end": end}
        elif kind == "choices" and isinstance(value, dict):
            if isinstance(found := value.get("choices"), list) and all(isinstance(c, str) and c.strip() for c in found):
                choices = [*(choices or []), *found]
            else:
                report("a choices result whose 'choices' is not a list of labels (non-empty strings); left out")
        elif kind == "relation" and isinstance(result, dict):
            links.append(result)
        else:
            not_read[kind] = not_read.get(kind, 0) + 1
    for kind, n in not_read.items():
        report(f"{n} result{'s' if n != 1 else ''} of type {one_line(kind, 40)} not read (tuiannot reads labels, "
               "choices and relation)")
    return spans, choices, _ls_relations(links, regions, report) if links else None


def _ls_relations(links: list[dict[str, Any]], regions: dict[Any, dict[str, Any]],
                  report: Warn) -> list[dict[str, Any]]:
    """Relation results between two labels regions (by their ids; ``direction`` ``left`` points from ``to_id`` to
    ``from_id``), one relation per label; one that names no region kept, or has no label, reported."""
    found: list[dict[str, Any]] = []
    for link in links:
        labels = link.get("labels")
        ends = [link.get(k) for k in ("from_id", "to_id")]
        where = f"relation {' → '.join(one_line(str(e), 30) for e in ends)}"
        missing = [k for k, e in zip(("from_id", "to_id"), ends, strict=True) if not (_is_id(e) and e in regions)]
        if missing:
            report(f"{where}: its {' and '.join(missing)} name{'s' if len(missing) == 1 else ''} no labels region "
                   "(or one left out); left out")
            continue
        if not (isinstance(labels, list) and labels and all(isinstance(x, str) and x.strip() for x in labels)):
            report(f"{where}: no label (a relation's 'labels' must be a non-empty list of strings); left out")
            continue
        head, child = ends[::-1] if link.get("direction") == "left" else ends
        if link.get("direction") == "bi":
            report(f"{where}: bidirectional, read as from_id → to_id (a relation has one direction)")
        found.extend({"head_span": regions[head], "child_span": regions[child], "label": x} for x in labels)
    return found


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
    meta.update({"label_studio_id": task["id"]} if is_int(task.get("id")) else {})
    return {**found, **({"meta": meta} if meta else {})}


def _label_studio(path: Path, r: Reader) -> Iterator[Piece]:
    problem = "not a Label Studio task (an object with 'data' and 'annotations')"
    for record in json_records(path):
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
            spans, choices, relations = _ls_results(annotation, text, partial(r.report, line, prefix))
            fields = _ls_fields(task, annotation, key)
            marked = [(kind, v) for kind, v in (("spans", spans), ("cats", choices)) if v is not None]
            for kind, entries in marked or [("empty", [])]:  # an annotation that marks nothing
                linked = kind == "spans" and relations is not None  # the relations go with the spans
                yield line, text, kind, entries, {**fields, "relations": relations} if linked else fields, prefix


_READERS: dict[str, Callable[[Path, Reader], Iterator[Item]]] = {
    "prodigy": _prodigy, "spacy": read_spacy, "conll": read_conll,
    "label-studio": lambda path, r: _by_kind(lambda quiet: _label_studio(path, quiet), r),
    "doccano": lambda path, r: _by_kind(lambda quiet: _doccano(path, quiet), r),
}
