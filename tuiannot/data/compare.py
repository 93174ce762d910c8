"""Blind A/B comparison: two systems' outputs matched into compare tasks, and what a compare answer means.

Input: Prodigy's compare format, one JSONL (or JSON array) file per system::

    {"id": 7, "input": {"text": "FedEx von Cyberattacke getroffen"}, "output": {"text": "FedEx hit by cyberattack"}}

``input`` and ``output`` may be plain strings; ``id`` (a string or a whole number) is optional; any other field
of a record is kept beside that system's output (``outputs.A.meta``). :class:`ComparePairs` reads both files
through :class:`~tuiannot.sources.Source` (strict JSON, the same file:line reasons as every source) and matches
the records: by ``id`` when both have one, else by the input's text. Nothing is dropped silently: an invalid
record, a second record with the same id (or, without ids, the same input), a record with no partner in the other
file, a pair whose ids match but whose inputs differ, and a pair whose two outputs are the same text (nothing to
compare; Prodigy leaves those out too) are each a warning naming file, line and reason, and counted
(:attr:`ComparePairs.counts`). The files are indexed when the pairs are made, so every warning is known before
the first task (but one: a file changed while it is annotated, whose changed records are left out). The records
are then read again one at a time as the tasks are served: a regular JSONL file keeps only the byte offset of
each record in memory; a JSON array or a pipe, which cannot be read at an offset, keeps its records.

The compare task (also the shape of a tournament's duel, :mod:`tuiannot.llm.tournament`)::

    {"text": INPUT, "input": {"text": INPUT}, "id": 7,
     "outputs": {"A": {"text": "..."}, "B": {"text": "..."}},
     "_sides": ["B", "A"],                     # the first (left) side shows B's output, the second A's
     "_compare": {"A": {"source": "a.jsonl", "line": 3}, "B": {"source": "b.jsonl", "line": 9}}}

Which system is on which side is random per task, but reproducible: :func:`blind_sides` derives it from the
input's hash and a seed (the session's name, say: each annotator then has an order of their own, and a restart
shows the same order). It is carried in ``_sides`` and must never be shown, nor anything naming a system (the
``_compare`` or ``_duel`` provenance, ``outputs.X.meta``): a screen draws ``outputs[_sides[0]]["text"]`` first and
``outputs[_sides[1]]["text"]`` second, nothing else of ``outputs``. ``_task_hash`` covers the input and both
outputs, so a new version of either system's outputs is asked again.

The stored answer adds what the annotator said about the sides and what that means for the systems::

    "answer": "accept" | "reject" | "ignore",    # accept: 1, 2 or =; reject: x (both bad); ignore: skipped
    "choice": "left" | "right" | "tie" | "both-bad",
    "winner": "A" | "B" | "tie" | "both-bad",    # from choice and _sides (add_winners, the recipe's before_db)
    "_view_id": "compare"

Prodigy's own compare tasks put the two outputs under ``accept`` and ``reject`` with a hidden ``mapping`` (``{"A":
"accept", "B": "reject"}``), the first shown being ``reject``, and store ``answer`` accept when the second output is
better. tuiannot cannot take that shape as it is: ``accept`` is the chosen labels of every choice answer (a list),
which storage, exports and stats rely on. So the outputs live under ``outputs``, the order under ``_sides``, and a
Prodigy compare answer is read by :func:`compare_outcome` as it is and turned into this shape by
:func:`from_prodigy_compare` (for ``db-in``).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from ..errors import InvalidRecord, SourceError
from ..sanitize import one_line
from ..sources import Source
from ..storage.base import session_name
from ..tasks import Task, canonical_json, hash_value, input_hash

if TYPE_CHECKING:
    from ..stream import Stream

VIEW_ID = "compare"
SYSTEMS = ("A", "B")
CHOICES = ("left", "right", "tie", "both-bad")
OUTCOMES = ("A", "B", "tie", "both-bad")
ANSWER_OF = {"left": "accept", "right": "accept", "tie": "accept", "both-bad": "reject"}
"""The ``answer`` stored with each choice: a preference or a tie is an accepted comparison; "both bad" rejects both."""
PROBLEMS = {"invalid": ("invalid record", "invalid records"), "duplicate": ("duplicate", "duplicates"),
            "unmatched": ("record without a partner", "records without a partner"),
            "input differs": ("pair whose inputs differ", "pairs whose inputs differ"),
            "identical outputs": ("pair with the same output", "pairs with the same output"),
            "changed": ("record changed since it was read", "records changed since they were read")}
"""The kinds of :attr:`ComparePairs.counts`, and how :meth:`ComparePairs.note` says them (one, several)."""


# -- what a compare answer means -------------------------------------------------------------------------------
def blind_sides(key: int, seed: str = "") -> list[str]:
    """Which system the first (left) and the second side show: ``["A", "B"]`` or ``["B", "A"]``, decided by a
    hash of ``key`` (the input's hash) and ``seed``, so the same on every run and half the tasks either way."""
    return ["A", "B"] if hash_value(["sides", seed, key]) & 1 == 0 else ["B", "A"]


def sides_of(task: Task) -> list[str] | None:
    """The task's ``_sides`` if it is a valid order of A and B, else None."""
    sides = task.get("_sides")
    return list(sides) if isinstance(sides, list) and sorted(sides) == ["A", "B"] else None


def shown_outputs(task: Task) -> tuple[str, str]:
    """The texts of the first (left) and the second (right) output, in the task's blind order."""
    sides = sides_of(task) or ["A", "B"]
    outputs = task.get("outputs") or {}
    return tuple(str((outputs.get(s) or {}).get("text", "")) for s in sides)  # type: ignore[return-value]


def winner_of(choice: str, sides: Sequence[str]) -> str:
    """What a choice about the sides says about the systems: ``left`` with ``["B", "A"]`` is ``B``."""
    if choice == "left":
        return sides[0]
    if choice == "right":
        return sides[1]
    if choice in ("tie", "both-bad"):
        return choice
    raise ValueError(f"unknown choice {choice!r} (known: {', '.join(CHOICES)})")


def choice_answer(task: Task, choice: str) -> tuple[str, dict[str, Any]]:
    """The ``answer`` and the fields to store for ``choice`` on ``task`` (``Controller.answer(answer, fields=...)``)."""
    sides = sides_of(task)
    if sides is None:
        raise ValueError("the task has no _sides: it is not a compare task")
    return ANSWER_OF[choice], {"choice": choice, "winner": winner_of(choice, sides)}


def add_winners(tasks: list[Task]) -> list[Task]:
    """``before_db`` for compare and tournament recipes: ``winner`` from ``choice`` and ``_sides``; a skipped
    task (``ignore``) keeps neither (an undo followed by a skip would otherwise keep the earlier choice)."""
    result = []
    for task in tasks:
        task = dict(task)
        if task.get("answer") == "ignore" or task.get("choice") not in CHOICES:
            task.pop("choice", None)
            task.pop("winner", None)
        else:
            sides = sides_of(task)
            if sides is not None:
                task["winner"] = winner_of(task["choice"], sides)
        result.append(task)
    return result


def compare_outcome(answer: Task) -> str | None:
    """``A``, ``B``, ``tie`` or ``both-bad`` for a stored compare (or duel) answer, ours or Prodigy's; None for a
    skipped one or one that says nothing about the systems."""
    said = answer.get("answer")
    if said not in ("accept", "reject"):
        return None
    sides, choice = sides_of(answer), answer.get("choice")
    if sides is not None and choice in CHOICES:
        return winner_of(choice, sides)
    if answer.get("winner") in OUTCOMES:
        return str(answer["winner"])
    mapping = answer.get("mapping")  # Prodigy: {"A": "accept", "B": "reject"}; the answer names the better slot
    if isinstance(mapping, dict) and _is_mapping(mapping):
        return next(system for system, slot in mapping.items() if slot == said)
    return None


def from_prodigy_compare(answer: Task) -> Task:
    """A Prodigy compare answer (outputs under ``accept``/``reject``, a ``mapping``) in tuiannot's shape; the
    ``reject`` output is the one Prodigy shows first. Raises ValueError for a record that is not one."""
    mapping = answer.get("mapping")
    if not (isinstance(mapping, dict) and _is_mapping(mapping)):
        raise ValueError("not a Prodigy compare answer: no mapping of A and B to accept and reject")
    outputs = {}
    for system, slot in mapping.items():
        value = answer.get(slot)
        output = _text_of(value)
        if output is None:
            raise ValueError(f"not a Prodigy compare answer: {slot!r} is not an output with a text")
        outputs[system] = dict(value) if isinstance(value, dict) else {"text": output}
    task = {k: v for k, v in answer.items() if k not in ("accept", "reject", "mapping")}
    task["outputs"] = outputs
    task["_sides"] = [next(s for s, slot in mapping.items() if slot == first) for first in ("reject", "accept")]
    task["mapping"] = mapping
    inp = answer.get("input")
    if "text" not in task and _text_of(inp) is not None:
        task["text"] = _text_of(inp)
    winner = compare_outcome(answer)
    if winner is not None:
        task["winner"] = winner
        task["choice"] = "left" if task["_sides"][0] == winner else "right"
    task.setdefault("_view_id", VIEW_ID)
    return task


def _text_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return str(value["text"])
    return None


def compare_judgements(answers: Iterable[Task], dataset: str = "") -> tuple[list[tuple[str, str]], Counter[str]]:
    """``(annotator, outcome)`` for every compare answer (for :func:`tuiannot.metrics.preference.compare_stats`),
    and why others were left out: ``skipped``, ``tournament duel`` (its A and B are other candidates each time),
    ``not a comparison``."""
    judgements: list[tuple[str, str]] = []
    left_out: Counter[str] = Counter()
    for answer in answers:
        if "_duel" in answer:
            left_out["tournament duel"] += 1
            continue
        outcome = compare_outcome(answer)
        if outcome is None:
            left_out["skipped" if answer.get("answer") == "ignore" and "outputs" in answer
                     else "not a comparison"] += 1
            continue
        judgements.append((session_name(dataset, answer), outcome))
    return judgements, left_out


# -- reading two systems' outputs --------------------------------------------------------------------------------
def check_compare_record(record: Any) -> str | None:
    """Why ``record`` is not a compare record (see the module's docstring), or None when it is."""
    if not isinstance(record, dict):
        return f"expected a JSON object, got {_type_name(record)}"
    for key, what in (("input", "the input both systems were given"), ("output", "this system's output")):
        if key not in record:
            return f"no {key!r} ({what})"
        value = record[key]
        if isinstance(value, dict):
            if "text" not in value:
                return f"{key!r} has no 'text'"
            value = value["text"]
        if not isinstance(value, str):
            return f"{key!r} must be a string or an object with a 'text' string, not {_type_name(value)}"
        if key == "input" and not value.strip():
            return "empty input text"
    rid = record.get("id")
    if isinstance(rid, str) and not rid.strip():
        return "empty 'id' (leave it out to match by the input)"
    if rid is not None and not isinstance(rid, str) and not (isinstance(rid, int) and not isinstance(rid, bool)):
        return f"'id' must be a string or a whole number, not {_type_name(rid)}"
    return None


@dataclass(slots=True)
class _Entry:
    line: int
    start: int  # the byte offset of the record's first line
    start_line: int  # the line at that offset (blank lines before the record are read again and skipped)
    id: str | None  # canonical JSON of the id, None without one
    ihash: int  # the input's hash
    ohash: int  # the output's hash
    record: dict[str, Any] | None = None  # kept when the file cannot be read at an offset


class _Side:
    """One system's file, indexed: its records' places, by id and by input."""

    def __init__(self, system: str, path: str | Path, loader: str | None, report: Callable[..., None]) -> None:
        self.system = system
        source = Source(path, loader, validate=check_compare_record)
        if source.loader not in ("jsonl", "json"):
            raise SourceError(f"{source.name}: a compare file is JSONL or JSON ({{\"input\", \"output\"}} records), "
                              f"not {source.loader.upper()}")
        self.path, self.loader, self.name = path, source.loader, source.name
        self.seekable = source.seekable
        self.entries: list[_Entry] = []
        self.by_id: dict[str, _Entry] = {}
        self.by_text: dict[int, list[_Entry]] = {}
        seen_text: dict[int, int] = {}
        offset, line = 0, 0
        for record in source:
            start, start_line = offset, line + 1
            offset, line = record.offset, record.line
            if record.task is None:
                report(self.name, record.line, record.error or "invalid record", "invalid")
                continue
            task = record.task
            rid = _id_key(task.get("id"))
            ihash = input_hash({"text": _text_of(task["input"])})
            first = self.by_id.get(rid) if rid is not None else None
            if first is not None:
                report(self.name, record.line, f"id {_shown_id(rid)} again (first on line {first.line}): "
                                               "left out", "duplicate")
                continue
            if rid is None and ihash in seen_text:
                report(self.name, record.line, f"the same input again (first on line {seen_text[ihash]}), and no "
                                               "id to tell them apart: left out", "duplicate")
                continue
            ohash = hash_value(_text_of(task["output"]))
            entry = _Entry(record.line, start, start_line, rid, ihash, ohash, None if self.seekable else task)
            self.entries.append(entry)
            if rid is not None:
                self.by_id[rid] = entry
            seen_text.setdefault(ihash, record.line)
            self.by_text.setdefault(ihash, []).append(entry)

    def fetch(self, entry: _Entry) -> dict[str, Any] | None:
        """The record of ``entry`` (read again at its offset), or None if the file changed there since."""
        if entry.record is not None:
            return entry.record
        source = Source(self.path, self.loader, validate=check_compare_record)
        source.start_at(entry.start, entry.start_line)
        records = iter(source)
        try:
            record = next(records, None)
        finally:
            records.close()  # type: ignore[attr-defined]
        if record is None or record.line != entry.line or record.task is None \
                or _id_key(record.task.get("id")) != entry.id \
                or input_hash({"text": _text_of(record.task["input"])}) != entry.ihash \
                or hash_value(_text_of(record.task["output"])) != entry.ohash:
            return None
        return record.task


def _id_key(value: Any) -> str | None:
    """The id as a key: its canonical JSON (so 7 and "7" are two ids, as they are two values)."""
    return None if value is None else canonical_json(value)


def _shown_id(key: str | None) -> str:
    value = json.loads(key) if key is not None else None
    return repr(one_line(value, 40)) if isinstance(value, str) else str(value)


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


class ComparePairs:
    """The compare tasks of two systems' files (see the module's docstring): iterate it for the tasks, in A's
    order; :attr:`warnings` and :attr:`counts` say what was left out and why, :attr:`total` how many pairs."""

    def __init__(self, a: str | Path, b: str | Path, *, seed: str = "",
                 loader: str | tuple[str | None, str | None] | None = None, strict: bool = False,
                 on_warning: Callable[[str], None] | None = None) -> None:
        self.seed = seed
        self.strict = strict
        self.on_warning = on_warning
        self.warnings: list[str] = []
        self.counts: Counter[str] = Counter()
        self.served = 0
        self._places: dict[int, int] = {}  # task hash -> the pair's place (from 1), for progress()
        self._shown: int | None = None  # the place of the pair shown last
        self._stream: Stream | None = None
        loaders = loader if isinstance(loader, tuple) else (loader, loader)  # one for both files, or one each
        self.a = _Side("A", a, loaders[0], self._report)
        self.b = _Side("B", b, loaders[1], self._report)
        self._pairs: list[tuple[_Entry, _Entry]] = []
        used: set[int] = set()
        for entry in self.a.entries:
            partner = self._partner(entry, used)
            if partner is None:
                what = f"id {_shown_id(entry.id)}" if entry.id is not None else "this input"
                self._report(self.a.name, entry.line, f"no record in {self.b.name} has {what}: left out", "unmatched")
                continue
            used.add(id(partner))
            if partner.ihash != entry.ihash:
                self._report(self.a.name, entry.line, f"the input differs from {self.b.name}:{partner.line}, which "
                                                      "has the same id: both left out", "input differs")
                continue
            if partner.ohash == entry.ohash:  # Prodigy leaves these out too
                self._report(self.a.name, entry.line, f"the same output as {self.b.name}:{partner.line}: nothing to "
                                                      "compare, left out", "identical outputs")
                continue
            self._pairs.append((entry, partner))
        for entry in self.b.entries:
            if id(entry) not in used:
                what = f"id {_shown_id(entry.id)}" if entry.id is not None else "this input"
                self._report(self.b.name, entry.line, f"no record in {self.a.name} has {what}: left out", "unmatched")
        self.total = len(self._pairs)

    def _partner(self, entry: _Entry, used: set[int]) -> _Entry | None:
        """By id when both have one, else by the input's text (the first record not matched yet)."""
        if entry.id is not None and entry.id in self.b.by_id:
            partner = self.b.by_id[entry.id]
            return partner if id(partner) not in used else None
        for candidate in self.b.by_text.get(entry.ihash, []):
            if id(candidate) not in used and (entry.id is None or candidate.id is None):
                return candidate
        return None

    def _report(self, name: str, line: int, reason: str, kind: str) -> None:
        if self.strict:
            raise InvalidRecord(name, line, reason)
        message = f"{name}:{line}: {reason}"
        self.counts[kind] += 1
        self.warnings.append(message)
        if self._stream is not None:
            self._stream.invalid += 1
            self._stream.warnings.append(message)
            if self._stream.on_warning is not None:
                self._stream.on_warning(message)
        elif self.on_warning is not None:
            self.on_warning(message)

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Iterator[Task]:
        for place, (a_entry, b_entry) in enumerate(self._pairs, 1):
            a_record, b_record = self.a.fetch(a_entry), self.b.fetch(b_entry)
            if a_record is None or b_record is None:
                changed = self.a if a_record is None else self.b
                where = a_entry if a_record is None else b_entry
                self._report(changed.name, where.line, "the file changed since it was read: left out", "changed")
                continue
            self.served += 1
            task = self._task(a_entry, b_entry, a_record, b_record)
            self._places[task["_task_hash"]] = place
            yield task

    def _task(self, a_entry: _Entry, b_entry: _Entry, a: dict[str, Any], b: dict[str, Any]) -> Task:
        outputs = {system: _output(record) for system, record in (("A", a), ("B", b))}
        text = str(_text_of(a["input"]))
        task: Task = {"text": text, "input": dict(a["input"]) if isinstance(a["input"], dict) else {"text": text}}
        rid = a.get("id", b.get("id"))
        if rid is not None:
            task["id"] = rid
        task["outputs"] = outputs
        task["_sides"] = blind_sides(a_entry.ihash, self.seed)
        task["_compare"] = {"A": {"source": self.a.name, "line": a_entry.line},
                            "B": {"source": self.b.name, "line": b_entry.line}}
        task["_input_hash"] = a_entry.ihash
        task["_task_hash"] = hash_value([a_entry.ihash, VIEW_ID, outputs["A"]["text"], outputs["B"]["text"]])
        return task

    def stream(self, name: str | None = None) -> "Stream":
        """A :class:`~tuiannot.stream.Stream` of the tasks whose warnings (those found so far, and those to
        come) are the stream's, so the session's summary counts and lists them."""
        from ..stream import Stream

        stream = Stream(self, name=name or f"{self.a.name} vs {self.b.name}")
        stream.invalid += len(self.warnings)
        stream.warnings.extend(self.warnings)
        self._stream = stream
        return stream

    def progress(self, controller: Any = None) -> float | None:
        """A recipe's ``progress``: given the controller, the share of the pairs up to the one on screen (the place
        of the task shown, as other views show its source line: reading ahead is not progress); else the share
        served so far."""
        if not self.total:
            return None
        current = getattr(controller, "current", None)
        place = self._places.get(current.task.get("_task_hash")) if current is not None else None
        if place is not None:
            self._shown = place
        elif controller is not None and self._shown is not None:
            place = self._shown  # between two tasks: the last one shown
        return (place if place is not None else self.served) / self.total

    def note(self) -> str:
        """One line: the pairs, and what was left out by reason."""
        pairs = f"{self.total:,} pair{'s' if self.total != 1 else ''} to compare"
        left = [f"{self.counts[kind]:,} {PROBLEMS[kind][self.counts[kind] != 1]}" for kind in PROBLEMS
                if self.counts[kind]]
        return pairs + (f"; left out: {', '.join(left)}" if left else "")


def _output(record: dict[str, Any]) -> dict[str, Any]:
    value = record["output"]
    output = dict(value) if isinstance(value, dict) else {"text": value}
    meta = {k: v for k, v in record.items() if k not in ("id", "input", "output")}
    if meta:
        output["meta"] = meta
    return output


# -- tournament duels ------------------------------------------------------------------------------------------
SCORES = {"A": 1.0, "B": 0.0, "tie": 0.5, "both-bad": 0.5}
"""A's score in a duel. Two bad outputs are a draw: neither is acceptable, so on that scale they are equal."""


@dataclass(frozen=True)
class DuelResult:
    """A stored tournament duel: the two candidates (``_duel.A.candidate``, ``_duel.B.candidate``), A's score,
    the outcome, who judged, and the candidates' names as the duel recorded them."""

    a: str
    b: str
    score: float
    outcome: str
    annotator: str
    names: tuple[str, str]

    def as_tuple(self) -> tuple[str, str, float]:
        """``(a, b, score)`` for :func:`tuiannot.metrics.glicko2.standings`."""
        return self.a, self.b, self.score


def duel_result(answer: Task, dataset: str = "") -> DuelResult | None:
    """The duel a stored tournament answer records; None for a skip or an answer that is not a duel."""
    duel = answer.get("_duel")
    if not isinstance(duel, dict):
        return None
    sides = [duel.get(system) for system in SYSTEMS]
    keys = [side.get("candidate") if isinstance(side, dict) else None for side in sides]
    if not all(isinstance(key, str) and key for key in keys) or keys[0] == keys[1]:
        return None
    outcome = compare_outcome(answer)
    if outcome is None:
        return None
    names = tuple(str(side.get("name") or key) for side, key in zip(sides, keys, strict=True))  # type: ignore[union-attr]
    return DuelResult(str(keys[0]), str(keys[1]), SCORES[outcome], outcome, session_name(dataset, answer),
                      (names[0], names[1]))


def duel_results(answers: Iterable[Task], dataset: str = "") -> tuple[list[DuelResult], Counter[str]]:
    """Every duel of ``answers``, in order, and why other answers were left out: ``skipped``, ``not a duel``."""
    duels: list[DuelResult] = []
    left_out: Counter[str] = Counter()
    for answer in answers:
        result = duel_result(answer, dataset)
        if result is not None:
            duels.append(result)
        else:
            left_out["skipped" if "_duel" in answer and answer.get("answer") == "ignore" else "not a duel"] += 1
    return duels, left_out


def _is_mapping(mapping: dict[Any, Any]) -> bool:
    """Prodigy's compare mapping: A and B, one to ``accept``, the other to ``reject`` (anything else is not one)."""
    return set(mapping) == {"A", "B"} and all(isinstance(v, str) for v in mapping.values()) \
        and sorted(mapping.values()) == ["accept", "reject"]
