"""Everything the command line shows people: Rich tables, progress, summaries, one-line errors.

The commands compute reports (plain dicts, the same ``--json`` prints) and hand
them here. Untrusted text (dataset, label and session names, file and database
paths, task text, messages that quote them) is made one printable line
(:func:`tuiannot.sanitize.one_line`; a path: :func:`shown_path`) and put in
:class:`rich.text.Text`, so Rich markup in data is shown literally and no escape
sequence, bidirectional control or invisible character reaches the terminal
unmarked. ``--json`` goes through :func:`print_json`, whose JSON escapes those
characters (``\\uXXXX``) and parses to the very values. Progress and warnings
(:func:`warn`) go to stderr, so that stdout stays clean for ``--json`` and for
pipes. Counts are said with :func:`plural`. Rich honours ``NO_COLOR``.

Figures are said as people read them; ``--json`` keeps the report's own values. Rates per hour are whole
numbers (one decimal under 10), seconds have one decimal, proportions (percent agreement, F, gold accuracy,
a share) are percentages, chance-corrected coefficients (kappa, alpha, AC1) have two decimals, times are
``2023-11-14 22:13`` in UTC. Whatever old rows hold, a figure stays a few characters: a million or more (a
median of 1e308 seconds, a rate from a time of 1e-300 s) is said as ``1e+308``, and what is no number (infinity,
NaN) as ``—``, which ``--json`` writes as ``null`` (strict JSON has no Infinity or NaN). Report tables
(:func:`report_table`, :func:`print_table`) have no frame and are fitted to the terminal: a column narrows to its
longest word (headers and times wrap at spaces), names fold, and no figure, header or date is cut short at 80
columns.
"""

from __future__ import annotations

import math
import sys
from datetime import datetime, timezone
from typing import Any, Callable

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Column, Table
from rich.text import Text

from ..sanitize import json_text, one_line
from ..tasks import ANSWERS


def err(message: str) -> None:
    """An error, one line on stderr (the caller chooses the exit code)."""
    print(f"error: {one_line(message, 2000)}", file=sys.stderr)


def warn(message: str) -> None:
    """A warning, one printable line on stderr (file names and records in it are untrusted)."""
    print(f"warning: {one_line(message, 300)}", file=sys.stderr)


def shown_path(path: Any) -> str:
    """A file or database path, printable and on one line, never shortened (as long as a path can be)."""
    return one_line(str(path), 4096)


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 answer``, ``2 answers``; ``words`` for a plural that is not ``word + "s"``."""
    return f"{count} {word if count == 1 else words or word + 's'}"


def stderr_console() -> Console:
    return Console(stderr=True)


def print_json(report: Any) -> None:
    """A report as ``--json`` prints it: indented JSON on stdout, controls and invisible characters escaped, and a
    figure that is no number (infinity, NaN: old rows) ``null``."""
    print(json_text(_numbers_or_null(report), indent=2, default=str))


def _numbers_or_null(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _numbers_or_null(v) for k, v in value.items()}
    return [_numbers_or_null(v) for v in value] if isinstance(value, (list, tuple)) else value


def print_json_or(report: Any, as_json: bool, show: Callable[[Any], None]) -> None:
    if as_json:
        print_json(report)
    else:
        show(report)


# -- annotating ------------------------------------------------------------------------------------
STRICT_UNNAMED = ("--strict: the source has an invalid record after the last task shown (it was read ahead); "
                  "fix it, or run without --strict to skip invalid records")


def print_summary(summary: Any, failure: str | None, strict: bool = False) -> int:
    """What a session saved (stdout), what it skipped and why it stopped (stderr); return the exit code.

    ``failure`` is why the app stopped, if it did; else the controller's ``summary.error``, if any. Under
    ``--strict`` nothing is skipped: the first invalid record ends the session and is the error (``FILE:LINE:
    reason``), exit code 1; also when the annotator quit before reaching it (read ahead: the source has it), named
    if the controller's summary carries it, else said without its line (:data:`STRICT_UNNAMED`)."""
    failure = failure or summary.error
    counts = ", ".join(f"{k} {summary.by_answer.get(k, 0)}" for k in ANSWERS if summary.by_answer.get(k))
    print(f"Saved {plural(summary.answers, 'answer')} to dataset {one_line(summary.dataset)!r} "
          f"(session {one_line(summary.session)!r}){': ' + counts if counts else ''}.")
    print(f"Database: {shown_path(summary.database)}")
    if strict and summary.invalid:  # nothing skipped: the record named in the error ended the session
        if summary.error and failure == summary.error:
            failure = f"--strict: stopped at an invalid record: {summary.error}"
        failure = failure or STRICT_UNNAMED
    elif summary.invalid:
        shown = list(summary.warnings)[:20]
        print(f"Skipped {plural(summary.invalid, 'invalid record')}{':' if shown else '.'}", file=sys.stderr)
        for warning in shown:
            print(f"  {one_line(warning, 300)}", file=sys.stderr)
        if shown and summary.invalid > len(shown):
            print(f"  … and {summary.invalid - len(shown)} more", file=sys.stderr)
    if summary.exhausted:
        print(one_line(summary.note, 600) if summary.note else "The source has no more tasks.")
    elif summary.note:  # quitting before the end: what the recipe says still counts (where a model was saved)
        print(one_line(summary.note, 600))
    if failure:
        err(failure)
        return 1
    return 0


