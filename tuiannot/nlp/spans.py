"""Tokens and spans: spaCy tokenisation, alignment, suggestions from patterns and models.

Prodigy's formats: ``tokens`` are ``[{"text", "start", "end", "id", "ws"}]`` and
``spans`` are ``[{"start", "end", "label", "token_start", "token_end"}]`` with
character offsets (``end`` exclusive) and token indices (``token_end``
inclusive). Spans always sit on token boundaries: a span given in the input that
does not is reported (file, line, span) and left out, never moved silently.

Suggested spans (from ``--patterns`` or ``--model``) carry ``"source"``
(``"pattern"`` or ``"model"``) and ``"suggested": True`` until the annotator
accepts the task; the stored answer keeps ``source`` and drops ``suggested``.
spaCy is imported only here, and only when a recipe asks for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, cast

from ..errors import UserError
from .load import lang_of

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.pipeline import EntityRuler

Report = Callable[[str], None]


def doc_tokens(doc: Any) -> list[dict[str, Any]]:
    return [{"text": t.text, "start": t.idx, "end": t.idx + len(t.text), "id": t.i, "ws": bool(t.whitespace_)}
            for t in doc]


def tokens_from_words(text: str, words: list[str]) -> list[dict[str, Any]]:
    """Prodigy tokens for a list of token strings that appear in ``text`` in order."""
    tokens: list[dict[str, Any]] = []
    pos = 0
    for i, word in enumerate(words):
        if not isinstance(word, str) or not word:
            raise ValueError(f"token {i} is not a non-empty string")
        start = text.find(word, pos)
        if start < 0 or text[pos:start].strip():
            raise ValueError(f"token {i} ({word[:30]!r}) is not where the text has it")
        end = start + len(word)
        if tokens:
            tokens[-1]["ws"] = start > tokens[-1]["end"]
        tokens.append({"text": word, "start": start, "end": end, "id": i, "ws": False})
        pos = end
    if tokens:
        tokens[-1]["ws"] = tokens[-1]["end"] < len(text)
    return tokens


def check_tokens(text: str, tokens: list[Any]) -> list[dict[str, Any]]:
    """Validate Prodigy token dicts against the text (raises ValueError naming the token)."""
    previous_end = 0
    for i, t in enumerate(tokens):
        if not isinstance(t, dict):
            raise ValueError(f"token {i} is not an object")
        start, end = t.get("start"), t.get("end")
        if not (isinstance(start, int) and isinstance(end, int) and previous_end <= start < end <= len(text)):
            raise ValueError(f"token {i} has bad offsets ({start}, {end})")
        if "text" in t and text[start:end] != t["text"]:
            raise ValueError(f"token {i} ({str(t['text'])[:30]!r}) does not match the text at [{start}, {end})")
        previous_end = end
    return [{"text": text[t["start"]:t["end"]], "start": t["start"], "end": t["end"], "id": i,
             "ws": bool(t.get("ws", t["end"] < len(text) and text[t["end"]:t["end"] + 1].isspace()))}
            for i, t in enumerate(tokens)]


def task_tokens(nlp: "Language", task: dict[str, Any]) -> list[dict[str, Any]]:
    """The task's own tokens (dicts kept, strings aligned to the text), else spaCy's."""
    given = task.get("tokens")
    text = task["text"]
    if isinstance(given, list) and given:
        if all(isinstance(t, str) for t in given):
            return tokens_from_words(text, given)
        return check_tokens(text, given)
    return doc_tokens(nlp.make_doc(text))


def span_label_text(span: dict[str, Any]) -> str:
    return f"[{span.get('start')}, {span.get('end')}) {span.get('label')}"


def align_spans(spans: Any, tokens: list[dict[str, Any]], *, overlapping: bool, labels: list[str] | None,
                report: Report) -> list[dict[str, Any]]:
    """Spans snapped to token indices; misaligned, malformed or (for NER) overlapping ones reported and left out."""
    if spans is None:
        return []
    if not isinstance(spans, list):
        report("'spans' is not a list; ignored")
        return []
    by_start = {t["start"]: i for i, t in enumerate(tokens)}
    by_end = {t["end"]: i for i, t in enumerate(tokens)}
    kept: list[dict[str, Any]] = []
    for span in spans:
        if not (isinstance(span, dict) and isinstance(span.get("start"), int) and isinstance(span.get("end"), int)
                and isinstance(span.get("label"), str) and span["start"] < span["end"]):
            report(f"span {json.dumps(span, ensure_ascii=False)[:80]} is malformed (needs int start < end, "
                   "str label); left out")
            continue
        if labels is not None and span["label"] not in labels:
            report(f"span {span_label_text(span)}: the label is not among --label; left out")
            continue
        ts, te = by_start.get(span["start"]), by_end.get(span["end"])
        if ts is None or te is None or te < ts:
            report(f"span {span_label_text(span)} does not align with the tokens; left out")
            continue
        if not overlapping and any(s["token_start"] <= te and ts <= s["token_end"] for s in kept):
            report(f"span {span_label_text(span)} overlaps another span (not allowed here); left out")
            continue
        aligned = {**span, "token_start": ts, "token_end": te}
        kept.append(aligned)
    return sorted(kept, key=lambda s: (s["start"], s["end"]))


def make_span(tokens: list[dict[str, Any]], token_start: int, token_end: int, label: str, **extra: Any
              ) -> dict[str, Any]:
    return {"start": tokens[token_start]["start"], "end": tokens[token_end]["end"], "label": label,
            "token_start": token_start, "token_end": token_end, **extra}


def suggest_from_doc(doc: Any, tokens: list[dict[str, Any]], source: str, labels: list[str] | None
                     ) -> list[dict[str, Any]]:
    """Entities of a processed Doc as suggested spans (only for tokens that match ours)."""
    by_start = {t["start"]: i for i, t in enumerate(tokens)}
    by_end = {t["end"]: i for i, t in enumerate(tokens)}
    found = []
    for ent in doc.ents:
        if labels and ent.label_ not in labels:
            continue
        ts, te = by_start.get(ent.start_char), by_end.get(ent.end_char)
        if ts is not None and te is not None:
            found.append(make_span(tokens, ts, te, ent.label_, source=source, suggested=True))
    return found


def load_patterns(path: str | Path) -> list[dict[str, Any]]:
    """An entity-ruler pattern file (JSONL), checked line by line."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such pattern file")
    patterns = []
    with open(path, encoding="utf-8", errors="strict") as f:
        try:
            for i, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    pattern = json.loads(line)
                except json.JSONDecodeError as e:
                    raise UserError(f"{path}:{i}: invalid JSON ({e.msg})") from None
                if not (isinstance(pattern, dict) and isinstance(pattern.get("label"), str)
                        and isinstance(pattern.get("pattern"), (str, list))):
                    raise UserError(f"{path}:{i}: a pattern needs a 'label' string and a 'pattern' "
                                    "(a phrase string or a list of token patterns)")
                patterns.append(pattern)
        except UnicodeDecodeError:
            raise UserError(f"{path}: not valid UTF-8") from None
    if not patterns:
        raise UserError(f"{path}: no patterns in the file")
    return patterns


