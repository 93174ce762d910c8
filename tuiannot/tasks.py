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

What JSON a task may be read from is decided here too (:data:`STRICT_JSON`, :func:`lone_surrogate`,
:func:`unreadable_json`), for every reader alike: no NaN or Infinity (strict parsers refuse them, so no export
may carry them), no half of a UTF-16 pair (no UTF-8 writer, SQLite or hash takes it), and a number or nesting
Python cannot hold is a reason, not an exception.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Iterable

try:  # the very constructor hashlib.blake2b is, without hashlib's loading of OpenSSL (~0.4% of a start)
    from _blake2 import blake2b
except ImportError:  # a Python built without it
    from hashlib import blake2b

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
    digest = blake2b(canonical_json(value).encode("utf-8"), digest_size=8).digest()
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


HASH_MIN, HASH_MAX = -(1 << 63), (1 << 63) - 1


def is_hash(value: Any) -> bool:
    """Whether ``value`` can be a hash: a whole number (not a boolean) that fits in signed 64 bits, as
    every database stores them. Prodigy's hashes are 32-bit; tuiannot's own 64-bit."""
    return isinstance(value, int) and not isinstance(value, bool) and HASH_MIN <= value <= HASH_MAX


def set_hashes(task: Task, *, overwrite: bool = False) -> Task:
    """Add ``_input_hash`` and ``_task_hash`` to ``task`` (in place) and return it.

    A hash the task already has is kept; anything else in those fields (a string, ``true``, a number too
    large for 64 bits) is not a hash, and is replaced by the computed one."""
    if overwrite or not is_hash(task.get("_input_hash")):
        task["_input_hash"] = input_hash(task)
    if overwrite or not is_hash(task.get("_task_hash")):
        task["_task_hash"] = task_hash(task, in_hash=task["_input_hash"])
    return task


MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z: what a date can show


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def answer_problem(task: Task) -> str | None:
    """Why ``task`` cannot be stored as an answer (a field of the wrong kind), or None when it can.

    Checked on the way in (``db-in``, the storage), so that no row can break a report later: a timestamp
    of 1e308 or a hash too large for 64 bits is refused with its reason, not stored."""
    answer = task.get("answer")
    if answer not in ANSWERS:
        return f"'answer' must be accept, reject or ignore, not {_shown(answer)}"
    for key in INPUT_KEYS:  # what the hashes, the views and the exports read as text
        if key in task and not isinstance(task[key], str):
            return f"{key!r} must be a string, not {_shown(task[key])}"
    for key in ("_input_hash", "_task_hash"):
        if key in task and not is_hash(task[key]):
            return f"{key!r} must be an integer that fits in 64 bits, not {_shown(task[key])}"
    if "_timestamp" in task and not (_number(task["_timestamp"]) and 0 <= task["_timestamp"] <= MAX_TIMESTAMP):
        return f"'_timestamp' must be seconds since 1970 (a number up to year 9999), not {_shown(task['_timestamp'])}"
    seconds = task.get("_seconds")
    if seconds is not None and not (_number(seconds) and seconds >= 0):
        return f"'_seconds' must be a number of seconds (0 or more), not {_shown(task['_seconds'])}"
    for key in ("_session_id", "_annotator_id", "_view_id", "label"):
        if task.get(key) is not None and not isinstance(task[key], str):
            return f"{key!r} must be a string, not {_shown(task[key])}"
    if task.get("accept") is not None and not isinstance(task["accept"], (list, str)):
        return f"'accept' must be a list of labels, not {_shown(task['accept'])}"
    for key in ("spans", "options", "tokens"):
        if task.get(key) is not None and not isinstance(task[key], list):
            return f"{key!r} must be a list, not {_shown(task[key])}"
    if task.get("meta") is not None and not isinstance(task["meta"], dict):
        return f"'meta' must be an object, not {_shown(task['meta'])}"
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def accepted_labels(task: Task) -> list[str]:
    """The labels an answered task assigns: ``accept`` for choices, ``label`` for binary questions."""
    if "options" in task or "accept" in task:
        accept = task.get("accept") or []
        return [str(a) for a in accept] if isinstance(accept, list) else [str(accept)]
    label = task.get("label")
    return [str(label)] if label is not None else []


# -- what JSON a task may be read from (the sources and db-in's readers) ---------------------------------------
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
LONE_SURROGATE = "invalid JSON: a lone surrogate (half of a UTF-16 pair, e.g. \\ud800) is not text"


def lone_surrogate(text: str, start: int, end: int, value: Any) -> bool:
    """Whether ``value``, decoded from ``text[start:end]``, holds half a UTF-16 pair (JSON's ``"\\ud800"``
    alone), which no UTF-8 writer, SQLite or the hashes take. Looked for only where the JSON has such an escape."""
    if not _SURROGATE_ESCAPE.search(text, start, end):
        return False
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (strict readers refuse it; write null, or a number)")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:20]} is too large for JSON readers (it would be Infinity)")
    return value


STRICT_JSON = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)
"""Strict JSON: NaN and Infinity (which Python's json reads, and strict parsers refuse) are invalid records,
so no export ever carries them."""


def unreadable_json(e: BaseException) -> str:
    """Why well-formed JSON cannot be read: a number too long for Python, or nesting too deep."""
    if isinstance(e, RecursionError):
        return "invalid JSON: nested too deeply"
    if "digits" in str(e):
        return "invalid JSON: a number with too many digits (the limit is 4300)"
    return f"invalid JSON: {str(e).splitlines()[0][:200] if str(e) else type(e).__name__}"
