"""``iaa --by-guidelines`` and ``progress --by-guidelines``: the team's figures split by the version of the
guidelines each answer was given under, so that a lead sees whether a change of the guidelines moved agreement.

Every answer given with guidelines carries ``_guidelines``: ``{"hash": the first 12 hex digits of the SHA-256 of
the guidelines file, "version": the version its front matter names}`` (``version`` absent when the file names
none); an answer without it (no guidelines, or given before they were recorded) is in the group ``none``. A
version is named ``version (hash)``, or by its hash alone (:func:`guidelines_name`).

The figures are the ones ``iaa`` and ``progress`` compute (:mod:`.reports`), per group, from the same one pass
over compact rows (:class:`Versioned` reads ``_guidelines`` beside what :class:`~.reports._Answers` reads):

* an annotator's answer to an input belongs to the group of their last word on it; two annotators are compared
  on an input when both last answered it under the same version (agreement across versions is no measure of
  either);
* ``progress`` per group counts each annotator's answers given under that version (every answer, as the
  storage's totals count them: a replaced one counts once), their rate and median time from the answers' own
  times (each capped as ``stats`` caps it), gold accuracy on the gold questions answered under it, and agreement
  with the others within the group.

Groups come in the order of their first answer's time (``_timestamp``; ``none`` first when the oldest answers
have no guidelines), then in the order met.
"""

from __future__ import annotations

import copy
import statistics
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..errors import UserError
from ..metrics import document_agreement, span_agreement
from ..storage import Database
from ..storage.base import IDLE_CAP_SECONDS
from .gold import gold_correct
from .reports import _Answers, _bulk, _relation_progress, each_ones_agreement

Key = tuple[str, str | None] | None
"""A group: (hash, version) of the guidelines, or None for answers without them."""


def guidelines_key(value: Any) -> Key:
    """The group of an answer's ``_guidelines`` (None: none, or not what the contract says)."""
    if not isinstance(value, dict) or not isinstance(value.get("hash"), str) or not value["hash"]:
        return None
    version = value.get("version")
    return value["hash"], str(version) if version is not None and version != "" else None


def guidelines_name(value: Any) -> str:
    """``version (hash)``, ``hash``, or ``none``: how a version of the guidelines is said (also of an answer's
    ``_guidelines`` as stored)."""
    key = value if isinstance(value, tuple) or value is None else guidelines_key(value)
    if key is None:
        return "none"
    digest, version = key
    return f"{version} ({digest})" if version else digest


def _described(key: Key) -> dict[str, Any]:
    return {"name": guidelines_name(key),
            "guidelines": None if key is None else {"hash": key[0], **({"version": key[1]} if key[1] else {})}}


@dataclass
class _Tally:
    """One annotator's answers under one version: counts, capped times, gold scores."""

    answers: int = 0
    by_answer: dict[str, int] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    gold: list[bool] = field(default_factory=list)


