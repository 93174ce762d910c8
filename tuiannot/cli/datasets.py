"""The lead's commands on datasets: ``stats``, ``db-out`` (every export format), ``db-in`` and ``drop``.

Exports are written through :func:`tuiannot.data.files.output_file` (a half-written
file never replaces a good one; a FIFO, device or symlink is written in place) or to
standard output; what a format cannot hold
is counted and named in warnings by :mod:`tuiannot.data.export`. An unknown dataset
is the storage's own one-line error (:class:`~tuiannot.storage.UnknownDataset`),
naming the database, so no command checks first. ``db-out --flagged`` reads the
database through :class:`tuiannot.data.export.FlaggedOnly` (every format);
``stats`` adds the flagged and commented answers (the storage's running totals).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from ..data.files import output_file
from ..errors import UserError
from ..recipes.options import DbOpt, JsonOpt, TokenizerLangOpt
from ..tasks import ANSWERS, INPUT_KEYS, answer_problem, is_hash
from .program import app

if TYPE_CHECKING:
    from ..data.export import SftFields


@app.command("stats")
def stats(
    dataset: Annotated[Optional[str], typer.Argument(help="A dataset; without one, every dataset.",
                                                     show_default=False)] = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """What has been annotated, by whom, and how fast."""
    from ..metrics import dataset_report, overview_report
    from ..storage import connect

    with connect(db) as database:
        if dataset is None:
            report: Any = {"database": database.location, "datasets": overview_report(database.overview())}
        else:
            report = {"database": database.location, **dataset_report(database.dataset_counts(dataset))}
            _add_flags(report, database.flag_counts(dataset))
    from .show import print_dataset, print_json, print_overview

    if as_json:
        print_json(report)
        return

    (print_overview if dataset is None else print_dataset)(report)


def _add_flags(report: dict[str, Any], flags: dict[str, dict[str, int]]) -> None:
    """``stats``' flagged and commented answers (the storage's running totals): in all, and per session."""
    report["flagged"] = sum(f["flagged"] for f in flags.values())
    report["commented"] = sum(f["commented"] for f in flags.values())
    for name, session in report["by_session"].items():
        session["flagged"] = flags.get(name, {}).get("flagged", 0)
        session["commented"] = flags.get(name, {}).get("commented", 0)


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
        "folder per label with the images (OUTPUT is the folder). sft: chat JSONL {messages: [user: the prompt, "
        "assistant: the corrected reply]} from feedback answers, as TRL's SFT trainer reads it. preference: JSONL "
        "{prompt, chosen, rejected} pairs from compare, tournament, rank (and feedback ranking) answers, as TRL's DPO "
        "trainer reads it; every pair a ranking implies, ties left out and counted. parquet: the stored answers as "
        "a table (a column per task field; objects, arrays and mixed values as JSON text), for pandas, Polars or "
        "DuckDB (needs the parquet extra).",
        metavar="jsonl|spacy|conll|doccano|label-studio|coco|folders|sft|preference|parquet")] = "jsonl",
    answer: Annotated[Optional[str], typer.Option(
        "--answer", help="Only answers of this kind: accept, reject or ignore. Default: all for jsonl and parquet; "
        "accepted "
        "answers and rejected yes/no questions (the label does not apply) for spacy; all for preference (a skip, "
        "a tie or both bad gives no pair, and is counted); accepted answers for the other formats.",
        show_default=False)] = None,
    lang: TokenizerLangOpt = "en",
    prompt_field: Annotated[Optional[str], typer.Option(
        "--prompt-field", help="With --format sft: the task field holding the prompt. Default: prompt.",
        show_default=False)] = None,
    response_question: Annotated[Optional[str], typer.Option(
        "--response-question", help="With --format sft: the text question whose answer is the reply. Default: "
        "the first text question; an answer without one gives the task's response.", show_default=False)] = None,
    flagged: Annotated[bool, typer.Option(
        "--flagged", help="Only the answers annotators flagged (f while annotating: \"_flagged\": true), in any "
        "format.")] = False,
    db: DbOpt = None,
) -> None:
    """Export a dataset's answers: Prodigy-compatible JSONL, or a training format.

    A span a format cannot represent (not on token boundaries, overlapping in IOB, bad offsets) is reported
    as a warning naming the answer's line in the JSONL export, and counted in the summary.
    """
    from ..data.export import FORMATS
    from ..storage import connect

    if answer is not None and answer not in ANSWERS:
        raise typer.BadParameter(f"{answer!r} is not one of accept, reject, ignore", param_hint="--answer")
    if fmt != "sft" and (prompt_field is not None or response_question is not None):
        raise typer.BadParameter("goes with --format sft only",
                                 param_hint="--prompt-field" if prompt_field is not None else "--response-question")
    if fmt in ("coco", "folders"):
        _export_images(dataset, output, fmt, answer, db, flagged)
        return
    if fmt == "parquet":
        _export_parquet(dataset, output, answer, db, flagged)
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
        if flagged:
            from ..data.export import FlaggedOnly

            database = FlaggedOnly(database)  # type: ignore[assignment]
        if fmt != "jsonl":
            from ..data.export import SftFields

            sft = SftFields(prompt_field or "prompt", response_question)
            _export_format(database, dataset, output, fmt, answer, lang, sft)
            return
        rows = database.answers_json(dataset, answer)
        if to_stdout:
            try:
                write = sys.stdout.write
                buffer: list[str] = []
                for content in rows:
                    buffer.append(content)
                    if len(buffer) == 5_000:
                        # may reach a terminal: controls as \uXXXX escapes (the same JSON values), looked for
                        # once a chunk, not once a row (the newlines between records are left alone)
                        write(_terminal_safe("\n".join(buffer)) + "\n")
                        buffer.clear()
                if buffer:
                    write(_terminal_safe("\n".join(buffer)) + "\n")
                sys.stdout.flush()
            except BrokenPipeError:  # `db-out ds | head`: the reader has what it wanted
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except OSError as e:  # `> /dev/full`, a full disk
                _stdout_failed(e)
            return
        assert output is not None
        total = database.count_answers(dataset)
        count = _write_atomically(output, rows, total)
    from ..sanitize import one_line
    from .show import plural, shown_path

    print(f"Exported {plural(count, 'answer')} from {one_line(dataset)!r} to {shown_path(output)}", file=sys.stderr)


_ASCII_CONTROLS = dict.fromkeys([*range(0x0a), *range(0x0b, 0x20), 0x7f])
"""The ASCII characters :func:`tuiannot.sanitize.escape_json` escapes (the C0 controls but the newline, DEL)."""


def _terminal_safe(text: str) -> str:
    """:func:`~tuiannot.sanitize.escape_json` of a chunk of stored answers, with a fast way for the common case:
    ASCII text (a flag Python keeps) without controls (one pass in C) is returned as it is. The escaping's
    regular expression costs 5 µs an answer: more than the rest of an export to a pipe."""
    if text.isascii() and len(text.translate(_ASCII_CONTROLS)) == len(text):
        return text
    from ..sanitize import escape_json

    return escape_json(text)


def _stdout_failed(e: OSError) -> None:
    """Writing to standard output failed: one line, and nothing more written to it at exit."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise UserError(f"standard output: cannot write ({e.strerror or e}); the export is incomplete") from None


