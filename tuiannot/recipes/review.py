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

Relation answers (``tuiannot rel``) are reviewed as span answers are, a version
being the answer, its spans and its relations (head span, child span, label:
each end one of the version's spans, found as the exports and ``iaa`` find it,
:func:`~tuiannot.data.answers.task_relations`). The screen lists each version's
relations under its spans, ``e`` edits one in the relation view, and the final
answer is a relation answer (``_view_id`` ``relations``) with the version's
relations. The relation labels the versions use are the editor's relation keys.

What it costs: the items are decided from compact rows
(:meth:`~tuiannot.storage.Database.answer_fields`: the indexed columns and the
few fields a version is made of), never from whole answers. One pass over them
(:func:`plan_review`) keeps a small record per answer while it reads them (its
id, its time, and what it says: one shared tuple for all the answers that say
the same), about 150 bytes, then of each input reviewed only the ids of its
answers (:class:`ReviewPlan`: flat arrays), and raises the errors a pass over
every answer would. The whole answers of an input are read by id
(:meth:`~tuiannot.storage.Database.answers_by_id`) when the stream reaches it, a
few inputs at a time (:class:`ReviewStream`), and made into its review task by
:func:`review_tasks`, exactly as a pass over every answer makes it. So the first
item is on screen after one pass over the compact rows, and memory never holds
the answers (bench/cost_curves.py: at a million answers the first item took
36-43 s and 4.2 GB when every answer was decoded up front; see bench/README.md).
"""

from __future__ import annotations

import gc
import json
from array import array
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Callable, Iterable, Iterator

import typer

from ..components import stored_views, views
from ..data.answers import Problems, Where, task_relations
from ..errors import UserError
from ..tasks import set_hashes, task_hash
from .registry import parse_labels, recipe
from .options import DbOpt

if TYPE_CHECKING:
    from ..storage import Database

VERSION_KEYS = ("answer", "label", "accept", "spans", "relations")
FEEDBACK_KEYS = ("answers", "user_input")
REVIEWABLE = views(reviewable=True)
FEEDBACK = stored_views(kind="feedback")
RELATIONS = stored_views(relations=True)


def version_of(answer: dict[str, Any]) -> tuple[Any, ...]:
    """What a version is made of: the answer and what it assigns (spans by offsets and label; a feedback answer's
    answers to its questions; a relation answer's relations too)."""
    spans = tuple(sorted((s["start"], s["end"], s["label"]) for s in answer.get("spans") or []))
    accept = tuple(sorted(str(a) for a in answer.get("accept") or []))
    if answer.get("_view_id") in FEEDBACK:
        return answer.get("answer"), answer.get("label"), accept, spans, feedback_version(answer.get("answers"))
    if answer.get("_view_id") in RELATIONS:
        return answer.get("answer"), answer.get("label"), accept, spans, relation_version(answer, list(spans))
    return answer.get("answer"), answer.get("label"), accept, spans


def relation_version(answer: dict[str, Any], spans: list[tuple[int, int, str]]) -> tuple[Any, ...]:
    """A relation answer's relations as (head span, child span, label), sorted: each end one of its ``spans``
    (start, end, label), as the exports and ``iaa`` read them; a relation that is not between two of them, or has
    no label, is no part of it (the exports report those)."""
    if not answer.get("relations"):
        return ()
    silent = Problems(write=lambda line: None, limit=0)
    return tuple(sorted(task_relations(answer, Where("review", 0, None), spans, silent)))


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
    return _stamp(answer.get("_timestamp"))


def _stamp(stamp: Any) -> float:
    return float(stamp) if isinstance(stamp, (int, float)) else 0.0


NO_IMAGES = "reviewing image datasets is not supported yet (use tuiannot aggregate for classification answers)"
NOT_YET = {v: "compare, tournament and rank answers are not reviewed: compare-stats and tournament-stats report them"
           for v in stored_views(kind="compare") | stored_views(kind="rank")}
"""Stored views review refuses, and why (said before the first item, instead of 'answers from different views')."""


def other_questions(dataset: str) -> UserError:
    return UserError(f"{dataset}: the feedback answers were given to different questions (the questions file "
                     "changed between them); review the answers to one questions file at a time")


def other_views(input_hash: Any, view_ids: set[Any]) -> UserError:
    return UserError(f"input {input_hash}: answers from different views ({', '.join(map(str, view_ids))}) "
                     "cannot be reviewed together")


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
        if answer.get("_view_id") in NOT_YET:
            raise UserError(f"{dataset}: {NOT_YET[answer['_view_id']]}")
        if answer.get("_view_id") in FEEDBACK:
            questionnaires.add(json.dumps(answer.get("_questions"), sort_keys=True))
            if len(questionnaires) > 1:
                raise other_questions(dataset)
        if "image" in answer and "text" not in answer:
            raise UserError(NO_IMAGES)
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
                **{k: a[k] for k in ("label", "accept", "spans", "answers", "relations") if k in a}})
            v["sessions"].append(who)
            if a.get("_flagged") is True:  # the annotators' flags and comments, shown with their version
                v.setdefault("flagged", []).append(who)
            if isinstance(a.get("_comment"), str) and a["_comment"]:
                v.setdefault("comments", []).append([who, a["_comment"]])
        ordered = sorted(versions.values(), key=lambda v: -len(v["sessions"]))
        if only_conflicts and len(ordered) < 2:
            continue
        base = dict(given[-1])
        for key in (*VERSION_KEYS, *FEEDBACK_KEYS, "_answer_id", "_session_id", "_annotator_id", "_timestamp",
                    "_seconds", "_task_hash", "_flagged", "_comment", "_guidelines"):
            base.pop(key, None)
        view_ids = {a.get("_view_id") for a in given}
        view_id = base.pop("_view_id", None)
        if len(view_ids) > 1 or view_id not in REVIEWABLE | FEEDBACK:
            raise other_views(input_hash, view_ids)
        base["_review"] = {"view_id": view_id, "versions": ordered, "annotators": sorted(latest)}
        base["_input_hash"] = input_hash
        if view_id in FEEDBACK:  # the feedback recipe's own question: the input and the questions
            base["_task_hash"] = task_hash(base, ("_questions",))
        if "label" in ordered[0] and view_id == "classification":
            base["label"] = ordered[0]["label"]
        yield set_hashes(base)


