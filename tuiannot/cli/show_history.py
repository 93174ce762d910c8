"""What ``tuiannot history`` shows a person (:mod:`.history` computes it): per input, each answer's versions in
the order given, the current one marked ``▶``. Everything that comes from the data (texts, labels, session names,
comments, guidelines versions) is made one printable line (:func:`tuiannot.sanitize.one_line`) inside
:class:`rich.text.Text`, as :mod:`.show` does, so markup and control characters in it are shown, not obeyed.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.style import Style
from rich.text import Text

from ..sanitize import one_line
from .show import plural, shown_path, when

SHOWN_INPUTS = 200
"""Inputs listed at most (all of them in --json)."""


def print_history(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(Text(f"Database: {shown_path(report['database'])}"), soft_wrap=True)
    where = f" for input {report['input']}" if report["input"] is not None else ""
    if not report["history"]:
        console.print(Text(f"No answer of {one_line(report['dataset'])!r} was replaced{where}: every answer is "
                           "the one first given."), soft_wrap=True)
        return
    answers = sum(len(i["answers"]) for i in report["history"])
    console.print(Text(f"Dataset {one_line(report['dataset'])!r}{where}: {plural(answers, 'answer')} replaced on "
                       f"{plural(report['inputs'], 'input')}, {plural(report['replaced'], 'earlier version')} kept "
                       "(▶ the current one)"), soft_wrap=True)
    for shown in report["history"][:SHOWN_INPUTS]:
        text = Text("\n")
        text.append(f"Input {shown['input_hash']}", Style(bold=True))
        if shown["text"]:
            text.append(f"  {one_line(shown['text'], 80)!r}")
        console.print(text, soft_wrap=True)
        for chain in shown["answers"]:
            console.print(Text(f"  answer {chain['answer_id']}", style="dim"))
            for v in chain["versions"]:
                console.print(_version(v), soft_wrap=True)
    if len(report["history"]) > SHOWN_INPUTS:
        console.print(Text(f"… and {len(report['history']) - SHOWN_INPUTS} more inputs (all of them in --json, or "
                           "one with --input HASH)"))


def _version(v: dict[str, Any]) -> Text:
    line = Text("  ")
    line.append(" ▶ " if v["current"] else "   ", Style(bold=True))
    line.append(f"{v['version']}. ")
    line.append(f"{when(v['when'])}  {one_line(v['session'], 40)}  ")
    line.append(one_line(str(v["answer"]), 10).upper(), Style(bold=True))
    if v["what"]:
        line.append(f": {one_line(v['what'], 120)}")
    line.append(f"  guidelines {one_line(v['guidelines_name'], 60)}", Style(dim=v["guidelines"] is None))
    if v["flagged"]:
        line.append("  ⚑ flagged", Style(color="yellow", bold=True))
    if v["comment"]:
        line.append(f"  “{one_line(v['comment'], 200)}”", Style(italic=True))
    if v["current"]:
        line.append("  (current)", Style(dim=True))
    else:
        line.append(f"  replaced {when(v['replaced'])} by {one_line(str(v['replaced_by']), 40)}", Style(dim=True))
    return line
