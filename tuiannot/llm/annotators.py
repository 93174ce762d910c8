"""Models as annotators: a model answers every task of a source into a dataset, under a session of its own.

``tuiannot model-annotate`` runs a recipe's stream (``textcat``, ``ner`` or ``spans``) with ``--llm`` or with a
spaCy ``--model``, and stores what the model suggests as its answer: the choice labels it preselected, the
yes/no answer it gave, the spans it found. Nothing here is new machinery: the suggestions are the ones a person
sees while annotating with the same flags, so people and models are compared with ``iaa``, ``progress`` and
``review --only-conflicts`` as any two annotators are.

Each answer is stored as a person's would be (``_session_id`` and ``_annotator_id`` ``<dataset>-<session>``,
``_view_id``, ``_timestamp``), with its provenance: ``_llm`` (model, prompt hash, parameters, the parsed reply,
problems) for an LLM, ``_model`` (the pipeline, its name and version, the threshold) for a spaCy model. A task
the model gave nothing for (the server failed, the reply was unusable: nothing in it could be used, e.g. every
label unknown or every mention not found in the text) is not answered: a later run asks again. A reply that
says "none" (``{"labels": []}``, ``{"spans": []}``) without a problem is an answer.

Resumable: tasks this session already answered are skipped (other annotators' answers are not: the model
answers every task), before the model is asked about them (a step put in front of the stream's costly ones,
so a rerun with ``--no-cache`` does not ask the server again); answers are committed a batch at a time, so an
interrupted run keeps what it stored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from ..storage import Database
from ..stream import Stream
from ..tasks import Task

BATCH = 64  # answers per transaction


@dataclass
class Outcome:
    """What a run did: answers stored, tasks skipped (already answered by the session, or nothing suggested)."""

    answered: int = 0
    already: int = 0
    unanswered: int = 0
    by_answer: dict[str, int] = field(default_factory=dict)


def model_answer(task: Task, view_id: str, labels: list[str], threshold: float = 0.5) -> Task | None:
    """The model's answer to ``task`` as the stored task, or None when it gave nothing to answer with."""
    llm = task.get("_llm")
    if isinstance(llm, dict):
        suggestion = llm.get("suggestion")
        if not suggestion:
            return None  # asked, and nothing usable came back: left for a later run
        if llm.get("problems") and "answer" not in suggestion and not (suggestion.get("labels")
                                                                         or suggestion.get("spans")):
            return None  # every label unknown, every mention not found: an unusable reply, not "none of them"
            # (a yes/no question's answer stands: a reply naming another label says "not this one")
    answer = {k: v for k, v in task.items() if k != "_llm_io"}  # the raw prompt and reply are not stored
    if view_id == "classification":  # a yes/no question about the task's one label
        if isinstance(llm, dict):
            said = (llm.get("suggestion") or {}).get("answer")
        else:
            scores = (task.get("meta") or {}).get("scores") or {}
            score = scores.get(task.get("label"))
            said = None if not isinstance(score, (int, float)) else "accept" if score >= threshold else "reject"
        if said not in ("accept", "reject"):
            return None
        answer["answer"] = said
    elif view_id == "choice":
        if not isinstance(llm, dict) and "accept" not in task:
            return None
        answer["answer"] = "accept"
        answer["accept"] = [label for label in task.get("accept") or [] if label in labels]
    else:  # spans: the suggestions become the answer
        answer["answer"] = "accept"
        answer["spans"] = [{k: v for k, v in span.items() if k != "suggested"} for span in task.get("spans") or []]
    return answer


def annotate_with_model(stream: Stream | Iterable[Task], db: Database, dataset: str, session: str, view_id: str,
                        stored_view: str, labels: list[str], *, by: str = "input",
                        provenance: dict[str, Any] | None = None,
                        on_task: Callable[[Outcome], None] | None = None) -> Outcome:
    """Answer every task of ``stream`` as ``session`` into ``dataset``; see the module's docstring."""
    db.add_dataset(dataset)
    session_id = f"{dataset}-{session}"
    outcome = Outcome()
    batch: list[Task] = []

    def answered_by_it(tasks: list[Task]) -> set[int]:
        keys = [task[f"_{by}_hash"] for task in tasks]
        done = db.answer_sessions(dataset, keys, by=by)
        return {key for key in keys if session_id in done.get(key, set()) or session in done.get(key, set())}

    def undone(tasks: Iterator[Task]) -> Iterator[Task]:
        """Before the model is asked: what the session answered is counted and dropped, a few at a time."""
        chunk: list[Task] = []
        for task in tasks:
            chunk.append(task)
            if len(chunk) >= 32:
                yield from drop_answered(chunk)
                chunk = []
        yield from drop_answered(chunk)

    def drop_answered(chunk: list[Task]) -> list[Task]:
        if not chunk:
            return chunk
        done = answered_by_it(chunk)
        outcome.already += sum(task[f"_{by}_hash"] in done for task in chunk)
        return [task for task in chunk if task[f"_{by}_hash"] not in done]

    if isinstance(stream, Stream) and stream.has_reorders:
        stream.prefilter(undone)

    def flush() -> None:
        if not batch:
            return
        keys = [task[f"_{by}_hash"] for task in batch]
        done = answered_by_it(batch)
        answers = []
        for task, key in zip(batch, keys, strict=True):
            if key in done:
                outcome.already += 1
                continue
            answer = model_answer(task, view_id, labels, (provenance or {}).get("threshold", 0.5))
            if answer is None:
                outcome.unanswered += 1
                continue
            answer.update({"_session_id": session_id, "_annotator_id": session_id, "_view_id": stored_view,
                           "_timestamp": int(time.time())})
            if provenance and "_llm" not in answer:
                answer["_model"] = provenance
            answers.append(answer)
            outcome.by_answer[answer["answer"]] = outcome.by_answer.get(answer["answer"], 0) + 1
        if answers:
            db.add_answers(dataset, answers)
            outcome.answered += len(answers)
        batch.clear()

    seen: set[int] = set()
    for task in stream:
        key = task[f"_{by}_hash"]
        if key in seen:  # a repeat within the source: answered once
            continue
        seen.add(key)
        batch.append(task)
        if len(batch) >= BATCH:
            flush()
        if on_task is not None:
            on_task(outcome)
    flush()
    if on_task is not None:
        on_task(outcome)
    return outcome