def _export_format(database: Any, dataset: str, output: Optional[Path], fmt: str, answer: Optional[str],
                   lang: str, sft: SftFields | None = None) -> None:
    """db-out in a training format (spacy, conll, doccano, label-studio, sft), with a progress bar on stderr."""
    from rich.progress import Progress

    from ..data.answers import Problems
    from ..data.export import export
    from ..nlp.load import blank
    from .show import stderr_console

    if fmt in ("spacy", "conll"):
        blank(lang)  # an unknown language fails before anything is written
    total = database.count_answers(dataset)
    to_stdout = output is None or str(output) == "-"
    console = stderr_console()
    with Progress(transient=True, disable=total < 2_000 or not console.is_terminal, console=console) as bar:
        job = bar.add_task(f"Exporting ({fmt})", total=total)

        def advance(n: int) -> None:
            if n % 500 == 0:
                bar.update(job, completed=n)

        problems = Problems()
        if to_stdout:
            out = _TerminalSafe(sys.stdout, fmt)
            try:
                summary = export(database, dataset, fmt, out, answer=answer, lang=lang, problems=problems,
                                 advance=advance, sft=sft)
                sys.stdout.flush()
            except BrokenPipeError:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return
            except OSError as e:  # `> /dev/full`, a full disk
                _stdout_failed(e)
        else:
            assert output is not None
            with output_file(output, binary=fmt == "spacy") as f:
                summary = export(database, dataset, fmt, f, answer=answer, lang=lang, problems=problems,
                                 advance=advance, sft=sft)
    from ..sanitize import one_line
    from .show import shown_path

    left_out = ", ".join(f"{n} {reason}" for reason, n in sorted(summary.left_out.items()))
    not_shown = problems.summary()
    print(f"Exported {summary.records} record{'s' if summary.records != 1 else ''} ({fmt}) from "
          f"{one_line(dataset)!r} to {'standard output' if to_stdout else shown_path(output)}"
          f"{'; not included: ' + left_out + ' answers (choose with --answer)' if left_out else ''}"
          f"{'; ' + ', '.join(not_shown) + ' (warnings above)' if not_shown else ''}.", file=sys.stderr)
    if to_stdout and out.replaced:
        from .show import plural, warn

        warn(f"standard output: {plural(out.replaced, 'character')} a terminal would act on or not show (controls, "
             "bidi, invisible) written as stand-ins (␛, �); give OUTPUT for the exact text")


