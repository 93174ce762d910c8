"""The ``tuiannot`` program: the Typer app, recipes as commands, exit codes and crash handling.

Exit codes: 0 success, 1 a user error (missing file, unknown dataset, bad
input under ``--strict``, an aborted confirmation), 2 a usage error. Errors
are one line on stderr (usage errors add the usage line, as Click does), made
printable (:mod:`tuiannot.sanitize`: they may quote what was typed); an
unexpected failure also writes its traceback to ``~/.tuiannot/crash.log``
instead of the terminal.

The commands live beside this module, a module per group (:mod:`.annotate`
runs recipes, :mod:`.datasets`, :mod:`.team`, :mod:`.train`), and print
through :mod:`.show`. Recipes (built in, a user's loaded with ``-F FILE``, or an installed plugin's)
become sub-commands when the app is built (:func:`build_app`). The plugins are looked for only when the
arguments name no built-in command (:func:`wants_plugins`; :mod:`tuiannot.recipes.plugins`), so a built-in
command's start never pays for reading every installed package's entry points.

``tuiannot --version`` prints the installed version (from the package's metadata). Shell completion is
Typer's own (``--install-completion``, ``--show-completion``): the shell runs ``tuiannot`` with no arguments and
``_TUIANNOT_COMPLETE`` set, which builds the whole app, plugins' commands included, so every command is
completed; the completion options belong to the whole app only, not to the one command :func:`command_for`
builds.

Starting fast (issue 15): Typer turns the whole app into Click commands before it parses anything; when the
arguments name a command, only that one is built (:func:`command_for`: 15 ms less; its help, usage and
errors are the same), and of the built-in recipes only the module that registers it is imported
(:func:`load_builtin_recipes`); its parameters are parsed without pydantic where the values are plain
(:mod:`.coercion`). An annotation command starts without Python's cyclic garbage collector: the start
makes ~65,000 objects that live as long as the process (modules, Textual, a model), and the collector walked
them again and again as they came (~35 ms of CPU a start, more on a loaded machine). :func:`main` turns it off
before it parses, and the annotation screen turns it back on, with those objects frozen out of its way, once
the first task is drawn (:mod:`tuiannot.screens.annotate`); every other command gets it back before it runs.

Configuration files (the project's ``tuiannot.toml``, the user's ``config.toml``: :mod:`tuiannot.recipes.config`)
give the command that runs its defaults through Click's ``default_map``, after the flags and the environment,
before the built-in defaults; a mistake in them is a usage error (exit code 2) before anything runs.
"""

from __future__ import annotations

import copy
import errno
import gc
import importlib
import io
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UserError
from ..recipes import REGISTRY, get_recipe, load_recipe_file

app = typer.Typer(
    name="tuiannot", add_completion=True, no_args_is_help=True, pretty_exceptions_enable=False,
    rich_markup_mode=None, context_settings={"help_option_names": ["-h", "--help"]},
    help="Terminal-native, keyboard-driven data annotation. Every answer is saved the moment you give it.")


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"tuiannot {version('tuiannot')}")
        except PackageNotFoundError:  # run from a checkout that was never installed
            from .. import __version__

            print(f"tuiannot {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    file: Annotated[Optional[list[str]], typer.Option(
        "-F", "--file", help="Python file with your own @recipe functions; they become commands.", metavar="FILE",
        show_default=False)] = None,
    version: Annotated[bool, typer.Option(
        "--version", help="Print tuiannot's version and exit.", is_eager=True, callback=_print_version)] = False,
) -> None:
    """Terminal-native, keyboard-driven data annotation."""


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


def build_app(files: list[str], argv: list[str] | None = None) -> typer.Typer:
    """The app with every recipe as a command: the built-in ones, those ``files`` register and, when ``argv``
    names no command so far known (:func:`wants_plugins`), those of the installed recipe plugins
    (:mod:`tuiannot.recipes.plugins`: a plugin that fails to load is a warning)."""
    from .annotate import recipe_command

    load_builtin_recipes(argv)
    for file in files:
        load_recipe_file(file)
    registered = {command_name(c) for c in app.registered_commands}
    if argv is not None and wants_plugins(argv, registered | set(REGISTRY)):
        from ..recipes.plugins import load_recipes

        for warning in load_recipes(registered | set(REGISTRY)):
            if not os.environ.get("_TUIANNOT_COMPLETE"):  # not in the middle of the shell's completion
                from .show import warn

                warn(warning)
    for name, func in sorted(REGISTRY.items()):
        if name not in registered:
            recipe_command(app, name, func)
    return app


BUILTIN_RECIPES = {"textcat": "textcat", "image": "image", "ner": "ner", "spans": "ner", "review": "review",
                   "rank": "rank", "rel": "rel", "feedback": "feedback", "compare": "compare", "tournament": "compare"}
