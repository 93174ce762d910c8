"""The storage interface. Everything else in tuiannot talks to a :class:`Database`.

Backends (SQLite: :mod:`.sqlite`; PostgreSQL: :mod:`.postgres`) implement these
methods and keep their SQL and their dialect to themselves; the same contract tests
run against both. Answers are Prodigy-compatible task dicts
(``text``, ``label``/``accept``, ``answer``, ``_input_hash``, ``_task_hash``,
``_session_id``, ``_annotator_id``, ``_timestamp``, ``_view_id``, ``_seconds``).

The guarantees every backend keeps:

* Every method that writes has committed when it returns: an answer is durable
  before the caller shows the next task.
* :meth:`Database.add_answers` (imports) is all or nothing, and never holds the
  database for long: a large import is written in short transactions out of
  sight and made visible at the end (see the backend for how), so annotators
  writing meanwhile wait milliseconds, not the length of the import. An import
  that fails, is interrupted or crashes leaves nothing visible.
* A dataset dropped under a session is never silently re-created or written
  into by that session: its writes raise :class:`DatasetDropped`. ``drop`` can
  refuse while sessions are live (:meth:`Database.live_sessions`).
* Every failure of the backend (a read-only file or folder, a full disk, a
  damaged or locked database) is a :class:`StorageError`: one line naming the
  database, the cause and what to do. A damaged database is refused before
  anything is written into it (a process that only reads meets the damage
  where it reads it, if at all).
* A database is named in messages by :attr:`Database.location`: a file path, or
  a URL with its password masked (:func:`shown_location`). No backend puts a
  password into a message, a ``repr`` or a log.
"""

from __future__ import annotations

import json
import os
import re
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Sequence

from ..errors import UserError
from ..tasks import accepted_labels, answer_problem, set_hashes

IDLE_CAP_SECONDS = 300.0
"""Time on one task counted at most this long for rates (an annotator who went for lunch)."""


class UnknownDataset(UserError):
    """A dataset that is not in the database: the message names both, so no caller checks first."""

    def __init__(self, name: str, location: str | None = None) -> None:
        super().__init__(f"no dataset named {name!r}" + (f" in {location}" if location else ""))
        self.name, self.location = name, location


class ClaimLost(UserError):
    """The lease on a task ran out and other annotators completed it meanwhile."""


class StorageError(UserError):
    """The database failed or refused (read-only, disk full, damaged, locked): the message names the database,
    the cause and what to do."""


class DatasetDropped(StorageError):
    """The dataset was deleted (``tuiannot drop``) while a session was working on it: nothing more is stored."""

    def __init__(self, name: str, location: str) -> None:
        super().__init__(f"dataset {name!r} was deleted from {location} (tuiannot drop) while this session worked "
                         "on it: the answer was not saved, and nothing more can be stored into it")
        self.name, self.location = name, location


RECENT_SECONDS = 600.0
"""A session that started or answered this recently, and did not end cleanly, counts as live."""


@dataclass
class LiveSession:
    """A session at work on a dataset: it holds live claims, or was active within :data:`RECENT_SECONDS`."""

    session: str
    claims: int  # tasks it holds under a live lease
    last: float | None  # its last sign of life (started, or last answer), epoch seconds

    def describe(self, now: float | None = None) -> str:
        parts = []
        if self.claims:
            parts.append(f"holds {self.claims} task{'s' if self.claims != 1 else ''}")
        if self.last is not None:
            ago = max(0.0, (now or time.time()) - self.last)
            parts.append(f"active {ago:.0f} s ago" if ago < 120 else f"active {ago / 60:.0f} min ago")
        return f"{self.session} ({', '.join(parts)})" if parts else self.session


class DatasetInUse(UserError):
    """A dataset is not dropped while sessions are live on it (the message names them)."""

    def __init__(self, name: str, sessions: list[LiveSession]) -> None:
        now = time.time()
        super().__init__(f"dataset {name!r} is being annotated: {', '.join(s.describe(now) for s in sessions)}; "
                         "ask them to quit first (what they answered is saved)")
        self.name, self.sessions = name, sessions


