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
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..metrics.stats import iso
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
    """A report as ``--json`` prints it: indented JSON on stdout, controls and invisible characters escaped."""
    print(json_text(report, indent=2, default=str))


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
    if failure:
        err(failure)
        return 1
    return 0


# -- stats ------------------------------------------------------------------------------------------
def _t(value: Any) -> Text:
    return Text("—" if value is None else one_line(str(value), 80))


def print_overview(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(Text(f"Database: {shown_path(report['database'])}"), soft_wrap=True)
    if not report["datasets"]:
        console.print("No datasets yet.")
        return
    table = Table("dataset", "answers", "sessions", "first answer", "last answer")
    for row in report["datasets"]:
        table.add_row(_t(row["dataset"]), _t(row["answers"]), _t(row["sessions"]), _t(row["first"]), _t(row["last"]))
    console.print(table)


def print_dataset(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(Text(f"Database: {shown_path(report['database'])}"), soft_wrap=True)
    console.print(Text.assemble("Dataset ", (one_line(report["dataset"]), "bold"),
                                f": {plural(report['answers'], 'answer')} to {plural(report['tasks'], 'question')} "
                                f"about {plural(report['inputs'], 'input')}, "
                                f"by {plural(report['sessions'], 'session')}"))
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


# -- teams ------------------------------------------------------------------------------------------
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
        console.print(Text(f"{one_line(str(name))}: {plural(d.get('items', 0), 'item')}, "
                           f"{plural(d.get('ratings', 0), 'rating')}, "
                           f"{plural(len(d.get('annotators') or []), 'annotator')}; "
                           f"{plural(d.get('items_compared', 0), 'item')} compared, "
                           f"{d.get('items_single_annotator', 0)} with one annotator left out"), soft_wrap=True)
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
    console.print(Text(f"{one_line(str(name))}: spans of {plural(s.get('items', 0), 'item')} by "
                       f"{plural(len(s.get('annotators') or []), 'annotator')}; {s.get('items_compared', 0)} compared"),
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
    console.print(Text(f"{one_line(report['dataset'])}: {plural(report['answers'], 'answer')} to "
                       f"{plural(report['inputs_answered'], 'input')} ({_f(report['annotations_per_input'])} per "
                       f"input); {report['inputs_in_progress']} held by annotators right now"), soft_wrap=True)
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
        table = Table("annotator", "estimated accuracy", title="Dawid-Skene")
        for who, acc in report["annotator_accuracy"].items():
            table.add_row(_f(who), _f(acc))
        console.print(table)


# -- training ---------------------------------------------------------------------------------------
class TrainingDisplay:
    """A Rich progress line on stderr while spaCy trains: epoch, step, loss, score."""

    def __init__(self, kind: str, max_epochs: Optional[int], max_steps: Optional[int]) -> None:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                                 console=stderr_console(), transient=True)
        self.progress.disable = not self.progress.console.is_terminal
        self.by_epochs = bool(max_epochs)
        total = max_epochs if max_epochs else max_steps
        self.job = self.progress.add_task(f"Training {kind}", total=total, status="starting")
        self.steps = 0
        self.epoch = 0
        self.last = ""

    def __enter__(self) -> "TrainingDisplay":
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def step(self, info: Optional[dict[str, Any]]) -> None:
        self.steps += 1
        if info is not None:
            self.epoch = info.get("epoch", self.epoch)
            loss = sum(v for v in (info.get("losses") or {}).values())
            score = info.get("score")
            self.last = f"loss {loss:.2f} · score {score:.3f}" if score is not None else f"loss {loss:.2f}"
        status = f"epoch {self.epoch + 1} · step {self.steps}{' · ' + self.last if self.last else ''}"
        completed = self.epoch if self.by_epochs else self.steps
        self.progress.update(self.job, completed=completed, status=status)


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
