"""What a team lead asks of a dataset: agreement, progress per annotator, aggregated labels.

These functions read answers through the :class:`~tuiannot.storage.Database`
interface and hand them to the pure functions of :mod:`tuiannot.metrics`. They
read compact rows (:meth:`~tuiannot.storage.Database.answer_fields`), not whole
answers, and keep one small record per input and annotator (ten million answers
take minutes and about 6 GB: see bench/cost_curves.py), with Python's cyclic
garbage collector paused meanwhile (:func:`_bulk`).
Gold questions (``_gold``) are scored here and left out of agreement and
aggregation. Feedback answers (``tuiannot feedback``) are reported per question
by :mod:`.feedback`, with :func:`progress_rows` and :func:`final_answer` from here. ``--by-guidelines`` splits
``iaa`` and ``progress`` by the guidelines' version (:mod:`.by_guidelines`, reading more of each row through
:meth:`_Answers._rows`).

Relation answers (``tuiannot rel``) are span answers with ``relations``: ``iaa`` reports their spans as any span
dataset's and their relations besides (:func:`~tuiannot.metrics.relations.relation_agreement`), ``progress`` each
annotator's relation F with the others beside the span F. The relations come in the same compact rows (the
top-level ``relations`` field, null where an answer has none: the rows of 300,000 yes/no answers take 5% longer
to read), are kept for relation answers alone, and are read as the exports read them
(:func:`~tuiannot.data.answers.task_relations`: each end one of the answer's spans, found by its offsets or its
last token); one that is not (an end that is no span of the answer, no label) is left out and counted
(``relations_left_out``).
"""

from __future__ import annotations

import csv
import functools
import gc
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

from ..components import stored_views
from ..data.answers import RELATION_VIEWS, Problems, Where, task_relations
from ..errors import UserError
from ..sanitize import one_line
from .gold import gold_correct
from ..metrics import dawid_skene, document_agreement, majority_vote, pairwise_agreement, span_agreement
from ..metrics.relations import relation_agreement
from ..storage import Database
from ..storage.base import DatasetCounts, session_name
from ..tasks import set_hashes

SPAN_VIEWS = stored_views(kind="spans")
FEEDBACK_VIEWS = stored_views(kind="feedback")
PREFERENCE_VIEWS = stored_views(kind="compare") | stored_views(kind="rank")
_R = TypeVar("_R", bound=Callable[..., Any])


def annotator(dataset: str, answer: dict[str, Any]) -> str:
    return session_name(dataset, answer)


def mixed_with_feedback(dataset: str, views: set[Any]) -> UserError:
    """The error for a dataset whose answers are feedback answers (:mod:`.feedback` reports them, per question) and
    others: no report compares the two."""
    others = ", ".join(sorted(str(v) for v in views - FEEDBACK_VIEWS))
    return UserError(f"dataset {dataset!r} mixes feedback answers (tuiannot feedback) with other answers ({others}): "
                     "their figures are per question, theirs per label; keep them in datasets of their own")


def question_kind(answers: list[dict[str, Any]]) -> str:
    """``spans``, ``binary``, ``single`` or ``multi`` (several labels per answer)."""
    views = {a.get("_view_id") for a in answers}
    if views & SPAN_VIEWS:
        return "spans"
    if views == {"classification"} or all("accept" not in a for a in answers):
        return "binary"
    accepted = [a for a in answers if a.get("answer") == "accept"]
    return "multi" if any(len(a.get("accept") or []) != 1 for a in accepted) else "single"


def label_of(answer: dict[str, Any], kind: str) -> Any:
    """What one answer says, as a rating (None: it says nothing, e.g. ignore)."""
    return _label(answer.get("answer"), tuple(str(a) for a in answer.get("accept") or []), kind)


def _label(answer: Any, accept: tuple[str, ...] | None, kind: str) -> Any:
    if answer == "ignore":
        return None
    if kind == "binary":
        return answer
    if answer == "reject":
        return "(rejected)"
    if kind == "multi":
        return frozenset(accept or ())
    return accept[0] if accept else None


