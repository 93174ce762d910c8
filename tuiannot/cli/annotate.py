"""Annotating in the terminal: a recipe's function becomes a command, its components run in the app.

:func:`recipe_command` turns a recipe into a Typer command: the function's
parameters are the command's arguments and options, and the runner's own options
(``--db``, ``--session``, ``--strict``, ``--target`` and the team options, declared once in
:mod:`tuiannot.recipes.options`) are added unless the recipe declares them.
:func:`run_components` checks the runner's options (a blank session name, a
``--lease`` out of range: one-line errors, before the terminal is asked for),
connects the components to a controller and the Textual app, and prints the
summary when the annotator quits.
"""

from __future__ import annotations

import inspect
import os
import sys
import typing
from typing import Any, Callable

import typer

from ..components import Components
from ..errors import UserError
from ..recipes.options import (AnnotatorsOpt, DbOpt, GoldOpt, GoldRateOpt, LeaseOpt, OverlapOpt, SessionOpt,
                               StrictOpt, TargetOpt)

RUNNER_OPTIONS: dict[str, tuple[Any, Any]] = {
    "db": (DbOpt, None), "session": (SessionOpt, None), "strict": (StrictOpt, False),
    "overlap": (OverlapOpt, "1"), "annotators": (AnnotatorsOpt, None), "lease": (LeaseOpt, 300.0),
    "gold": (GoldOpt, None), "gold_rate": (GoldRateOpt, 0.05), "target": (TargetOpt, None),
}


def check_runner_options(session: str | None, lease: float | str) -> float:
    """One-line errors for a blank annotator name and a ``--lease`` out of range; the lease in seconds."""
    from ..controller import default_session
    from ..sanitize import blank
    from ..team.routing import parse_lease

    if blank(session if session is not None else default_session()):  # the controller's default: the login name
        where = f"--session {session!r}" if session is not None else "the login name ($USER)"
        raise UserError(f"{where} is blank: name the annotator with --session NAME")
    return parse_lease(lease)


def run_components(components: Components, db: str | None, session: str | None, strict: bool,
                   overlap: str = "1", annotators: str | None = None, lease: float | str = 300.0,
                   gold: str | None = None, gold_rate: float = 0.05, target: int | None = None) -> int:
    """Annotate a recipe's components in the terminal; return the exit code."""
    from ..controller import Controller
    from ..recipes import parse_labels
    from ..storage import connect
    from ..stream import Stream
    from ..team.gold import load_gold
    from ..team.routing import Routing, parse_overlap
    from .show import print_summary

    lease = check_runner_options(session, lease)
    routing = Routing(overlap=parse_overlap(overlap), annotators=parse_labels(annotators), lease=lease)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserError("annotating needs a terminal (stdin and stdout are not a TTY)")
    from ..screens.app import AnnotationApp, keymap_problem

    views = [components.view_id] + ([components.review_view] if components.review_view else [])
    problem = keymap_problem(views)  # unknown binding ids, one key for two bindings: an error before the screen
    if problem is not None:
        raise UserError(problem)
    gold_tasks = load_gold(gold, components.stream if isinstance(components.stream, Stream) else None) \
        if gold else None
    database = connect(db)
    controller = Controller(components, database, session, strict=strict, routing=routing, gold=gold_tasks,
                            gold_rate=gold_rate, target=target).start()
    # Up to 120 frames a second: a key that lands just after a frame need not wait 1/60 s for the next.
    os.environ.setdefault("TEXTUAL_FPS", "120")
    annotation_app = AnnotationApp(controller)
    try:
        annotation_app.run()
    finally:
        summary = controller.close()
        database.close()
    failure = annotation_app.failure
    if failure is None and annotation_app.return_code not in (0, None):
        failure = "the app stopped on an unexpected error (shown above); every answer given was saved"
    return print_summary(summary, failure, strict=strict)


def recipe_command(app: typer.Typer, name: str, func: Callable[..., Any]) -> None:
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
        given = {**{k: kwargs.get(k) for k in RUNNER_OPTIONS if k in own}, **runner}
        defaults = {k: default for k, (_, default) in RUNNER_OPTIONS.items()}
        options = {k: (defaults[k] if given.get(k) is None else given[k]) for k in RUNNER_OPTIONS}
        check_runner_options(options["session"], options["lease"])  # before the source is read and a model loaded
        if sys.stderr.isatty():  # loading a model (a sentence encoder: seconds) is not a hang
            from rich.live import Live
            from rich.spinner import Spinner
            from rich.text import Text

            from ..sanitize import one_line
            from .show import stderr_console

            # not console.status: it captures stdout, which a user's recipe may print to
            with Live(Spinner("dots", Text(f"Starting {one_line(name, 60)}: reading the source and loading any "
                                           "model…")),
                      console=stderr_console(), transient=True, redirect_stdout=False, redirect_stderr=False):
                result = func(**kwargs)
        else:
            result = func(**kwargs)
        components = Components.from_value(result, name)
        raise typer.Exit(run_components(components, options["db"], options["session"], bool(options["strict"]),
                                        overlap=str(options["overlap"]), annotators=options["annotators"],
                                        lease=options["lease"], gold=options["gold"],
                                        gold_rate=float(options["gold_rate"]), target=options["target"]))

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = (func.recipe_meta.get("help") if hasattr(func, "recipe_meta") else None) or func.__doc__
    app.command(name)(command)
