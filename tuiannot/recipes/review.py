"""``review``: adjudicate what several annotators said about the same inputs.

Answers of one or more datasets are grouped by input (``_input_hash``); each
distinct version (the answer plus its labels, choices or spans) is listed with
the annotators who gave it, the majority version first and preselected.
Annotators are named as everywhere else (``progress``, ``stats``, ``iaa``): the
name given with ``--session``, not the stored ``<dataset>-<name>`` session id
(:func:`tuiannot.team.reports.annotator`); an annotator's latest answer to an
input counts, across the datasets reviewed too. The
reviewer accepts it, picks another, or edits one in the normal view; the final
answer goes to the output dataset with its provenance in ``_review``.

Feedback answers (``tuiannot feedback``) are reviewed as well: a version is the
answer with its ``answers`` to every question (texts compared with surrounding
whitespace aside, spans by offsets and label), the screen sets them side by side
per question, ``e`` edits one in the feedback view, and the final answer is a
feedback answer (``_view_id`` ``feedback``, ``user_input`` for a single text
question). The answers reviewed together must have been given to the same
questions (``_questions``): the screen asks those.
"""

from __future__ import annotations

from typing import Annotated, Any, Iterable, Iterator

import json

import typer

from ..components import stored_views, views
from ..errors import UserError
from ..tasks import set_hashes, task_hash
from .registry import parse_labels, recipe
from .options import DbOpt

VERSION_KEYS = ("answer", "label", "accept", "spans")
FEEDBACK_KEYS = ("answers", "user_input")
REVIEWABLE = views(reviewable=True)
FEEDBACK = stored_views(kind="feedback")


def version_of(answer: dict[str, Any]) -> tuple[Any, ...]:
    """What a version is made of: the answer and what it assigns (spans by offsets and label; a feedback answer's
    answers to its questions)."""
    spans = tuple(sorted((s["start"], s["end"], s["label"]) for s in answer.get("spans") or []))
    accept = tuple(sorted(str(a) for a in answer.get("accept") or []))
    if answer.get("_view_id") in FEEDBACK:
        return answer.get("answer"), answer.get("label"), accept, spans, feedback_version(answer.get("answers"))
    return answer.get("answer"), answer.get("label"), accept, spans


def feedback_version(answers: Any) -> str:
    """A feedback answer's ``answers`` as one comparable string: texts without surrounding whitespace, spans by
    start, end and label (the tokens they carry aside)."""
    def said(value: Any) -> Any:
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, list) and value and all(isinstance(s, dict) and "start" in s for s in value):
            return sorted([s.get("start"), s.get("end"), s.get("label")] for s in value)
        return value

    given = answers if isinstance(answers, dict) else {}
    return json.dumps({name: said(value) for name, value in given.items()}, sort_keys=True, default=str)


def _when(answer: dict[str, Any]) -> float:
    stamp = answer.get("_timestamp")
    return float(stamp) if isinstance(stamp, (int, float)) else 0.0