def _bulk(report: _R) -> _R:
    """The report with Python's cyclic garbage collector paused: it builds millions of small containers that
    hold no cycles, and each full pass of the collector walks everything alive, so the passes made building
    ten million answers' records cost more than the rest (``progress`` went 18x slower from 1M to 10M answers
    instead of 10x). Resumed when the report is done, whatever happens."""

    @functools.wraps(report)
    def paused(*args: Any, **kwargs: Any) -> Any:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return report(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return paused  # type: ignore[return-value]


class _Answers:
    """What the reports keep of a dataset's answers, from one pass over compact rows (never the whole answers):
    per (input, annotator) the annotator's last word, per input the id of its last answer, and the gold scores.
    A few hundred bytes per (input, annotator), so that ten million answers fit in memory. Relation answers keep
    their ``relations`` too, in a dict of their own (:attr:`relations`), so that other answers pay nothing."""

    FIELDS: tuple[str, ...] = ("accept", "spans", "_gold", "relations")

    def __init__(self, db: Database, dataset: str) -> None:
        self.dataset = dataset
        self.latest: dict[tuple[int, str], tuple[str, Any, Any]] = {}  # (input, who) -> (answer, accept, spans)
        self.relations: dict[tuple[int, str], Any] = {}  # (input, who) -> the relations of a relation answer
        self.last: dict[Any, int] = {}  # input -> the id of its last answer (gold questions left out)
        self.gold: dict[str, list[bool]] = defaultdict(list)  # annotator -> whether each gold answer was right
        views: set[Any] = set()
        has_accept = multi = False
        shared: dict[tuple[str, ...], tuple[str, ...]] = {}  # one tuple per distinct set of labels
        for answer_id, item, who, answer, view, _, accept, spans, expected, relations, *_ in self._rows(db, dataset):
            if expected is not None:  # a gold question: scored, never compared or aggregated
                ok = gold_correct({"answer": answer, "accept": accept, "spans": spans, "_gold": expected})
                if ok is not None:
                    self.gold[who].append(ok)
                continue
            views.add(view)
            if accept is not None:
                has_accept = True
                accept = tuple(str(a) for a in accept or [])
                accept = shared.setdefault(accept, accept)
                multi = multi or (answer == "accept" and len(accept) != 1)
            elif answer == "accept":
                multi = True  # an accepted answer without labels: not one label per answer
            self.latest[(item, who)] = (answer, accept, spans)
            if relations is not None or view in RELATION_VIEWS:
                self.relations[(item, who)] = relations
            elif self.relations:  # a later answer without relations is the last word
                self.relations.pop((item, who), None)
            self.last[item] = answer_id
        if views & PREFERENCE_VIEWS:  # which reply is better: not a label per annotator to agree on or aggregate
            raise UserError(f"dataset {dataset!r} holds compare, tournament or rank answers: compare-stats and "
                            "tournament-stats report them (agreement and aggregation of preferences: not yet)")
        if views & FEEDBACK_VIEWS:  # (the commands send feedback datasets to .feedback: here they are mixed)
            raise mixed_with_feedback(dataset, views) if views - FEEDBACK_VIEWS else UserError(
                f"dataset {dataset!r} holds feedback answers: tuiannot.team.feedback reports them, per question")
        self.kind = ("spans" if views & SPAN_VIEWS else "binary" if views == {"classification"} or not has_accept
                     else "multi" if multi else "single")
        self.linked = self.kind == "spans" and bool(self.relations)
        """Whether the dataset has relation answers (``iaa`` and ``progress`` report their relations too)."""

    def _rows(self, db: Database, dataset: str) -> Iterator[tuple[Any, ...]]:
        """The compact rows read (a subclass may read more :attr:`FIELDS` and look at each row on its way:
        :mod:`.by_guidelines`)."""
        return db.answer_fields(dataset, self.FIELDS)

    def ratings(self) -> tuple[list[tuple[Any, str, Any]], dict[Any, list[tuple[int, int, str]]]]:
        """(document ratings, span annotations), each annotator's last word on an input."""
        ratings = []
        spans: dict[Any, list[tuple[int, int, str]]] = {}
        for (item, who), (answer, accept, given) in self.latest.items():
            if self.kind == "spans":
                if answer == "accept":
                    spans[(item, who)] = [(s["start"], s["end"], s["label"]) for s in given or []]
                continue
            label = _label(answer, accept, self.kind)
            if label is not None:
                ratings.append((item, who, label))
        return ratings, spans

    def relation_annotations(self) -> tuple[dict[tuple[int, str], list[Any]], int]:
        """(each accepted relation answer's relations as ``(head span, child span, label)``, the relations left out:
        an end that is not one of the answer's spans, no label), each annotator's last word on an input."""
        problems = Problems(write=lambda line: None, limit=0)  # counted, not written: the report says how many
        relations: dict[tuple[int, str], list[Any]] = {}
        for key, given in self.relations.items():
            answer, _, spans = self.latest[key]
            if answer != "accept":
                continue
            marked = [(s["start"], s["end"], s["label"]) for s in spans or []]
            relations[key] = task_relations({"spans": spans, "relations": given},
                                            Where(self.dataset, 0, key[0]), marked, problems)
        return relations, problems.relations

    def relation_report(self) -> dict[str, Any]:
        """``iaa``'s relation block: :func:`~tuiannot.metrics.relations.relation_agreement` with the relations left
        out counted."""
        relations, left_out = self.relation_annotations()
        return {**relation_agreement(relations), "relations_left_out": left_out}


def _read(db: Database, dataset: str) -> _Answers:
    answers = _Answers(db, dataset)
    if not answers.latest:
        raise UserError(f"dataset {dataset!r} has no answers to compare")
    return answers


def dataset_ratings(db: Database, dataset: str) -> tuple[str, list[tuple[Any, str, Any]], dict, dict[Any, int]]:
    """(kind, document ratings, span annotations, the id of the last answer per input) of a dataset."""
    answers = _read(db, dataset)
    ratings, spans = answers.ratings()
    return answers.kind, ratings, spans, answers.last


@_bulk
def agreement_report(db: Database, dataset: str) -> dict[str, Any]:
    """``iaa``: document agreement, or span agreement, and for relation answers the relations' agreement too."""
    answers = _read(db, dataset)
    ratings, spans = answers.ratings()
    report: dict[str, Any] = {"dataset": dataset, "kind": answers.kind}
    if answers.kind == "spans":
        report["spans"] = span_agreement(spans)
        if answers.linked:
            report["relations"] = answers.relation_report()
    else:
        report["documents"] = document_agreement(ratings)
    return report


def read_ratings_csv(path: str | Path) -> list[tuple[str, str, str]]:
    """``item,annotator,label`` rows (a header row is recognised and skipped; empty labels are missing)."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{one_line(str(path), 300)}: is a directory; give the CSV file")
    if not path.exists():
        raise UserError(f"{one_line(str(path), 300)}: no such file")
    ratings = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            for line, row in enumerate(csv.reader(f), 1):
                if not row or not any(c.strip() for c in row):
                    continue
                if len(row) < 3:
                    raise UserError(f"{path}:{line}: expected item,annotator,label, got {len(row)} fields")
                item, who, label = (c.strip() for c in row[:3])
                if line == 1 and (item.lower(), who.lower(), label.lower()) == ("item", "annotator", "label"):
                    continue
                if label:
                    ratings.append((item, who, label))
    except UnicodeDecodeError:
        raise UserError(f"{path}: not valid UTF-8") from None
    except csv.Error as e:
        raise UserError(f"{path}: invalid CSV ({e})") from None
    if not ratings:
        raise UserError(f"{path}: no ratings")
    return ratings


@_bulk
def progress_report(db: Database, dataset: str) -> dict[str, Any]:
    """Per annotator: answers, share, rate, median time, gold accuracy, agreement with the others.

    Counts, times and medians come from the storage's totals; one pass over the answers' compact rows gives the
    gold scores and what agreement needs."""
    counts = db.dataset_counts(dataset)  # an unknown dataset: UnknownDataset, naming the database
    answers = _Answers(db, dataset)
    pair_agreement = each_ones_agreement(answers)
    inputs = len(answers.last)
    report = progress_rows(db, dataset, counts, answers.gold, pair_agreement, inputs, len(answers.latest))
    if answers.linked:
        _relation_progress(report, answers.relation_report())
    return report


def each_ones_agreement(answers: _Answers) -> dict[str, list[float]]:
    """Per annotator, the agreement with each other annotator: percent agreement (documents) or strict span F."""
    pair_agreement: dict[str, list[float]] = defaultdict(list)
    if answers.latest:
        ratings, spans = answers.ratings()
        if answers.kind != "spans":  # the pairs alone (what document_agreement reports as its "pairs")
            pairs = [(p["a"], p["b"], p.get("percent_agreement")) for p in pairwise_agreement(ratings)]
        else:
            pairs = [(p["a"], p["b"], (p.get("strict") or {}).get("f"))
                     for p in span_agreement(spans).get("pairs", [])]
        del ratings, spans
        for a, b, value in pairs:
            if value is not None:
                pair_agreement[a].append(value)
                pair_agreement[b].append(value)
    return pair_agreement


def _relation_progress(report: dict[str, Any], relations: dict[str, Any]) -> None:
    """``progress`` on relation answers: each annotator's strict relation F with each other annotator, averaged
    (as ``agreement_with_others`` is the strict span F), and the mean over the pairs (as ``iaa`` has it)."""
    mine: dict[str, list[float]] = defaultdict(list)
    for pair in relations["pairs"]:
        value = pair["strict"]["f"]
        if value is not None:
            mine[pair["a"]].append(value)
            mine[pair["b"]].append(value)
    for row in report["annotators"]:
        values = mine.get(row["annotator"])
        row["relation_agreement_with_others"] = round(statistics.mean(values), 4) if values else None
    report["relations"] = {"measure": "strict_f", "pairs_compared": relations["pairs_compared"],
                           "f": relations["strict"]["f"], "relations_left_out": relations["relations_left_out"]}


def progress_rows(db: Database, dataset: str, counts: DatasetCounts, gold: dict[str, list[bool]],
                  pair_agreement: dict[str, list[float]], inputs: int, annotations: int) -> dict[str, Any]:
    """The progress report from the storage's totals (``counts``), the gold scores, each annotator's agreement with
    each other annotator, the inputs answered and the (input, annotator) answers; the claims held are read here."""
    now = time.time()
    claims = [c for c in db.claims(dataset) if c["expires"] > now]  # held means unexpired: a lapsed claim is free
    people = []
    for who, s in sorted(counts.sessions.items()):
        people.append({
            "annotator": who,
            "answers": s.answers,
            "share": round(s.answers / counts.answers, 4) if counts.answers else 0.0,
            "by_answer": s.by_answer,
            # the totals cap each time at IDLE_CAP_SECONDS, as the rate counts it
            "answers_per_hour": round(3600 * s.timed / s.seconds_total, 1) if s.seconds_total > 0 else None,
            "median_seconds": round(s.median_seconds, 3) if s.median_seconds is not None else None,
            "gold_answered": len(gold.get(who, [])),
            "gold_accuracy": round(sum(gold[who]) / len(gold[who]), 4) if gold.get(who) else None,
            "agreement_with_others": round(statistics.mean(pair_agreement[who]), 4) if pair_agreement.get(who)
            else None,
            "holding": sum(1 for c in claims if c["session"] == who),
            "last": s.last,
        })
    return {
        "dataset": dataset,
        "answers": counts.answers,
        "inputs_answered": inputs,
        "annotations_per_input": round(annotations / inputs, 3) if inputs else None,
        "inputs_in_progress": len({c["key"] for c in claims}),
        "annotators": people,
    }


STAMPS = ("_answer_id", "_session_id", "_annotator_id", "_timestamp", "_seconds", "_task_hash", "_flagged", "_comment")
"""What an answer says about who gave it when (and the annotator's flag and comment on it): a final answer made
from it gets its own."""


def final_answer(given: dict[str, Any], session: str, provenance: dict[str, Any],
                 said: tuple[str, Any] | None = None, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """A final answer made from ``given`` (an annotator's answer to the input), stored as ``session`` with
    ``provenance`` in ``_aggregate``: saying what ``given`` says, or with ``said`` (the question's kind and a
    rating, as :func:`label_of` gives one) that rating. ``drop`` names more fields to leave out."""
    task = {k: v for k, v in given.items() if k not in STAMPS and k not in drop}
    if said is not None:
        kind, label = said
        task.pop("answer", None)
        task.pop("accept", None)
        if kind == "binary":
            task["answer"] = label
        elif label == "(rejected)":
            task["answer"], task["accept"] = "reject", []
        else:
            task["answer"], task["accept"] = "accept", [label]
    task["_session_id"] = task["_annotator_id"] = session
    task["_aggregate"] = provenance
    return set_hashes(task)


@_bulk
def aggregate(db: Database, dataset: str, method: str, output: str) -> dict[str, Any]:
    """Final labels by majority vote or Dawid-Skene, written to ``output`` with their provenance."""
    if method not in ("majority", "dawid-skene"):
        raise UserError("--method must be majority or dawid-skene")
    if output == dataset:
        raise UserError("--output must be another dataset")
    kind, ratings, _, by_input = dataset_ratings(db, dataset)
    if kind in ("spans", "multi"):
        raise UserError(f"aggregation works on yes/no and single-choice questions; {dataset!r} has "
                        f"{'spans' if kind == 'spans' else 'several labels per answer'} (use tuiannot review)")
    votes: dict[Any, dict[str, Any]] = defaultdict(dict)
    for item, who, label in ratings:
        votes[item][who] = label
    ties: dict[Any, list[Any]] = {}
    accuracy: dict[Any, float] = {}
    posteriors: dict[Any, dict[Any, float]] = {}
    if method == "majority":
        result = majority_vote(ratings)
        labels, ties = result.labels, result.ties
    else:
        labels, posteriors, accuracy, _ = dawid_skene(ratings)
    del ratings

    def tasks() -> Iterator[dict[str, Any]]:  # read a few hundred at a time between the import's transactions
        for given in db.answers_by_id(by_input[item] for item in labels):
            item = given["_input_hash"]
            yield final(item, labels[item], given)

    def final(item: Any, label: Any, given: dict[str, Any]) -> dict[str, Any]:
        return final_answer(given, f"{output}-{method}", {
            "method": method, "votes": votes[item],
            **({"posterior": {str(k): round(v, 6) for k, v in posteriors[item].items()}}
               if item in posteriors else {})}, said=(kind, label))

    written = db.add_answers(output, tasks()) if labels else 0
    return {"dataset": dataset, "output": output, "method": method, "kind": kind, "written": written,
            "ties": {str(k): [str(x) for x in v] for k, v in ties.items()},
            "annotator_accuracy": {k: round(v, 4) for k, v in sorted(accuracy.items())}}


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
