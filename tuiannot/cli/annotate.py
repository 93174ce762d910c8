"""Annotating in the terminal: a recipe's function becomes a command, its components run in the app.

:func:`recipe_command` turns a recipe into a Typer command: the function's
parameters are the command's arguments and options, and the runner's own options
(``--db``, ``--session``, ``--strict``, ``--target``, ``--theme``, ``--guidelines``, ``--labels-file`` and the team
options, declared once in :mod:`tuiannot.recipes.options`) are added unless the recipe declares them. The
guidelines and the labels' descriptions are read once, before the recipe reads its source, and reach the screens
and the controller through the components' ``config`` (:mod:`tuiannot.recipes.guidelines`).
:func:`run_components` checks the runner's options (a blank session name, a
``--lease`` out of range: one-line errors, before the terminal is asked for),
connects the components to a controller and the Textual app, and prints the
summary when the annotator quits.
"""

from __future__ import annotations

import inspect
import os
import sys
import time
import typing
from pathlib import Path
from typing import Any, Callable

import typer

from ..components import RECIPE_VIEWS, Components
from ..errors import UserError
from ..recipes.options import (AnnotatorsOpt, DbOpt, GoldOpt, GoldRateOpt, GuidelinesOpt, LabelsFileOpt, LeaseOpt,
                               OverlapOpt, SessionOpt, StrictOpt, TargetOpt, TextColumnOpt, ThemeOpt, THEMES)

START_MARKS: list[tuple[str, float]] = []  # (phase, perf_counter() at its end): TUIANNOT_PROFILE_START=1
START_CPU: dict[float, float] = {}  # perf_counter() of a mark -> process_time() then


def mark(phase: str) -> None:
    """Note the end of a start-up phase (printed on exit under ``TUIANNOT_PROFILE_START=1``)."""
    at = time.perf_counter()
    START_MARKS.append((phase, at))
    START_CPU[at] = time.process_time()


def print_start_profile(first_task_at: float | None) -> None:
    """Where the start went, phase by phase, from the process's start to the first task on screen (stderr):
    the wall time of each phase and, beside it, the CPU time the process spent in it (all its threads: on a
    shared machine the steadier figure)."""
    from .show import stderr_console

    marks = [*START_MARKS, *([("the app: Textual starts, lays out and draws the first task", first_task_at)]
                             if first_task_at is not None else [])]
    now, began = time.perf_counter(), _process_start()
    previous = now - began if began is not None else marks[0][1] if marks else now
    previous_cpu = 0.0  # process_time() counts from the process's start
    lines = ["start-up profile (TUIANNOT_PROFILE_START), ms: wall (CPU)"]
    for phase, at in marks:
        cpu = START_CPU.get(at)
        lines.append(f"  {(at - previous) * 1000:8.1f}  {phase}" + (
            f"  ({(cpu - previous_cpu) * 1000:.1f})" if cpu is not None else ""))
        previous, previous_cpu = at, cpu if cpu is not None else previous_cpu
    if not _bytecode_cached():
        lines.append("  note: no cached bytecode (PYTHONDONTWRITEBYTECODE?): tuiannot was compiled at this start, "
                     "~80 ms of it")
    if marks:
        total = marks[-1][1] - (now - began if began is not None else marks[0][1])
        lines.append(f"  {total * 1000:8.1f}  in all, to the first task on screen")
    stderr_console().print("\n".join(lines), markup=False, highlight=False)


def _bytecode_cached() -> bool:
    """Whether this module's compiled bytecode is kept (where this start found it, or wrote it)."""
    cached = __spec__.cached if __spec__ is not None else None
    return cached is None or os.path.exists(cached)


