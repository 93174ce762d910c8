"""What a team lead asks of a dataset: agreement, progress per annotator, aggregated labels.

These functions read answers through the :class:`~tuiannot.storage.Database`
interface and hand them to the pure functions of :mod:`tuiannot.metrics`.
Gold questions (``_gold``) are scored here and left out of agreement and
aggregation.
"""

from __future__ import annotations

import csv
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

from ..components import stored_views
from ..errors import UserError
from ..sanitize import one_line
from .gold import gold_correct
from ..metrics import dawid_skene, document_agreement, majority_vote, span_agreement
from ..storage import Database
from ..storage.base import IDLE_CAP_SECONDS, session_name
from ..tasks import set_hashes

SPAN_VIEWS = stored_views(kind="spans")


def annotator(dataset: str, answer: dict[str, Any]) -> str:
    return session_name(dataset, answer)


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
    if answer.get("answer") == "ignore":
        return None
    if kind == "binary":
        return answer.get("answer")
    if answer.get("answer") == "reject":
        return "(rejected)"
    accept = [str(a) for a in answer.get("accept") or []]
    return frozenset(accept) if kind == "multi" else (accept[0] if accept else None)


def dataset_ratings(db: Database, dataset: str) -> tuple[str, list[tuple[Any, str, Any]], dict, dict]:
    """(kind, document ratings, span annotations, the last answer per input) of a dataset."""
    answers = [a for a in db.answers(dataset) if a.get("_gold") is None]
    if not answers:
        raise UserError(f"dataset {dataset!r} has no answers to compare")
    kind = question_kind(answers)
    latest: dict[tuple[int, str], dict[str, Any]] = {}
    for a in answers:  # an annotator's last word on an input counts
        latest[(a["_input_hash"], annotator(dataset, a))] = a
    ratings = []
    spans: dict[tuple[Any, str], list[tuple[int, int, str]]] = {}
    by_input: dict[int, dict[str, Any]] = {}
    for (item, who), a in latest.items():
        by_input[item] = a
        if kind == "spans":
            if a.get("answer") == "accept":
                spans[(item, who)] = [(s["start"], s["end"], s["label"]) for s in a.get("spans") or []]
        else:
            label = label_of(a, kind)
            if label is not None:
                ratings.append((item, who, label))
    return kind, ratings, spans, by_input


def agreement_report(db: Database, dataset: str) -> dict[str, Any]:
    kind, ratings, spans, _ = dataset_ratings(db, dataset)
    report: dict[str, Any] = {"dataset": dataset, "kind": kind}
    if kind == "spans":
        report["spans"] = span_agreement(spans)
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


def progress_report(db: Database, dataset: str) -> dict[str, Any]:
    """Per annotator: answers, share, rate, median time, gold accuracy, agreement with the others."""
    counts = db.dataset_counts(dataset)  # an unknown dataset: UnknownDataset, naming the database
    answers = list(db.answers(dataset))
    gold: dict[str, list[bool]] = defaultdict(list)
    seconds: dict[str, list[float]] = defaultdict(list)
    for a in answers:
        who = annotator(dataset, a)
        ok = gold_correct(a)
        if ok is not None:
            gold[who].append(ok)
        if isinstance(a.get("_seconds"), (int, float)):
            seconds[who].append(float(a["_seconds"]))
    pair_agreement: dict[str, list[float]] = defaultdict(list)
    regular = [a for a in answers if a.get("_gold") is None]
    if regular:  # percent agreement with each other annotator (documents) or strict span F (spans)
        kind, ratings, spans, _ = dataset_ratings(db, dataset)
        if kind != "spans":
            pairs = [(p["a"], p["b"], p.get("percent_agreement"))
                     for p in document_agreement(ratings).get("pairs", [])]
        else:
            pairs = [(p["a"], p["b"], (p.get("strict") or {}).get("f"))
                     for p in span_agreement(spans).get("pairs", [])]
        for a, b, value in pairs:
            if value is not None:
                pair_agreement[a].append(value)
                pair_agreement[b].append(value)
    inputs = {a["_input_hash"] for a in regular}
    done_by: dict[int, set[str]] = defaultdict(set)
    for a in regular:
        done_by[a["_input_hash"]].add(annotator(dataset, a))
    now = time.time()
    claims = [c for c in db.claims(dataset) if c["expires"] > now]  # held means unexpired: a lapsed claim is free
    people = []
    for who, s in sorted(counts.sessions.items()):
        times = seconds.get(who, [])
        capped = sum(min(t, IDLE_CAP_SECONDS) for t in times)
        people.append({
            "annotator": who,
            "answers": s.answers,
            "share": round(s.answers / counts.answers, 4) if counts.answers else 0.0,
            "by_answer": s.by_answer,
            "answers_per_hour": round(3600 * len(times) / capped, 1) if capped else None,
            "median_seconds": round(statistics.median(times), 3) if times else None,
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
        "inputs_answered": len(inputs),
        "annotations_per_input": round(sum(len(v) for v in done_by.values()) / len(inputs), 3) if inputs else None,
        "inputs_in_progress": len({c["key"] for c in claims}),
        "annotators": people,
    }


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
    written = 0
    tasks = []
    for item, label in labels.items():
        task = {k: v for k, v in by_input[item].items()
                if k not in ("answer", "accept", "_answer_id", "_session_id", "_annotator_id", "_timestamp",
                             "_seconds", "_task_hash")}
        if kind == "binary":
            task["answer"] = label
        elif label == "(rejected)":
            task["answer"], task["accept"] = "reject", []
        else:
            task["answer"], task["accept"] = "accept", [label]
        task["_session_id"] = task["_annotator_id"] = f"{output}-{method}"
        task["_aggregate"] = {"method": method, "votes": votes[item],
                              **({"posterior": {str(k): round(v, 6) for k, v in posteriors[item].items()}}
                                 if item in posteriors else {})}
        tasks.append(set_hashes(task))
    if tasks:
        written = db.add_answers(output, tasks)
    return {"dataset": dataset, "output": output, "method": method, "kind": kind, "written": written,
            "ties": {str(k): [str(x) for x in v] for k, v in ties.items()},
            "annotator_accuracy": {k: round(v, 4) for k, v in sorted(accuracy.items())}}


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
