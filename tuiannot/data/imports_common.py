"""What every reader of ``db-in --format`` shares (:mod:`.imports` is the entry point and says what each reads).

The readers are split by what they read, along one seam: :mod:`.imports` detects the format, copies a pipe, reads
Prodigy, doccano and Label Studio (JSON records of character offsets, relations and labels); :mod:`.imports_spacy`
reads spaCy (a DocBin, or JSONL of ``cats``) and CoNLL (files of words and tags). Both build on this module, which
imports neither: :class:`Reader` (one read's file name, warnings and tokenizer; a span answer from character
offsets, each span that cannot be kept reported as ``FILE:ITEM: reason``), a file's first bytes and JSON records
(through :mod:`tuiannot.sources`, so a bad record is a reason, never an exception), and the answer builders the
formats share (a choice answer, the ``meta`` of a record's other fields). Headless: spaCy only to tokenise.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from ..nlp.load import blank
from ..nlp.spans import align_spans, doc_tokens
from ..sanitize import one_line
from ..sources import Record, Source, check_text_task

if TYPE_CHECKING:
    from spacy.language import Language

FORMATS: tuple[str, ...] = ("prodigy", "label-studio", "doccano", "spacy", "conll")

Warn = Callable[[str], None]
Item = tuple[int, dict[str, Any]]  # what read() yields: the record's line (a DocBin: document number) and an answer

HEAD_BYTES = 1 << 16  # what detect() reads of a file
CHOOSE = f"pass --format ({', '.join(FORMATS)})"
SPAN_KEYS = ("start", "end", "label", "token_start", "token_end")


def binary_head(head: bytes) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return True
    return b"\x00" in head[:8192]


def read_head(path: Path, name: str) -> bytes:
    """The file's first bytes (whether it is there and readable checked on the way)."""
    try:
        with open(path, "rb") as f:
            return f.read(HEAD_BYTES)
    except OSError as e:
        reason = {FileNotFoundError: "no such file", IsADirectoryError: "is a directory, not a file"}.get(type(e))
        raise UserError(f"{name}: {reason or f'cannot be read ({e.strerror})'}") from None


def json_records(path: Path) -> Iterator[Record]:
    """A JSON array's elements or JSONL's lines, as :mod:`tuiannot.sources` reads them (a bad one: an error)."""
    first = read_head(path, str(path)).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")[:1]
    return iter(Source(path, loader="json" if first == "[" else "jsonl", validate=None))


@dataclass
class Reader:
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
            if not (is_int(start) and is_int(end)):
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
        return {"text": text, "tokens": tokens, "spans": [{k: s[k] for k in SPAN_KEYS} for s in aligned],
                "answer": "accept", "_view_id": "spans_manual" if overlapping else "ner_manual"}


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def choice_answer(text: str, options: Iterable[str], accept: Iterable[str]) -> dict[str, Any]:
    accepted = list(dict.fromkeys(accept))
    return {"text": text, "options": [{"id": o, "text": o} for o in dict.fromkeys([*options, *accepted])],
            "accept": accepted, "answer": "accept", "_view_id": "choice"}


def meta_fields(record: dict[str, Any], read: Iterable[str], renamed: dict[str, str]) -> dict[str, Any]:
    """``{"meta": ...}`` of the record's fields the answer is not made of (its own ``meta`` first; empty values
    left out; ``renamed`` keys, an ``id``, under a clearer name), or ``{}``."""
    meta: dict[str, Any] = dict(record["meta"]) if isinstance(record.get("meta"), dict) else {}
    meta.update((renamed.get(k, k), v) for k, v in record.items()
                if k not in read and k != "meta" and v not in ([], {}, None))
    return {"meta": meta} if meta else {}