class _TerminalSafe:
    """Standard output for a training format, which may be a terminal. The JSON formats (doccano, label-studio,
    sft) go through :func:`_terminal_safe`: the same JSON values. CoNLL has no escapes: on a terminal every
    character :func:`~tuiannot.sanitize.printable` replaces but its tabs and newlines (columns and rows; a token
    holds neither, whitespace in one is written as _) becomes its stand-in, counted in ``replaced``; to a pipe or a
    file (``> train.conll``) it is written exactly, as training data must be."""

    def __init__(self, out: Any, fmt: str) -> None:
        self.out, self.replaced = out, 0
        self.conll = fmt == "conll"
        self.terminal = bool(getattr(out, "isatty", lambda: False)())

    def write(self, text: str) -> int:
        if not self.conll:
            return self.out.write(_terminal_safe(text))
        if not self.terminal:
            return self.out.write(text)
        from ..sanitize import printable

        shown = "\n".join("\t".join(map(printable, line.split("\t"))) for line in text.split("\n"))
        self.replaced += sum(a != b for a, b in zip(text, shown, strict=True))
        return self.out.write(shown)


def _export_images(dataset: str, output: Optional[Path], fmt: str, answer: Optional[str], db: Optional[str],
                   flagged: bool = False) -> None:
    from ..data.export import FlaggedOnly
    from ..images.export import to_coco, to_folders
    from ..sanitize import json_text, one_line
    from ..storage import connect
    from .show import plural, shown_path

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
        answers = (FlaggedOnly(database) if flagged else database).answers(dataset, answer=answer)
        if fmt == "coco":
            coco = to_coco(answers, answer=answer or "accept", warn=warn)
            text = json_text(coco, indent=1)  # category names are labels: no raw controls, the same JSON
            if output is None or str(output) == "-":
                print(text)
            else:
                with output_file(output) as f:
                    f.write(text)
            boxes = plural(len(coco["annotations"]), "box", "boxes")
            print(f"Exported {plural(len(coco['images']), 'image')}, {boxes}, "
                  f"{plural(len(coco['categories']), 'category', 'categories')} (coco) from {one_line(dataset)!r}"
                  f"{'; ' + plural(len(warnings), 'problem') + ' (warnings above)' if warnings else ''}.",
                  file=sys.stderr)
            return
        assert output is not None
        counts = to_folders(answers, output, rejected=answer == "reject", warn=warn)
    total = sum(counts.values())
    print(f"Exported {plural(total, 'image')} into {plural(len(counts), 'label folder')} under {shown_path(output)}"
          f"{': ' + ', '.join(f'{one_line(k, 60)} {v}' for k, v in sorted(counts.items())) if counts else ''}"
          f"{'; ' + plural(len(warnings), 'problem') + ' (warnings above)' if warnings else ''}.", file=sys.stderr)


def _export_parquet(dataset: str, output: Optional[Path], answer: Optional[str], db: Optional[str],
                    flagged: bool = False) -> None:
    """db-out --format parquet (:mod:`tuiannot.data.parquet`): written beside OUTPUT, moved over it when complete."""
    import json

    from ..data.export import FlaggedOnly
    from ..data.parquet import export_answers, pyarrow_parquet
    from ..sanitize import one_line
    from ..storage import connect
    from .show import plural, shown_path

    if output is None or str(output) == "-":
        raise typer.BadParameter("--format parquet writes a binary file: give OUTPUT, e.g. answers.parquet",
                                 param_hint="OUTPUT")
    pyarrow_parquet("db-out --format parquet")  # not installed: said before anything is read or written
    with connect(db) as database:
        source = FlaggedOnly(database) if flagged else database
        with output_file(output, binary=True) as f:
            rows, columns = export_answers(f, lambda: (json.loads(a) for a in source.answers_json(dataset, answer)))
    print(f"Exported {plural(rows, 'answer')} ({plural(columns, 'column')}, parquet) from {one_line(dataset)!r} to "
          f"{shown_path(output)}", file=sys.stderr)


