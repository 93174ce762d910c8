"""Gold questions: tasks with known answers, mixed into the stream and scored.

A gold file is JSONL of tasks with their right answer, in the stored format:
``{"text", "label", "answer": "reject"}`` (a yes/no question),
``{"text", "answer": "accept", "accept": ["POS"]}`` (a choice) or
``{"text", "answer": "accept", "spans": [...]}`` (spans). The answer is taken
off the task before it is shown (the annotator is not told which tasks are
gold) and kept in ``_gold``; the stored answer keeps ``_gold`` so that
``tuiannot progress`` can score each annotator against it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserError
from ..sources import Source
from ..stream import Stream
from ..tasks import ANSWERS, Task


def split_gold(task: Task) -> Task:
    """The task as shown, with its known answer moved to ``_gold``."""
    answer = task.pop("answer", "accept")
    if answer not in ANSWERS:
        raise ValueError(f"'answer' must be accept, reject or ignore, not {answer!r}")
    expected: dict[str, Any] = {"answer": answer}
    if "accept" in task:
        expected["accept"] = sorted(str(a) for a in task.pop("accept") or [])
    if "label" in task:  # the question asked is the recipe's: a label here would only give the answer away
        expected["label"] = task.pop("label")
    if "answers" in task:  # a feedback task's known answers: shown filled in, they would give themselves away
        expected["answers"] = task.pop("answers")
    if "spans" in task:
        expected["spans"] = sorted((s["start"], s["end"], s["label"]) for s in task.pop("spans") or []
                                   if isinstance(s, dict))
    task["_gold"] = expected
    return task


def load_gold(path: str | Path, stream: Stream | None) -> list[Task]:
    """Gold tasks prepared by the recipe's own steps (labels, options, tokens), answers kept aside."""
    source = Source(path, loader="jsonl")
    base = Stream(source) if stream is None else stream.derive(source)
    gold = Stream(source).map(split_gold)
    tasks: list[Task] = []
    for task in gold:
        expected = task.pop("_gold")
        task.pop("_input_hash", None)  # hashed again once the recipe has made its question
        task.pop("_task_hash", None)
        for prepared in base.derive_from([task]):
            prepared["_gold"] = expected
            tasks.append(prepared)
    if gold.invalid or base.invalid:
        problems = list(gold.warnings) + list(base.warnings)
        raise UserError(f"bad gold task: {problems[0]}")
    if not tasks:
        raise UserError(f"{path}: no gold tasks in the file")
    return tasks


def gold_correct(answer: Task) -> bool | None:
    """Whether a stored answer to a gold task matches the known answer (None when it is not gold)."""
    expected = answer.get("_gold")
    if not isinstance(expected, dict):
        return None
    if answer.get("answer") != expected.get("answer"):
        return False
    if "accept" in expected and sorted(str(a) for a in answer.get("accept") or []) != expected["accept"]:
        return False
    if "spans" in expected:
        given = sorted((s["start"], s["end"], s["label"]) for s in answer.get("spans") or [])
        if given != [tuple(s) for s in expected["spans"]]:
            return False
    return True
