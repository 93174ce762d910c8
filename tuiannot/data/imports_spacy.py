"""The readers of files of words: spaCy (a DocBin, or JSONL of ``cats``) and CoNLL (``token<TAB>tag`` lines).

Part of :mod:`.imports` (whose docstring says what each format gives and how a file is recognised), apart because
these formats bring their own tokens: a DocBin's Docs and CoNLL's words are the answer's tokens, never made again,
so a span is where the file put it. :func:`looks_conll` is how :func:`.imports.detect` tells CoNLL; the rest is
:func:`read_spacy` and :func:`read_conll`, each yielding ``(item, answer)`` with what it leaves out reported through
the :class:`~.imports_common.Reader`. spaCy is imported only when a DocBin is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from itertools import count
from numbers import Real
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..nlp.load import blank
from ..nlp.spans import doc_tokens, tokens_from_words
from ..sanitize import one_line
from .answers import quoted
from .imports_common import (CHOOSE, SPAN_KEYS, Item, Reader, Warn, binary_head, choice_answer, json_records,
                             meta_fields, read_head)

CONLL_LINES = 50  # lines detect() checks to call a file CoNLL
TAG = re.compile(r"(?:([BIESLU])-(\S.*)|O)\Z")


def token_line(line: str) -> tuple[str, str] | None:
    """``(token, tag)``, or None for no token line: ``token<TAB>...<TAB>tag`` with any tag (the reader reports an
    unknown one), or whitespace-separated columns whose last is an IOB tag (CoNLL-2003)."""
    cols = line.rstrip("\r\n").split("\t") if "\t" in line else line.split()
    if len(cols) < 2 or not cols[0].strip() or not cols[-1].strip():
        return None
    token, tag = cols[0].strip(), cols[-1].strip()
    return None if "\t" not in line and not TAG.match(tag) else (token, tag)


def skipped_line(line: str) -> bool:
    """A blank line, ``-DOCSTART-``, or a comment (``#`` first, unless it is a token ``#`` with an IOB tag)."""
    stripped = line.strip()
    if stripped.startswith("#"):
        pair = token_line(line)
        return pair is None or TAG.match(pair[1]) is None
    return not stripped or stripped.startswith("-DOCSTART-")


def looks_conll(lines: list[str]) -> bool:
    """Every one of the first lines a token line, and most of their tags IOB."""
    found = [token_line(line) for line in lines if not skipped_line(line)][:CONLL_LINES]
    return bool(found) and all(found) and 2 * sum(bool(p and TAG.match(p[1])) for p in found) >= len(found)


# -- spaCy -------------------------------------------------------------------------------------------------------
def read_spacy(path: Path, r: Reader) -> Iterator[Item]:
    if path.suffix.lower() == ".spacy" or binary_head(read_head(path, r.name)):
        yield from _docbin(path, r)
        return
    for record in json_records(path):
        if (task := r.task(record)) is None:
            continue
        line = record.line
        if not isinstance(task.get("cats"), dict) or not task["cats"]:
            r.report(line, "no 'cats' object ({label: score}): not a spaCy record")
            continue
        if scores := _scores(task["cats"], partial(r.report, line)):
            accept = [k for k, v in scores.items() if v >= 0.5]
            yield line, {**choice_answer(task["text"], scores, accept), **meta_fields(task, ("text", "cats"), {})}


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


def _docbin(path: Path, r: Reader) -> Iterator[Item]:
    from spacy.tokens import DocBin
    try:
        doc_bin = DocBin().from_bytes(path.read_bytes())
    except OSError as e:
        raise UserError(f"{r.name}: cannot be read ({e.strerror})") from None
    except Exception as e:  # zlib's, msgpack's or spaCy's own errors: not a DocBin
        raise UserError(f"{r.name}: not a spaCy DocBin ({type(e).__name__}); {CHOOSE}") from None
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
                answers.append(choice_answer(doc.text, scores, [k for k, v in scores.items() if v >= 0.5]))
            if not answers:
                r.report(item, "no entity annotation, span groups or categories: nothing to import; left out")
        except (ArithmeticError, AttributeError, IndexError, KeyError, TypeError, ValueError) as e:  # not UserError
            raise UserError(f"{r.name}: document {number}: a damaged DocBin ({type(e).__name__})") from None
        yield from ((number, answer) for answer in answers)


# -- CoNLL -------------------------------------------------------------------------------------------------------
def read_conll(path: Path, r: Reader) -> Iterator[Item]:
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
            if line is not None and skipped_line(line):
                yield from sentence()
                rows = []
                continue
            start = start if rows else number
            pair = token_line(line) if line is not None else None
            if line is not None and pair is None:
                r.report(number, f"expected token<TAB>tag, got {quoted(line.rstrip(chr(10)))}")
            rows.append((number, *pair) if pair else None)
    yield from sentence()


def _conll_sentence(rows: list[tuple[int, str, str]], r: Reader) -> Item:
    """One sentence's answer: its tokens joined by single spaces, entities from the tags."""
    words = [word for _, word, _ in rows]
    text = " ".join(words)
    tokens = tokens_from_words(text, words)
    spans: list[dict[str, Any]] = []
    open_label: str | None = None  # the label of the entity the last token is in
    for i, (number, _, tag) in enumerate(rows):
        match = TAG.match(tag)
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
    return rows[0][0], {"text": text, "tokens": tokens, "spans": [{k: s[k] for k in SPAN_KEYS} for s in spans],
                        "answer": "accept", "_view_id": "ner_manual"}
