"""Which output is better, in figures: ``compare-stats`` (a blind A/B comparison) and ``tournament-stats`` (a rated
tournament of prompts and models).

``compare-stats`` reads a dataset's compare answers (``tuiannot compare``, or Prodigy's compare answers imported
with ``db-in``) through :func:`tuiannot.data.compare.compare_judgements` and reports
:func:`tuiannot.metrics.preference.compare_stats`: wins of A and of B, ties, both bad, A's win rate over the
comparisons that preferred one with its 95% Wilson interval, and the exact sign test, over everyone and per
annotator; which files A and B were (the answers' ``_compare``), and what was left out and why.
``tournament-stats`` reports :func:`tuiannot.llm.tournament.tournament_report`: the leaderboard (Glicko-2 rating
+/- 2 deviations, duels, wins, losses, draws), who beat whom (the win matrix), and how sure the order is (each
step's chance that the higher candidate is really the better).

Both print people's tables through :mod:`.show` (fitted to the terminal; figures never cut at 80 columns) and
``--json`` the report itself. Names (annotators, files, candidates: a candidate is named after its prompt file)
are untrusted: one printable line each, in :class:`rich.text.Text`, never read as markup. A dataset without such
answers is a one-line error saying so; an unknown one the storage's own.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Iterable, Iterator

import typer

from ..errors import UserError
from ..recipes.options import DbOpt, JsonOpt
from .program import app

DatasetArg = Annotated[str, typer.Argument(help="The dataset.", metavar="DATASET", show_default=False)]
LEFT_OUT = {"skipped": ("skipped", "skipped"), "tournament duel": ("tournament duel", "tournament duels"),
            "not a comparison": ("answer that is not a comparison", "answers that are not comparisons")}
"""How ``compare-stats`` says each reason of :func:`~tuiannot.data.compare.compare_judgements` (one, several)."""


def p_value(p: float | None) -> str:
    """A test's p: three decimals, ``<0.001`` below that."""
    return "—" if p is None else "<0.001" if p < 0.001 else f"{p:.3f}"


