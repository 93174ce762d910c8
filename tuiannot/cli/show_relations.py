"""What ``iaa`` and ``progress`` show people about a dataset of relation answers (``tuiannot rel``).

The reports are :mod:`tuiannot.team.reports`' (what ``--json`` prints): a relation dataset's report is a span
dataset's with a ``relations`` entry. Its spans are shown by :mod:`.show` as any span dataset's, then its
relations: ``iaa`` the strict and lenient precision, recall and F (the mean over the pairs of annotators), per
relation label, and the confusion over the relation labels; ``progress`` a compact table of each annotator's span F
and relation F with the others. Figures are said as :mod:`.show` says them (proportions as percentages) in its
report tables. Labels and annotator names are untrusted: made one printable line and put in
:class:`rich.text.Text` (a table's headers too), never read as markup.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Column
from rich.text import Text

from ..sanitize import one_line
from .show import figure_column, name_column, percent, plural, print_agreement, print_progress, print_table, \
    report_table

MATCHES = {"strict": "strict (the same spans and label)", "lenient": "lenient (overlapping spans, same labels)"}


def _t(value: Any, width: int = 60) -> Text:
    return Text("—" if value is None else one_line(str(value), width))


def print_relation_agreement(report: dict[str, Any], console: Console | None = None) -> None:
    """``iaa`` on a relation dataset: the span agreement, then the relations'."""
    console = console or Console()
    print_agreement(report, console)
    r = report["relations"]
    pairs = r.get("pairs_compared", 0)
    console.print()
    console.print(Text(f"Relations: {plural(r.get('relations', 0), 'relation')} in the accepted answers to "
                       f"{plural(r.get('items', 0), 'item')} by {plural(len(r.get('annotators') or []), 'annotator')}; "
                       f"{plural(r.get('items_compared', 0), 'item')} compared, "
                       f"{r.get('items_single_annotator', 0)} with one annotator left out"), soft_wrap=True)
    if r.get("relations_left_out"):
        console.print(Text(f"{plural(r['relations_left_out'], 'relation')} left out: an end is not one of the "
                           "answer's spans, or no label", style="yellow"), soft_wrap=True)
    if not pairs:
        console.print(Text("No two annotators answered the same item: no relation agreement."))
        return
    figures = report_table("match", *map(figure_column, ("precision", "recall", "F")),
                           title=f"Relation agreement (mean over {plural(pairs, 'pair')} of annotators)")
    for mode, name in MATCHES.items():
        figures.add_row(name, *(percent(r[mode].get(k)) for k in ("precision", "recall", "f")))
    print_table(console, figures)
    labels = r.get("labels") or []
    if not labels:
        console.print(Text("No relations on the items compared."))
        return
    by_label = report_table(name_column("relation"),
                            *map(figure_column, ("strict P", "strict R", "strict F", "lenient P", "lenient R",
                                                 "lenient F")), title="By relation label")
    for label in labels:
        strict = (r["strict"].get("by_label") or {}).get(label) or {}
        lenient = (r["lenient"].get("by_label") or {}).get(label) or {}
        by_label.add_row(_t(label), *(percent(said.get(k)) for said in (strict, lenient)
                                      for k in ("precision", "recall", "f")))
    print_table(console, by_label)
    for mode in ("strict", "lenient"):
        _print_confusion(r["confusion"][mode], mode, console)
    console.print(Text("Of each pair of annotators (names in sorted order): precision is the share of the second's "
                       "relations the first gave too, recall the share of the first's the second gave too; the label "
                       "tables set the first's labels (rows) against the second's (columns) over the same ends, "
                       "(none) where one gave no relation there, summed over the pairs. Each pair is in --json."),
                  soft_wrap=True)


def _print_confusion(matrix: dict[Any, dict[Any, int]], mode: str, console: Console) -> None:
    """The relation label confusion: rows the first annotator's label, columns the second's, summed over pairs."""
    axis = list(matrix)
    columns = [Column(Text(one_line(str(label), 30)), justify="right") for label in axis]
    table = report_table(name_column("first \\ second"), *columns, title=f"Relation labels, {mode}")
    for row in axis:
        table.add_row(_t(row, 30), *(str(matrix[row].get(col, 0)) for col in axis))
    print_table(console, table)


def print_relation_progress(report: dict[str, Any], console: Console | None = None) -> None:
    """``progress`` on a relation dataset: the table of any dataset, then each annotator's span and relation F."""
    console = console or Console()
    print_progress(report, console)
    r = report["relations"]
    table = report_table(name_column("annotator"), figure_column("span F"), figure_column("relation F"),
                         title="Strict F with the others")
    for p in report["annotators"]:
        table.add_row(_t(p["annotator"]), percent(p.get("agreement_with_others")),
                      percent(p.get("relation_agreement_with_others")))
    print_table(console, table)
    console.print(Text(f"Strict relation F, mean over {plural(r.get('pairs_compared', 0), 'pair')} of annotators: "
                       f"{percent(r.get('f'))} (tuiannot iaa has the rest)."), soft_wrap=True)
    if r.get("relations_left_out"):
        console.print(Text(f"{plural(r['relations_left_out'], 'relation')} left out: an end is not one of the "
                           "answer's spans, or no label", style="yellow"), soft_wrap=True)
