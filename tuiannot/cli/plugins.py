"""``tuiannot plugins``: what installed packages add to tuiannot (recipes, loaders, views), from where, and whether
it loads.

The discovery and its rules are in :mod:`tuiannot.recipes.plugins`; this module only shows them. Every plugin is
imported to tell whether it loads, so the command takes as long as importing them all. Names, reasons and paths
come from installed packages: they are made printable (:mod:`tuiannot.sanitize`) like any untrusted text.
"""

from __future__ import annotations

from typing import Any

from ..recipes.options import JsonOpt
from .program import app, command_name


@app.command("plugins")
def plugins(as_json: JsonOpt = False) -> None:
    """List the installed plugins: recipes (commands), loaders (--loader) and views, where each comes from and
    whether it loads."""
    from ..recipes import REGISTRY, get_recipe
    from ..recipes.plugins import GROUPS, installed

    get_recipe("textcat")  # the built-in recipes, whose names a plugin may not take
    found = installed({command_name(c) for c in app.registered_commands} | set(REGISTRY))
    report = {"groups": list(GROUPS), "plugins": [p.as_dict() for p in found]}
    if as_json:
        from .show import print_json

        print_json(report)
        return
    _print(report)


def _print(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.text import Text

    from ..sanitize import one_line
    from .show import name_column, plural, print_table, report_table, shown_path

    console = Console()
    found = report["plugins"]
    if not found:
        console.print(Text(f"No plugins installed (entry-point groups: {', '.join(report['groups'])})."))
        return
    shown = report_table("group", name_column("name"), name_column("from"), name_column("loads"),
                         name_column("provides"), name_column("where"))
    for p in found:
        source = f"{p['distribution']} {p['version']}" if p["distribution"] else "—"
        loads = "yes" if p["loads"] else "no"
        if p["error"]:
            loads += f": {p['error']}"
        shown.add_row(Text(p["group"].removeprefix("tuiannot.")), Text(one_line(p["name"], 80)),
                      Text(one_line(source, 80)), Text(one_line(loads, 300)),
                      Text(one_line(", ".join(p["provides"]) or "—", 300)),
                      Text(shown_path(p["location"]) if p["location"] else "—"))
    print_table(console, shown)
    failing = sum(1 for p in found if not p["loads"])
    console.print(Text(f"{plural(len(found), 'plugin')}" + (f", {failing} not loading" if failing else "")))
