"""Rich tables for ``iaa``, ``progress`` and ``aggregate`` (``--json`` carries the same figures)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .metrics.stats import iso
from .sanitize import one_line

FIGURES = ("percent_agreement", "cohens_kappa", "fleiss_kappa", "krippendorff_alpha", "gwet_ac1")


def _f(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    return one_line(str(value), 60)


def print_agreement(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    name = report.get("dataset") or report.get("source")
    if "documents" in report:
        d = report["documents"]
        console.print(Text(f"{one_line(str(name))}: {d.get('items', 0)} items, {d.get('ratings', 0)} ratings, "
                           f"{len(d.get('annotators') or [])} annotators; {d.get('items_compared', 0)} items "
                           f"compared, {d.get('items_single_annotator', 0)} with one annotator left out"),
                      soft_wrap=True)
        table = Table("measure", "value", title="Agreement")
        for key in FIGURES:
            if key in d:
                table.add_row(key.replace("_", " "), _f(d[key]))
        console.print(table)
        pairs = d.get("pairs") or []
        if pairs:
            table = Table("annotator", "annotator", "items", "agreement", "Cohen's kappa", title="Pairs")
            for p in pairs[:50]:
                table.add_row(_f(p["a"]), _f(p["b"]), _f(p["items"]), _f(p["percent_agreement"]),
                              _f(p["cohens_kappa"]))
            console.print(table)
        for note in d.get("notes") or []:
            console.print(Text(f"note: {one_line(str(note), 200)}", style="yellow"))
        return
    s = report["spans"]
    console.print(Text(f"{one_line(str(name))}: spans of {s.get('items', 0)} items by "
                       f"{len(s.get('annotators') or [])} annotators; {s.get('items_compared', 0)} compared"),
                  soft_wrap=True)
    table = Table("match", "F", title="Span agreement (pairwise F)")
    table.add_row("strict (same boundaries and label)", _f(s["strict"].get("f")))
    table.add_row("lenient (overlapping, same label)", _f(s["lenient"].get("f")))
    console.print(table)
    by_label = s["strict"].get("by_label") or {}
    if by_label:
        table = Table("label", "strict F", "lenient F", title="By label")
        for label, row in by_label.items():
            lenient = (s["lenient"].get("by_label") or {}).get(label, {})
            table.add_row(_f(label), _f(row.get("f")), _f(lenient.get("f")))
        console.print(table)


def print_progress(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(Text(f"{one_line(report['dataset'])}: {report['answers']} answers to "
                       f"{report['inputs_answered']} inputs ({_f(report['annotations_per_input'])} per input); "
                       f"{report['inputs_in_progress']} held by annotators right now"), soft_wrap=True)
    table = Table("annotator", "answers", "share", "per hour", "median s", "gold", "agreement", "holding",
                  "last answer", title="Annotators")
    for p in report["annotators"]:
        gold = f"{p['gold_accuracy']:.0%} of {p['gold_answered']}" if p["gold_accuracy"] is not None else "—"
        table.add_row(_f(p["annotator"]), str(p["answers"]), f"{p['share']:.0%}", _f(p["answers_per_hour"]),
                      _f(p["median_seconds"]), gold, _f(p["agreement_with_others"]), str(p["holding"]),
                      iso(p["last"]) or "—")
    console.print(table)


def print_aggregate(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(Text(f"{report['method']}: wrote {report['written']} final answers from "
                       f"{one_line(report['dataset'])!r} to {one_line(report['output'])!r}"), soft_wrap=True)
    if report["ties"]:
        console.print(Text(f"{len(report['ties'])} ties left out (no majority):", style="yellow"))
        for item, labels in list(report["ties"].items())[:20]:
            console.print(Text(f"  input {item}: {', '.join(labels)}"))
    if report["annotator_accuracy"]:
        table = Table("annotator", "estimated accuracy", title="Dawid-Skene")
        for who, acc in report["annotator_accuracy"].items():
            table.add_row(_f(who), _f(acc))
        console.print(table)
