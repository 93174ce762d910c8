"""Feedback datasets (``tuiannot feedback``) in the team lead's reports: ``iaa``, ``progress`` and ``aggregate``,
each per question.

A feedback answer holds the answers to several questions (``answers``, question name -> answer) and the
questions' settings (``_questions``); a question is compared and decided by its type, by the pure functions of
:mod:`tuiannot.metrics.feedback`. The commands send a dataset here when its answers are feedback answers
(:func:`is_feedback`: the first answer says so; a dataset that mixes them with other answers is refused by
either side with one line).

What is read: per (input, annotator) the annotator's last word (the answer and its ``answers``) and the
questions, each as the last answer that has it describes it (a questions file changed since keeps one entry
per name; a value that does not fit its question's type is left out of that question). Only accepted answers
speak to the questions: ``reject`` says the task itself is wrong, ``ignore`` says nothing. The answers are kept
whole (texts and all), unlike the label reports' compact records: a feedback dataset is people's written work,
thousands of answers, not the millions of labels those are built for.

Gold questions (``_gold``) are counted per annotator and left out of agreement and aggregation, but not scored:
the gold module knows right and wrong for labels and spans, and a known answer to a rating, a text or a
ranking is not right or wrong the way a label is (a rating one point off, a text worded otherwise).

``aggregate`` writes one final answer per input where every question is decided (the rules of
:func:`~tuiannot.metrics.feedback.aggregate_question`: median, majority, majority per span, Borda count), and
the answer itself by majority of accept and reject. An input where something is not decided (a tie, no text
more than half wrote) is a *conflict*: listed with the questions that conflict, never written, for
``tuiannot review DATASET --output FINAL --only-conflicts`` (which skips what FINAL has). Inputs FINAL has
already are kept as they are, so a second run writes only what is new. Each final answer keeps in
``_aggregate`` how the answer and each question were decided, with the votes.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from typing import Any, Iterator

from ..errors import UserError
from ..metrics.feedback import aggregate_question, question_agreement
from ..storage import Database
from .reports import FEEDBACK_VIEWS, _bulk, final_answer, mixed_with_feedback, progress_rows

FIELDS = ("answers", "_questions", "_gold")
SETTINGS = ("title", "scale", "labels", "multiple", "field")
"""A question's settings a report repeats beside its name and type."""
MEASURES = {"rating": "cohens_kappa_quadratic", "label": "percent_agreement", "text": "edit_similarity",
            "span": "strict_f", "ranking": "kendall_tau"}
"""What ``progress`` shows per question and annotator: the pairwise figure of the question's type, averaged over
the annotator's pairs (quadratic-weighted kappa for ratings, Kendall's tau for rankings; shares otherwise)."""


def is_feedback(db: Database, dataset: str) -> bool:
    """Whether the dataset's answers are feedback answers (as its first answer is); an unknown dataset is the
    storage's UnknownDataset."""
    rows = db.answer_fields(dataset, ("_gold",))
    try:
        first = next(iter(rows), None)
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    return first is not None and first[4] in FEEDBACK_VIEWS


class _Feedback:
    """A feedback dataset as the reports need it, from one pass over compact rows."""

    def __init__(self, db: Database, dataset: str) -> None:
        # (input, annotator) -> (answer id, answer, answers): the annotator's last word on the input
        self.latest: dict[tuple[Any, str], tuple[int, str, dict[str, Any]]] = {}
        self.questions: dict[str, dict[str, Any]] = {}  # name -> settings, in the order first seen
        self.gold: Counter = Counter()  # annotator -> gold questions answered
        views: set[Any] = set()
        for answer_id, item, who, answer, view, _, answers, questions, gold in db.answer_fields(dataset, FIELDS):
            views.add(view)
            if gold is not None:
                self.gold[who] += 1
                continue
            for q in questions if isinstance(questions, list) else []:
                if isinstance(q, dict) and isinstance(q.get("name"), str):
                    self.questions[q["name"]] = q
            self.latest[(item, who)] = (answer_id, answer, answers if isinstance(answers, dict) else {})
        if views - FEEDBACK_VIEWS:
            raise mixed_with_feedback(dataset, views)

    def values(self, name: str) -> list[tuple[Any, str, Any]]:
        """The question's answers, ``(input, annotator, value)``, of the accepted answers."""
        return [(item, who, answers.get(name)) for (item, who), (_, answer, answers) in self.latest.items()
                if answer == "accept"]

    def by_input(self) -> dict[Any, dict[str, tuple[int, str, dict[str, Any]]]]:
        grouped: dict[Any, dict[str, tuple[int, str, dict[str, Any]]]] = defaultdict(dict)
        for (item, who), said in self.latest.items():
            grouped[item][who] = said
        return grouped


