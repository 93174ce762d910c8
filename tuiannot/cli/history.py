"""``tuiannot history DATASET [--input HASH] [--json]``: every answer that was replaced, each version in order.

An answer replaced in the database (undo then answer again, an edit) keeps its earlier versions: a trigger of
the storage copies the old row into ``answer_history`` on every ``UPDATE`` (schema 5; see
:meth:`tuiannot.storage.Database.answer_history`), so nothing is overwritten without a trace. This command reads
them back: per input whose answer was replaced, per answer (its id), the versions in the order they were given,
each with its answer and what it marks (labels, spans, relations, shortly), who gave it and when, the guidelines
it was given under (``version (hash)``, see :mod:`tuiannot.team.by_guidelines`), its flag and comment, and when
and by whom it was replaced; the current version (the answer as stored now) last, marked. ``--json`` has each
version's whole stored task besides. What a person reads is shown by :mod:`.show_history`; an unknown dataset is
the storage's own one-line error.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from ..recipes.options import DbOpt, JsonOpt
from .program import app


@app.command("history")
def history(
    dataset: Annotated[str, typer.Argument(help="The dataset.", show_default=False)],
    input_hash: Annotated[Optional[int], typer.Option(
        "--input", help="Only this input (its _input_hash, as db-out and --json show it).", metavar="HASH",
        show_default=False)] = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """The earlier versions of replaced answers: who, when, under which guidelines; the current one marked."""
    from ..storage import connect
    from .show import print_json_or
    from .show_history import print_history

    with connect(db) as database:
        report = history_report(database, dataset, input_hash)
    print_json_or(report, as_json, print_history)


def history_report(database: Any, dataset: str, input_hash: int | None = None) -> dict[str, Any]:
    """The report ``history`` prints (``--json``): per input, per answer, its versions in order."""
    from ..team.by_guidelines import guidelines_name

    inputs: dict[int, dict[int, list[dict[str, Any]]]] = {}  # input -> answer id -> replaced versions in order
    for entry in database.answer_history(dataset, input_hash):
        inputs.setdefault(entry["input_hash"], {}).setdefault(entry["answer_id"], []).append(entry)
    current = {a["_answer_id"]: a for a in database.answers_by_id(
        answer_id for answers in inputs.values() for answer_id in answers)}

    def version(task: dict[str, Any], number: int, **more: Any) -> dict[str, Any]:
        task = {k: v for k, v in task.items() if k != "_answer_id"}
        guidelines = task.get("_guidelines")
        return {"version": number, "answer": task.get("answer"), "what": what(task),
                "session": _who(dataset, task), "when": task.get("_timestamp"),
                "guidelines": guidelines if isinstance(guidelines, dict) else None,
                "guidelines_name": guidelines_name(guidelines), "flagged": task.get("_flagged") is True,
                "comment": task.get("_comment") if isinstance(task.get("_comment"), str) else None,
                **more, "task": task}

    shown = []
    for item, answers in inputs.items():
        chains = []
        for answer_id, entries in answers.items():
            versions = [version(e["task"], n, current=False, replaced=e["replaced"], replaced_by=e["replaced_by"])
                        for n, e in enumerate(entries, 1)]
            now = current.get(answer_id)
            if now is not None:
                versions.append(version(now, len(versions) + 1, current=True, replaced=None, replaced_by=None))
            chains.append({"answer_id": answer_id, "versions": versions})
        first = answers[next(iter(answers))][0]["task"]
        shown.append({"input_hash": item, "text": _text(first), "answers": chains})
    return {"database": database.location, "dataset": dataset, "input": input_hash, "inputs": len(shown),
            "replaced": sum(len(entries) for answers in inputs.values() for entries in answers.values()),
            "history": shown}


def _who(dataset: str, task: dict[str, Any]) -> str:
    from ..storage.base import session_name

    return session_name(dataset, task)


def _text(task: dict[str, Any]) -> str | None:
    """What the input is, for a person: its text (or image, or prompt), as stored."""
    for key in ("text", "image", "prompt", "audio", "video"):
        if isinstance(task.get(key), str):
            return str(task[key])
    return None


def what(task: dict[str, Any]) -> str:
    """What a version marks, shortly: its labels, its spans (``text LABEL``), how many relations, its label."""
    parts = []
    if isinstance(task.get("accept"), list):
        parts.append(", ".join(map(str, task["accept"])) or "no label")
    if isinstance(task.get("spans"), list):
        text = task.get("text") if isinstance(task.get("text"), str) else ""
        spans = [s for s in task["spans"] if isinstance(s, dict)]
        marked = []
        for s in spans[:6]:
            start, end = s.get("start"), s.get("end")
            words = text[start:end] if isinstance(start, int) and isinstance(end, int) and text else ""
            marked.append(f"{words!r} {s.get('label')}" if words else str(s.get("label")))
        parts.append((", ".join(marked) or "no spans") + (f" … (+{len(spans) - 6})" if len(spans) > 6 else ""))
    if isinstance(task.get("relations"), list):
        n = len(task["relations"])
        parts.append(f"{n} relation{'s' if n != 1 else ''}")
    if isinstance(task.get("answers"), dict):
        n = len(task["answers"])
        parts.append(f"{n} question{'s' if n != 1 else ''} answered")
    if not parts and task.get("label") is not None:
        parts.append(str(task["label"]))
    return "; ".join(parts)
