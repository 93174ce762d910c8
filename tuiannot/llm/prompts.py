"""Prompts: the prompt file (TOML), the default prompt per task, the reply's schema, and the prompt hash.

A prompt file (``--prompt FILE``, read with :mod:`tomllib`)::

    system = "You are an expert annotator of product reviews."
    template = '''Which labels apply? {labels}
    {descriptions}{examples}Text: {text}
    Reply with JSON: {"labels": [...]}'''

    [labels.POS]
    description = "The reviewer is happy with the product."

    [[examples]]
    text = "Works great."
    labels = ["POS"]            # for ner/spans: spans = [{text = "Acme", label = "ORG"}]  (start = 0 optional)

Every key is optional: a missing ``system`` or ``template`` is the default's (:func:`default_prompt`, one per
task: a yes/no question, a choice of several labels or of one, spans). The template is the user message; the
fields ``{text}``, ``{labels}`` (comma-separated), ``{descriptions}`` (a "- NAME: description" line per described
label) and ``{examples}`` (each example's text and the answer as the reply would give it) are filled in, every
other brace is left as written (so JSON can be shown in a template). An unknown key, a value of the wrong type, a
template without ``{text}``, a label not among ``--label`` or an example span not in its text is a one-line
:class:`~tuiannot.errors.UserError` naming the file and the key.

:func:`reply_schema` is the JSON schema sent as ``response_format`` (the labels as an enum; one at most for a
yes/no question or ``--exclusive``). :func:`prompt_hash` is a stable hash of what decides the reply: the prompt
(system, template, descriptions, examples), the model, the schema and the parameters. It names the combination on
every answer (``_llm.prompt``) and will key the cache.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError, read_toml
from ..sanitize import one_line
from ..tasks import canonical_json

KINDS = ("textcat", "spans")
FIELDS = re.compile(r"\{(text|labels|descriptions|examples)\}")

_SYSTEM = {
    "textcat": "You are a careful expert annotator. You classify texts. You answer with JSON only.",
    "spans": "You are a careful expert annotator. You find mentions of given types in texts. You answer with JSON "
             "only.",
}
_TEXT = 'Text:\n"""\n{text}\n"""\n\n'
_TEMPLATES = {
    "binary": ("Does the label {labels} apply to the text below?\n{descriptions}{examples}" + _TEXT +
               'Reply with a JSON object: {"labels": ["{labels}"]} if the label applies, {"labels": []} if not.'),
    "choice": ("Which of these labels apply to the text below? Labels: {labels}\n{descriptions}{examples}" + _TEXT +
               'Reply with a JSON object {"labels": [...]} listing every label that applies ([] if none does).'),
    "exclusive": ("Which one of these labels fits the text below best? Labels: {labels}\n{descriptions}{examples}"
                  + _TEXT + 'Reply with a JSON object {"labels": ["LABEL"]} naming the one label that fits best '
                            '({"labels": []} if none fits at all).'),
    "spans": ("Find every mention of these types in the text below: {labels}\n{descriptions}{examples}" + _TEXT +
              'Reply with a JSON object {"spans": [{"text": "...", "label": "..."}, ...]}: "text" is the mention '
              'exactly as the text writes it, "label" one of {labels}. List each mention once ({"spans": []} if '
              'there are none).'),
}


@dataclass(frozen=True)
class Prompt:
    """A prompt for one task: ``kind`` is ``textcat`` or ``spans``; ``source`` the file (or ``default``)."""

    kind: str
    labels: tuple[str, ...]
    system: str
    template: str
    descriptions: dict[str, str] = field(default_factory=dict)
    examples: tuple[dict[str, Any], ...] = ()
    exclusive: bool = False
    source: str = "default"

    @property
    def binary(self) -> bool:
        """A yes/no question about one label (text classification with one label)."""
        return self.kind == "textcat" and len(self.labels) == 1

    def messages(self, text: str) -> list[dict[str, str]]:
        """The system and user messages for one task's text."""
        values = {"text": text, "labels": ", ".join(self.labels), "descriptions": self._descriptions(),
                  "examples": self._examples()}
        user = FIELDS.sub(lambda m: values[m.group(1)], self.template)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]

    def _descriptions(self) -> str:
        lines = [f"- {name}: {self.descriptions[name]}" for name in self.labels if name in self.descriptions]
        return "Labels:\n" + "\n".join(lines) + "\n\n" if lines else ""

    def _examples(self) -> str:
        if not self.examples:
            return ""
        parts = []
        for example in self.examples:
            answer = {"labels": example["labels"]} if self.kind == "textcat" else {"spans": example["spans"]}
            parts.append(f'Text:\n"""\n{example["text"]}\n"""\nAnswer: {json.dumps(answer, ensure_ascii=False)}\n')
        return "Examples:\n\n" + "\n".join(parts) + "\n"

    def schema(self) -> dict[str, Any]:
        return reply_schema(self.kind, list(self.labels), exclusive=self.exclusive)

    def content(self) -> dict[str, Any]:
        """What of the prompt decides the reply (for the hash)."""
        return {"system": self.system, "template": self.template,
                "descriptions": {k: self.descriptions[k] for k in sorted(self.descriptions)},
                "examples": list(self.examples)}


