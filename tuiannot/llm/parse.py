"""A model's reply to a suggestion: labels, or spans on the task's tokens; problems counted, never raised.

The reply's text is read leniently, as small local models write it: the first JSON object in it is used, so
prose, a Markdown code fence or a ``<think>`` block around the JSON do no harm (:func:`first_json_object`).

Text classification (:func:`parse_labels`): ``{"labels": ["A", ...]}``. A label is matched exactly, else
regardless of case; duplicates are dropped and the rest kept in ``--label`` order. With ``exclusive`` (one label
per text) the first label named is kept and the others counted. For a yes/no question the suggested answer is
whether its label is in the list (:attr:`Parsed.answer`).

Spans (:func:`parse_spans`): ``{"spans": [{"text": "Acme Corp", "label": "ORG", "start"?: 0}, ...]}``. Each
mention is looked for in the task's text (runs of whitespace may differ; regardless of case only if it is not
there as written): at ``start`` when given (else the occurrence nearest to it), otherwise every occurrence. A
found mention is snapped to the task's tokens: its first and last characters must be a token's start and end,
as :func:`~tuiannot.nlp.spans.align_spans` requires of every span (spans are never moved silently); an occurrence
inside a longer word ("Ann" in "Annual") is skipped, and a mention none of whose occurrences aligns is counted.
Where spans may not overlap (``ner``), longer mentions are placed first and a mention that finds no free place
is counted. Suggested spans carry ``source: "llm"`` and ``suggested: True``, as ``--model`` suggestions do.

Problems are counted by kind (:data:`PROBLEM_KINDS`) with a one-line note each (:attr:`Parsed.notes`), and the
parse goes on with what is usable: a reply with one unknown label still suggests the others.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..sanitize import one_line

UNKNOWN_LABEL = "unknown label"
SEVERAL_LABELS = "several labels"
NOT_FOUND = "mention not found"
NOT_ALIGNED = "span not aligned"
OVERLAPPING = "overlapping span"
MALFORMED = "malformed JSON"
EMPTY = "empty reply"
TRUNCATED = "truncated reply"
SERVER_ERROR = "server error"
UNAVAILABLE = "server unavailable"
PROBLEM_KINDS: tuple[str, ...] = (UNKNOWN_LABEL, SEVERAL_LABELS, NOT_FOUND, NOT_ALIGNED, OVERLAPPING, MALFORMED,
                                  EMPTY, TRUNCATED, SERVER_ERROR, UNAVAILABLE)
"""Every kind of problem a suggestion can have, in the order the status line lists them."""

MAX_NOTES = 10  # notes kept per task (the counts are complete)
MAX_ATTEMPTS = 200  # '{' tried as the start of an object in one reply
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)


@dataclass
class Parsed:
    """What was made of one reply: the suggestion (``labels`` or ``spans``) and the problems."""

    labels: list[str] | None = None
    spans: list[dict[str, Any]] | None = None
    answer: str | None = None
    """For a yes/no question: ``accept`` if the model says its label applies, else ``reject``."""
    problems: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def add(self, kind: str, note: str) -> None:
        self.problems[kind] += 1
        if len(self.notes) < MAX_NOTES:
            self.notes.append(f"{kind}: {note}")

    @property
    def suggestion(self) -> dict[str, Any] | None:
        """The suggestion as stored in ``_llm`` (spans by offsets and label only)."""
        if self.labels is not None:
            return {"labels": list(self.labels), **({"answer": self.answer} if self.answer else {})}
        if self.spans is not None:
            return {"spans": [{"start": s["start"], "end": s["end"], "label": s["label"]} for s in self.spans]}
        return None


def first_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (the whole text if it is one), or None."""
    text = _THINK.sub("", text)
    try:
        whole = json.loads(text)
    except ValueError:
        pass
    else:
        if isinstance(whole, dict):
            return whole
    decoder = json.JSONDecoder()
    for attempt, match in enumerate(re.finditer(r"\{", text)):
        if attempt >= MAX_ATTEMPTS:
            break
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _reply_object(parsed: Parsed, text: str, finish_reason: str | None, key: str) -> list[Any] | None:
    """The reply's list under ``key``, or None with the problem counted."""
    data = first_json_object(text)
    if data is None:
        if finish_reason == "length":
            parsed.add(TRUNCATED, f"the reply was cut at the token limit ({len(text)} characters, no complete "
                                  "JSON object)")
        elif not text.strip():
            parsed.add(EMPTY, "the reply has no text")
        else:
            parsed.add(MALFORMED, f"no JSON object in the reply: {one_line(text, 80)}")
        return None
    value = data.get(key)
    if isinstance(value, (str, dict)):
        value = [value]
    if not isinstance(value, list):
        parsed.add(MALFORMED, f"the JSON object has no {key!r} list: {one_line(json.dumps(data), 80)}")
        return None
    return value