@dataclass
class StoredAnswer:
    """The columns every backend keeps beside the whole task (its JSON)."""

    task_hash: int
    input_hash: int
    session: str
    answer: str
    labels: str  # JSON array of the labels the answer assigns, for counting
    view_id: str | None
    timestamp: float
    seconds: float | None
    content: str  # the whole task as JSON

    @classmethod
    def from_task(cls, dataset: str, task: dict[str, Any]) -> "StoredAnswer":
        problem = answer_problem(task)
        if problem is not None:
            raise ValueError(problem)
        set_hashes(task)
        answer = task["answer"]
        task.setdefault("_timestamp", int(time.time()))
        try:  # NaN and Infinity are not JSON: strict readers (SQLite's json_extract, jsonb, exports) refuse them
            content = json.dumps(task, ensure_ascii=False, allow_nan=False)
        except ValueError:
            raise ValueError("NaN or Infinity is not JSON (strict readers refuse it): write null, or a number") \
                from None
        session = session_name(dataset, task)
        seconds = task.get("_seconds")
        return cls(
            task_hash=task["_task_hash"], input_hash=task["_input_hash"], session=session,
            answer=answer, labels=json.dumps(accepted_labels(task), ensure_ascii=False),
            view_id=task.get("_view_id"), timestamp=float(task["_timestamp"]),
            seconds=float(seconds) if isinstance(seconds, (int, float)) else None,
            content=content,
        )


def session_name(dataset: str, task: dict[str, Any]) -> str:
    """The annotator's name: ``_session_id`` without Prodigy's ``<dataset>-`` prefix."""
    sid = task.get("_annotator_id") or task.get("_session_id")
    if not sid:
        return "unknown"
    sid = str(sid)
    prefix = f"{dataset}-"
    return sid[len(prefix):] if sid.startswith(prefix) and len(sid) > len(prefix) else sid


@dataclass
class SessionCounts:
    answers: int = 0
    by_answer: dict[str, int] = field(default_factory=dict)
    first: float | None = None
    last: float | None = None
    seconds_total: float = 0.0  # capped at IDLE_CAP_SECONDS per task
    timed: int = 0  # answers with a recorded time
    median_seconds: float | None = None


@dataclass
class DatasetCounts:
    """Aggregates of one dataset, computed by the backend (fast on millions of answers)."""

    name: str
    answers: int
    tasks: int  # distinct questions
    inputs: int  # distinct inputs
    by_answer: dict[str, int]
    by_labels: list[tuple[str, list[str], int]]  # (answer, labels, count)
    sessions: dict[str, SessionCounts]
    first: float | None
    last: float | None
    median_seconds: float | None

    @classmethod
    def of(cls, name: str, totals: "Totals", tasks: int, inputs: int, median: float | None) -> "DatasetCounts":
        """The counts from the folded running totals (:func:`fold_totals`) and the backend's own figures."""
        sessions, by_answer, by_labels = totals
        firsts = [s.first for s in sessions.values() if s.first is not None]
        lasts = [s.last for s in sessions.values() if s.last is not None]
        return cls(
            name=name, answers=sum(by_answer.values()), tasks=int(tasks), inputs=int(inputs), by_answer=by_answer,
            by_labels=[(a, json.loads(labels), n) for (a, labels), n in sorted(by_labels.items())],
            sessions=sessions, first=min(firsts) if firsts else None, last=max(lasts) if lasts else None,
            median_seconds=median)


Totals = tuple[dict[str, SessionCounts], dict[str, int], dict[tuple[str, str], int]]
"""Per session, per answer and per (answer, labels JSON): what a dataset's running totals add up to."""


def fold_totals(rows: Iterable[tuple[Any, ...]]) -> Totals:
    """The rows of a backend's running totals, ``(session, answer, labels, n, first, last, seconds_total,
    timed)``, added up per session, per answer and per (answer, labels); both backends keep the same rows."""
    sessions: dict[str, SessionCounts] = {}
    by_answer: dict[str, int] = {}
    by_labels: dict[tuple[str, str], int] = {}
    for session, answer, labels, n, first, last, seconds, timed in rows:
        s = sessions.setdefault(session, SessionCounts())
        s.answers += n
        s.by_answer[answer] = s.by_answer.get(answer, 0) + n
        s.first = first if s.first is None else min(s.first, first)
        s.last = last if s.last is None else max(s.last, last)
        s.seconds_total += seconds or 0.0
        s.timed += timed
        by_answer[answer] = by_answer.get(answer, 0) + n
        by_labels[(answer, labels)] = by_labels.get((answer, labels), 0) + n
    return sessions, by_answer, by_labels