def _described(question: dict[str, Any]) -> dict[str, Any]:
    return {"name": question["name"], "type": question.get("type"),
            **{k: question[k] for k in SETTINGS if k in question}}


@_bulk
def feedback_agreement(db: Database, dataset: str) -> dict[str, Any]:
    """``iaa`` on a feedback dataset: per question its type's report (:func:`~tuiannot.metrics.feedback.
    question_agreement`), with the counts of what was compared."""
    data = _Feedback(db, dataset)
    if not data.latest:
        raise UserError(f"dataset {dataset!r} has no answers to compare")
    said = Counter(answer for _, answer, _ in data.latest.values())
    return {
        "dataset": dataset, "kind": "feedback",
        "inputs": len({item for item, _ in data.latest}),
        "annotators": sorted({who for _, who in data.latest}),
        "answers": {k: said[k] for k in ("accept", "reject", "ignore") if said[k]},
        "gold_left_out": sum(data.gold.values()),
        "questions": [{**_described(q), "agreement": question_agreement(q, data.values(name))}
                      for name, q in data.questions.items()],
    }


def _pair_figure(kind: Any, pair: dict[str, Any]) -> float | None:
    if kind == "span":
        return (pair.get("strict") or {}).get("f")
    return pair.get(MEASURES.get(kind, ""))


def _overall(kind: Any, report: dict[str, Any]) -> float | None:
    if kind == "span":
        return (report.get("strict") or {}).get("f")
    return report.get(MEASURES.get(kind, ""))


@_bulk
def feedback_progress(db: Database, dataset: str) -> dict[str, Any]:
    """``progress`` on a feedback dataset: per annotator the counts, speed and holding of any dataset, gold answers
    counted (not scored), and per question each annotator's agreement with the others (:data:`MEASURES`)."""
    counts = db.dataset_counts(dataset)  # an unknown dataset: UnknownDataset, naming the database
    data = _Feedback(db, dataset)
    questions = []
    for name, q in data.questions.items():
        kind = q.get("type")
        report = question_agreement(q, data.values(name))
        mine: dict[str, list[float]] = defaultdict(list)
        for pair in report.get("pairs") or []:
            value = _pair_figure(kind, pair)
            if value is not None:
                mine[pair["a"]].append(value)
                mine[pair["b"]].append(value)
        overall = _overall(kind, report)
        questions.append({**_described(q), "measure": MEASURES.get(str(kind)),
                          "overall": round(overall, 4) if overall is not None else None,
                          "by_annotator": {who: round(statistics.mean(v), 4) for who, v in sorted(mine.items())}})
    inputs = len({item for item, _ in data.latest})
    report = progress_rows(db, dataset, counts, {}, {}, inputs, len(data.latest))
    for row in report["annotators"]:
        row["gold_answered"] = data.gold.get(row["annotator"], 0)
    report["kind"] = "feedback"
    report["questions"] = questions
    return report