def _label_matcher(labels: list[str]) -> Any:
    folded: dict[str, str] = {}
    for label in labels:
        folded.setdefault(label.casefold(), label)

    def match(value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        if value in labels:
            return value
        return folded.get(value.strip().casefold())

    return match


def parse_labels(text: str, finish_reason: str | None, labels: list[str], *, exclusive: bool = False) -> Parsed:
    """A text classification reply (``{"labels": [...]}``); for one label, also the yes/no answer."""
    parsed = Parsed()
    items = _reply_object(parsed, text, finish_reason, "labels")
    if items is None:
        return parsed
    match = _label_matcher(labels)
    named: list[str] = []
    for item in items:
        label = match(item)
        if label is None:
            parsed.add(UNKNOWN_LABEL, f"{one_line(json.dumps(item, ensure_ascii=False), 40)} is not among "
                                      f"{', '.join(labels)}")
        elif label not in named:
            named.append(label)
    if exclusive and len(named) > 1:
        parsed.add(SEVERAL_LABELS, f"{', '.join(named)} for one label per text: {named[0]} kept")
        named = named[:1]
    parsed.labels = [label for label in labels if label in named]
    if len(labels) == 1:
        parsed.answer = "accept" if parsed.labels else "reject"
    return parsed


def find_mention(text: str, mention: str, start: int | None) -> list[tuple[int, int]]:
    """Where ``mention`` is in ``text``: at ``start`` (or the occurrence nearest to it), else everywhere."""
    words = mention.split()
    if not words:
        return []
    pattern = r"\s+".join(re.escape(word) for word in words)
    for flags in (0, re.IGNORECASE):
        regex = re.compile(pattern, flags)
        if start is not None and 0 <= start <= len(text):
            exact = regex.match(text, start)
            if exact is not None:
                return [exact.span()]
        found = [m.span() for m in regex.finditer(text)]
        if found:
            if start is not None:
                return [min(found, key=lambda span: abs(span[0] - start))]
            return found
    return []


def parse_spans(text: str, finish_reason: str | None, task_text: str, tokens: list[dict[str, Any]],
                labels: list[str], *, overlapping: bool, taken: list[dict[str, Any]] | None = None) -> Parsed:
    """A spans reply (``{"spans": [...]}``): mentions found in ``task_text`` and snapped to ``tokens``.
    ``taken``: spans the task has already (suggested by ``--patterns``) that, where spans may not overlap,
    the reply's spans must leave free."""
    parsed = Parsed()
    items = _reply_object(parsed, text, finish_reason, "spans")
    if items is None:
        return parsed
    match = _label_matcher(labels)
    by_start = {t["start"]: i for i, t in enumerate(tokens)}
    by_end = {t["end"]: i for i, t in enumerate(tokens)}
    mentions: list[tuple[str, str, int | None]] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item["text"].strip():
            parsed.add(MALFORMED, f"a span needs a 'text' string: {one_line(json.dumps(item, ensure_ascii=False), 60)}")
            continue
        label = match(item.get("label"))
        if label is None:
            parsed.add(UNKNOWN_LABEL, f"{one_line(json.dumps(item.get('label'), ensure_ascii=False), 40)} (for "
                                      f"{one_line(item['text'], 40)!r}) is not among {', '.join(labels)}")
            continue
        start = item.get("start")
        mentions.append((item["text"].strip(), label, start if isinstance(start, int)
                         and not isinstance(start, bool) else None))
    kept: list[dict[str, Any]] = []
    blocked = [s for s in taken or [] if isinstance(s.get("token_start"), int) and isinstance(s.get("token_end"), int)]
    seen: set[tuple[int, int, str]] = {(s["start"], s["end"], s["label"]) for s in blocked}
    # longer mentions first: "Acme Corp" gets its place before "Acme" (where spans may not overlap)
    for mention, label, start in sorted(mentions, key=lambda m: -len(m[0])):
        found = find_mention(task_text, mention, start)
        if not found:
            parsed.add(NOT_FOUND, f"{one_line(mention, 40)!r} ({label}) is not in the text")
            continue
        aligned = [(by_start[s], by_end[e]) for s, e in found if s in by_start and e in by_end]
        if not aligned:
            parsed.add(NOT_ALIGNED, f"{one_line(mention, 40)!r} ({label}) does not start and end on token "
                                    "boundaries")
            continue
        placed = False
        for ts, te in aligned:
            span = {"start": tokens[ts]["start"], "end": tokens[te]["end"], "label": label, "token_start": ts,
                    "token_end": te, "source": "llm", "suggested": True}
            key = (span["start"], span["end"], label)
            if key in seen:
                placed = True
                continue
            if not overlapping and any(s["token_start"] <= te and ts <= s["token_end"] for s in [*kept, *blocked]):
                continue
            seen.add(key)
            kept.append(span)
            placed = True
        if not placed:
            parsed.add(OVERLAPPING, f"{one_line(mention, 40)!r} ({label}) overlaps another suggested span")
    parsed.spans = sorted(kept, key=lambda s: (s["start"], s["end"], s["label"]))
    return parsed
