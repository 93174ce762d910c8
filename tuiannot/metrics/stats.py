"""What has been annotated, by whom, how fast: reports built from storage aggregates.

The backend computes the heavy aggregates in SQL (:class:`DatasetCounts`);
these functions turn them into the figures ``tuiannot stats`` shows:

* answers per hour: ``3600 * answers / time spent``, where the time spent on
  one task (from showing it to answering it) counts at most
  :data:`~tuiannot.storage.base.IDLE_CAP_SECONDS` (a break is not work);
* median seconds per task: the median of those times (uncapped).

Rows stored before fields were checked on the way in may hold anything a REAL column can: a time of 1e308 s,
or infinity. A figure that is no number is None (``null`` in ``--json``), never ``Infinity`` or ``NaN``, which
strict JSON readers refuse; a huge one stays the number it is (:mod:`tuiannot.cli.show` says it briefly).
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from ..storage.base import DatasetCounts, SessionCounts
from ..tasks import ANSWERS


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    try:
        return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    except (OverflowError, ValueError, OSError):  # a row stored before timestamps were checked on the way in
        return None


def figure(value: float | None, digits: int) -> float | None:
    """``value`` rounded, or None where it is no number (infinity, NaN: from old rows)."""
    return round(value, digits) if value is not None and math.isfinite(value) else None


def per_hour(answers: int, seconds: float) -> float | None:
    return figure(3600.0 * answers / seconds, 1) if seconds > 0 else None


def _answers(by_answer: dict[str, int]) -> dict[str, int]:
    return {a: by_answer.get(a, 0) for a in ANSWERS}


def _session(s: SessionCounts) -> dict[str, Any]:
    return {
        "answers": s.answers, "by_answer": _answers(s.by_answer), "first": iso(s.first), "last": iso(s.last),
        "answers_per_hour": per_hour(s.timed, s.seconds_total),
        "median_seconds": figure(s.median_seconds, 3),
    }


def dataset_report(counts: DatasetCounts) -> dict[str, Any]:
    """The figures for one dataset, as plain JSON-ready data."""
    by_label: dict[str, dict[str, int]] = {}
    for answer, labels, n in counts.by_labels:
        for label in labels:
            row = by_label.setdefault(label, {a: 0 for a in ANSWERS})
            row[answer] = row.get(answer, 0) + n
    timed = sum(s.timed for s in counts.sessions.values())
    seconds = sum(s.seconds_total for s in counts.sessions.values())
    return {
        "dataset": counts.name,
        "answers": counts.answers,
        "tasks": counts.tasks,
        "inputs": counts.inputs,
        "by_answer": _answers(counts.by_answer),
        "by_label": dict(sorted(by_label.items())),
        "by_session": {name: _session(s) for name, s in sorted(counts.sessions.items())},
        "sessions": len(counts.sessions),
        "first": iso(counts.first),
        "last": iso(counts.last),
        "answers_per_hour": per_hour(timed, seconds),
        "median_seconds": figure(counts.median_seconds, 3),
    }


def overview_report(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per dataset: answers, sessions, first and last answer."""
    return [{"dataset": r["dataset"], "answers": r["answers"], "sessions": r["sessions"],
             "first": iso(r["first"]), "last": iso(r["last"])} for r in rows]
