"""Task routing for teams: who gets which task, with overlap and leases.

Each annotator runs their own process on one shared database. A task goes to
``overlap`` distinct annotators (``1`` splits the work, ``2`` doubles it,
``1.5`` gives half the tasks a second annotator, ``all`` sends everything to
everyone). Before a process shows a task it *claims* it in the database, in
one transaction that checks how many annotators have answered it or hold a
live claim on it: so no task is answered by more annotators than its overlap,
and nobody sees a task twice. A claim is a lease: the process renews it while
the annotator is active, and a crashed or disconnected session's claims lapse
after ``lease`` seconds (more than 0, at most :data:`MAX_LEASE`: a day), when
the task goes to someone else. A recipe may route tasks itself with
``task_router(task, sessions, state) -> [sessions]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import UserError

EVERYONE = 1_000_000  # "all" without a list of annotators: as many as come
DEFAULT_LEASE = 300.0
MAX_LEASE = 86_400.0  # a day: a longer lease would keep a crashed session's tasks from everyone else


def parse_overlap(value: str | float | int | None) -> float | str:
    if value is None:
        return 1.0
    text = str(value).strip().lower()
    if text == "all":
        return "all"
    try:
        overlap = float(text)
    except ValueError:
        raise UserError(f"--overlap must be a number >= 1 or 'all', not {value!r}") from None
    if not math.isfinite(overlap) or overlap < 1:
        raise UserError(f"--overlap must be a number >= 1 or 'all', not {value!r}")
    return overlap


def parse_lease(value: str | float | int) -> float:
    """``--lease``: seconds, more than 0 and at most :data:`MAX_LEASE` (``inf`` and ``nan`` are refused: a lease
    that never runs out would never give a crashed session's tasks to others)."""
    try:
        lease = float(value)
    except (TypeError, ValueError):
        lease = math.nan
    if not (math.isfinite(lease) and 0 < lease <= MAX_LEASE):
        shown = f"{value:g}" if isinstance(value, float) else repr(value)
        raise UserError(f"--lease must be a number of seconds greater than 0 and at most {MAX_LEASE:.0f} (a day), "
                        f"not {shown}")
    return lease


def share(task_key: int) -> float:
    """A stable number in [0, 1) for a task, to decide fractional overlaps the same way everywhere."""
    mixed = (task_key * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF
    mixed ^= mixed >> 31
    mixed = (mixed * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    mixed ^= mixed >> 29
    return mixed / 2**64


@dataclass
class Routing:
    """How a session takes part: the overlap, the expected annotators, the lease."""

    overlap: float | str = 1.0
    annotators: list[str] = field(default_factory=list)
    lease: float = DEFAULT_LEASE
    task_router: Callable[[dict[str, Any], list[str], dict[str, Any]], list[str]] | None = None

    def check(self, session: str) -> None:
        if self.annotators and session not in self.annotators:
            raise UserError(f"session {session!r} is not one of the expected annotators "
                            f"({', '.join(self.annotators)}); ask the lead or pass --session")
        if isinstance(self.overlap, float) and self.annotators and self.overlap > len(self.annotators):
            raise UserError(f"--overlap {self.overlap:g} is more than the {len(self.annotators)} annotators")
        parse_lease(self.lease)

    def target(self, task_key: int) -> int:
        """How many distinct annotators this task should get."""
        if self.overlap == "all":
            return len(self.annotators) if self.annotators else EVERYONE
        overlap = float(self.overlap)
        base = math.floor(overlap)
        return base + (1 if share(task_key) < overlap - base else 0)

    def allowed(self, task: dict[str, Any], key: int, session: str, sessions: list[str],
                state: dict[str, Any]) -> tuple[bool, int]:
        """(may this session take the task, how many annotators it gets), with the recipe's router if any."""
        if self.task_router is None:
            return True, self.target(key)
        chosen = list(dict.fromkeys(self.task_router(task, sessions, state) or []))
        return session in chosen, max(1, len(chosen))
