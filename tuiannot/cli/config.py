"""``tuiannot config``: the effective settings and where each comes from.

The files are found, read, checked and applied to the command that runs by :mod:`tuiannot.recipes.config`; this
command shows the result: the settings every command shares (``db``, ``session``, ``keymap``…), or a command's
options (``tuiannot config textcat``), each with its origin (``FILE:LINE``, ``env TUIANNOT_DB`` or ``built-in``),
and checks every table of the files in full. Paths and values are untrusted text: made printable
(:mod:`tuiannot.sanitize`), a database URL's password hidden.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..recipes.config import (ACTIVE, ENV, SHARED, ConfigError, ConfigFile, check_tables, config_keymap, effective,
                              load, options_of)
from ..recipes.options import JsonOpt
from .program import app, command_for, command_name

BUILT_IN = "built-in"


# -- tuiannot config ----------------------------------------------------------------------------------------------
@app.command("config")
def config(
    command: Annotated[Optional[str], typer.Argument(
        help="A command whose options to show (e.g. textcat). Default: the settings every command shares.",
        metavar="COMMAND", show_default=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the effective settings and where each comes from: a flag, an environment variable, the project's
    tuiannot.toml, your config.toml, or the built-in default. Checks every table of the files."""
    from ..recipes import REGISTRY
    from ..recipes.config import config_files
    from .show import print_json

    files = load()
    ACTIVE[:] = files
    known = {command_name(c) for c in app.registered_commands} | set(REGISTRY)
    check_tables(files, known)
    for table in sorted({n for c in files for n in c.commands} | ({command} if command else set())):
        if table in known:
            effective(_click_command(table), table, files)  # checks every key of the table
    if command is not None and command not in known:
        from ..sanitize import one_line

        raise ConfigError(f"no command named {one_line(command, 60)!r} (commands: {', '.join(sorted(known))})")
    rows = _command_rows(command, files) if command else _shared_rows(files)
    report = {"files": [str(p) for p in config_files()], "command": command, "settings": rows}
    if as_json:
        print_json(report)
        return
    _print(report)


def _click_command(name: str) -> Any:
    return typer.main.get_command(command_for(app, [name])).commands[name]  # type: ignore[attr-defined]


def _shared_rows(files: list[ConfigFile]) -> list[dict[str, Any]]:
    from ..controller import default_session
    from ..storage import default_location, shown_location

    everything = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    users = {key: sorted(name for name, command in everything.items() if key in options_of(command))
             for key in ("theme", "guidelines", "labels_file")}  # a key no command takes would be said so
    rows = []
    for key in SHARED:
        value: Any = None
        origin = BUILT_IN
        if key == "keymap":
            given = config_keymap()
            if os.environ.get("TUIANNOT_KEYMAP"):
                value, origin = os.environ["TUIANNOT_KEYMAP"], "env TUIANNOT_KEYMAP"
            elif given is not None:
                origin, value = given[0], given[1] if isinstance(given[1], dict) else str(given[1])
            else:
                default = Path.home() / ".tuiannot" / "keymap.json"
                value = str(default) if default.is_file() else None
        elif key in ENV and os.environ.get(ENV[key]):
            value, origin = os.environ[ENV[key]], f"env {ENV[key]}"
        else:
            setting = next((c.shared[key] for c in files if key in c.shared), None)
            if setting is not None:
                value, origin = setting.value, setting.origin
            elif key == "db":
                value = default_location()
            elif key == "session":
                value = default_session()
        if key == "db" and value is not None:
            value = shown_location(value)  # a URL's password is not shown
        row: dict[str, Any] = {"key": key, "value": value, "origin": origin}
        if key in users and not users[key]:
            row["note"] = "not used by any command yet"
        rows.append(row)
    labels = next((c for c in files if c.labels is not None), None)  # a [labels] table: the labels' descriptions
    if labels is not None and labels.labels is not None:
        rows.append({"key": "labels", "value": {label: info.get("description", "")
                                                for label, info in labels.labels.value.items()},
                     "origin": labels.labels.origin})
    return rows


def _command_rows(name: str, files: list[ConfigFile]) -> list[dict[str, Any]]:
    command = _click_command(name)
    values = effective(command, name, files)
    rows = []
    for long, option in options_of(command).items():
        if option.name in values:
            value, origin = values[option.name]
        else:
            value, origin = option.default, BUILT_IN
        if long == "db" and value is not None:
            from ..storage import shown_location

            value = shown_location(value)  # a URL's password is not shown
        rows.append({"key": long, "value": value, "origin": origin})
    return rows


def _print(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.text import Text

    from ..sanitize import one_line
    from .show import name_column, print_table, report_table

    console = Console()
    files = report["files"]
    console.print(Text("Files: " + (", ".join(one_line(f, 300) for f in files) if files else
                                    "none (tuiannot.toml in this folder or above, or the user's config.toml)")))
    shown = report_table(name_column("setting"), name_column("value"), name_column("from"))
    for row in report["settings"]:
        value = row["value"]
        text = "—" if value is None else (", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict)
                                          else ",".join(map(str, value)) if isinstance(value, list) else str(value))
        origin = row["origin"] + (f" ({row['note']})" if row.get("note") else "")
        shown.add_row(Text(one_line(row["key"], 60)), Text(one_line(text, 300)), Text(one_line(origin, 300)))
    print_table(console, shown)