def _process_start() -> float | None:
    """How long ago this process started (seconds, Linux), so the interpreter's own start counts too."""
    try:
        with open("/proc/self/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def _keymap_given() -> bool:
    """Whether the user has a keymap: a configuration file's (:mod:`tuiannot.recipes.config`) or a keymap file (the path
    :func:`tuiannot.screens.app.load_keymap` reads)."""
    from ..recipes.config import config_keymap

    return config_keymap() is not None or Path(
        os.environ.get("TUIANNOT_KEYMAP") or Path.home() / ".tuiannot" / "keymap.json").is_file()


def _screens(views: list[str], events: dict[str, Any] | None = None) -> Any:
    """Import the screens (Textual and the views) and refuse a keymap that is wrong for ``views`` (an unknown
    binding id, one key for two bindings); the app's class.

    Without a keymap file this runs after the controller started, while its prefetch thread reads the first
    tasks: an image is decoded (Pillow lets go of the GIL) while Textual loads, ~80 ms sooner on the screen.
    With one it runs first, so that a wrong keymap is refused before anything is written into the database; so
    too with a recipe's own keys (``events``, which must not clash with the view's) and with a plugin's view (which
    may fail to import)."""
    from ..recipes.config import config_keymap
    from ..screens import app as app_module
    from ..screens.app import AnnotationApp, events_problem, keymap_problem

    app_module.CONFIG_KEYMAP = config_keymap()  # a configuration file's keymap, for the app to use
    problem = keymap_problem(views) or (events_problem(views[0], events) if events else None)
    if problem is not None:
        raise UserError(problem)
    return AnnotationApp


class SlowStartSpinner:
    """A spinner on stderr ("Starting NAME: reading the source and loading any model…") while a recipe runs, shown
    only if the recipe takes longer than :attr:`DELAY` seconds: loading a model (a sentence encoder: seconds) is
    not a hang, and a recipe that reads its source's start in ~30 ms pays nothing for it (Rich's ``Live``, its
    import, its refresh thread and first paint cost ~6.5 ms of CPU of every start when it was always shown).

    A timer thread starts Rich's ``Live`` after the delay; leaving the block stops it (erased: ``transient``) or
    cancels the timer, under a lock, so the spinner is never left on the screen Textual is about to take. Not
    ``console.status``: it captures stdout, which a user's recipe may print to."""

    DELAY = 0.3

    def __init__(self, name: str, delay: float | None = None) -> None:
        import threading

        self.name, self.delay = name, self.DELAY if delay is None else delay
        self.lock = threading.Lock()
        self.done = False
        self.live: Any = None
        self.timer = threading.Timer(self.delay, self._show)
        self.timer.daemon = True

    def _show(self) -> None:
        from rich.live import Live
        from rich.spinner import Spinner
        from rich.text import Text

        from ..sanitize import one_line
        from .show import stderr_console

        with self.lock:
            if self.done:
                return
            self.live = Live(Spinner("dots", Text(f"Starting {one_line(self.name, 60)}: reading the source and "
                                                  "loading any model…")),
                             console=stderr_console(), transient=True, redirect_stdout=False, redirect_stderr=False)
            self.live.start()

    def __enter__(self) -> SlowStartSpinner:
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.cancel()
        with self.lock:
            self.done = True
            if self.live is not None:
                self.live.stop()


RUNNER_OPTIONS: dict[str, tuple[Any, Any]] = {
    "db": (DbOpt, None), "session": (SessionOpt, None), "strict": (StrictOpt, False),
    "overlap": (OverlapOpt, "1"), "annotators": (AnnotatorsOpt, None), "lease": (LeaseOpt, 300.0),
    "gold": (GoldOpt, None), "gold_rate": (GoldRateOpt, 0.05), "target": (TargetOpt, None),
    "theme": (ThemeOpt, None), "guidelines": (GuidelinesOpt, None), "labels_file": (LabelsFileOpt, None),
    "text_column": (TextColumnOpt, None),
}


def read_guidelines(guidelines: str | None, labels_file: str | None, labels: str | None = None) -> tuple[
        dict[str, Any] | None, tuple[dict[str, dict[str, str]], dict[str, str]] | None, bool]:
    """``--guidelines`` and ``--labels-file`` (else the configuration's ``[labels]`` table) read once, before the
    recipe reads its source: one-line errors naming the file, exit code 2. ``labels``: the command's ``--label``,
    if it takes one, against which a labels file's descriptions are checked here already (the recipe's labels are
    checked again once it has run: :func:`tuiannot.recipes.guidelines.attach`). The last value: whether a label
    described but not used is an error (a labels file's), or left out (a configuration's table serves every
    command of the project, whatever its labels)."""
    from ..recipes.config import config_labels

    described = config_labels() if not labels_file else None
    if not guidelines and not labels_file:
        return None, described, False  # (nothing to read: the module that reads them is not even imported)
    from ..recipes.guidelines import check_labels, load_guidelines, load_labels_file

    text = load_guidelines(guidelines) if guidelines else None
    described = load_labels_file(labels_file) if labels_file else described
    if labels_file and described is not None and isinstance(labels, str) and labels.strip():
        from ..recipes import parse_labels

        check_labels(described[0], parse_labels(labels) or [], described[1])
    return text, described, bool(labels_file)


def parquet_text_column(column: str, loader: str | None, source: Any) -> str:
    """``--text-column COLUMN`` as the loader it means (``parquet:COLUMN``); a one-line error for a source that is
    not Parquet, a blank name, or a column given twice."""
    from ..errors import SourceError
    from ..sanitize import blank, one_line
    from ..sources import guess_loader

    if blank(column):
        raise UserError("--text-column is blank: name the Parquet column that holds the text")
    kind = loader
    if kind is None and source is not None:
        try:
            kind = guess_loader(Path(str(source)))
        except SourceError:
            kind = None
    if kind == "parquet":
        return f"parquet:{column}"
    if kind is not None and kind.startswith("parquet:"):
        raise UserError(f"--text-column {one_line(column, 40)!r} and --loader {one_line(kind, 60)!r} both name the "
                        "text column: give one")
    raise UserError(f"--text-column is for Parquet sources (a .parquet file, or --loader parquet), not "
                    f"{one_line(str(source), 80)!r}" + (f" read as {one_line(kind, 20)}" if kind else ""))


def check_runner_options(session: str | None, lease: float | str, theme: str | None = None) -> float:
    """One-line errors for a blank annotator name, a ``--lease`` out of range and an unknown ``--theme``; the
    lease in seconds."""
    if theme is not None and theme not in THEMES:
        from ..sanitize import one_line

        raise UserError(f"--theme must be one of {', '.join(THEMES)}, not {one_line(theme, 40)!r}")
    from ..controller import default_session
    from ..sanitize import blank
    from ..team.routing import parse_lease

    if blank(session if session is not None else default_session()):  # the controller's default: the login name
        where = f"--session {session!r}" if session is not None else "the login name ($USER)"
        raise UserError(f"{where} is blank: name the annotator with --session NAME")
    return parse_lease(lease)


def run_components(components: Components, db: str | None, session: str | None, strict: bool,
                   overlap: str = "1", annotators: str | None = None, lease: float | str = 300.0,
                   gold: str | None = None, gold_rate: float = 0.05, target: int | None = None,
                   theme: str | None = None) -> int:
    """Annotate a recipe's components in the terminal; return the exit code."""
    from ..controller import Controller
    from ..recipes import parse_labels
    from ..storage import connect
    from ..stream import Stream
    from ..team.routing import Routing, parse_overlap

    lease = check_runner_options(session, lease, theme)
    routing = Routing(overlap=parse_overlap(overlap), annotators=parse_labels(annotators), lease=lease)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserError("annotating needs a terminal (stdin and stdout are not a TTY)")
    give_a_size()
    views = [components.view_id] + ([components.review_view] if components.review_view else [])
    app_class = None
    if _keymap_given() or components.events or components.view_id not in RECIPE_VIEWS:
        app_class = _screens(views, components.events)  # checked before anything is written (see _screens)
        mark("import the screens (Textual)")
    gold_tasks = None
    if gold:
        from ..team.gold import load_gold

        gold_tasks = load_gold(gold, components.stream if isinstance(components.stream, Stream) else None)
    database = connect(db)
    mark("open the database (and check or migrate it)")
    try:
        controller = Controller(components, database, session, strict=strict, routing=routing, gold=gold_tasks,
                                gold_rate=gold_rate, target=target).start()
    except BaseException:
        database.close()
        raise
    mark("start the controller (its prefetch thread reads the source)")
    try:
        if app_class is None:  # imported while the prefetch thread reads the first tasks (see _screens)
            app_class = _screens(views, components.events)
            mark("import the screens (Textual)")
        # Up to 120 frames a second: a key that lands just after a frame need not wait 1/60 s for the next.
        os.environ.setdefault("TEXTUAL_FPS", "120")
        annotation_app = app_class(controller, theme=theme)  # (it turns the collector back on, if main() did not)
        annotation_app.run()
    finally:
        summary = controller.close()
        database.close()
    if os.environ.get("TUIANNOT_PROFILE_START"):
        print_start_profile(annotation_app.first_task_at)
    from .show import print_summary  # (Rich's tables: not needed before the first task)

    failure = annotation_app.failure
    if failure is None and annotation_app.return_code not in (0, None):
        failure = "the app stopped on an unexpected error (shown above); every answer given was saved"
    return print_summary(summary, failure, strict=strict)


def give_a_size() -> None:
    """A terminal that reports no size (0 rows or columns: ``script`` run without a terminal, a serial line) is
    given 80x24, as ``stty rows 24 cols 80`` would. Textual's two fallbacks disagree (80x24 from the driver, 80x25
    for the app) and the screen was laid out at one and the other, back and forth, without end."""
    try:
        import fcntl
        import struct
        import termios

        size = os.get_terminal_size(sys.stdout.fileno())
        if not (size.columns and size.lines):
            fcntl.ioctl(sys.stdout.fileno(), termios.TIOCSWINSZ,
                        struct.pack("HHHH", size.lines or 24, size.columns or 80, 0, 0))
    except (ImportError, OSError):  # not a Unix terminal: Textual's own fallbacks, as ever
        pass


def recipe_command(app: typer.Typer, name: str, func: Callable[..., Any]) -> None:
    """Register ``func`` as the sub-command ``name``, with the runner's options added."""
    hints = typing.get_type_hints(func, include_extras=True)
    params = []
    for p in inspect.signature(func).parameters.values():
        params.append(p.replace(annotation=hints.get(p.name, p.annotation)))
    own = {p.name for p in params}
    for key, (annotation, default) in RUNNER_OPTIONS.items():
        if key == "text_column" and "loader" not in own:
            continue  # only a recipe that reads a source with --loader has a text column to choose
        if key not in own:
            params.append(inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=annotation))

    def command(**kwargs: Any) -> None:
        mark("start Python, import tuiannot and parse the command line")
        runner = {k: kwargs.pop(k) for k in list(kwargs) if k in RUNNER_OPTIONS and k not in own}
        given = {**{k: kwargs.get(k) for k in RUNNER_OPTIONS if k in own}, **runner}
        defaults = {k: default for k, (_, default) in RUNNER_OPTIONS.items()}
        options = {k: (defaults[k] if given.get(k) is None else given[k]) for k in RUNNER_OPTIONS}
        check_runner_options(options["session"], options["lease"], options["theme"])  # before the source is read
        if options["text_column"] is not None and "text_column" not in own:
            kwargs["loader"] = parquet_text_column(options["text_column"], kwargs.get("loader"), kwargs.get("source"))
        guidelines, described, strict_labels = read_guidelines(options["guidelines"], options["labels_file"],
                                                               kwargs.get("label"))  # once, before the source
        if sys.stderr.isatty():  # loading a model (a sentence encoder: seconds) is not a hang
            with SlowStartSpinner(name):
                result = func(**kwargs)
        else:
            result = func(**kwargs)
        components = Components.from_value(result, name)
        if guidelines is not None or described is not None:  # to the screens (g, the labels) and the controller
            from ..recipes.guidelines import attach

            attach(components, guidelines, described, strict=strict_labels)
        mark(f"the recipe {name}: read the source's start, load any model")
        raise typer.Exit(run_components(components, options["db"], options["session"], bool(options["strict"]),
                                        overlap=str(options["overlap"]), annotators=options["annotators"],
                                        lease=options["lease"], gold=options["gold"],
                                        gold_rate=float(options["gold_rate"]), target=options["target"],
                                        theme=options["theme"]))

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = (func.recipe_meta.get("help") if hasattr(func, "recipe_meta") else None) or func.__doc__
    app.command(name)(command)