class Suggester:
    """Suggests spans from an entity ruler (``--patterns``) and/or a model's entity recogniser."""

    def __init__(self, nlp: "Language", patterns: list[dict[str, Any]] | None, use_model: bool,
                 labels: list[str] | None) -> None:
        self.labels = labels
        self.model = nlp if use_model and "ner" in nlp.pipe_names else None
        self.ruler = None
        if patterns:
            import spacy

            ruler_nlp = spacy.blank(lang_of(nlp), vocab=nlp.vocab)  # one StringStore for docs and labels
            ruler_nlp.tokenizer = nlp.tokenizer
            ruler = cast("EntityRuler", ruler_nlp.add_pipe("entity_ruler"))
            try:
                ruler.add_patterns(patterns)
            except Exception as e:  # spaCy's own validation of token patterns
                raise UserError(f"invalid pattern: {e}") from None
            self.ruler = ruler_nlp

    @property
    def active(self) -> bool:
        return self.model is not None or self.ruler is not None

    def suggest(self, text: str, tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
        spans: list[dict[str, Any]] = []
        if self.ruler is not None:
            spans += suggest_from_doc(self.ruler(text), tokens, "pattern", self.labels)
        if self.model is not None:
            spans += suggest_from_doc(self.model(text), tokens, "model", self.labels)
        return spans


def split_sentences(nlp: "Language", task: dict[str, Any], report: Report) -> Iterator[dict[str, Any]]:
    """One task per sentence (spaCy's sentencizer), spans moved along, the document kept in ``meta``."""
    from ..tasks import input_hash

    sentencizer = _sentencizer(nlp)
    text = task["text"]
    doc = sentencizer(nlp.make_doc(text))
    doc_hash = task.get("_input_hash") or input_hash(task)
    spans = task.get("spans")
    spans = spans if isinstance(spans, list) else []
    used: set[int] = set()
    for index, sent in enumerate(doc.sents):
        start, end = sent.start_char, sent.end_char
        if not text[start:end].strip():
            continue
        inner = []
        for i, s in enumerate(spans):
            if isinstance(s, dict) and isinstance(s.get("start"), int) and isinstance(s.get("end"), int) \
                    and start <= s["start"] and s["end"] <= end:
                used.add(i)
                inner.append({k: v for k, v in s.items() if k not in ("token_start", "token_end")}
                             | {"start": s["start"] - start, "end": s["end"] - start})
        sentence = {k: v for k, v in task.items() if k not in ("text", "spans", "tokens", "_input_hash",
                                                                "_task_hash")}
        sentence["text"] = text[start:end]
        if inner:
            sentence["spans"] = inner
        sentence["meta"] = {**(task.get("meta") or {}), "doc_hash": doc_hash, "doc_offset": start,
                            "sent_index": index}
        yield sentence
    for i, s in enumerate(spans):
        if i not in used:
            report(f"span {span_label_text(s) if isinstance(s, dict) else s} crosses a sentence boundary; left out")


_SENTENCIZERS: dict[int, Any] = {}


def _sentencizer(nlp: "Language") -> Any:
    key = id(nlp)
    if key not in _SENTENCIZERS:
        import spacy

        blank = spacy.blank(lang_of(nlp))
        blank.add_pipe("sentencizer")
        _SENTENCIZERS[key] = blank.get_pipe("sentencizer")
    return _SENTENCIZERS[key]
