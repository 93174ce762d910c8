"""Roles on a PostgreSQL project: a lead who owns it, annotators who may annotate and nothing more.

``tuiannot db-roles URL --lead NAME --annotators NAME,NAME`` (:func:`set_up_roles`, run by a role that may
create roles: a superuser, or one with CREATEROLE that owns the database) makes, for the project's schema S:

* two group roles (``NOLOGIN``): ``tuiannot_S_lead`` and ``tuiannot_S_annotator``, one pair per schema, so
  the lead of one project is nobody in another's;
* the lead group owns the schema, its tables, sequences and functions: the lead may do everything (``drop``,
  ``db-in``, migrations of a newer tuiannot), and, as the owner, is not bound by row-level security;
* the annotator group may use the schema and read every table (stats, progress, routing read others' answers),
  and write exactly what annotating writes: ``INSERT`` into ``answers`` (its own session's only), ``UPDATE`` of
  its own answers (an edit of an earlier answer), ``INSERT``/``UPDATE`` of ``sessions``, ``checkpoints`` and
  ``llm_cache``, and the claims (``INSERT``, ``UPDATE``, ``DELETE``: a claim that lapsed is taken off the books
  by whoever claims the task next). No ``UPDATE`` or ``DELETE`` on ``datasets``, no ``DELETE`` on ``answers``:
  an annotator cannot drop a dataset or delete answers;
* row-level security on ``answers``: an annotator's role adds and changes only rows whose ``session`` is its
  own name (``current_user``). So each annotator's PostgreSQL role *is* their session name (``--session``,
  default ``$USER``). An ``UPDATE`` that PostgreSQL's policies would silently skip for another's row is refused
  out loud instead, by a ``BEFORE UPDATE`` trigger (``tuiannot_guard_answers``): an error names the answer;
* the running totals' triggers become ``SECURITY DEFINER`` (run as the lead group, with the schema as their
  search path), so annotators need no write right on the totals (``answer_counts``, ``question_counts``,
  ``answer_keys``) and cannot forge them;
* the named login roles are made if they do not exist yet (``LOGIN``, no password: set one with ``\\password``
  in ``psql``, or let ``pg_hba.conf`` decide), put into their group, and lose any right granted to them directly
  on the schema's tables (the README's former ``GRANT`` lines): what they may do is their group's.

It is idempotent: one transaction, run again to add annotators (the ones named before stay), or after an
upgrade of tuiannot added tables (a new table is the lead's and readable by annotators only once this has run
again). Refusals reach the annotator as one line (:func:`.postgres_connect.query_error`, and ``drop``'s own).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import UserError
from .base import shown_location
from .postgres_connect import _SCHEMA_NAME as SCHEMA_NAME
from .postgres_connect import Secret, connect_error, parse_url, query_error, scrub
from .postgres_schema import migrate

MAX_NAME = 63
"""PostgreSQL's longest name (NAMEDATALEN - 1): longer ones would be cut, silently."""

ANNOTATOR_RIGHTS = {
    "datasets": "SELECT, INSERT",  # a first session on a new dataset makes it
    "sessions": "SELECT, INSERT, UPDATE",  # (a session's end is written into its row)
    "answers": "SELECT, INSERT, UPDATE",  # (row-level security: its own session's rows only)
    "claims": "SELECT, INSERT, UPDATE, DELETE",
    "checkpoints": "SELECT, INSERT, UPDATE",
    "llm_cache": "SELECT, INSERT, UPDATE",
}
"""What an annotator's role may do on each table beside reading (every table of the schema is readable)."""

_GUARD = """
CREATE OR REPLACE FUNCTION {schema}.tuiannot_guard_answers() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    IF OLD.session IS DISTINCT FROM current_user AND NOT pg_has_role(current_user, {lead}, 'USAGE') THEN
        RAISE EXCEPTION 'permission denied: only the lead role may change the answers of another session '
                        '(answer % is %''s; this role is %)', OLD.id, OLD.session, current_user
              USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END
$body$"""


@dataclass
class RolesReport:
    """What :func:`set_up_roles` did."""

    location: str
    schema: str
    lead_group: str
    annotator_group: str
    lead: str
    annotators: list[str]
    created: list[str] = field(default_factory=list)  # the roles (groups, logins) made now

    def report(self) -> dict[str, Any]:
        return asdict(self)


def group_names(schema: str) -> tuple[str, str]:
    """The schema's (lead group, annotator group) role names."""
    lead, annotator = f"tuiannot_{schema}_lead", f"tuiannot_{schema}_annotator"
    if len(annotator) > MAX_NAME:
        raise UserError(f"schema {schema!r} is too long a name for its roles ({annotator!r} would have "
                        f"{len(annotator)} characters, PostgreSQL keeps {MAX_NAME}); use a schema name of at most "
                        f"{MAX_NAME - len('tuiannot__annotator')} characters")
    return lead, annotator


def _check_login(name: str) -> None:
    if not name or len(name) > MAX_NAME or "\x00" in name or name.lower().startswith("pg_"):
        raise UserError(f"{name!r} is not a role name this command makes: give 1 to {MAX_NAME} characters, no NUL, "
                        "not starting with pg_ (PostgreSQL keeps those)")


