"""Free-text generation: a prompt that asks for a reply (not labels), its hash, and one reply per task, cached.

A generation prompt file (TOML) is a system message and a template, nothing else::

    name = "formal"                    # optional: how leaderboards call it (default: the file's name)
    system = "You are a careful technical writer."      # optional
    template = '''Summarise the review below in one formal sentence.

    Review: {text}'''

The template is the user message: ``{text}`` (required: the task's text) and ``{FIELD}`` for any other field of
the task are filled in (a string as it is, anything else as JSON); every other brace is left as written, as in
label prompts (:mod:`.prompts`). An unknown key, a wrong type, or a template without ``{text}`` is a one-line
:class:`~tuiannot.errors.UserError` naming the file and the key.

The reply is free text: the request carries no ``response_format`` (``LLMClient.chat(messages, None, ...)``),
with the same parameters as suggestions (temperature 0, a fixed seed: the same input gives the same reply).
:func:`generation_hash` names what decides a reply (system, template, model, parameters), as
:func:`~.prompts.prompt_hash` does for label prompts, with ``"kind": "generate"`` so the two can never share a
hash; :func:`reply_key` keys the reply in the database's LLM cache exactly as the suggestions' cache keys are
built (the server, the hash, the input hash and the text), plus the other task fields the template fills in.
:func:`generate` asks (or takes the cached reply) and never raises for the server: a failure is a
:class:`Generated` with no text and the problem's kind.

Not in :mod:`.prompts` because a label prompt and a generation prompt differ in every part but the file format:
:func:`~.prompts.load_prompt` checks labels and examples and fills four fixed fields; a generation prompt fills any
task field and has neither.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError, read_toml
from ..sanitize import one_line
from ..tasks import Task, canonical_json
from .client import LLMClient, LLMFailed, LLMUnavailable, Parameters
from .parse import EMPTY, SERVER_ERROR, UNAVAILABLE
from .suggest import ReplyCache

SYSTEM = "You are a helpful assistant."
KEYS = ("name", "system", "template")
FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class GenerationPrompt:
    """A generation prompt: ``name`` for people, ``source`` the file, ``system`` and ``template`` for the model."""

    name: str
    system: str
    template: str
    source: str = "<prompt>"

    @property
    def fields(self) -> tuple[str, ...]:
        """The task fields the template names, ``text`` first."""
        return tuple(dict.fromkeys(["text", *FIELD.findall(self.template)]))

    def messages(self, task: Task) -> list[dict[str, str]]:
        """The system and user messages for ``task``; a field the task lacks is left as written."""
        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in task:
                return match.group(0)
            value = task[name]
            return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

        return [{"role": "system", "content": self.system}, {"role": "user", "content": FIELD.sub(fill, self.template)}]

    def content(self) -> dict[str, Any]:
        """What of the prompt decides the reply (for the hash): not its name nor its file."""
        return {"system": self.system, "template": self.template}


def generation_hash(prompt: GenerationPrompt, model: str, parameters: dict[str, Any]) -> str:
    """A stable hash (16 hex digits) of the prompt, the model and the parameters: what decides a reply."""
    value = {"version": 1, "kind": "generate", "prompt": prompt.content(), "model": model, "schema": None,
             "parameters": parameters}
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()[:16]


def reply_key(server: str, hash_: str, prompt: GenerationPrompt, task: Task) -> str:
    """The reply's key in the LLM cache: the server, the hash, the input hash and the text (as the suggestions'
    keys, :meth:`~.suggest.LLMSuggester.cache_key`), and the other fields the template fills in, if any."""
    what: list[Any] = [server, hash_, task.get("_input_hash"), task.get("text")]
    others = [name for name in prompt.fields if name != "text"]
    if others:
        what.append({name: task.get(name) for name in others})
    return hashlib.sha256(json.dumps(what, ensure_ascii=False, default=str).encode()).hexdigest()[:32]


def load_generation_prompt(path: str | Path) -> GenerationPrompt:
    """The generation prompt in the TOML file ``path``, checked as the module says."""
    path = Path(path)
    name = one_line(str(path), 120)
    data = read_toml(path, name, "prompt file")
    for key in data:
        if key not in KEYS:
            raise UserError(f"{name}: {one_line(key, 60)}: unknown key (known: {', '.join(KEYS)})")
    for key in KEYS:
        if key in data and not isinstance(data[key], str):
            raise UserError(f"{name}: {key}: must be a string, not {type(data[key]).__name__}")
    if "template" not in data:
        raise UserError(f"{name}: template: missing (the user message, with {{text}} where the task's text goes)")
    template = data["template"]
    if "{text}" not in template:
        raise UserError(f"{name}: template: has no {{text}} field: the task's text would not be sent")
    shown = data.get("name", "").strip() or path.name
    return GenerationPrompt(shown, data.get("system", SYSTEM), template, source=name)


@dataclass(frozen=True)
class Generated:
    """One reply: its text (None when there is none: ``problem`` says why), where it came from."""

    text: str | None
    key: str
    cached: bool = False
    finish_reason: str | None = None
    problem: str | None = None
    note: str | None = None


def generate(client: LLMClient, prompt: GenerationPrompt, hash_: str, task: Task, parameters: Parameters,
             cache: ReplyCache | None = None) -> Generated:
    """The reply of ``client``'s model to ``prompt`` filled in with ``task``: from ``cache`` if it holds it, else
    asked (and kept). Never raises for the server: a failure or an empty reply is a :class:`Generated` with no
    text and a problem (``server unavailable``, ``server error``, ``empty reply``)."""
    key = reply_key(client.shown, hash_, prompt, task)
    kept = cache.get(key) if cache is not None else None
    if kept is not None:
        text, finish, cached = str(kept.get("text", "")), kept.get("finish_reason"), True
    else:
        try:
            reply = client.chat(prompt.messages(task), None, parameters)
        except LLMUnavailable as e:
            return Generated(None, key, problem=UNAVAILABLE, note=str(e))
        except LLMFailed as e:
            return Generated(None, key, problem=SERVER_ERROR, note=str(e))
        text, finish, cached = reply.text, reply.finish_reason, False
        if cache is not None and text.strip():
            cache.put(key, {"model": client.model, "text": text, "finish_reason": finish, "structured": False})
    if not text.strip():
        return Generated(None, key, cached, finish, problem=EMPTY)
    return Generated(text, key, cached, finish if isinstance(finish, str) else None)