"""Each built-in recipe and the module of :mod:`tuiannot.recipes` that registers it (a test checks the two agree)."""


def load_builtin_recipes(argv: list[str] | None) -> None:
    """Register the built-in recipes: only the module of the one ``argv`` names, when it names one (a start pays
    for one recipe module, not nine: ~10 ms of imports); all of them otherwise (the help, another command, the
    shell's completion)."""
    module = BUILTIN_RECIPES.get(argv[0]) if argv and not os.environ.get("_TUIANNOT_COMPLETE") else None
    if module is None:
        get_recipe("textcat")  # imports every built-in recipe module
    else:
        importlib.import_module(f"..recipes.{module}", __package__)


def command_name(info: typer.models.CommandInfo) -> str:
    """A command's name as Typer gives it: the one given, else the function's."""
    return info.name or typer.main.get_command_name(getattr(info.callback, "__name__", ""))


def command_for(full: typer.Typer, argv: list[str]) -> typer.Typer:
    """The app with only the command that ``argv`` names (the whole app if it names none it knows)."""
    chosen = [c for c in full.registered_commands if argv and command_name(c) == argv[0]]
    if len(chosen) != 1:
        return full
    single = copy.copy(full)  # the same settings and callback (-F); the registered commands are not touched
    single.registered_commands = chosen
    single._add_completion = False  # --install-completion and --show-completion are the whole app's
    return single


def wants_plugins(argv: list[str], known: set[str]) -> bool:
    """Whether the arguments (after ``-F``) need the recipe plugins: they name no command (the help, the shell's
    completion: every command is listed) or one not ``known`` (a plugin's, perhaps); not ``--version`` and the
    like. A built-in command starts without looking for plugins (see the module's docstring)."""
    if not argv:
        return True
    return argv[0] not in ("--version", "--install-completion", "--show-completion") and argv[0] not in known


def _internal_error(e: BaseException) -> None:
    """A bug: one line here, the traceback in the crash log."""
    from .show import err

    log = _crash_log()
    err(f"internal error: {type(e).__name__}: {e} (details in {log})")


def _output_failed(e: OSError) -> bool:
    """Whether ``e`` is standard output refusing what a command printed (``> /dev/full``, a full disk, a
    vanished terminal): an error that names no file. Then one line, and nothing more is written to it at exit;
    what the command did before printing (an import, a drop) is done."""
    if e.filename is not None or e.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG):
        return False
    from .show import err

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError:
        pass
    err(f"standard output: cannot write ({e.strerror or e}); what the command did is done, its report is lost")
    return True


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    code = 0
    collecting = gc.isenabled()
    gc.disable()  # the start runs without the cyclic collector (see the module's docstring)
    try:
        files, rest = _split_recipe_files(argv)
        full = build_app(files, rest)
        if collecting and not (rest and rest[0] in REGISTRY):  # not an annotation command: collect as ever
            gc.enable()
        command = typer.main.get_command(command_for(full, rest))
        from .coercion import install

        install(command)  # typer 0.29's parsing without pydantic for plain values (see .coercion)
        from ..recipes.config import default_map  # the configuration files, if any (see the module's docstring)

        known = {command_name(c) for c in full.registered_commands} | set(REGISTRY) | set(BUILTIN_RECIPES)
        defaults = default_map(command, rest, known)
        result = command.main(args=rest, prog_name="tuiannot", standalone_mode=False, default_map=defaults)
        code = result if isinstance(result, int) else 0
    except typer.Exit as e:
        code = e.exit_code
    except typer.Abort:
        print("Aborted.", file=sys.stderr)
        code = 1
    except UserError as e:
        from .show import err

        err(str(e))
        code = e.exit_code
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        code = 0
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError as e:
        if not _output_failed(e):
            _internal_error(e)
        code = 1
    except Exception as e:
        if _is_click_error(e):  # usage errors (Typer may vendor its own click)
            from ..sanitize import printable

            shown = io.StringIO()
            e.show(file=shown)  # type: ignore[attr-defined]
            sys.stderr.write(printable(shown.getvalue()))  # "No such option: --x…" quotes what was typed
            code = 2 if any(c.__name__ == "UsageError" for c in type(e).__mro__) else e.exit_code  # type: ignore
            sys.exit(code)
        _internal_error(e)
        code = 1
    finally:
        if collecting:
            gc.enable()
    sys.exit(code)


def _is_click_error(e: BaseException) -> bool:
    return any(c.__name__ == "ClickException" for c in type(e).__mro__) and hasattr(e, "show")


def _crash_log() -> str:
    """Append the traceback to ``~/.tuiannot/crash.log``, readable by you only (it may quote your data)."""
    path = Path(os.path.expanduser("~")) / ".tuiannot" / "crash.log"
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # as the database's folder
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(traceback.format_exc() + "\n")
    except OSError:
        return "(crash log not writable)"
    return str(path)
