"""``tuiannot db-roles URL --lead NAME --annotators NAME,NAME``: a PostgreSQL project's lead and annotators.

The SQL is :mod:`tuiannot.storage.postgres_roles` (what each role may do, and why); here the command and its
report: the roles made now, the groups, who is in which. Run it as a role that may create roles (a superuser,
or the database's owner with CREATEROLE), once, and again to add annotators: it changes nothing twice.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from ..errors import UserError
from ..recipes.options import JsonOpt
from .program import app


def _names(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise UserError("--annotators names no role: give one or more, separated by commas (alice,bob)")
    return names


@app.command("db-roles")
def db_roles(
    url: Annotated[str, typer.Argument(
        help="The PostgreSQL database (postgresql://ADMIN@HOST/DBNAME[?schema=NAME]), as a role that may create "
             "roles.", show_default=False)],
    lead: Annotated[str, typer.Option(
        "--lead", help="The lead's login role: owns the project; may drop datasets and change any answer.",
        show_default=False)],
    annotators: Annotated[str, typer.Option(
        "--annotators", help="The annotators' login roles, separated by commas: each may annotate in its own name "
                             "(its session is its role's name), and nothing more.", show_default=False)],
    schema: Annotated[Optional[str], typer.Option(
        "--schema", help="The project's PostgreSQL schema. Default: the URL's ?schema=, else public.",
        show_default=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a PostgreSQL project's roles: a lead who owns it, annotators who may only annotate.

    Login roles that do not exist yet are made (without a password: set one in psql with \\password NAME). Run it
    again to add annotators, or after upgrading tuiannot."""
    from ..storage import is_url
    from ..storage.postgres_roles import set_up_roles
    from .show import print_json

    if not is_url(url):
        raise UserError("db-roles is for a PostgreSQL database: give a postgresql:// URL (a SQLite file has no "
                        "roles: whoever may write the file may do everything)")
    report = set_up_roles(url, lead, _names(annotators), schema).report()
    if as_json:
        print_json(report)
    else:
        _print_report(report)


def _print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.text import Text

    from ..sanitize import one_line
    from .show import plural

    def names(items: list[str]) -> str:
        return ", ".join(one_line(name, 63) for name in items)

    console = Console()
    made = report["created"]
    console.print(Text(f"Schema {report['schema']} of {report['location']}: owned by {report['lead_group']}, "
                       f"annotated by {report['annotator_group']}."), soft_wrap=True)
    console.print(Text(f"Lead: {one_line(report['lead'], 63)}; "
                       f"{plural(len(report['annotators']), 'annotator')}: {names(report['annotators'])}."),
                  soft_wrap=True)
    console.print(Text(f"Made now: {names(made)} (login roles without a password: set one with \\password NAME in "
                       "psql, or let pg_hba.conf decide)." if made else "Every role was there already; rights set "
                       "again."), soft_wrap=True)
    console.print(Text("Each annotator annotates with their role's name as the session (--session ROLE; the default "
                       "is $USER)."), soft_wrap=True)