def _write_atomically(output: Path, rows: Any, total: int) -> int:
    from rich.progress import Progress

    from .show import stderr_console

    count = 0
    with output_file(output) as f:
        with Progress(transient=True, disable=total < 50_000, console=stderr_console()) as bar:
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


def _check_answer_record(task: Any) -> str | None:
    if not isinstance(task, dict):
        return "expected a JSON object"
    if not any(k in task for k in INPUT_KEYS) and not is_hash(task.get("_input_hash")):
        return f"no input field ({', '.join(INPUT_KEYS)}) and no _input_hash"
    return answer_problem({**task, "answer": task.get("answer", "accept")})


@app.command("db-in")
def db_in(
    dataset: Annotated[str, typer.Argument(help="Dataset to import into (created if new).", show_default=False)],
    file: Annotated[Path, typer.Argument(help="The annotations: Prodigy JSONL, or another tool's export (see "
                                              "--format); - reads standard input.", show_default=False)],
    fmt: Annotated[Optional[str], typer.Option(
        "--format", help="What FILE is: prodigy (JSONL of tasks, as db-out writes), label-studio (a JSON export), "
        "doccano (JSONL of spans or labels), spacy (a .spacy DocBin, or JSONL with cats), conll (token<TAB>tag "
        "lines). Default: told from the file (prodigy for standard input).",
        metavar="prodigy|label-studio|doccano|spacy|conll", show_default=False)] = None,
    answer: Annotated[str, typer.Option("--answer", help="Answer for records that have none.")] = "accept",
    strict: Annotated[bool, typer.Option(
        "--strict", help="Import nothing if any record is invalid, or if anything of a record would be left out "
                         "(a span, a relation, an annotation: data lost). Default: import the valid records and "
                         "name each invalid one and each left-out part (file:line: reason), as annotating does.")
    ] = False,
    lang: TokenizerLangOpt = "en",
    db: DbOpt = None,
) -> None:
    """Import annotations into a dataset: Prodigy JSONL, or a Label Studio, doccano, spaCy or CoNLL export.

    Other tools' exports become stored answers with spans, relations or labels (what db-out --format writes
    reads back the same); Prodigy's compare answers (with a mapping) become compare answers. Every record is
    checked on the way in (the answer, hashes, timestamps, types): an invalid one is reported as file:line: reason
    and skipped; a record imported with a part left out (a span off the tokens, a relation naming no entity) is
    reported and counted apart, as imported with a note. With --strict either stops the import and nothing is
    imported. A file in which nothing could be read is an error, never an empty success, and leaves no new empty
    dataset behind. An import is all or nothing (Ctrl-C or a crash leaves nothing), and annotators keep working
    while it runs.
    """
    from collections import Counter

    from ..errors import InvalidRecord
    from ..sources import Source
    from ..storage import DatasetInUse, connect
    from ..stream import Stream

    from ..sanitize import blank, one_line
    from .show import plural, shown_path, warn

    if answer not in ANSWERS:
        raise typer.BadParameter(f"{answer!r} is not one of accept, reject, ignore", param_hint="--answer")
    if blank(dataset):
        raise UserError(f"the dataset name {one_line(dataset)!r} is blank: name the dataset to import into")

    from ..data.imports import FORMATS, detect, from_prodigy, read

    if fmt is not None and fmt not in FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not one of {', '.join(FORMATS)}", param_hint="--format")
    chosen = fmt or "prodigy"  # a pipe or standard input is read once: Prodigy JSONL unless --format says
    if fmt is None and file.is_file():
        try:
            chosen = detect(file)
        except UserError:  # no other tool's shape: read as Prodigy JSONL, which names each record it cannot use
            chosen = "prodigy"
    kinds: Counter[str] = Counter()
    skipped: list[str] = []  # what other formats' readers left out, file:line: reason
    taken: set[str] = set()  # the items (line, "document N") that gave an answer: their warnings are notes
    stream: Stream | None = None
    name = "<stdin>" if str(file) == "-" else str(file)

    def take(task: dict[str, Any]) -> dict[str, Any]:
        task.setdefault("answer", answer)
        kinds[task["answer"]] += 1
        return task

    def item(message: str) -> str:  # "FILE:ITEM: reason" → ITEM
        return message[len(name) + 1:].split(": ", 1)[0]

    def checked(task: Any) -> str | None:  # a Prodigy compare answer in tuiannot's shape before it is checked
        try:
            converted = from_prodigy(task)
        except ValueError as e:
            return str(e)
        if converted is not task:  # the stream goes on with this very object
            task.clear()
            task.update(converted)
        return _check_answer_record(task)

    def left_out(message: str) -> None:
        if strict:
            raise UserError(f"{message} (--strict: nothing was imported)")
        skipped.append(message)

    def tasks() -> Any:
        if stream is not None:  # Prodigy JSONL: the sources' reader (pipes, poison records, file:line warnings)
            yield from (take(task) for task in stream)
            return
        for line, task in read(file, chosen, lang=lang, warn=left_out):
            problem = _check_answer_record(task)
            if problem is not None:
                left_out(f"{name}:{line}: {problem}")
                continue
            taken.update((str(line), f"document {line}"))  # (a DocBin's warnings name the document)
            yield take(task)

    if chosen == "prodigy":
        stream = Stream(Source(file, loader="jsonl", validate=checked))
        stream.strict = strict

    with connect(db) as database:
        existed, failed = database.has_dataset(dataset), True
        try:
            count = database.add_answers(dataset, tasks())
            warnings = list(stream.warnings) if stream is not None else skipped
            noted = sorted({item(w) for w in skipped if item(w) in taken}) if stream is None else []
            invalid = stream.invalid if stream is not None else len({item(w) for w in skipped} - set(noted))
            failed = count == 0 and invalid > 0  # "nothing imported", below
        except KeyboardInterrupt:
            print(f"Interrupted: nothing was imported into {one_line(dataset)!r}.", file=sys.stderr)
            raise typer.Exit(130) from None
        except InvalidRecord as e:
            raise UserError(f"{e} (--strict: nothing was imported)") from None
        finally:  # a failed import leaves no dataset it made behind (stats would show it, with 0 answers)
            if failed and not existed and database.has_dataset(dataset) and database.count_answers(dataset) == 0:
                try:
                    database.drop_dataset(dataset, only_if_idle=True)
                except DatasetInUse:  # someone started work on it meanwhile: theirs now
                    pass
        location = database.location
    if count == 0 and invalid:  # never an empty success
        raise UserError(f"nothing imported: none of the {plural(invalid, 'record')} could be read (the first: "
                        f"{one_line(warnings[0], 300) if warnings else '?'}); if FILE is another tool's export, "
                        "pass --format (prodigy, label-studio, doccano, spacy, conll)")
    for warning in warnings[:20]:
        warn(warning)
    if (shown := invalid if stream is not None else len(warnings)) > 20:  # (a record's notes: warnings of its own)
        warn(f"… and {plural(shown - 20, 'more warning' if noted else 'more invalid record')}")
    detail = f" ({', '.join(f'{k} {kinds[k]}' for k in ANSWERS if kinds[k])})" if kinds else ""
    source = "" if chosen == "prodigy" else f" from {chosen}"
    notes = f"; {plural(len(noted), 'record')} imported with a note" if noted else ""
    print(f"Imported {plural(count, 'answer')}{source} into {one_line(dataset)!r}{detail}; "
          f"{plural(invalid, 'invalid record')} skipped{notes}. Database: {shown_path(location)}")


