"""What ``iaa``, ``progress`` and ``aggregate`` show people about a feedback dataset: per question.

The reports are :mod:`tuiannot.team.feedback`'s (what ``--json`` prints); the figures are said as
:mod:`.show` says them (proportions as percentages, coefficients with two decimals) and the tables are its
report tables. Question names, labels, annotator names and task text are untrusted: made one printable line
and put in :class:`rich.text.Text` (a table's title and headers too), never read as markup.
"""

from __future__ import annotations

import shlex
from typing import Any, Callable

from rich.console import Console
from rich.table import Column
from rich.text import Text

from ..sanitize import one_line
from .show import (coefficient, decimal, figure_column, name_column, percent, plural, print_table, rate, report_table,
                   when)

COEFFICIENTS = ("cohens_kappa_quadratic", "kendall_tau")
"""The pairwise measures of :data:`tuiannot.team.feedback.MEASURES` that are coefficients (the others are shares)."""
MEASURE_NAMES = {"cohens_kappa_quadratic": "Cohen's kappa, quadratic weights", "percent_agreement": "same labels",
                 "edit_similarity": "edit similarity", "strict_f": "strict span F", "kendall_tau": "Kendall's tau"}
RULES = {"rating": "median (the lower of two)", "label": "majority", "text": "majority", "span": "majority per span",
         "ranking": "Borda count"}


def _t(value: Any, width: int = 60) -> Text:
    return Text("—" if value is None else one_line(str(value), width))


def _question(q: dict[str, Any]) -> Text:
    """``quality (rating 1-5)``, ``topic (label: billing, technical; several)``: the question as a heading."""
    kind = str(q.get("type"))
    if kind == "rating" and q.get("scale"):
        what = f"rating 1-{q['scale']}"
    elif kind in ("label", "span") and q.get("labels"):
        what = f"{kind}: {', '.join(one_line(str(label), 30) for label in q['labels'])}" + \
            ("; several" if q.get("multiple") else "")
    else:
        what = kind
    return Text.assemble((one_line(str(q.get("name")), 60), "bold"), f" ({one_line(what, 200)})")


def _measure(value: Any, measure: str | None) -> str:
    return coefficient(value) if measure in COEFFICIENTS else percent(value)