# -- compare-stats ---------------------------------------------------------------------------------------------
def compare_report(answers: Iterable[dict[str, Any]], dataset: str) -> dict[str, Any]:
    """The report ``compare-stats`` prints (``--json``): the figures, the files A and B came from, what was left
    out."""
    from ..data.compare import SYSTEMS, compare_judgements
    from ..metrics.preference import compare_stats

    files: dict[str, Counter[str]] = {s: Counter() for s in SYSTEMS}

    def noted(given: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for answer in given:
            where = answer.get("_compare")
            if isinstance(where, dict) and "_duel" not in answer:
                for system in SYSTEMS:
                    side = where.get(system)
                    if isinstance(side, dict) and isinstance(side.get("source"), str):
                        files[system][side["source"]] += 1
            yield answer

    judgements, left_out = compare_judgements(noted(answers), dataset)
    if not judgements and not left_out["skipped"]:
        duels = left_out["tournament duel"]
        raise UserError(f"dataset {dataset!r} has no compare answers (tuiannot compare stores them)" + (
            f"; its {duels} tournament duel{'s are' if duels != 1 else ' is'} for tuiannot tournament-stats"
            if duels else ""))
    stats = compare_stats(judgements)
    return {"dataset": dataset, "comparisons": len(judgements), "files": {s: sorted(files[s]) for s in SYSTEMS},
            "left_out": dict(sorted(left_out.items())), **stats}


def _files(names: list[str]) -> str:
    from ..sanitize import one_line

    if not names:
        return "?"
    return one_line(names[0], 60) + (f" (and {len(names) - 1} other file{'s' if len(names) > 2 else ''})"
                                     if len(names) > 1 else "")


def print_compare(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.text import Text

    from ..sanitize import one_line
    from .show import figure_column, name_column, percent, plural, print_table, report_table

    console = Console()
    people = report["by_annotator"]
    files = report["files"]
    said = f" (A: {_files(files['A'])}; B: {_files(files['B'])})" if files["A"] or files["B"] else ""
    console.print(Text(f"Dataset {one_line(report['dataset'], 60)!r}: {plural(report['comparisons'], 'comparison')} "
                       f"by {plural(len(people), 'annotator')}{said}."), soft_wrap=True)
    left = report["left_out"]
    if left:
        console.print(Text("Left out: " + ", ".join(f"{n} {LEFT_OUT.get(reason, (reason, reason))[n != 1]}"
                                                    for reason, n in left.items()) + "."), soft_wrap=True)
    table = report_table(name_column("annotator"), *map(figure_column, ("A wins", "B wins", "ties", "both bad",
                                                                        "A's win rate", "95% interval",
                                                                        "sign test p")))
    for name, f in [("(everyone)", report["overall"]), *people.items()]:
        interval = f["interval_a"]
        table.add_row(Text(one_line(name, 80)), str(f["wins_a"]), str(f["wins_b"]), str(f["ties"]),
                      str(f["both_bad"]), percent(f["win_rate_a"]),
                      f"{percent(interval[0])}–{percent(interval[1])}" if interval else "—", p_value(f["sign_test_p"]))
    print_table(console, table)
    overall, alpha = report["overall"], report["alpha"]
    a, b = overall["wins_a"], overall["wins_b"]
    if not overall["decided"]:
        verdict = "No comparison preferred either output yet."
    elif overall["preferred"]:
        verdict = (f"{overall['preferred']} is preferred: A won {a}, B won {b}, sign test p = "
                   f"{p_value(overall['sign_test_p'])} (below {alpha:g}).")
    else:
        verdict = (f"Neither is preferred at the {alpha:g} level: A won {a}, B won {b}, sign test p = "
                   f"{p_value(overall['sign_test_p'])}.")
    console.print(Text(f"{verdict} The win rate and the test count the comparisons that preferred one; ties and "
                       "both bad say nothing about which is better."), soft_wrap=True)


@app.command("compare-stats")
def compare_stats_command(dataset: DatasetArg, as_json: JsonOpt = False, db: DbOpt = None) -> None:
    """A blind comparison's figures: wins of A and B, ties, both bad, A's win rate (95% interval), the sign test;
    per annotator too."""
    from ..storage import connect
    from .show import print_json_or

    with connect(db) as database:
        report = compare_report(database.answers(dataset), dataset)
    print_json_or(report, as_json, print_compare)


# -- tournament-stats ------------------------------------------------------------------------------------------
def print_tournament(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.text import Text

    from ..sanitize import one_line
    from .show import figure_column, name_column, percent, plural, print_table, report_table

    console = Console()
    outcomes = report["by_outcome"]
    left = [f"{n} skipped" if reason == "skipped" else plural(n, "answer") + " that " +
            ("is" if n == 1 else "are") + " not a duel" for reason, n in report["left_out"].items() if n]
    console.print(Text(f"Dataset {one_line(report['dataset'], 60)!r}: {plural(report['duels'], 'duel')} "
                       f"({outcomes['decided']} decided, {plural(outcomes['tie'], 'tie')}, {outcomes['both-bad']} "
                       f"both bad){'; left out: ' + ', '.join(left) if left else ''}."), soft_wrap=True)
    board = report_table(figure_column("#"), name_column("candidate"),
                         *map(figure_column, ("rating", "± 2 dev.", "duels", "wins", "losses", "draws")),
                         title="Leaderboard (Glicko-2: the true rating is within ± 2 deviations, about 95% sure)")
    for place, row in enumerate(report["leaderboard"], 1):
        board.add_row(str(place), Text(one_line(row["name"], 80)), f"{row['rating']:.0f}",
                      f"± {2 * row['deviation']:.0f}", str(row["duels"]), str(row["wins"]), str(row["losses"]),
                      str(row["draws"]))
    print_table(console, board)
    names, wins = report["matrix"]["candidates"], report["matrix"]["wins"]
    if len(names) > 1:
        matrix = report_table(name_column("candidate"), *map(figure_column, (str(i) for i in range(1, len(names) + 1))),
                              title="Wins: how often the row's candidate beat the column's")
        for i, (name, row) in enumerate(zip(names, wins, strict=True), 1):
            matrix.add_row(Text(f"{i} {one_line(name, 80)}"),
                           *("—" if i == j else str(n) for j, n in enumerate(row, 1)))
        print_table(console, matrix)
    confidence = report["confidence"]
    if confidence["pairs"]:
        console.print(Text("How sure the order is (the chance that each is really better than the next):",
                           style="bold"), soft_wrap=True)
        for pair in confidence["pairs"]:
            console.print(Text(f"  {one_line(pair['higher'], 60)} > {one_line(pair['lower'], 60)}: "
                               f"{percent(pair['probability'])}"), soft_wrap=True)
        console.print(Text(f"The whole order: each step at least {percent(confidence['min'])} sure (more duels make "
                           "it surer)."), soft_wrap=True)


@app.command("tournament-stats")
def tournament_stats_command(dataset: DatasetArg, as_json: JsonOpt = False, db: DbOpt = None) -> None:
    """A tournament's leaderboard (rating ± 2 deviations, duels, wins), who beat whom, and how sure the order is."""
    from ..llm.tournament import tournament_report
    from ..storage import connect
    from .show import print_json_or

    with connect(db) as database:
        report = tournament_report(database.answers(dataset), dataset)
    if not report["duels"] and not report["left_out"]["skipped"]:
        raise UserError(f"dataset {dataset!r} has no tournament duels (tuiannot tournament stores them)")
    print_json_or({"dataset": dataset, **report}, as_json, print_tournament)