@app.command("drop")
def drop(
    dataset: Annotated[str, typer.Argument(help="The dataset to delete.", show_default=False)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Delete even while annotators are at work on the dataset: each of their sessions ends, "
                        "with a message, at its next answer (which is not saved).")] = False,
    db: DbOpt = None,
) -> None:
    """Delete a dataset and all its answers.

    Refused while annotators are at work on it (sessions that hold tasks, or started or answered in the last 10
    minutes without quitting): the message names them. Ask them to quit first, or pass --force.
    """
    from ..sanitize import one_line
    from ..storage import DatasetInUse, connect
    from .show import plural

    def in_use(e: DatasetInUse) -> UserError:
        return UserError(f"{e}, or pass --force to end their sessions (their next answer is not saved)")

    with connect(db) as database:
        count = database.dataset_counts(dataset).answers  # an unknown dataset: UnknownDataset, before asking
        live = database.live_sessions(dataset)
        if live and not force:
            raise in_use(DatasetInUse(dataset, live))
        if not yes:
            if not sys.stdin.isatty():
                raise UserError("not deleting without confirmation: pass --yes (no terminal to ask)")
            if not typer.confirm(f"Delete dataset {one_line(dataset)!r} and its {plural(count, 'answer')}?",
                                 default=False):
                print("Nothing deleted.", file=sys.stderr)
                raise typer.Exit(1)
        try:  # checked again in the deleting transaction: no session starts or answers in between
            deleted = database.drop_dataset(dataset, only_if_idle=not force)
        except DatasetInUse as e:
            raise in_use(e) from None
    ended = f"; the sessions of {', '.join(s.session for s in live)} end at their next answer" if live else ""
    print(one_line(f"Deleted dataset {dataset!r} ({plural(deleted, 'answer')}){ended}.", 2000))