def set_up_roles(url: str, lead: str, annotators: list[str], schema: str | None = None) -> RolesReport:
    """Make the schema's roles and rights (see the module's docstring); the schema and its tables are made first
    if need be. Raises UserError (StorageError) with one line."""
    import psycopg
    from psycopg import sql

    secret = Secret(url)
    libpq, url_schema, extra = parse_url(url)
    schema = schema or url_schema or "public"
    if not SCHEMA_NAME.fullmatch(schema):
        raise UserError(f"--schema {schema!r} is not a plain PostgreSQL name; use lower-case letters, digits and _ "
                        "(not starting with a digit)")
    for name in (lead, *annotators):
        _check_login(name)
    if lead in annotators:
        raise UserError(f"{lead!r} is named both as the lead and as an annotator: a role is one or the other")
    if len(set(annotators)) != len(annotators):
        raise UserError("an annotator is named twice in --annotators")
    lead_group, annotator_group = group_names(schema)
    location = shown_location(url)
    report = RolesReport(location, schema, lead_group, annotator_group, lead, list(annotators))
    try:
        conn = psycopg.connect(libpq.reveal(), **extra)
    except psycopg.Error as e:
        raise connect_error(e, location, secret) from None
    try:
        with conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('tuiannot roles', 0))")
            migrate(conn, schema)  # the schema and its tables, if not there yet (as the first open does)
            conn.execute("SET LOCAL search_path TO pg_catalog")  # every name below is qualified
            for name, login in [(lead_group, False), (annotator_group, False), (lead, True),
                                *((a, True) for a in annotators)]:
                if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is None:
                    conn.execute(sql.SQL("CREATE ROLE {} " + ("LOGIN" if login else "NOLOGIN")).format(
                        sql.Identifier(name)))
                    report.created.append(name)
            _grant(conn, schema, lead_group, annotator_group, lead, annotators)
    except psycopg.Error as e:
        raise _roles_error(e, location, secret) from None
    return report


def _grant(conn: Any, schema: str, lead_group: str, annotator_group: str, lead: str, annotators: list[str]) -> None:
    from psycopg import sql

    ident, lit = sql.Identifier, sql.Literal
    s, lg, ag = ident(schema), ident(lead_group), ident(annotator_group)

    def run(statement: str, *args: Any) -> None:
        conn.execute(sql.SQL(statement).format(*args))

    run("GRANT {} TO {}", lg, ident(lead))
    for name in annotators:
        run("GRANT {} TO {}", ag, ident(name))
        run("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}", s, ident(name))  # rights are the group's
        run("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}", s, ident(name))
        run("REVOKE ALL ON SCHEMA {} FROM {}", s, ident(name))
    # The lead group owns everything in the schema (a table's sequences follow it).
    run("ALTER SCHEMA {} OWNER TO {}", s, lg)
    tables = [r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND "
        "c.relkind IN ('r', 'p')", (schema,))]
    for table in tables:
        run("ALTER TABLE {}.{} OWNER TO {}", s, ident(table), lg)
    # The totals' triggers run as their owner: annotators need no right on the totals.
    functions = [r[0] for r in conn.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = %s AND p.proname LIKE 'tuiannot\\_count\\_%%'", (schema,))]
    for function in functions:  # (regprocedure's text is qualified and quoted as need be)
        run(f"ALTER FUNCTION {function} OWNER TO {{}}", lg)
        run(f"ALTER FUNCTION {function} SECURITY DEFINER SET search_path = {{}}, pg_temp", s)
    # The annotators: the schema, reading everything, and writing what annotating writes.
    run("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}", s, ag)
    run("GRANT USAGE ON SCHEMA {} TO {}", s, ag)
    run("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}", s, ag)
    run("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}", s, ag)
    for table, rights in ANNOTATOR_RIGHTS.items():
        run(f"GRANT {rights} ON {{}}.{{}} TO {{}}", s, ident(table), ag)
    # Row-level security on answers: an annotator adds and changes its own session's rows only.
    run("ALTER TABLE {}.answers ENABLE ROW LEVEL SECURITY", s)
    for policy, clause in [("tuiannot_read", "FOR SELECT TO {} USING (true)"),
                           ("tuiannot_insert", "FOR INSERT TO {} WITH CHECK (session = current_user)"),
                           ("tuiannot_update", "FOR UPDATE TO {} USING (true) WITH CHECK (session = current_user)")]:
        run(f"DROP POLICY IF EXISTS {policy} ON {{}}.answers", s)
        run(f"CREATE POLICY {policy} ON {{}}.answers {clause}", s, ag)
    # USING (true) above lets the update reach this trigger, which refuses another's row out loud (a policy
    # would skip it without a word: an edit that did nothing).
    conn.execute(sql.SQL(_GUARD).format(schema=s, lead=lit(lead_group)))
    run("ALTER FUNCTION {}.tuiannot_guard_answers() OWNER TO {}", s, lg)
    run("DROP TRIGGER IF EXISTS answers_guard ON {}.answers", s)
    run("CREATE TRIGGER answers_guard BEFORE UPDATE ON {}.answers FOR EACH ROW "
        "EXECUTE FUNCTION {}.tuiannot_guard_answers()", s, s)


def _roles_error(e: Exception, location: str, secret: Secret) -> Exception:
    state = getattr(e, "sqlstate", None) or ""
    if state == "42501":
        detail = scrub(" ".join(str(e).split()), secret)
        return UserError(f"{location}: this role may not set up roles ({detail}); run tuiannot db-roles as a "
                         "superuser, or as the database's owner with CREATEROLE")
    return query_error(e, location, secret, writing=True)
