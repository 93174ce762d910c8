"""``rank``: several replies to one prompt, put in order of preference (preference data for training).

A task is a JSON object with a ``prompt`` and two to ten ``responses`` (strings, or objects with a ``text`` and
perhaps an ``id``: the shape Argilla and Label Studio use), plus an optional ``meta``; a record without them, or
with responses that are not that, is skipped with a warning naming file, line and reason (``--strict``: the
session ends there).

The ``rank`` view numbers the responses; number keys in order of preference build the ranking, ``=`` before a
number ties that response with the one placed before it, ``a`` submits (one number key then ``a`` picks the best
and says nothing about the rest), ``c`` clears. Stored: the task plus ``ranking``, best first, each element a
response's id (its ``id``, else its index in the list, from 0) or a list of ids tied::

    {"prompt": "...", "responses": ["r0", "r1", "r2", "r3"], "answer": "accept", "ranking": [2, [0, 3]]}

(:mod:`tuiannot.data.preference` reads it: 2 is the best, 0 and 3 tie below it, 1 is below them all). ``x``
rejects the task itself, ``space`` skips; neither keeps a ranking. A ranking the task brings (a model's, an
earlier round's) starts out filled in. A task is known by its prompt and responses: restarting skips what was
answered. ``db-out --format preference`` writes every pair the rankings imply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..data.preference import RANK_VIEW
from ..sanitize import blank
from ..stream import Stream
from ..tasks import input_hash, is_hash, task_hash
from .options import DatasetOpt, ExcludeOpt, LoaderOpt, SourceArg
from .registry import annotation_source, parse_labels, recipe

MAX_RESPONSES = 10
"""The number keys 1-9 and 0."""
INPUT_KEYS = ("text", "prompt", "responses")


def response_ids(responses: list[Any]) -> list[Any]:
    """What a ranking stores for each response: its ``id``, else its index in the list (from 0)."""
    return [r["id"] if isinstance(r, dict) and "id" in r else i for i, r in enumerate(responses)]


def rank_problem(task: Any) -> str | None:
    """Why a record is not a rank task (see the module's docstring), or None when it is."""
    if not isinstance(task, dict):
        return "expected a JSON object"
    prompt, responses = task.get("prompt"), task.get("responses")
    if not isinstance(prompt, str) or blank(prompt):
        return "no 'prompt' (the text the responses reply to)" if prompt is None else "'prompt' must be a text"
    if not isinstance(responses, list):
        return "no 'responses' list" if responses is None else "'responses' must be a list"
    if not 2 <= len(responses) <= MAX_RESPONSES:
        return f"'responses' has {len(responses)}; a ranking takes 2 to {MAX_RESPONSES} (the number keys 1-9, 0)"
    for i, response in enumerate(responses):
        if not (isinstance(response, str) or isinstance(response, dict) and isinstance(response.get("text"), str)):
            return f"response {i} must be a string or an object with 'text'"
        rid = response.get("id") if isinstance(response, dict) else None
        if isinstance(response, dict) and "id" in response and not (
                isinstance(rid, str) and rid.strip() or isinstance(rid, int) and not isinstance(rid, bool)):
            return f"response {i}: 'id' must be a non-empty string or a whole number"
    keys = [(type(rid).__name__, rid) for rid in response_ids(responses)]  # 1 and "1" are two ids
    if len(set(keys)) != len(keys):
        return "two responses have the same id (an 'id', or a position without one)"
    if "meta" in task and not isinstance(task["meta"], dict):
        return "'meta' must be an object"
    if "text" in task and not isinstance(task["text"], str):
        return "'text' must be a string"
    return None


def ranking_problem(task: dict[str, Any]) -> str | None:
    """Why a stored ``ranking`` is not one of the task's responses' ids in order, each once, or None."""
    ranking = task.get("ranking")
    if not isinstance(ranking, list) or not ranking:
        return "no ranking: press a number key for the best response first"
    known = {(type(rid).__name__, rid) for rid in response_ids(task.get("responses") or [])}
    seen: set[tuple[str, Any]] = set()
    for element in ranking:
        tier = element if isinstance(element, list) else [element]
        if not tier:
            return "an empty tie in the ranking"
        for rid in tier:
            key = (type(rid).__name__, rid)
            if key not in known:
                return f"the ranking names {rid!r}, which is not a response's id"
            if key in seen:
                return f"the ranking names {rid!r} twice"
            seen.add(key)
    return None


@recipe("rank", help="Put replies to a prompt in order of preference (preference data for training).")
def rank(
    source: SourceArg,
    dataset: DatasetOpt = None,
    loader: LoaderOpt = None,
    exclude: ExcludeOpt = None,
) -> dict[str, Any]:
    tasks = annotation_source(source, loader)
    tasks.validate = rank_problem
    stream = Stream(tasks)

    def prepare(task: dict[str, Any]) -> dict[str, Any]:
        for key in ("_input_hash", "_task_hash"):
            if key in task and not is_hash(task[key]):
                stream.note(f"{key} {str(task[key])[:30]!r} is not a 64-bit hash: computed from the task instead")
                del task[key]
        if "_input_hash" not in task:
            task["_input_hash"] = input_hash(task, INPUT_KEYS)
        if "_task_hash" not in task:
            task["_task_hash"] = task_hash(task, ())
        return task

    def validate_answer(task: dict[str, Any]) -> None:
        if task.get("answer") == "accept":
            problem = ranking_problem(task)
            if problem:
                raise ValueError(problem)

    def keep_ranking(answered: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A rejected or skipped task keeps no ranking (one given before an undo would stay otherwise)."""
        return [task if task.get("answer") == "accept" else {k: v for k, v in task.items() if k != "ranking"}
                for task in answered]

    return {
        "dataset": dataset or Path(source).stem,
        "stream": stream.map(prepare),
        "view_id": RANK_VIEW,
        "exclude": parse_labels(exclude),
        "validate_answer": validate_answer,
        "before_db": keep_ranking,
    }