FIELDS = ("label", "accept", "spans", "answers", "relations", "_timestamp", "_gold", "_questions", "options",
          "image")
"""What the pass over compact rows reads of each answer beside its columns: what a version is made of, its time,
whether it is a gold question, its questions (feedback), its options (the labels) and whether it is an image."""


@dataclass
class ReviewPlan:
    """What one pass over the compact rows decides: the inputs to review, in order, each with the ids of its
    answers (in the order a pass over every answer meets them), and what the recipe must know up front."""

    names: list[str]  # the datasets reviewed: an answer's key says which one it is in
    inputs: array = field(default_factory=lambda: array("q"))  # the input hash of each item
    starts: array = field(default_factory=lambda: array("q", [0]))  # where each item's keys begin (and the end)
    keys: array = field(default_factory=lambda: array("q"))  # per answer: its id * len(names) + its dataset's place
    view_ids: set[Any] = field(default_factory=set)  # the view of the items' answers
    labels: list[Any] = field(default_factory=list)  # label names and option ids, as the items give them
    relation_labels: list[Any] = field(default_factory=list)  # the relations' labels, as the items give them
    questions: Any = None  # the questions the feedback answers were given (``_questions``)

    def __len__(self) -> int:
        return len(self.inputs)

    def answers(self, item: int) -> list[tuple[str, int]]:
        """(dataset, answer id) of each answer of the item."""
        n = len(self.names)
        return [(self.names[key % n], key // n) for key in self.keys[self.starts[item]:self.starts[item + 1]]]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while millions of small records that hold no cycles are built
    (each of its full passes walks everything alive: as tuiannot.team.reports does for the same reason)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def plan_review(db: Database, names: list[str], only_conflicts: bool) -> ReviewPlan:
    """One pass over the compact rows of the datasets: the items :func:`review_tasks` would make of their
    answers, and the errors it would raise, without decoding a whole answer (an answer with an ``image`` is read
    whole to tell whether it has a text too)."""
    plan = ReviewPlan(names)
    shared: dict[Any, Any] = {}  # one object per distinct (annotator, version, view, labels): few, over millions

    def share(value: Any) -> Any:
        try:
            return shared.setdefault(value, value)
        except TypeError:  # (a label that is a list: kept as it is)
            return value

    # per input, flat, three items per answer in the order met: its key, its time, and what it says (shared):
    # (annotator, version, view, (label, accept, span labels, option ids, relation labels)); ~100 bytes an answer
    # until decided
    groups: dict[int, list[Any]] = {}
    questionnaire: str | None = None
    with _collector_paused():
        for place, name in enumerate(names):  # an unknown dataset: UnknownDataset, naming the database
            for (answer_id, item, who, answer, view, _, label, accept, spans, answers, relations, stamp, gold, asked,
                 options, image) in db.answer_fields(name, FIELDS):
                if gold is not None:
                    continue  # gold questions are scored, not adjudicated
                if view in NOT_YET:
                    raise UserError(f"{name}: {NOT_YET[view]}")
                if view in FEEDBACK:
                    asked_as = json.dumps(asked, sort_keys=True)
                    if questionnaire is None:
                        questionnaire, plan.questions = asked_as, asked
                    elif asked_as != questionnaire:
                        raise other_questions(name)
                if image is not None and "text" not in next(db.answers_by_id([answer_id]), {}):
                    raise UserError(NO_IMAGES)
                version = version_of({"answer": answer, "_view_id": view, "label": label, "accept": accept,
                                      "spans": spans, "answers": answers, "relations": relations})
                said = (label, tuple(accept or ()), tuple(s["label"] for s in spans or ()),
                        tuple(o.get("id") for o in options or () if isinstance(o, dict)),
                        tuple(r[2] for r in version[4]) if view in RELATIONS else ())
                groups.setdefault(item, []).extend((answer_id * len(names) + place, _stamp(stamp),
                                                    share((who, version, view, said))))
        for item, given in groups.items():
            _decide(plan, item, given, only_conflicts)
    return plan


def _decide(plan: ReviewPlan, item: int, given: list[Any], only_conflicts: bool) -> None:
    """Add the input to the plan if it is reviewed, as :func:`review_tasks` decides it (an annotator's last word
    counts; versions by how many annotators gave them), with its view and the labels its versions give.
    ``given``: per answer its key, time and what it says (see :func:`plan_review`)."""
    said = given[2::3]
    latest: dict[str, tuple[float, tuple[Any, ...]]] = {}
    for when, what in zip(given[1::3], said, strict=True):  # an annotator's last word counts (the newest, or
        before = latest.get(what[0])  # the later one stored)
        if before is None or when >= before[0]:
            latest[what[0]] = (when, what)
    versions: dict[Any, list[tuple[Any, ...]]] = {}
    for _, what in latest.values():
        versions.setdefault(what[1], []).append(what)
    if only_conflicts and len(versions) < 2:
        return
    view_ids = {what[2] for what in said}
    view_id = said[-1][2]
    if len(view_ids) > 1 or view_id not in REVIEWABLE | FEEDBACK:
        raise other_views(item, view_ids)
    plan.view_ids.add(view_id)
    labels = plan.labels
    if len(labels) < 10 or len(plan.relation_labels) < 10:  # (the screens take ten)
        for first, *_ in sorted(versions.values(), key=lambda alike: -len(alike)):
            label, accept, span_labels, _, relation_labels = first[3]
            for name in (label, *accept, *span_labels):
                if name and name not in labels:
                    labels.append(name)
            for name in relation_labels:
                if name not in plan.relation_labels:
                    plan.relation_labels.append(name)
        for option in said[-1][3][3]:  # the task's own options (its last answer's)
            if option not in labels:
                labels.append(option)
    plan.inputs.append(item)
    plan.keys.extend(given[0::3])
    plan.starts.append(len(plan.keys))


class ReviewStream:
    """The review tasks of a plan, each made as the stream reaches it from its answers read by id, a few inputs
    at a time (one for the first item, then twice as many each time, up to 64), over a connection of its own
    (the stream is read in the controller's thread)."""

    def __init__(self, plan: ReviewPlan, open_db: Callable[[], Database], only_conflicts: bool) -> None:
        self.plan, self.open_db, self.only_conflicts = plan, open_db, only_conflicts

    def __len__(self) -> int:
        return len(self.plan)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        plan = self.plan
        db = self.open_db()
        try:
            start, size = 0, 1
            while start < len(plan):
                stop = min(start + size, len(plan))
                wanted = [plan.answers(item) for item in range(start, stop)]
                read = {a["_answer_id"]: a for a in db.answers_by_id(i for given in wanted for _, i in given)}
                for given in wanted:  # an answer gone since (a dataset dropped) is left out, as if never given
                    yield from review_tasks([(name, read[i]) for name, i in given if i in read], self.only_conflicts)
                start, size = stop, min(size * 2, 64)
        finally:
            db.close()


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

    with connect(db) as database:
        plan = plan_review(database, names, only_conflicts)
    if not plan:
        raise UserError("nothing to review" + (" (no conflicts)" if only_conflicts else ""))
    view_ids = plan.view_ids
    if len(view_ids) > 1:
        raise UserError(f"the datasets mix views ({', '.join(sorted(view_ids))}); review them one view at a time")
    stream = ReviewStream(plan, lambda: connect(db), only_conflicts)
    if view_ids <= FEEDBACK:
        return feedback_review(stream, plan.questions, output, names)
    config: dict[str, Any] = {"reviewed": names}
    if view_ids <= RELATIONS:  # the relation view's relation keys (the editor's), and the screen's colours
        config["relation_labels"] = [str(label) for label in plan.relation_labels[:10]]
    return {"dataset": output, "stream": stream, "view_id": "review", "labels": plan.labels[:10],
            "exclude_by": "input", "review_view": view_ids.pop(), "config": config}


def feedback_review(stream: ReviewStream, settings: Any, output: str, names: list[str]) -> dict[str, Any]:
    """The components of a review of feedback answers: the review screen with the questions (``settings``: what the
    answers were asked, their ``_questions``), to show each version's answers and to edit one in the feedback view;
    the answers stored as feedback answers."""
    from .questions import parse_questions, stored_answer

    questionnaire = parse_questions({"question": settings if isinstance(settings, list) else []},
                                    f"the questions of the answers in {', '.join(names)}")
    return {"dataset": output, "stream": stream, "view_id": "review", "exclude_by": "input", "stored_view": "feedback",
            "config": {"reviewed": names, "questions": questionnaire.settings(), "fields": list(questionnaire.fields)},
            "before_db": lambda answered: [stored_answer(task, questionnaire) for task in answered]}