# -- figures and tables -----------------------------------------------------------------------------
def _shown(value: float | None, form: str) -> str:
    """``value`` in ``form``; a million or more as ``1e+06``, no number (None, infinity, NaN) as ``—``."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.2g}" if abs(value) >= 1e6 else format(value, form)


def rate(value: float | None) -> str:
    """Answers per hour: ``1079``, ``4.5`` (one decimal under 10)."""
    return _shown(value, ".0f" if value is not None and abs(value) >= 10 else ".1f")


def decimal(value: float | None) -> str:
    """Seconds, answers per input: one decimal."""
    return _shown(value, ".1f")


def percent(value: float | None) -> str:
    """A proportion (percent agreement, F, accuracy): ``76.7%``."""
    shown = _shown(None if value is None else 100 * value, ".1f")
    return shown if shown == "—" else shown + "%"


def coefficient(value: float | None) -> str:
    """A chance-corrected coefficient (kappa, alpha, AC1; may be negative): ``0.55``."""
    return _shown(value, ".2f")


def when(value: Any) -> str:
    """A time (ISO text or a Unix timestamp) as ``2023-11-14 22:13``, in UTC (``--json`` has the seconds)."""
    if value is None:
        return "—"
    try:
        moment = (datetime.fromtimestamp(value, tz=timezone.utc) if isinstance(value, (int, float))
                  else datetime.fromisoformat(str(value)))
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, ValueError, OSError):
        return one_line(str(value), 40)


def _t(value: Any) -> Text:
    return Text("—" if value is None else one_line(str(value), 80))


def name_column(header: str) -> Column:
    """A column of names (data): folded when the table is short of room, never cut."""
    return Column(header, overflow="fold")


def figure_column(header: str) -> Column:
    return Column(header, justify="right")


def report_table(*columns: str | Column, title: str | None = None) -> Table:
    """A report's table: a rule under the header, columns two spaces apart, no frame; print it with
    :func:`print_table`."""
    return Table(*columns, title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
                 show_edge=False, pad_edge=False, collapse_padding=True)


GAP = 2  # between the columns of a :func:`report_table`


def print_table(console: Console, shown: Table) -> None:
    """Fit ``shown`` (a :func:`report_table`) to the console's width and print it.

    Rich shrinks the widest columns alike and cuts what no longer fits (``2023-1…``, ``annot…``). Here the
    columns give up room in steps, each the widest first, until the table fits: headers wrap at their spaces,
    then cells do (a time puts its hour under its date), then names fold. A figure is never cut."""
    options = console.options
    spans = []  # per column: (header's longest word, longest cell word, longest cell line, the header's line)
    for column in shown.columns:
        header = Measurement.get(console, options, column.header)
        cells = [Measurement.get(console, options, cell) for cell in column.cells]
        spans.append((header.minimum, max((m.minimum for m in cells), default=0),
                      max((m.maximum for m in cells), default=0), header.maximum))
    widths = [max(cell_line, header_line) for _, _, cell_line, header_line in spans]
    room = console.width - GAP * (len(widths) - 1)
    steps = [[max(header_word, cell_line) for header_word, _, cell_line, _ in spans],  # headers wrap
             [max(header_word, cell_word) for header_word, cell_word, _, _ in spans],  # cells wrap at spaces
             [min(max(header_word, cell_word), max(8, header_word)) if column.overflow == "fold"  # names fold
              else max(header_word, cell_word) for (header_word, cell_word, _, _), column in
              zip(spans, shown.columns, strict=True)]]
    for floors in steps:
        while sum(widths) > room:
            slack = [i for i, (width, floor) in enumerate(zip(widths, floors, strict=True)) if width > floor]
            if not slack:
                break
            widths[max(slack, key=lambda i: widths[i])] -= 1
    for column, width in zip(shown.columns, widths, strict=True):
        column.width = width
    console.print(shown)


# -- stats ------------------------------------------------------------------------------------------
def print_overview(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(Text(f"Database: {shown_path(report['database'])}"), soft_wrap=True)
    if not report["datasets"]:
        console.print("No datasets yet.")
        return
    datasets = report_table(name_column("dataset"), figure_column("answers"), figure_column("sessions"),
                            "first answer (UTC)", "last answer (UTC)")
    for row in report["datasets"]:
        datasets.add_row(_t(row["dataset"]), _t(row["answers"]), _t(row["sessions"]), when(row["first"]),
                         when(row["last"]))
    print_table(console, datasets)


def print_dataset(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(Text(f"Database: {shown_path(report['database'])}"), soft_wrap=True)
    console.print(Text.assemble("Dataset ", (one_line(report["dataset"]), "bold"),
                                f": {plural(report['answers'], 'answer')} to {plural(report['tasks'], 'question')} "
                                f"about {plural(report['inputs'], 'input')}, "
                                f"by {plural(report['sessions'], 'session')}"))
    utc = " UTC" if report["first"] else ""
    console.print(Text(f"First {when(report['first'])}{utc}, last {when(report['last'])}{utc}; "
                       f"{rate(report['answers_per_hour'])} answers per hour, "
                       f"median {decimal(report['median_seconds'])} s per task"))
    flagged, commented = report.get("flagged", 0), report.get("commented", 0)
    if flagged or commented:
        console.print(Text(f"{plural(flagged, 'answer')} flagged, {plural(commented, 'answer')} with a comment "
                           "(db-out --flagged exports the flagged ones; review shows both)"))
    answers = report_table("answer", figure_column("count"), title="By answer")
    for a in ANSWERS:
        answers.add_row(a, str(report["by_answer"][a]))
    print_table(console, answers)
    if report["by_label"]:
        labels = report_table(name_column("label"), *map(figure_column, ANSWERS), title="By label")
        for label, row in report["by_label"].items():
            labels.add_row(_t(label), *(str(row.get(a, 0)) for a in ANSWERS))
        print_table(console, labels)
    flags = ("flagged",) if flagged else ()  # a column of its own where there are any
    sessions = report_table(name_column("session"),
                            *map(figure_column, ("answers", *ANSWERS, *flags, "per hour", "median s")),
                            "last answer (UTC)", title="By session")
    for name, s in report["by_session"].items():
        sessions.add_row(_t(name), str(s["answers"]), *(str(s["by_answer"][a]) for a in ANSWERS),
                         *(str(s.get("flagged", 0)) for _ in flags), rate(s["answers_per_hour"]),
                         decimal(s["median_seconds"]), when(s["last"]))
    print_table(console, sessions)


# -- teams ------------------------------------------------------------------------------------------
FIGURES = {"percent_agreement": percent, "cohens_kappa": coefficient, "fleiss_kappa": coefficient,
           "krippendorff_alpha": coefficient, "gwet_ac1": coefficient}


def _f(value: Any) -> str:
    return "—" if value is None else one_line(str(value), 60)


def single_rated(count: int) -> str:
    """What the header says of items rated once: they are compared with nothing, yet Fleiss' kappa and AC1 count
    them in their chance term (the note says which), so they are not "left out"."""
    return f", {count} rated by one annotator only (not compared; see the note)" if count else ""


def print_agreement(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    name = report.get("dataset") or report.get("source")
    if "documents" in report:
        d = report["documents"]
        console.print(Text(f"{one_line(str(name))}: {plural(d.get('items', 0), 'item')}, "
                           f"{plural(d.get('ratings', 0), 'rating')}, "
                           f"{plural(len(d.get('annotators') or []), 'annotator')}; "
                           f"{plural(d.get('items_compared', 0), 'item')} compared"
                           f"{single_rated(d.get('items_single_annotator', 0))}"), soft_wrap=True)
        figures = report_table("measure", figure_column("value"), title="Agreement")
        for key, shown in FIGURES.items():
            if key in d:
                figures.add_row(key.replace("_", " "), shown(d[key]))
        print_table(console, figures)
        pairs = d.get("pairs") or []
        if pairs:
            pair_table = report_table(name_column("annotator"), name_column("annotator"), figure_column("items"),
                                      figure_column("agreement"), figure_column("Cohen's kappa"), title="Pairs")
            for p in pairs[:50]:
                pair_table.add_row(_f(p["a"]), _f(p["b"]), _f(p["items"]), percent(p["percent_agreement"]),
                                   coefficient(p["cohens_kappa"]))
            print_table(console, pair_table)
        for note in d.get("notes") or []:
            console.print(Text(f"note: {one_line(str(note), 200)}", style="yellow"))
        return
    s = report["spans"]
    console.print(Text(f"{one_line(str(name))}: spans of {plural(s.get('items', 0), 'item')} by "
                       f"{plural(len(s.get('annotators') or []), 'annotator')}; {s.get('items_compared', 0)} compared"),
                  soft_wrap=True)
    matches = report_table("match", figure_column("F"), title="Span agreement (pairwise F)")
    matches.add_row("strict (same boundaries and label)", percent(s["strict"].get("f")))
    matches.add_row("lenient (overlapping, same label)", percent(s["lenient"].get("f")))
    print_table(console, matches)
    by_label = s["strict"].get("by_label") or {}
    if by_label:
        labels = report_table(name_column("label"), figure_column("strict F"), figure_column("lenient F"),
                              title="By label")
        for label, row in by_label.items():
            lenient = (s["lenient"].get("by_label") or {}).get(label, {})
            labels.add_row(_f(label), percent(row.get("f")), percent(lenient.get("f")))
        print_table(console, labels)


def print_progress(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(Text(f"{one_line(report['dataset'])}: {plural(report['answers'], 'answer')} to "
                       f"{plural(report['inputs_answered'], 'input')} ("
                       f"{decimal(report['annotations_per_input'])} per input); "
                       f"{report['inputs_in_progress']} held by annotators right now"), soft_wrap=True)
    people = report_table(name_column("annotator"),
                          *map(figure_column, ("answers", "share", "per hour", "median s", "gold", "agreement",
                                               "holding")),
                          "last answer (UTC)", title="Annotators")
    for p in report["annotators"]:
        gold = f"{percent(p['gold_accuracy'])} of {p['gold_answered']}" if p["gold_accuracy"] is not None else "—"
        people.add_row(_f(p["annotator"]), str(p["answers"]), f"{p['share']:.0%}", rate(p["answers_per_hour"]),
                       decimal(p["median_seconds"]), gold, percent(p["agreement_with_others"]), str(p["holding"]),
                       when(p["last"]))
    print_table(console, people)


def print_agreement_by_guidelines(report: dict[str, Any], console: Console | None = None) -> None:
    """``iaa --by-guidelines``: a row per version of the guidelines (the one each answer was given under)."""
    console = console or Console()
    groups = report["by_guidelines"]
    console.print(Text(f"{one_line(report['dataset'])}: agreement by guidelines version "
                       f"({plural(len(groups), 'version')}, in the order first used; an input is compared between "
                       "annotators who last answered it under the same version)"), soft_wrap=True)
    spans = report["kind"] == "spans"
    measures = (("strict F", "lenient F", *(("relation F",) if any("relations" in g for g in groups) else ()))
                if spans else ("agreement", "Fleiss' kappa", "alpha", "AC1"))
    table = report_table(name_column("guidelines"), *map(figure_column, ("answers", "annotators", "compared",
                                                                         *measures)), title="Agreement")
    for g in groups:
        if spans:
            s = g["spans"]
            figures = [percent(s["strict"].get("f")), percent(s["lenient"].get("f"))]
            if len(measures) == 3:
                figures.append(percent(((g.get("relations") or {}).get("strict") or {}).get("f")))
        else:
            s = g["documents"]
            figures = [percent(s.get("percent_agreement")), coefficient(s.get("fleiss_kappa")),
                       coefficient(s.get("krippendorff_alpha")), coefficient(s.get("gwet_ac1"))]
        table.add_row(_f(g["name"]), str(g["answers"]), str(len(g["annotators"])), str(s.get("items_compared", 0)),
                      *figures)
    print_table(console, table)
    console.print(Text("Each version's full figures (pairs, labels): --json.", style="dim"))


def print_progress_by_guidelines(report: dict[str, Any], console: Console | None = None) -> None:
    """``progress --by-guidelines``: the annotators' table per version of the guidelines."""
    from rich.markup import escape

    console = console or Console()
    groups = report["by_guidelines"]
    console.print(Text(f"{one_line(report['dataset'])}: {plural(report['answers'], 'answer')} under "
                       f"{plural(len(groups), 'version')} of the guidelines (in the order first used)"), soft_wrap=True)
    for g in groups:
        people = report_table(name_column("annotator"),
                              *map(figure_column, ("answers", "share", "per hour", "median s", "gold", "agreement")),
                              title=f"Guidelines {escape(one_line(g['name'], 80))}: {plural(g['answers'], 'answer')} "
                                    f"to {plural(g['inputs_answered'], 'input')}")  # (a title's text is markup)
        for p in g["annotators"]:
            gold = f"{percent(p['gold_accuracy'])} of {p['gold_answered']}" if p["gold_accuracy"] is not None else "—"
            people.add_row(_f(p["annotator"]), str(p["answers"]), f"{p['share']:.0%}", rate(p["answers_per_hour"]),
                           decimal(p["median_seconds"]), gold, percent(p["agreement_with_others"]))
        print_table(console, people)