def default_prompt(kind: str, labels: list[str], *, exclusive: bool = False) -> Prompt:
    """The prompt used without ``--prompt``: a yes/no question, a choice (of one with ``exclusive``), spans."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if kind == "spans":
        style = "spans"
    else:
        style = "binary" if len(labels) == 1 else "exclusive" if exclusive else "choice"
    return Prompt(kind, tuple(labels), _SYSTEM[kind], _TEMPLATES[style], exclusive=exclusive)


def reply_schema(kind: str, labels: list[str], *, exclusive: bool = False) -> dict[str, Any]:
    """The JSON schema of the reply, sent as ``response_format`` (strict: every property required)."""
    label = {"type": "string", "enum": list(labels)}
    if kind == "textcat":
        items: dict[str, Any] = {"type": "array", "items": label}
        if exclusive or len(labels) == 1:
            items["maxItems"] = 1
        return {"type": "object", "properties": {"labels": items}, "required": ["labels"],
                "additionalProperties": False}
    span = {"type": "object", "properties": {"text": {"type": "string"}, "label": label},
            "required": ["text", "label"], "additionalProperties": False}
    return {"type": "object", "properties": {"spans": {"type": "array", "items": span}}, "required": ["spans"],
            "additionalProperties": False}


def prompt_hash(prompt: Prompt, model: str, schema: dict[str, Any] | None, parameters: dict[str, Any]) -> str:
    """A stable hash (16 hex digits) of the prompt, the model, the schema and the parameters."""
    value = {"version": 1, "prompt": prompt.content(), "model": model, "schema": schema, "parameters": parameters}
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()[:16]


# -- the prompt file -------------------------------------------------------------------------------------
TOP_KEYS = ("system", "template", "labels", "examples")


def load_prompt(path: str | Path | None, kind: str, labels: list[str], *, exclusive: bool = False) -> Prompt:
    """The prompt of ``--prompt FILE`` (checked as the module says), or the default for the task."""
    default = default_prompt(kind, labels, exclusive=exclusive)
    if path is None:
        return default
    name = one_line(str(path), 120)
    data = read_toml(path, name)
    return _checked(name, data, default)


def _checked(name: str, data: dict[str, Any], default: Prompt) -> Prompt:
    def fail(key: str, problem: str) -> UserError:
        return UserError(f"{name}: {key}: {problem}")

    for key in data:
        if key not in TOP_KEYS:
            raise fail(one_line(key, 60), f"unknown key (known: {', '.join(TOP_KEYS)})")
    system, template = data.get("system", default.system), data.get("template", default.template)
    for key, value in (("system", system), ("template", template)):
        if not isinstance(value, str):
            raise fail(key, f"must be a string, not {_type(value)}")
    if "{text}" not in template:
        raise fail("template", "has no {text} field: the task's text would not be sent")
    labels = list(default.labels)
    shown_labels = ", ".join(one_line(label, 30) for label in labels)
    descriptions: dict[str, str] = {}
    table = data.get("labels", {})
    if not isinstance(table, dict):
        raise fail("labels", f"must be a table ([labels.NAME] description = \"...\"), not {_type(table)}")
    for label, entry in table.items():
        key = f"labels.{one_line(label, 30)}"
        if label not in labels:
            raise fail(key, f"not among --label ({shown_labels})")
        if not isinstance(entry, dict):
            raise fail(key, f"must be a table with a description, not {_type(entry)}")
        for inner in entry:
            if inner != "description":
                raise fail(f"{key}.{one_line(inner, 30)}", "unknown key (known: description)")
        if not isinstance(entry.get("description", ""), str):
            raise fail(f"{key}.description", f"must be a string, not {_type(entry['description'])}")
        if entry.get("description", "").strip():
            descriptions[label] = entry["description"].strip()
    examples = data.get("examples", [])
    if not isinstance(examples, list):
        raise fail("examples", f"must be an array of tables ([[examples]]), not {_type(examples)}")
    checked = tuple(_example(fail, f"examples[{i}]", example, default.kind, labels, shown_labels)
                    for i, example in enumerate(examples))
    return Prompt(default.kind, default.labels, system, template, descriptions, checked, default.exclusive,
                  source=name)


def _example(fail: Any, key: str, example: Any, kind: str, labels: list[str], shown_labels: str) -> dict[str, Any]:
    answer = "labels" if kind == "textcat" else "spans"
    if not isinstance(example, dict):
        raise fail(key, f"must be a table with text and {answer}, not {_type(example)}")
    for inner in example:
        if inner not in ("text", answer):
            raise fail(f"{key}.{one_line(inner, 30)}", f"unknown key (known here: text, {answer})")
    text = example.get("text")
    if not isinstance(text, str) or not text.strip():
        raise fail(f"{key}.text", "must be a non-empty string")
    if answer not in example:
        raise fail(key, f"has no {answer} (the answer the example shows)")
    value = example[answer]
    if not isinstance(value, list):
        raise fail(f"{key}.{answer}", f"must be an array, not {_type(value)}")
    if kind == "textcat":
        for j, label in enumerate(value):
            if not isinstance(label, str):
                raise fail(f"{key}.labels[{j}]", f"must be a string, not {_type(label)}")
            if label not in labels:
                raise fail(f"{key}.labels[{j}]", f"{one_line(label, 30)!r} is not among --label ({shown_labels})")
        return {"text": text, "labels": list(value)}
    spans = []
    for j, span in enumerate(value):
        where = f"{key}.spans[{j}]"
        if not isinstance(span, dict):
            raise fail(where, f"must be a table with text and label, not {_type(span)}")
        for inner in span:
            if inner not in ("text", "label", "start"):
                raise fail(f"{where}.{one_line(inner, 30)}", "unknown key (known: text, label, start)")
        mention, label, start = span.get("text"), span.get("label"), span.get("start")
        if not isinstance(mention, str) or not mention.strip():
            raise fail(f"{where}.text", "must be a non-empty string")
        if not isinstance(label, str):
            raise fail(f"{where}.label", "must be a string")
        if label not in labels:
            raise fail(f"{where}.label", f"{one_line(label, 30)!r} is not among --label ({shown_labels})")
        if start is not None and (not isinstance(start, int) or isinstance(start, bool)):
            raise fail(f"{where}.start", f"must be a whole number, not {_type(start)}")
        if (text[start:start + len(mention)] != mention) if start is not None else mention not in text:
            at = f" at {start}" if start is not None else ""
            raise fail(f"{where}.text", f"{one_line(mention, 40)!r} is not in the example's text{at}")
        spans.append({"text": mention, "label": label, **({"start": start} if start is not None else {})})
    return {"text": text, "spans": spans}


def _type(value: Any) -> str:
    return {str: "a string", int: "a number", float: "a number", bool: "true/false", list: "an array",
            dict: "a table"}.get(type(value), type(value).__name__)