class Versioned(_Answers):
    """:class:`~.reports._Answers` with the group of each (input, annotator)'s last word, and per group and
    annotator a tally of the answers given under it."""

    FIELDS = (*_Answers.FIELDS, "_guidelines", "_timestamp")

    def __init__(self, db: Database, dataset: str) -> None:
        self.group_of: dict[tuple[Any, str], Key] = {}
        self.tallies: dict[Key, dict[str, _Tally]] = {}
        self.first: dict[Key, tuple[float, int]] = {}  # (the time of its first answer, the order met): its place
        super().__init__(db, dataset)
        self.tallies = dict(sorted(self.tallies.items(), key=lambda kv: self.first[kv[0]]))

    def _rows(self, db: Database, dataset: str) -> Iterator[tuple[Any, ...]]:
        for row in db.answer_fields(dataset, self.FIELDS):
            _, item, who, answer, _, seconds, accept, spans, expected, _, given, stamp = row
            key = guidelines_key(given)
            at = float(stamp) if isinstance(stamp, (int, float)) else float("inf")
            if key not in self.first or at < self.first[key][0]:
                self.first[key] = (at, self.first[key][1] if key in self.first else len(self.first))
            tally = self.tallies.setdefault(key, {}).setdefault(who, _Tally())
            tally.answers += 1
            tally.by_answer[answer] = tally.by_answer.get(answer, 0) + 1
            if seconds is not None:
                tally.seconds.append(min(seconds, IDLE_CAP_SECONDS))
            if expected is not None:
                ok = gold_correct({"answer": answer, "accept": accept, "spans": spans, "_gold": expected})
                if ok is not None:
                    tally.gold.append(ok)
            else:
                self.group_of[(item, who)] = key
            yield row

    def part(self, key: Key) -> _Answers:
        """The answers whose last word is under ``key``, as the reports read them."""
        part = copy.copy(self)
        part.latest = {k: v for k, v in self.latest.items() if self.group_of.get(k) == key}
        part.relations = {k: v for k, v in self.relations.items() if k in part.latest}
        part.last = {item: self.last[item] for item, _ in part.latest if item in self.last}
        part.linked = part.kind == "spans" and bool(part.relations)
        return part


def _read(db: Database, dataset: str) -> Versioned:
    answers = Versioned(db, dataset)
    if not answers.tallies:
        raise UserError(f"dataset {dataset!r} has no answers to compare")
    return answers


@_bulk
def agreement_by_guidelines(db: Database, dataset: str) -> dict[str, Any]:
    """``iaa --by-guidelines``: per group, the agreement ``iaa`` reports (documents, or spans and relations)."""
    answers = _read(db, dataset)
    groups = []
    for key, tallies in answers.tallies.items():
        part = answers.part(key)
        ratings, spans = part.ratings()
        group: dict[str, Any] = {**_described(key), "answers": sum(t.answers for t in tallies.values()),
                                 "annotators": sorted(tallies)}
        if answers.kind == "spans":
            group["spans"] = span_agreement(spans)
            if part.linked:
                group["relations"] = part.relation_report()
        else:
            group["documents"] = document_agreement(ratings)
        groups.append(group)
    return {"dataset": dataset, "kind": answers.kind, "by_guidelines": groups}


@_bulk
def progress_by_guidelines(db: Database, dataset: str) -> dict[str, Any]:
    """``progress --by-guidelines``: per group, each annotator's answers, rate, median time, gold accuracy and
    agreement with the others within the group."""
    db.dataset_counts(dataset)  # an unknown dataset: UnknownDataset, naming the database (before the pass)
    answers = _read(db, dataset)
    groups = []
    for key, tallies in answers.tallies.items():
        part = answers.part(key)
        agreement = each_ones_agreement(part)
        total = sum(t.answers for t in tallies.values())
        people = []
        for who, t in sorted(tallies.items()):
            spent = sum(t.seconds)
            people.append({
                "annotator": who, "answers": t.answers, "share": round(t.answers / total, 4) if total else 0.0,
                "by_answer": t.by_answer,
                "answers_per_hour": round(3600 * len(t.seconds) / spent, 1) if spent > 0 else None,
                "median_seconds": round(statistics.median(t.seconds), 3) if t.seconds else None,
                "gold_answered": len(t.gold), "gold_accuracy": round(sum(t.gold) / len(t.gold), 4) if t.gold else None,
                "agreement_with_others": round(statistics.mean(agreement[who]), 4) if agreement.get(who) else None,
            })
        inputs = len(part.last)
        group = {**_described(key), "answers": total, "inputs_answered": inputs,
                 "annotations_per_input": round(len(part.latest) / inputs, 3) if inputs else None,
                 "annotators": people}
        if part.linked:
            _relation_progress(group, part.relation_report())
        groups.append(group)
    return {"dataset": dataset, "answers": sum(g["answers"] for g in groups), "by_guidelines": groups}