@_bulk
def feedback_aggregate(db: Database, dataset: str, method: str, output: str) -> dict[str, Any]:
    """``aggregate`` on a feedback dataset (see the module docstring); the report is what ``--json`` prints."""
    if method != "majority":
        raise UserError(f"--method {method} does not apply to feedback answers ({dataset!r} holds them): each "
                        "question is decided by its type's rule (median, majority, Borda count); leave --method out")
    if output == dataset:
        raise UserError("--output must be another dataset")
    data = _Feedback(db, dataset)
    if not data.latest:
        raise UserError(f"dataset {dataset!r} has no answers to aggregate")
    grouped = data.by_input()
    done = db.answered([output], grouped, by="input")
    plan: dict[int, tuple[str, dict[str, Any], dict[str, Any]]] = {}  # answer id -> answer, answers, provenance
    conflicts: list[tuple[Any, int, dict[str, str]]] = []  # input, an answer's id, question -> why
    decided: dict[str, Counter] = {name: Counter() for name in data.questions}
    ignored = rejected = 0
    for item, said in grouped.items():
        if item in done:
            continue
        speaking = {who: s for who, s in said.items() if s[1] != "ignore"}
        if not speaking:
            ignored += 1
            continue
        votes = {who: s[1] for who, s in sorted(speaking.items())}
        tally = Counter(votes.values())
        provenance: dict[str, Any] = {"method": "feedback", "sessions": sorted(speaking),
                                      "answer": {"method": "majority", "votes": votes}}
        if tally["accept"] == tally["reject"]:
            conflicts.append((item, max(s[0] for s in speaking.values()), {"answer": "as many reject as accept"}))
            continue
        if tally["reject"] > tally["accept"]:
            given = max(s[0] for s in speaking.values() if s[1] == "reject")
            plan[given] = ("reject", {}, provenance)
            rejected += 1
            continue
        accepting = {who: s for who, s in speaking.items() if s[1] == "accept"}
        final: dict[str, Any] = {}
        why: dict[str, str] = {}
        provenance["questions"] = {}
        for name, q in data.questions.items():
            decision = aggregate_question(q, {who: s[2].get(name) for who, s in sorted(accepting.items())})
            provenance["questions"][name] = decision.provenance
            if decision.conflict is not None:
                why[name] = decision.conflict
                decided[name]["conflict"] += 1
            else:
                final[name] = decision.value
                decided[name]["decided" if decision.answered else "unanswered"] += 1
        if why:
            conflicts.append((item, max(s[0] for s in accepting.values()), why))
            continue
        plan[max(s[0] for s in accepting.values())] = ("accept", final, provenance)

    session = f"{output}-majority"

    def tasks() -> Iterator[dict[str, Any]]:  # read a few hundred at a time between the import's transactions
        for given in db.answers_by_id(plan):
            answer, answers, provenance = plan[given["_answer_id"]]
            task = final_answer(given, session, provenance, drop=("user_input",))
            task["answer"], task["answers"] = answer, answers
            texts = [q["name"] for q in given.get("_questions") or []
                     if isinstance(q, dict) and q.get("type") == "text"]
            if len(texts) == 1 and isinstance(answers.get(texts[0]), str):
                task["user_input"] = answers[texts[0]]  # as the recipe stores it
            if "_task_hash" in given:  # the recipe's: the input and the questions
                task["_task_hash"] = given["_task_hash"]
            yield task

    written = db.add_answers(output, tasks()) if plan else 0
    shown = {a["_answer_id"]: a for a in db.answers_by_id(answer_id for _, answer_id, _ in conflicts)}
    listed = []
    for item, answer_id, why in sorted(conflicts, key=lambda conflict: conflict[0]):
        task = shown.get(answer_id, {})
        listed.append({"input": str(item), "text": task.get("prompt") or task.get("text") or task.get("response"),
                       "questions": why})
    return {"dataset": dataset, "output": output, "method": "majority", "kind": "feedback",
            "inputs": len(grouped), "written": written, "rejected": rejected, "only_ignored": ignored,
            "already_final": len(done), "conflicts": len(conflicts), "conflict_inputs": listed,
            "questions": [{**_described(q), "decided": decided[name]["decided"],
                           "unanswered": decided[name]["unanswered"], "conflicts": decided[name]["conflict"]}
                          for name, q in data.questions.items()]}
