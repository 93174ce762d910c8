"""Rich tables for ``tuiannot stats`` (the ``--json`` output carries the same figures)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .sanitize import one_line
from .tasks import ANSWERS


def _t(value: Any) -> Text:
    return Text("—" if value is None else one_line(str(value), 80))


def print_overview(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(Text(f"Database: {report['database']}"), soft_wrap=True)
    if not report["datasets"]:
        console.print("No datasets yet.")
        return
    table = Table("dataset", "answers", "sessions", "first answer", "last answer")
    for row in report["datasets"]:
        table.add_row(_t(row["dataset"]), _t(row["answers"]), _t(row["sessions"]), _t(row["first"]), _t(row["last"]))
    console.print(table)


def print_dataset(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(Text(f"Database: {report['database']}"), soft_wrap=True)
    console.print(Text.assemble("Dataset ", (one_line(report["dataset"]), "bold"),
                                f": {report['answers']} answers to {report['tasks']} questions about "
                                f"{report['inputs']} inputs, by {report['sessions']} sessions"))
    console.print(Text(f"First {report['first'] or '—'}, last {report['last'] or '—'}; "
                       f"{report['answers_per_hour'] or '—'} answers per hour, "
                       f"median {report['median_seconds'] if report['median_seconds'] is not None else '—'} s "
                       f"per task"))
    answers = Table("answer", "count", title="By answer")
    for a in ANSWERS:
        answers.add_row(a, str(report["by_answer"][a]))
    console.print(answers)
    if report["by_label"]:
        labels = Table("label", *ANSWERS, title="By label")
        for label, row in report["by_label"].items():
            labels.add_row(_t(label), *(str(row.get(a, 0)) for a in ANSWERS))
        console.print(labels)
    sessions = Table("session", "answers", *ANSWERS, "per hour", "median s", "last answer", title="By session")
    for name, s in report["by_session"].items():
        sessions.add_row(_t(name), str(s["answers"]), *(str(s["by_answer"][a]) for a in ANSWERS),
                         _t(s["answers_per_hour"]), _t(s["median_seconds"]), _t(s["last"]))
    console.print(sessions)