# -- iaa ---------------------------------------------------------------------------------------------------------
def print_feedback_agreement(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    said = ", ".join(f"{n} {k}" for k, n in report["answers"].items())
    annotators = report["annotators"]
    console.print(Text(f"{one_line(report['dataset'])}: feedback on {plural(report['inputs'], 'input')} by "
                       f"{plural(len(annotators), 'annotator')} ({', '.join(one_line(a, 40) for a in annotators[:12])}"
                       f"{', …' if len(annotators) > 12 else ''}); answers {said}. Only accepted answers speak to the "
                       "questions."), soft_wrap=True)
    if report.get("gold_left_out"):
        console.print(Text(f"{plural(report['gold_left_out'], 'gold answer')} left out."))
    for q in report["questions"]:
        a = q["agreement"]
        console.print()
        console.print(Text.assemble(_question(q), f": {plural(a.get('items_compared', 0), 'item')} compared, "
                                                  f"{a.get('items_single_annotator', 0)} with one annotator left out"),
                      soft_wrap=True)
        _QUESTION_TABLES.get(str(q.get("type")), _print_labels)(q, a, console)
        for note in a.get("notes") or []:
            console.print(Text(f"note: {one_line(str(note), 200)}", style="yellow"))
    console.print()
    console.print(Text("Each question's pairs of annotators are in --json; tuiannot progress shows each annotator's "
                       "agreement with the others per question."), soft_wrap=True)


def _figures(rows: list[tuple[str, str]], console: Console) -> None:
    table = report_table("measure", figure_column("value"))
    for name, value in rows:
        table.add_row(name, value)
    print_table(console, table)


def _print_rating(q: dict[str, Any], a: dict[str, Any], console: Console) -> None:
    pairs = a.get("cohens_kappa_pairs") or 0
    _figures([("same rating", percent(a.get("percent_agreement"))),
              ("Krippendorff's alpha, ordinal", coefficient(a.get("krippendorff_alpha_ordinal"))),
              ("Krippendorff's alpha, interval", coefficient(a.get("krippendorff_alpha_interval"))),
              ("Gwet's AC2, quadratic weights", coefficient(a.get("gwet_ac2_quadratic"))),
              (f"Cohen's kappa, quadratic weights{f' (mean of {pairs} pairs)' if pairs > 1 else ''}",
               coefficient(a.get("cohens_kappa_quadratic")))], console)
    means = a.get("means") or {}
    if means:
        console.print(Text("mean rating: " + " · ".join(f"{one_line(str(who), 30)} {value:.2f}"
                                                        for who, value in list(means.items())[:20])), soft_wrap=True)


def _print_labels(q: dict[str, Any], a: dict[str, Any], console: Console) -> None:
    rows = [("same label" + (" (mean over the labels)" if a.get("multi_label") else ""),
             percent(a.get("percent_agreement")))]
    if a.get("cohens_kappa") is not None:
        rows.append(("Cohen's kappa", coefficient(a.get("cohens_kappa"))))
    rows += [("Fleiss' kappa", coefficient(a.get("fleiss_kappa"))),
             ("Krippendorff's alpha", coefficient(a.get("krippendorff_alpha"))),
             ("Gwet's AC1", coefficient(a.get("gwet_ac1")))]
    if a.get("multi_label"):
        rows += [("the same set of labels", percent((a.get("exact") or {}).get("percent_agreement"))),
                 ("Jaccard (mean over pairs)", percent(a.get("jaccard"))), ("MASI", percent(a.get("masi"))),
                 ("Krippendorff's alpha, MASI distance", coefficient(a.get("krippendorff_alpha_masi")))]
    _figures(rows, console)
    per_label = a.get("per_label") or {}
    if per_label:
        labels = report_table(name_column("label"), *map(figure_column, ("chosen", "agreement", "Fleiss' kappa",
                                                                         "alpha", "AC1")))
        for label, f in per_label.items():
            labels.add_row(_t(label), str(f.get("yes", 0)), percent(f.get("percent_agreement")),
                           coefficient(f.get("fleiss_kappa")), coefficient(f.get("krippendorff_alpha")),
                           coefficient(f.get("gwet_ac1")))
        print_table(console, labels)


def _print_text(q: dict[str, Any], a: dict[str, Any], console: Console) -> None:
    _figures([("the same text (surrounding spaces aside)", percent(a.get("exact_match"))),
              ("edit similarity (1 - Levenshtein / longer length)", percent(a.get("edit_similarity")))], console)


def _print_spans(q: dict[str, Any], a: dict[str, Any], console: Console) -> None:
    _figures([("strict F (same boundaries and label)", percent((a.get("strict") or {}).get("f"))),
              ("lenient F (overlapping, same label)", percent((a.get("lenient") or {}).get("f")))], console)
    by_label = (a.get("strict") or {}).get("by_label") or {}
    if by_label:
        labels = report_table(name_column("label"), figure_column("strict F"), figure_column("lenient F"))
        for label, row in by_label.items():
            lenient = ((a.get("lenient") or {}).get("by_label") or {}).get(label, {})
            labels.add_row(_t(label), percent(row.get("f")), percent(lenient.get("f")))
        print_table(console, labels)


def _print_ranking(q: dict[str, Any], a: dict[str, Any], console: Console) -> None:
    _figures([("the same order", percent(a.get("exact_match"))),
              ("Kendall's tau (mean over pairs)", coefficient(a.get("kendall_tau"))),
              ("Krippendorff's alpha, ordinal, over the items' places",
               coefficient(a.get("krippendorff_alpha_ordinal")))], console)


_QUESTION_TABLES: dict[str, Callable[[dict[str, Any], dict[str, Any], Console], None]] = {
    "rating": _print_rating, "label": _print_labels, "text": _print_text, "span": _print_spans,
    "ranking": _print_ranking}


# -- progress ----------------------------------------------------------------------------------------------------
def print_feedback_progress(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(Text(f"{one_line(report['dataset'])}: {plural(report['answers'], 'answer')} (feedback) to "
                       f"{plural(report['inputs_answered'], 'input')} ({decimal(report['annotations_per_input'])} per "
                       f"input); {report['inputs_in_progress']} held by annotators right now"), soft_wrap=True)
    people = report_table(name_column("annotator"), *map(figure_column, ("answers", "share", "per hour", "median s",
                                                                         "gold", "holding")),
                          "last answer (UTC)", title="Annotators")
    for p in report["annotators"]:
        people.add_row(_t(p["annotator"]), str(p["answers"]), f"{p['share']:.0%}", rate(p["answers_per_hour"]),
                       decimal(p["median_seconds"]), str(p["gold_answered"]) if p["gold_answered"] else "—",
                       str(p["holding"]), when(p["last"]))
    print_table(console, people)
    questions = report.get("questions") or []
    if not questions:
        return
    columns = [Column(Text(one_line(str(q["name"]), 40)), justify="right") for q in questions]
    table = report_table(name_column("annotator"), *columns, title="Agreement with the others, per question")
    table.add_row(Text("(all pairs)", style="bold"), *(_measure(q["overall"], q["measure"]) for q in questions))
    for p in report["annotators"]:
        who = p["annotator"]
        table.add_row(_t(who), *(_measure(q["by_annotator"].get(who), q["measure"]) for q in questions))
    print_table(console, table)
    console.print(Text("; ".join(f"{one_line(str(q['name']), 40)}: {MEASURE_NAMES.get(q['measure'], q['measure'])}"
                                 for q in questions) + " (each annotator's mean over their pairs). Gold answers are "
                       "counted, not scored, in feedback datasets."), soft_wrap=True)


# -- aggregate ---------------------------------------------------------------------------------------------------
def print_feedback_aggregate(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    dataset, output = one_line(report["dataset"]), one_line(report["output"])
    rejected = f" ({report['rejected']} of them a reject: most rejected the task)" if report["rejected"] else ""
    console.print(Text(f"Wrote {plural(report['written'], 'final answer')} from {dataset!r} to {output!r} over "
                       f"{plural(report['inputs'], 'input')}{rejected}."), soft_wrap=True)
    left = [said for n, said in ((report["conflicts"], f"{plural(report['conflicts'], 'conflict')} (below)"),
                                 (report["already_final"], f"{report['already_final']} already in {output!r} (kept as "
                                                           "they are)"),
                                 (report["only_ignored"], f"{report['only_ignored']} only ignored")) if n]
    if left:
        console.print(Text(f"Not written: {'; '.join(left)}."), soft_wrap=True)
    table = report_table(name_column("question"), "type", "rule", *map(figure_column, ("decided", "unanswered",
                                                                                       "conflicts")),
                         title="Per question (inputs)")
    for q in report["questions"]:
        kind = str(q.get("type"))
        rule = "majority per label" if kind == "label" and q.get("multiple") else RULES.get(kind, "—")
        table.add_row(_t(q["name"]), _t(kind), rule, str(q["decided"]), str(q["unanswered"]), str(q["conflicts"]))
    print_table(console, table)
    if not report["conflicts"]:
        return
    console.print(Text(f"{plural(report['conflicts'], 'conflict')} (nothing decides; not written):", style="yellow"))
    for conflict in report["conflict_inputs"][:20]:
        why = "; ".join(f"{one_line(name, 40)}: {one_line(str(reason), 100)}"
                        for name, reason in conflict["questions"].items())
        console.print(Text(f"  input {one_line(conflict['input'], 40)} "
                           f"{one_line(str(conflict.get('text') or ''), 60)!r}: {why}"), soft_wrap=True)
    if report["conflicts"] > 20:
        console.print(Text(f"  … and {report['conflicts'] - 20} more (all of them in --json)"))
    console.print(Text(f"Settle them with: tuiannot review {shlex.quote(dataset)} --output "
                       f"{shlex.quote(output)} --only-conflicts (it skips what the final dataset has)."),
                  soft_wrap=True)