class Database(ABC):
    """Datasets of answers, the sessions that wrote them, and aggregates over them."""

    location: str  # what messages call it: a file path, or a URL with its password masked

    # -- datasets --------------------------------------------------------------
    @abstractmethod
    def datasets(self) -> list[str]: ...

    @abstractmethod
    def has_dataset(self, name: str) -> bool: ...

    @abstractmethod
    def add_dataset(self, name: str, meta: dict[str, Any] | None = None) -> None:
        """Create the dataset if it does not exist yet."""

    @abstractmethod
    def drop_dataset(self, name: str, only_if_idle: bool = False) -> int:
        """Delete the dataset and its answers; return how many answers went. With ``only_if_idle``, raise
        :class:`DatasetInUse` instead while :meth:`live_sessions` finds any (checked in the same transaction)."""

    # -- sessions --------------------------------------------------------------
    @abstractmethod
    def start_session(self, dataset: str, session: str, meta: dict[str, Any] | None = None) -> int:
        """Record that ``session`` starts work on ``dataset`` (creating it); return the record's id."""

    @abstractmethod
    def end_session(self, session_id: int) -> None:
        """Record a clean end of the session :meth:`start_session` returned ``session_id`` for."""

    @abstractmethod
    def live_sessions(self, dataset: str, recent: float = RECENT_SECONDS) -> list[LiveSession]:
        """Sessions at work on ``dataset``: holding live claims, or started or answered within ``recent``
        seconds without ending cleanly since."""

    # -- answers ---------------------------------------------------------------
    @abstractmethod
    def add_answer(self, dataset: str, task: dict[str, Any], recreate: bool = True) -> int:
        """Store one answered task durably; return its id (for :meth:`replace_answer`). The dataset is created
        if need be; if it was dropped since this connection last used it, it is made again, or with
        ``recreate=False`` (a session, whose dataset is gone) :class:`DatasetDropped` is raised."""

    @abstractmethod
    def replace_answer(self, answer_id: int, task: dict[str, Any]) -> None:
        """Replace a stored answer (undo, then answer again): never a second copy."""

    @abstractmethod
    def add_answers(self, dataset: str, tasks: Iterable[dict[str, Any]]) -> int:
        """Store many answers, all or none (imports); return how many. Others writing meanwhile are not held
        up for more than a moment; if ``tasks`` raises (a bad record under ``--strict``, Ctrl-C), nothing is
        stored."""

    @abstractmethod
    def answers(self, dataset: str, answer: str | None = None, session: str | None = None
                ) -> Iterator[dict[str, Any]]: ...

    @abstractmethod
    def answers_json(self, dataset: str, answer: str | None = None) -> Iterator[str]:
        """The stored JSON of each answer, in the order written (fast export)."""

    @abstractmethod
    def answers_by_id(self, ids: Iterable[int]) -> Iterator[dict[str, Any]]:
        """The answers with these ids (``_answer_id``), in id order; ids not stored are left out. Read a few
        hundred at a time, so a caller may write between them."""

    def answer_fields(self, dataset: str, fields: tuple[str, ...]) -> Iterator[tuple[Any, ...]]:
        """Per answer, in the order written: ``(id, input hash, annotator, answer, view id, seconds, *values)``,
        the values those of the task's top-level ``fields`` (None when absent). The reports read millions of
        answers this way: a backend may do it without decoding each whole answer."""
        for a in self.answers(dataset):
            seconds = a.get("_seconds")
            yield (a["_answer_id"], a["_input_hash"], session_name(dataset, a), a["answer"], a.get("_view_id"),
                   float(seconds) if isinstance(seconds, (int, float)) else None, *(a.get(f) for f in fields))

    @abstractmethod
    def answered(self, datasets: Iterable[str], hashes: Iterable[int], by: str = "task") -> set[int]:
        """Which of ``hashes`` (task hashes, or input hashes with ``by="input"``) have an answer in any of
        ``datasets``."""

    @abstractmethod
    def count_answers(self, dataset: str, session: str | None = None) -> int: ...

    # -- routing: claims with leases (see tuiannot.team.routing) ---------------------
    @abstractmethod
    def answer_sessions(self, dataset: str, keys: Iterable[int], by: str = "task") -> dict[int, set[str]]:
        """For each key (task or input hash) answered in the dataset: the sessions that answered it."""

    @abstractmethod
    def claim(self, dataset: str, session: str, key: int, target: int, lease: float, content: str,
              by: str = "task") -> bool:
        """Atomically claim a task for ``session`` unless it answered it already or ``target``
        other sessions have answered it or hold a live claim on it."""

    def claim_first(self, dataset: str, session: str, candidates: Sequence[tuple[int, int, str]], lease: float,
                    by: str = "task") -> tuple[int | None, dict[int, bool]]:
        """Claim the first of ``candidates`` (key, target, content; in the caller's order) that :meth:`claim` would
        give ``session``. Returns its key (None if none) and candidates found with no room for the session, each
        with whether it is done for the session (answered by it, or by ``target`` others): those before the one
        claimed (all of them when none is). A candidate in neither is to be tried again (after the one claimed, or,
        on PostgreSQL, being claimed by another session that very moment). This default tries each in turn
        (SQLite: its single writer makes each claim a short local transaction); PostgreSQL does it in one round
        trip."""
        passed: list[tuple[int, int]] = []
        taken = None
        for key, target, content in candidates:
            if self.claim(dataset, session, key, target, lease, content, by=by):
                taken = key
                break
            passed.append((key, target))
        answered = self.answer_sessions(dataset, [key for key, _ in passed], by=by) if passed else {}
        return taken, {key: session in answered.get(key, ()) or len(answered.get(key, set()) - {session}) >= target
                       for key, target in passed}

    @abstractmethod
    def answer_claimed(self, dataset: str, session: str, key: int, task: dict[str, Any], by: str = "task") -> int:
        """Store the answer to a claimed task and drop the claim, in one transaction. Raises
        :class:`ClaimLost` when the claim lapsed and the task's annotators are complete without us, and
        :class:`DatasetDropped` when the dataset was dropped since the claim was made."""

    @abstractmethod
    def renew_claims(self, dataset: str, session: str, keys: Iterable[int], lease: float) -> None: ...

    @abstractmethod
    def release_claims(self, dataset: str, session: str, keys: Iterable[int] | None = None) -> None:
        """Give unanswered claims back at once (a clean exit), all of them or ``keys``."""

    @abstractmethod
    def lapsed_claims(self, dataset: str, session: str, limit: int = 50) -> list[tuple[int, int, str]]:
        """Claims of other sessions whose lease ran out: (key, target, task JSON), oldest first."""

    @abstractmethod
    def held_by_others(self, dataset: str, session: str, by: str = "task") -> tuple[int, float | None]:
        """Tasks not complete, not answered by ``session``, with live claims by others: (count, next expiry)."""

    @abstractmethod
    def claims(self, dataset: str) -> list[dict[str, Any]]:
        """Every claim of the dataset: key, session, target, expires (for progress and tests)."""

    @abstractmethod
    def claimed_by_others(self, dataset: str, session: str) -> dict[int, list[tuple[str, float]]]:
        """The live claims of sessions other than ``session``, in one query: key -> [(session, seconds its lease
        has left)]. A snapshot for skipping the tasks others hold without trying to claim each (a hint only:
        :meth:`claim` decides)."""

    # -- aggregates ------------------------------------------------------------
    @abstractmethod
    def overview(self) -> list[dict[str, Any]]:
        """Per dataset: name, answers, sessions, first and last answer time."""

    @abstractmethod
    def dataset_counts(self, name: str) -> DatasetCounts: ...

    # -- resume checkpoints ----------------------------------------------------------
    @abstractmethod
    def checkpoint(self, dataset: str, key: str) -> dict[str, Any] | None:
        """The resume checkpoint saved under ``key`` (see :mod:`tuiannot.resume`), or None."""

    @abstractmethod
    def save_checkpoint(self, dataset: str, key: str, value: dict[str, Any]) -> None:
        """Save (replace) a resume checkpoint; nothing when the dataset is gone. Dropping a dataset drops them."""

    # -- LLM replies (see tuiannot.llm.suggest) ---------------------------------------------
    @abstractmethod
    def cached_replies(self, dataset: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The cached replies of those keys that have one."""

    @abstractmethod
    def cache_reply(self, dataset: str, key: str, value: dict[str, Any]) -> None:
        """Keep (replace) a reply; nothing when the dataset is gone. Dropping a dataset drops its cache."""

    @abstractmethod
    def cache_stats(self, dataset: str) -> dict[str, Any]:
        """``replies``, ``bytes``, ``first`` and ``last`` (times), ``by_model`` (replies per model)."""

    @abstractmethod
    def clear_cache(self, dataset: str) -> int:
        """Forget the dataset's cached replies; how many there were."""

    # -- connection ------------------------------------------------------------
    @abstractmethod
    def reopen(self) -> "Database":
        """A new connection to the same database (one per thread)."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- answer history and flags (schema 5; issue 19) ----------------------------------------------
    @abstractmethod
    def answer_history(self, dataset: str, input_hash: int | None = None) -> Iterator[dict[str, Any]]:
        """Every version of the dataset's answers that was replaced (of one input with ``input_hash``), by input
        then by when it was replaced: ``answer_id`` (the answer whose current version is still stored under that
        id), ``input_hash``, ``task_hash``, ``session`` and ``answer`` of the version, ``task`` (its whole JSON:
        ``_timestamp``, ``_guidelines``, ``_flagged``, ``_comment``...), ``replaced`` (epoch seconds) and
        ``replaced_by`` (the session whose answer replaced it). A trigger of the backend fills it on every
        ``UPDATE`` of an answer; dropping a dataset drops its history."""

    @abstractmethod
    def flag_counts(self, dataset: str) -> dict[str, dict[str, int]]:
        """Per session with any: ``flagged`` (answers with ``"_flagged": true``) and ``commented`` (answers with a
        ``_comment``), from running totals the backend keeps (no scan of the answers)."""


WRITES = frozenset({"add_dataset", "drop_dataset", "save_checkpoint", "start_session", "end_session", "add_answer",
                    "replace_answer", "add_answers", "claim", "claim_first", "answer_claimed", "renew_claims",
                    "release_claims", "cache_reply", "clear_cache"})
"""The methods that write (the others read): SQLite checks a file for damage before the first of them, PostgreSQL
does not retry them on a connection that broke."""

STAGING = "\x01import "
"""The name prefix of staging datasets (a control character: never a name a user can create)."""

URL_SCHEMES = ("postgresql://", "postgres://")


def is_url(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` names a PostgreSQL database (else it is a SQLite file)."""
    return str(location).startswith(URL_SCHEMES)


def shown_location(location: str | os.PathLike[str]) -> str:
    """``location`` as every message shows it: a URL's password masked (``postgresql://bob:****@host/db``, also a
    ``password=`` parameter), a file path as it is."""
    text = str(location)
    if not is_url(text):
        return text
    text = re.sub(r"^(\w+://[^/?#:@]*:)[^/?#]*@", r"\1****@", text)  # user:password@ (to the last @)
    return re.sub(r"([?&]password=)[^&#]*", r"\1****", text)


def check_name(name: str, create: bool = False) -> None:
    """A dataset name must be text a database can store (not a raw byte from the command line), and a new one
    may not look like a staging dataset."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as e:
        raw = name[e.start:e.end].encode("utf-8", "surrogateescape") if all(
            0xDC80 <= ord(c) <= 0xDCFF for c in name[e.start:e.end]) else b""
        shown = name.encode("utf-8", "surrogateescape" if raw else "backslashreplace").decode("utf-8",
                                                                                             "backslashreplace")
        what = f"the byte{'s' if len(raw) > 1 else ''} {' '.join(f'0x{b:02x}' for b in raw)}" if raw \
            else "a lone surrogate"
        raise UserError(f"the dataset name '{shown}' is not valid text: it has {what}, which is not UTF-8 (a "
                        "terminal or file in another encoding?); give the name in UTF-8") from None
    if create and name.startswith(STAGING):
        raise UserError(f"the dataset name {name!r} is reserved for imports in progress; choose another name")


def default_location() -> str:
    """``$TUIANNOT_DB``, else ``~/.tuiannot/tuiannot.db``."""
    return os.environ.get("TUIANNOT_DB") or os.path.join(os.path.expanduser("~"), ".tuiannot", "tuiannot.db")
