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

import inspect
import json
import os
import sys
import traceback
import typing
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

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
def run_components(components: Components, db: str | None, session: str | None, strict: bool) -> int:
    """Annotate a recipe's components in the terminal; return the exit code."""
    from .controller import Controller
    from .storage import connect

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserError("annotating needs a terminal (stdin and stdout are not a TTY)")
    database = connect(db)
    controller = Controller(components, database, session, strict=strict).start()
    # Up to 120 frames a second: a key that lands just after a frame need not wait 1/60 s for the next.
    os.environ.setdefault("TEXTUAL_FPS", "120")
    from .screens.app import AnnotationApp

    annotation_app = AnnotationApp(controller)
    try:
        annotation_app.run()
    finally:
        summary = controller.close()
        database.close()
    return _print_summary(summary, annotation_app.failure)


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
        print("The source has no more tasks.")
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
    extra = {"db": DbOption, "session": SessionOption, "strict": StrictOption}
    defaults = {"db": None, "session": None, "strict": False}
    for key, annotation in extra.items():
        if key not in own:
            params.append(inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=defaults[key],
                                            annotation=annotation))

    def command(**kwargs: Any) -> None:
        runner = {k: kwargs.pop(k) for k in list(kwargs) if k in extra and k not in own}
        result = func(**kwargs)
        components = Components.from_value(result, name)
        options = {**{k: kwargs.get(k) for k in extra if k in own}, **runner}
        raise typer.Exit(run_components(components, options.get("db"), options.get("session"),
                                        bool(options.get("strict"))))

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = (func.recipe_meta.get("help") if hasattr(func, "recipe_meta") else None) or func.__doc__
    app.command(name)(command)


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
        help="JSONL file to write. Default: standard output.", show_default=False)] = None,
    answer: Annotated[Optional[str], typer.Option(
        "--answer", help="Only answers of this kind: accept, reject or ignore.", show_default=False)] = None,
    db: DbOption = None,
) -> None:
    """Export a dataset's answers as Prodigy-compatible JSONL."""
    from .storage import connect

    if answer is not None and answer not in ANSWERS:
        raise typer.BadParameter(f"{answer!r} is not one of accept, reject, ignore", param_hint="--answer")
    with connect(db) as database:
        if not database.has_dataset(dataset):
            raise UserError(f"no dataset named {dataset!r} in {database.location}")
        rows = database.answers_json(dataset, answer)
        if output is None or str(output) == "-":
            try:
                write = sys.stdout.write
                for content in rows:
                    write(content + "\n")
                sys.stdout.flush()
            except BrokenPipeError:  # `db-out ds | head`: the reader has what it wanted
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
        total = database.count_answers(dataset)
        count = _write_atomically(output, rows, total)
    print(f"Exported {count} answers from {dataset!r} to {output}", file=sys.stderr)


def _write_atomically(output: Path, rows: Any, total: int) -> int:
    from rich.progress import Progress

    tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    count = 0
    try:
        with open(tmp, "w", encoding="utf-8") as f, Progress(transient=True, disable=total < 50_000,
                                                             console=_stderr_console()) as bar:
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
        os.replace(tmp, output)
    except OSError as e:
        raise UserError(f"{output}: cannot write ({e.strerror})") from None
    finally:
        if tmp.exists():
            tmp.unlink()
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
