"""``tuiannot db-migrate SRC DST``: copy a whole project from one database into another (a SQLite file, a
``postgresql://`` URL; either way, or file to file), with a progress bar on stderr and a check at the end.

The copying is :mod:`tuiannot.storage.transfer` (headless): every dataset, answer, replaced version of an answer
(its history), session record, resume checkpoint and cached LLM reply, in batches, and nothing twice when run
again. Here: the command, its progress bar, and the report, one line per dataset (``--json``: the same as JSON).
SRC is only read, and must exist (a path that names no file is refused, not made into an empty database); DST is
created if need be. The exit code is 1 when any dataset does not check out (answers or history rows of SRC
missing from DST, or DST's totals not what its rows hold), after the report says which.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UserError
from ..recipes.options import JsonOpt
from .program import app


def _same(a: str, b: str) -> bool:
    from ..storage import is_url

    if is_url(a) or is_url(b):
        return a == b
    return os.path.realpath(os.path.expanduser(a)) == os.path.realpath(os.path.expanduser(b))


@app.command("db-migrate")
def db_migrate(
    source: Annotated[str, typer.Argument(
        help="The database to copy from: a SQLite file, or a postgresql:// URL.", show_default=False)],
    destination: Annotated[str, typer.Argument(
        help="The database to copy into (made if need be): a SQLite file, or a postgresql:// URL.",
        show_default=False)],
    as_json: JsonOpt = False,
) -> None:
    """Copy every dataset, answer, answer history, session and cached reply from SRC into DST, and check the copy.

    Run it again to finish a copy that was interrupted, or to bring over what was annotated in SRC since: nothing
    is copied twice."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..sanitize import one_line
    from ..storage import connect, is_url, shown_location
    from ..storage.transfer import copy_database
    from .show import print_json, stderr_console

    if not is_url(source) and not Path(source).expanduser().is_file():
        raise UserError(f"{shown_location(source)}: no database file there; SRC is read, never made: give the path of "
                        "an existing database")
    if _same(source, destination):
        raise UserError(f"SRC and DST are the same database ({shown_location(source)}); give another DST")
    console = stderr_console()
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    with connect(source) as src, connect(destination) as dst, Progress(
            *columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        jobs: dict[str, Any] = {}

        def progress(dataset: str, done: int, total: int) -> None:
            if dataset not in jobs:
                jobs[dataset] = bar.add_task(f"{one_line(dataset, 40)}", total=total)
            bar.update(jobs[dataset], completed=done, total=max(total, done))

        results = copy_database(src, dst, progress)
        report = {"source": src.location, "destination": dst.location,
                  "datasets": [r.report() for r in results], "ok": all(r.ok for r in results)}
    if as_json:
        print_json(report)
    else:
        _print_report(report)
    failed = [r for r in results if not r.ok]
    if failed:
        raise UserError(f"{len(failed)} of {len(results)} datasets did not check out "
                        f"({', '.join(repr(one_line(r.dataset, 60)) for r in failed[:5])}): see above")


def _print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.text import Text

    from ..sanitize import one_line
    from .show import plural, shown_path

    console = Console()
    console.print(Text(f"From {shown_path(report['source'])} to {shown_path(report['destination'])}:"),
                  soft_wrap=True)
    for r in report["datasets"]:
        have = "has all of them" if r["missing"] == 0 else f"LACKS {plural(r['missing'], 'answer')} of them"
        own = f" and {plural(r['own'], 'answer')} of its own" if r["own"] else ""
        same = "the same hash" if r["source_hash"] == r["destination_hash"] else "hashes differ"
        totals = "" if r["counted"] == r["destination_answers"] else f"; ITS TOTALS SAY {r['counted']}"
        beside = ", ".join(plural(r[k], w, ws) for k, w, ws in (
            ("sessions", "session record", None), ("checkpoints", "checkpoint", None),
            ("cached_replies", "cached reply", "cached replies")) if r[k])
        console.print(Text(
            f"{'ok' if r['ok'] else 'FAILED'}  {one_line(r['dataset'], 80)}: {plural(r['source_answers'], 'answer')}"
            f" in SRC, {r['copied']} copied now, {r['already']} there before; DST {have}{own} ({same}: "
            f"{r['destination_hash']}){totals}{_history(r)}" + (f"; also copied: {beside}" if beside else "")),
            soft_wrap=True)
    if not report["datasets"]:
        console.print("SRC has no datasets: nothing to copy.")
    elif report["ok"]:
        copied = sum(r["copied"] for r in report["datasets"])
        history = sum(r["history_copied"] for r in report["datasets"])
        console.print(Text(f"Copied {plural(copied, 'answer')}" + (
            f" and {plural(history, 'replaced version')}" if history else "") +
            f"; {plural(len(report['datasets']), 'dataset')} checked: every answer of SRC is in DST."))


def _history(r: dict[str, Any]) -> str:
    """The history part of a dataset's line (nothing when neither side has any)."""
    from .show import plural

    if not r["source_history"] and not r["destination_history"]:
        return ""
    have = "DST has all of them" if r["history_missing"] == 0 else f"DST LACKS {r['history_missing']} of them"
    own = f" and {r['history_own']} of its own" if r["history_own"] else ""
    same = "the same hash" if r["source_history_hash"] == r["destination_history_hash"] else "hashes differ"
    return (f"; history: {plural(r['source_history'], 'replaced version')} in SRC, {r['history_copied']} copied "
            f"now, {r['history_already']} there before; {have}{own} ({same})")
