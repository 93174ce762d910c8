"""Tasks: plain, Prodigy-compatible dicts, and the hashes that identify them.

A task is a JSON object such as ``{"text": "...", "label": "POS"}``. Two hashes
identify it, both computed the same way on every machine and in every process:

``_input_hash``
    identifies the *input*: the values of the input keys present in the task
    (``text``, ``image``, ``html``, ``audio``, ``video``), in that order.
``_task_hash``
    identifies the *question* asked about the input: the input hash plus the
    values of the task keys present (``label``, ``options`` (their ids only),
    ``spans`` (start, end, label only)).

The algorithm (version 1): serialise ``[[key, value], ...]`` as canonical JSON
(``json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False)``),
encode it as UTF-8, take the 8-byte BLAKE2b digest, and read it as a signed
big-endian 64-bit integer. The result fits SQLite's INTEGER and PostgreSQL's
BIGINT. Hashes a task already carries (for example from Prodigy) are kept.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable

INPUT_KEYS: tuple[str, ...] = ("text", "image", "html", "audio", "video")
TASK_KEYS: tuple[str, ...] = ("label", "options", "spans")

ACCEPT = "accept"
REJECT = "reject"
IGNORE = "ignore"
ANSWERS: tuple[str, ...] = (ACCEPT, REJECT, IGNORE)

Task = dict[str, Any]


def canonical_json(value: Any) -> str:
    """JSON text that is the same for equal values, whatever the key order."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def hash_value(value: Any) -> int:
    """A stable signed 64-bit hash of a JSON-serialisable value."""
    digest = hashlib.blake2b(canonical_json(value).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _question_part(key: str, value: Any) -> Any:
    if key == "options" and isinstance(value, list):
        return [o.get("id") if isinstance(o, dict) else o for o in value]
    if key == "spans" and isinstance(value, list):
        return [
            [s.get("start"), s.get("end"), s.get("label")] if isinstance(s, dict) else s
            for s in value
        ]
    return value


def input_hash(task: Task, input_keys: Iterable[str] = INPUT_KEYS) -> int:
    return hash_value([[k, task[k]] for k in input_keys if k in task])


def task_hash(task: Task, task_keys: Iterable[str] = TASK_KEYS, *, in_hash: int | None = None) -> int:
    if in_hash is None:
        in_hash = task["_input_hash"] if "_input_hash" in task else input_hash(task)
    parts: list[Any] = [in_hash]
    parts.extend([k, _question_part(k, task[k])] for k in task_keys if k in task)
    return hash_value(parts)


def set_hashes(task: Task, *, overwrite: bool = False) -> Task:
    """Add ``_input_hash`` and ``_task_hash`` to ``task`` (in place) and return it."""
    if overwrite or not isinstance(task.get("_input_hash"), int):
        task["_input_hash"] = input_hash(task)
    if overwrite or not isinstance(task.get("_task_hash"), int):
        task["_task_hash"] = task_hash(task, in_hash=task["_input_hash"])
    return task


def accepted_labels(task: Task) -> list[str]:
    """The labels an answered task assigns: ``accept`` for choices, ``label`` for binary questions."""
    if "options" in task or "accept" in task:
        accept = task.get("accept") or []
        return [str(a) for a in accept] if isinstance(accept, list) else [str(accept)]
    label = task.get("label")
    return [str(label)] if label is not None else []