def review_tasks(answers: Iterable[tuple[str, dict[str, Any]]], only_conflicts: bool) -> Iterator[dict[str, Any]]:
    """One review task per input, its versions sorted by how many annotators gave them.

    ``answers`` are (dataset, answer) pairs: the dataset tells the annotator's name from the session id.
    """
    from ..team.reports import annotator  # (the reports bring the metrics: loaded when a review starts)

    groups: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    questionnaires: set[str] = set()
    for dataset, answer in answers:
        if answer.get("_gold") is not None:
            continue  # gold questions are scored, not adjudicated
        if answer.get("_view_id") in FEEDBACK:
            questionnaires.add(json.dumps(answer.get("_questions"), sort_keys=True))
            if len(questionnaires) > 1:
                raise UserError(f"{dataset}: the feedback answers were given to different questions (the questions "
                                "file changed between them); review the answers to one questions file at a time")
        if "image" in answer and "text" not in answer:
            raise UserError("reviewing image datasets is not supported yet (use tuiannot aggregate for "
                            "classification answers)")
        groups.setdefault(answer["_input_hash"], []).append((annotator(dataset, answer), answer))
    for input_hash, named in groups.items():
        given = [a for _, a in named]
        latest: dict[str, dict[str, Any]] = {}
        for who, a in named:  # an annotator's last word counts (the newest, or the later one stored)
            before = latest.get(who)
            if before is None or _when(a) >= _when(before):
                latest[who] = a
        versions: dict[tuple[Any, ...], dict[str, Any]] = {}
        for who, a in latest.items():
            v = versions.setdefault(version_of(a), {
                "answer": a.get("answer"), "sessions": [],  # annotator names (the key as in Prodigy's review)
                **{k: a[k] for k in ("label", "accept", "spans", "answers") if k in a}})
            v["sessions"].append(who)
        ordered = sorted(versions.values(), key=lambda v: -len(v["sessions"]))
        if only_conflicts and len(ordered) < 2:
            continue
        base = dict(given[-1])
        for key in (*VERSION_KEYS, *FEEDBACK_KEYS, "_answer_id", "_session_id", "_annotator_id", "_timestamp",
                    "_seconds", "_task_hash"):
            base.pop(key, None)
        view_ids = {a.get("_view_id") for a in given}
        view_id = base.pop("_view_id", None)
        if len(view_ids) > 1 or view_id not in REVIEWABLE | FEEDBACK:
            raise UserError(f"input {input_hash}: answers from different views ({', '.join(map(str, view_ids))}) "
                            "cannot be reviewed together")
        base["_review"] = {"view_id": view_id, "versions": ordered, "annotators": sorted(latest)}
        base["_input_hash"] = input_hash
        if view_id in FEEDBACK:  # the feedback recipe's own question: the input and the questions
            base["_task_hash"] = task_hash(base, ("_questions",))
        if "label" in ordered[0] and view_id == "classification":
            base["label"] = ordered[0]["label"]
        yield set_hashes(base)


@recipe("review", help="Adjudicate: see every annotator's version side by side and keep the right one.")
def review(
    datasets: Annotated[str, typer.Argument(help="Dataset(s) to review, comma-separated.", metavar="DATASETS",
                                            show_default=False)],
    output: Annotated[str, typer.Option("--output", "-o", help="Dataset that receives the final answers.",
                                        show_default=False)],
    only_conflicts: Annotated[bool, typer.Option(
        "--only-conflicts", help="Skip inputs where every annotator gave the same version.")] = False,
    db: DbOpt = None,
) -> dict[str, Any]:
    from ..storage import connect

    names = parse_labels(datasets)
    if not names:
        raise UserError("name at least one dataset to review")
    if output in names:
        raise UserError("--output must be a new dataset, not one of those reviewed")

    def answers() -> Iterator[tuple[str, dict[str, Any]]]:
        for name in names:  # an unknown dataset: UnknownDataset, naming the database
            yield from ((name, answer) for answer in database.answers(name))

    with connect(db) as database:
        tasks = list(review_tasks(answers(), only_conflicts))
    if not tasks:
        raise UserError("nothing to review" + (" (no conflicts)" if only_conflicts else ""))
    view_ids = {t["_review"]["view_id"] for t in tasks}
    if len(view_ids) > 1:
        raise UserError(f"the datasets mix views ({', '.join(sorted(view_ids))}); review them one view at a time")
    if view_ids <= FEEDBACK:
        return feedback_review(tasks, output, names)
    labels: list[Any] = []  # label names, and option ids as the tasks give them
    for t in tasks:
        for v in t["_review"]["versions"]:
            for label in [v.get("label")] + list(v.get("accept") or []) + [s["label"] for s in v.get("spans") or []]:
                if label and label not in labels:
                    labels.append(label)
        for o in t.get("options") or []:
            if isinstance(o, dict) and o.get("id") not in labels:
                labels.append(o.get("id"))
    return {"dataset": output, "stream": tasks, "view_id": "review", "labels": labels[:10],
            "exclude_by": "input", "review_view": view_ids.pop(), "config": {"reviewed": names}}


def feedback_review(tasks: list[dict[str, Any]], output: str, names: list[str]) -> dict[str, Any]:
    """The components of a review of feedback answers: the review screen with the questions (to show each version's
    answers and to edit one in the feedback view), the answers stored as feedback answers."""
    from .questions import parse_questions, stored_answer

    settings = tasks[0].get("_questions")
    questionnaire = parse_questions({"question": settings if isinstance(settings, list) else []},
                                    f"the questions of the answers in {', '.join(names)}")
    return {"dataset": output, "stream": tasks, "view_id": "review", "exclude_by": "input", "stored_view": "feedback",
            "config": {"reviewed": names, "questions": questionnaire.settings(), "fields": list(questionnaire.fields)},
            "before_db": lambda answered: [stored_answer(task, questionnaire) for task in answered]}