def print_aggregate(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    if "from" in report:
        _print_final(report, console)
        return
    console.print(Text(f"{one_line(report['method'])}: wrote {plural(report['written'], 'final answer')} from "
                       f"{one_line(report['dataset'])!r} to {one_line(report['output'])!r}"), soft_wrap=True)
    if report["ties"]:
        console.print(Text(f"{plural(len(report['ties']), 'tie')} left out (no majority):", style="yellow"))
        for item, labels in list(report["ties"].items())[:20]:
            console.print(Text(f"  input {one_line(item, 40)}: {', '.join(one_line(label, 60) for label in labels)}"),
                          soft_wrap=True)
        if len(report["ties"]) > 20:
            console.print(Text(f"  … and {len(report['ties']) - 20} more (all of them in --json)"))
    if report["annotator_accuracy"]:
        accuracy = report_table(name_column("annotator"), figure_column("estimated accuracy"),
                                title="Dawid-Skene")
        for who, acc in report["annotator_accuracy"].items():
            accuracy.add_row(_f(who), percent(acc))
        print_table(console, accuracy)


def _said(version: dict[str, Any]) -> str:
    """One version of a conflict: its answer and what it marks (spans as ``[start, end) LABEL``)."""
    if "spans" in version:
        marks = ", ".join(f"[{start}, {end}) {one_line(str(label), 40)}" for start, end, label in version["spans"])
    elif "accept" in version:
        marks = ", ".join(one_line(str(label), 40) for label in version["accept"])
    else:
        marks = one_line(str(version.get("label") or ""), 40)
    return " ".join(part for part in (one_line(str(version.get("answer")), 10), marks) if part)


def _print_final(report: dict[str, Any], console: Console) -> None:
    """``aggregate PEOPLE --from MODELS``: where the final answers came from, what is still open, the conflicts."""
    import shlex

    people, models, output = (one_line(report[k]) for k in ("dataset", "from", "output"))
    agree = ("unanimous" if report["min_agree"] == len(report["model_annotators"])
             else f"at least {report['min_agree']} of {len(report['model_annotators'])} alike")
    console.print(Text(f"Wrote {plural(report['written'], 'final answer')} to {output!r} from the people's answers "
                       f"in {people!r} and the model annotators of {models!r} ("
                       f"{', '.join(one_line(m, 60) for m in report['model_annotators'])}; {agree}) "
                       f"over {plural(report['inputs'], 'input')}."), soft_wrap=True)
    where = report_table("inputs", figure_column("count"), title="Final answers")
    where.add_row(Text(f"from people ({one_line(report['method'])} where several differ)"), str(report["from_people"]))
    where.add_row(Text(f"from the models ({agree})"), str(report["from_models"]))
    where.add_row(Text("still open: the models disagree, no person answered"), str(report["still_open"]))
    where.add_row(Text("conflicts: people differ, nothing decides (not written)"), str(report["conflicts"]))
    where.add_row(Text(f"already in {output!r} (kept as they are)"), str(report["already_final"]))
    print_table(console, where)
    if report["still_open"]:
        console.print(Text(f"{plural(report['still_open'], 'input')} still open: annotate with --ask-humans "
                           f"disagree --from {shlex.quote(models)} --dataset {shlex.quote(people)}, then aggregate "
                           "again (their input hashes are in --json)."), soft_wrap=True)
    if report["conflicts"]:
        console.print(Text(f"{plural(report['conflicts'], 'conflict')} (people differ and nothing decides):",
                           style="yellow"))
        for conflict in report["conflict_inputs"][:20]:
            versions = "; ".join(f"{', '.join(one_line(w, 40) for w in v['sessions'])}: {_said(v)}"
                                 for v in conflict["versions"])
            console.print(Text(f"  input {one_line(conflict['input'], 40)} "
                               f"{one_line(str(conflict.get('text') or ''), 60)!r}: {versions}"), soft_wrap=True)
        if report["conflicts"] > 20:
            console.print(Text(f"  … and {report['conflicts'] - 20} more (all of them in --json)"))
        console.print(Text(f"Settle them with: tuiannot review {shlex.quote(people)} --output {shlex.quote(output)} "
                           "--only-conflicts (it skips what the final dataset has), then aggregate again."),
                      soft_wrap=True)
    if report["annotator_accuracy"]:
        accuracy = report_table(name_column("annotator"), figure_column("estimated accuracy"),
                                title="Dawid-Skene (people)")
        for who, acc in report["annotator_accuracy"].items():
            accuracy.add_row(_f(who), percent(acc))
        print_table(console, accuracy)


# -- training ---------------------------------------------------------------------------------------
def corpus_report(corpus: Any) -> None:
    """The counts of a corpus, for people (stdout)."""
    console = Console(soft_wrap=True)
    components = ", ".join(corpus.components)
    console.print(Text(f"Examples: {len(corpus.train)} training, {len(corpus.dev)} evaluation. "
                       f"Components: {components}."))
    if corpus.exclusive is not None:
        console.print(Text(f"Text classification: {one_line(corpus.exclusive_reason, 300)}."))
    table = Table("component", "label", "train", "dev")
    kind_names = {"ner": "ner", "spans": "spancat", "textcat": "textcat"}
    for kind, labels in corpus.labels.items():
        for label, n in labels.items():
            table.add_row(kind_names[kind], Text(one_line(label, 60)), str(n["train"]), str(n["dev"]))
    console.print(table)
    if corpus.left_out:
        console.print(Text("Left out: " + ", ".join(f"{n} {reason}" for reason, n in sorted(corpus.left_out.items()))
                           + f" {'answer' if sum(corpus.left_out.values()) == 1 else 'answers'}."))
    if corpus.conflicts:
        console.print(Text(f"Contradictions: {plural(corpus.conflicts, 'answer')} overruled on "
                           f"{plural(corpus.conflicted_inputs, 'input')} (the latest answer kept; warnings above)."))
    if corpus.problems.spans:
        console.print(Text(f"Spans not represented: {corpus.problems.spans} (warnings above)."))
    for note in corpus.notes:
        console.print(Text(f"Note: {one_line(note, 600)}."))


def print_scores(report: dict[str, Any]) -> None:
    def f(value: Any) -> str:
        return "—" if value is None else f"{value:.3f}"

    console = Console(soft_wrap=True)
    stopped = " (stopped by Ctrl-C: the best model so far)" if report["interrupted"] else ""
    console.print(Text(f"Trained {report['kind']} in {report['seconds']} s ({plural(report['steps'], 'step')})"
                       f"{stopped}. Saved to {shown_path(report['output'])}"))
    scores = report["scores"]
    n_dev = report["examples"]["dev"]
    table = Table("label", "precision", "recall", "F", "support",
                  title=f"Held-out evaluation ({plural(n_dev, 'example')})", title_justify="left")
    for label, s in scores["per_label"].items():
        table.add_row(Text(one_line(label, 60)), f(s["precision"]), f(s["recall"]), f(s["f"]), str(s["support"]))
    if report["kind"] == "textcat":
        console.print(table)
        console.print(Text(f"Accuracy {f(scores['accuracy'])}, macro F {f(scores['macro_f'])} "
                           f"({'exclusive' if scores['exclusive'] else 'multi-label'})."))
    else:
        table.add_row(Text("overall", style="bold"), f(scores["precision"]), f(scores["recall"]), f(scores["f"]),
                      str(sum(s["support"] for s in scores["per_label"].values())))
        console.print(table)
