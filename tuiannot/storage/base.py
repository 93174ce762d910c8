"""The storage interface. Everything else in tuiannot talks to a :class:`Database`.

Backends (SQLite now, PostgreSQL next) implement these methods and keep their
SQL and their dialect to themselves. Answers are Prodigy-compatible task dicts
(``text``, ``label``/``accept``, ``answer``, ``_input_hash``, ``_task_hash``,
``_session_id``, ``_annotator_id``, ``_timestamp``, ``_view_id``, ``_seconds``).
Every method that writes has committed when it returns.
"""

from __future__ import annotations

import json
import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

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
        session = session_name(dataset, task)
        seconds = task.get("_seconds")
        return cls(
            task_hash=task["_task_hash"], input_hash=task["_input_hash"], session=session,
            answer=answer, labels=json.dumps(accepted_labels(task), ensure_ascii=False),
            view_id=task.get("_view_id"), timestamp=float(task["_timestamp"]),
            seconds=float(seconds) if isinstance(seconds, (int, float)) else None,
            content=json.dumps(task, ensure_ascii=False),
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


class Database(ABC):
    """Datasets of answers, the sessions that wrote them, and aggregates over them."""

    location: str

    # -- datasets --------------------------------------------------------------
    @abstractmethod
    def datasets(self) -> list[str]: ...

    @abstractmethod
    def has_dataset(self, name: str) -> bool: ...

    @abstractmethod
    def add_dataset(self, name: str, meta: dict[str, Any] | None = None) -> None:
        """Create the dataset if it does not exist yet."""

    @abstractmethod
    def drop_dataset(self, name: str) -> int:
        """Delete the dataset and its answers; return how many answers went."""

    # -- sessions --------------------------------------------------------------
    @abstractmethod
    def start_session(self, dataset: str, session: str, meta: dict[str, Any] | None = None) -> None: ...

    # -- answers ---------------------------------------------------------------
    @abstractmethod
    def add_answer(self, dataset: str, task: dict[str, Any]) -> int:
        """Store one answered task durably; return its id (for :meth:`replace_answer`)."""

    @abstractmethod
    def replace_answer(self, answer_id: int, task: dict[str, Any]) -> None:
        """Replace a stored answer (undo, then answer again): never a second copy."""

    @abstractmethod
    def add_answers(self, dataset: str, tasks: Iterable[dict[str, Any]]) -> int:
        """Store many answers in one transaction (imports); return how many."""

    @abstractmethod
    def answers(self, dataset: str, answer: str | None = None, session: str | None = None
                ) -> Iterator[dict[str, Any]]: ...

    @abstractmethod
    def answers_json(self, dataset: str, answer: str | None = None) -> Iterator[str]:
        """The stored JSON of each answer, in the order written (fast export)."""

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

    @abstractmethod
    def answer_claimed(self, dataset: str, session: str, key: int, task: dict[str, Any], by: str = "task") -> int:
        """Store the answer to a claimed task and drop the claim, in one transaction. Raises
        :class:`ClaimLost` when the claim lapsed and the task's annotators are complete without us."""

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

    # -- aggregates ------------------------------------------------------------
    @abstractmethod
    def overview(self) -> list[dict[str, Any]]:
        """Per dataset: name, answers, sessions, first and last answer time."""

    @abstractmethod
    def dataset_counts(self, name: str) -> DatasetCounts: ...

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


def default_location() -> str:
    """``$TUIANNOT_DB``, else ``~/.tuiannot/tuiannot.db``."""
    return os.environ.get("TUIANNOT_DB") or os.path.join(os.path.expanduser("~"), ".tuiannot", "tuiannot.db")
