"""The PostgreSQL schema: the same tables, version and migrations as SQLite's (:mod:`.sqlite_schema`), in
PostgreSQL's words, and the running totals kept for ``stats`` by triggers that PostgreSQL's concurrency suits.

The schema lives in one PostgreSQL schema (``public`` unless the URL says ``?schema=NAME``), created on first
use with its tables: each migration brings it one version up, in one transaction that holds an advisory lock
(so that many annotators starting at once create it once), as SQLite's ``BEGIN IMMEDIATE`` does. The version
is the same number as SQLite's (:data:`SCHEMA_VERSION`), and migration ``n`` adds what SQLite's migration
``n`` adds; ``tuiannot db-migrate`` copies between the two.

What differs, and why:

* Ids are ``BIGSERIAL`` (never reused, unlike SQLite's rowids); hashes ``BIGINT``; times ``DOUBLE PRECISION``;
  the whole task stays ``TEXT`` (not ``jsonb``), so that ``db-out`` writes back the very bytes stored.
* Foreign keys are ``DEFERRABLE``: ``drop`` deletes the dataset's row first, so the counting triggers skip
  the rows that go with it; a session inserting into a dataset being dropped waits for the drop, then fails
  its foreign key (never an answer left without its dataset).
* Running totals. SQLite serialises every writer, so its row triggers may count a new distinct task by
  looking whether another answer has its hash. Under PostgreSQL's concurrent writers that look would race,
  so each distinct hash has a row in ``answer_keys`` with the number of answers that carry it: a statement
  that adds or removes answers updates those rows (their row locks serialise two annotators answering the
  same task, nothing else), and a hash whose count goes from 0 to 1 (or back) adds (or takes) one
  distinct task or input. Those go to ``question_counts`` under a *shard* (the server process's id modulo
  :data:`SHARDS`), so that concurrent annotators do not queue on one dataset-wide row; ``stats`` adds the
  shards up. ``answer_counts`` is SQLite's, one row per (dataset, session, answer, labels).
* The triggers are statement-level with transition tables: an import of a million rows in one statement
  updates the totals set-wise, in key order (two statements never lock the same keys in opposite orders).
  ``flag_counts`` (schema 5) too: only rows whose JSON has a ``_flagged`` or ``_comment`` key are parsed
  (``jsonb``), so an import without flags parses nothing. The history of replaced answers (schema 5) is a row
  trigger, as SQLite's: answers are replaced one at a time. Every trigger function is named ``tuiannot_count_*``,
  which ``db-roles`` makes ``SECURITY DEFINER`` (annotators write neither the totals nor the history).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..errors import UserError
from .base import IDLE_CAP_SECONDS, StorageError

if TYPE_CHECKING:
    from .postgres_connect import Pool

SCHEMA_VERSION = 5  # as SQLite's (tuiannot.storage.sqlite_schema.SCHEMA_VERSION): a test keeps them equal
SHARDS = 16
"""``question_counts`` rows per dataset: concurrent writers spread over them (by server process id)."""

NOW = "extract(epoch FROM clock_timestamp())::float8"
"""The server's clock, in epoch seconds: leases are timed by it, so annotators' machines need not agree."""

META_SCHEMA = "CREATE TABLE IF NOT EXISTS tuiannot_meta (key TEXT PRIMARY KEY, value TEXT)"

FIRST_SCHEMA = """
CREATE TABLE datasets (
    id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, created DOUBLE PRECISION, meta TEXT);
CREATE TABLE sessions (
    id BIGSERIAL PRIMARY KEY, dataset_id BIGINT REFERENCES datasets (id) DEFERRABLE, session TEXT,
    started DOUBLE PRECISION, meta TEXT);
CREATE INDEX idx_sessions_dataset_id_session ON sessions (dataset_id, session);
CREATE TABLE answers (
    id BIGSERIAL PRIMARY KEY, dataset_id BIGINT NOT NULL REFERENCES datasets (id) DEFERRABLE,
    task_hash BIGINT NOT NULL, input_hash BIGINT NOT NULL, session TEXT NOT NULL, answer TEXT NOT NULL,
    labels TEXT, view_id TEXT, "timestamp" DOUBLE PRECISION, seconds DOUBLE PRECISION, content TEXT NOT NULL);
CREATE INDEX idx_answers_dataset_id_id ON answers (dataset_id, id);
CREATE INDEX idx_answers_dataset_id_task_hash ON answers (dataset_id, task_hash);
CREATE INDEX idx_answers_dataset_id_input_hash ON answers (dataset_id, input_hash);
CREATE INDEX idx_answers_dataset_id_session_seconds ON answers (dataset_id, session, seconds);
CREATE INDEX idx_answers_dataset_id_seconds ON answers (dataset_id, seconds);
CREATE TABLE answer_counts (
    dataset_id BIGINT NOT NULL, session TEXT NOT NULL, answer TEXT NOT NULL, labels TEXT NOT NULL,
    n BIGINT NOT NULL, first DOUBLE PRECISION, last DOUBLE PRECISION, seconds_total DOUBLE PRECISION NOT NULL,
    timed BIGINT NOT NULL, PRIMARY KEY (dataset_id, session, answer, labels));
CREATE TABLE question_counts (
    dataset_id BIGINT NOT NULL, shard INTEGER NOT NULL, tasks BIGINT NOT NULL DEFAULT 0,
    inputs BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (dataset_id, shard));
CREATE TABLE answer_keys (
    dataset_id BIGINT NOT NULL, kind SMALLINT NOT NULL, hash BIGINT NOT NULL, n BIGINT NOT NULL,
    PRIMARY KEY (dataset_id, kind, hash))
"""

# The changes one statement made to answers, as signed rows (+1 added, -1 removed), of datasets still there.
_ADDED = "SELECT dataset_id, task_hash, input_hash, session, answer, labels, \"timestamp\", seconds, 1 AS sign " \
         "FROM new_rows"
_REMOVED = "SELECT dataset_id, task_hash, input_hash, session, answer, labels, \"timestamp\", seconds, -1 AS sign " \
           "FROM old_rows"

_DELTA = ("WITH d AS (SELECT r.dataset_id, r.task_hash, r.input_hash, r.session, r.answer, "
          "coalesce(r.labels, '[]') AS labels, r.\"timestamp\" AS ts, r.seconds, r.sign FROM ({rows}) r "
          "WHERE EXISTS (SELECT 1 FROM datasets x WHERE x.id = r.dataset_id))")

_COUNT_BODY = f"""
BEGIN
    {_DELTA}
    INSERT INTO answer_counts AS c (dataset_id, session, answer, labels, n, first, last, seconds_total, timed)
    SELECT dataset_id, session, answer, labels, sum(sign), min(ts) FILTER (WHERE sign > 0),
           max(ts) FILTER (WHERE sign > 0),
           coalesce(sum(sign * CASE WHEN seconds IS NULL THEN 0 ELSE least(seconds, {IDLE_CAP_SECONDS}) END), 0),
           sum(sign * (seconds IS NOT NULL)::int)
    FROM d GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (dataset_id, session, answer, labels) DO UPDATE SET
        n = c.n + excluded.n, first = least(c.first, excluded.first), last = greatest(c.last, excluded.last),
        seconds_total = c.seconds_total + excluded.seconds_total, timed = c.timed + excluded.timed;
    {_DELTA}
    DELETE FROM answer_counts c USING (SELECT DISTINCT dataset_id, session, answer, labels FROM d WHERE sign < 0) g
    WHERE c.dataset_id = g.dataset_id AND c.session = g.session AND c.answer = g.answer AND c.labels = g.labels
        AND c.n <= 0;

    {_DELTA},
    k AS (
        SELECT dataset_id, kind, hash, sum(sign) AS n FROM (
            SELECT dataset_id, 0::smallint AS kind, task_hash AS hash, sign FROM d
            UNION ALL SELECT dataset_id, 1::smallint, input_hash, sign FROM d) s
        GROUP BY 1, 2, 3 HAVING sum(sign) <> 0),
    up AS (
        INSERT INTO answer_keys AS a (dataset_id, kind, hash, n) SELECT dataset_id, kind, hash, n FROM k
        ORDER BY 1, 2, 3
        ON CONFLICT (dataset_id, kind, hash) DO UPDATE SET n = a.n + excluded.n
        RETURNING a.dataset_id, a.kind, a.hash, a.n),
    change AS (
        SELECT up.dataset_id, up.kind,
               CASE WHEN up.n = k.n AND k.n > 0 THEN 1 WHEN up.n <= 0 THEN -1 ELSE 0 END AS change
        FROM up JOIN k USING (dataset_id, kind, hash))
    INSERT INTO question_counts AS q (dataset_id, shard, tasks, inputs)
    SELECT dataset_id, pg_backend_pid() % {SHARDS}, coalesce(sum(change) FILTER (WHERE kind = 0), 0),
           coalesce(sum(change) FILTER (WHERE kind = 1), 0)
    FROM change GROUP BY 1 ORDER BY 1
    ON CONFLICT (dataset_id, shard) DO UPDATE SET tasks = q.tasks + excluded.tasks,
        inputs = q.inputs + excluded.inputs;
    {_DELTA}
    DELETE FROM answer_keys a USING (SELECT dataset_id, 0::smallint AS kind, task_hash AS hash FROM d WHERE sign < 0
                                     UNION SELECT dataset_id, 1::smallint, input_hash FROM d WHERE sign < 0) g
    WHERE a.dataset_id = g.dataset_id AND a.kind = g.kind AND a.hash = g.hash AND a.n <= 0;
    RETURN NULL;
END"""

COUNTS_SCHEMA = "".join(f"""
CREATE FUNCTION tuiannot_count_{op}() RETURNS trigger LANGUAGE plpgsql AS $body$
{_COUNT_BODY.replace("{rows}", rows)}
$body$;
CREATE TRIGGER answers_count_{op} AFTER {op.upper()} ON answers {referencing}
    FOR EACH STATEMENT EXECUTE FUNCTION tuiannot_count_{op}();
""" for op, rows, referencing in [
    ("insert", _ADDED, "REFERENCING NEW TABLE AS new_rows"),
    ("delete", _REMOVED, "REFERENCING OLD TABLE AS old_rows"),
    ("update", f"{_ADDED} UNION ALL {_REMOVED}", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
])


def _migrate_1(conn: Any) -> None:
    run_script(conn, FIRST_SCHEMA)
    run_script(conn, COUNTS_SCHEMA)


def _migrate_2(conn: Any) -> None:
    """Claims for task routing (see SQLite's migration 2)."""
    run_script(conn, """
    CREATE TABLE claims (
        id BIGSERIAL PRIMARY KEY, dataset_id BIGINT NOT NULL REFERENCES datasets (id) DEFERRABLE,
        task_key BIGINT NOT NULL, session TEXT NOT NULL, target INTEGER NOT NULL,
        expires DOUBLE PRECISION NOT NULL, content TEXT NOT NULL);
    CREATE UNIQUE INDEX claims_task_session ON claims (dataset_id, task_key, session);
    CREATE INDEX claims_expiry ON claims (dataset_id, expires)
    """)


def _migrate_3(conn: Any) -> None:
    """Resume checkpoints (see :mod:`tuiannot.resume`)."""
    run_script(conn, """
    CREATE TABLE checkpoints (
        dataset_id BIGINT NOT NULL REFERENCES datasets (id) DEFERRABLE, key TEXT NOT NULL, value TEXT NOT NULL,
        updated DOUBLE PRECISION NOT NULL, PRIMARY KEY (dataset_id, key))
    """)


def _migrate_4(conn: Any) -> None:
    """The replies of LLM servers, per dataset (see :mod:`.sqlite_caches`)."""
    run_script(conn, """
    CREATE TABLE llm_cache (
        dataset_id BIGINT NOT NULL REFERENCES datasets (id) DEFERRABLE, key TEXT NOT NULL, value TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL, PRIMARY KEY (dataset_id, key))
    """)


# An answer's flag and comment (issue 19), as SQLite's migration 5 reads them: the key looked for as text first;
# then the JSON parsed (jsonb), with a NUL escape made U+FFFD first (PostgreSQL cannot parse JSON with \u0000 into
# jsonb, and neither value is a NUL: one that holds some is still a comment).
_HAS_FLAG = "(strpos({row}.content, '\"_flagged\"') > 0 OR strpos({row}.content, '\"_comment\"') > 0)"
_JSON = "replace({row}.content, '\\u0000', '\\ufffd')::jsonb"
_FLAGGED = "coalesce(({row} -> '_flagged') = 'true'::jsonb, false)::int"
_COMMENTED = "coalesce(jsonb_typeof({row} -> '_comment') = 'string' AND ({row} ->> '_comment') <> '', false)::int"

# The JSON is parsed in the projection of a subquery whose WHERE looked for the keys: once a row, and only in rows
# that have one (an import of a million answers without flags parses none).
_FLAGS_OF = (f"SELECT r.dataset_id, r.session, r.sign, {_JSON.format(row='r')} AS j FROM ({{rows}}) r "
             f"WHERE {_HAS_FLAG.format(row='r')} AND EXISTS (SELECT 1 FROM datasets x WHERE x.id = r.dataset_id) "
             "OFFSET 0")  # (OFFSET 0: not pulled up into the query, which would parse j once per use)

_FLAG_BODY = f"""
BEGIN
    INSERT INTO flag_counts AS f (dataset_id, session, flagged, commented)
    SELECT dataset_id, session, sum(sign * {_FLAGGED.format(row="j")}), sum(sign * {_COMMENTED.format(row="j")})
    FROM ({_FLAGS_OF}) d
    GROUP BY 1, 2 HAVING sum(sign * {_FLAGGED.format(row="j")}) <> 0 OR sum(sign * {_COMMENTED.format(row="j")}) <> 0
    ORDER BY 1, 2
    ON CONFLICT (dataset_id, session) DO UPDATE SET flagged = f.flagged + excluded.flagged,
        commented = f.commented + excluded.commented;
    {{remove_empty}}
    RETURN NULL;
END"""
_REMOVE_EMPTY = ("DELETE FROM flag_counts f WHERE f.flagged = 0 AND f.commented = 0 AND (f.dataset_id, f.session) IN "
                 f"(SELECT r.dataset_id, r.session FROM ({{rows}}) r WHERE {_HAS_FLAG.format(row='r')});")

_CONTENT = "SELECT dataset_id, session, content, {sign} AS sign FROM {table}"

HISTORY_SCHEMA = """
CREATE TABLE answer_history (
    id BIGSERIAL PRIMARY KEY, answer_id BIGINT NOT NULL, dataset_id BIGINT NOT NULL, task_hash BIGINT NOT NULL,
    input_hash BIGINT NOT NULL, session TEXT NOT NULL, answer TEXT NOT NULL, content TEXT NOT NULL,
    replaced DOUBLE PRECISION NOT NULL, replaced_by TEXT NOT NULL);
CREATE INDEX answer_history_input ON answer_history (dataset_id, input_hash, replaced);
CREATE FUNCTION tuiannot_count_history() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    INSERT INTO answer_history (answer_id, dataset_id, task_hash, input_hash, session, answer, content, replaced,
                                replaced_by)
    VALUES (OLD.id, OLD.dataset_id, OLD.task_hash, OLD.input_hash, OLD.session, OLD.answer, OLD.content,
            """ + NOW + """, NEW.session);
    RETURN NEW;
END
$body$;
CREATE TRIGGER answers_history BEFORE UPDATE ON answers FOR EACH ROW
    WHEN (OLD.content IS DISTINCT FROM NEW.content OR OLD.answer IS DISTINCT FROM NEW.answer
          OR OLD.session IS DISTINCT FROM NEW.session OR OLD.labels IS DISTINCT FROM NEW.labels
          OR OLD.task_hash IS DISTINCT FROM NEW.task_hash OR OLD.input_hash IS DISTINCT FROM NEW.input_hash)
    EXECUTE FUNCTION tuiannot_count_history();
CREATE TABLE flag_counts (
    dataset_id BIGINT NOT NULL, session TEXT NOT NULL, flagged BIGINT NOT NULL, commented BIGINT NOT NULL,
    PRIMARY KEY (dataset_id, session));
CREATE FUNCTION tuiannot_count_drop() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    DELETE FROM answer_history WHERE dataset_id = OLD.id;
    DELETE FROM flag_counts WHERE dataset_id = OLD.id;
    RETURN NULL;
END
$body$;
CREATE TRIGGER datasets_history_delete AFTER DELETE ON datasets FOR EACH ROW EXECUTE FUNCTION tuiannot_count_drop()
""" + "".join(f"""
;
CREATE FUNCTION tuiannot_count_flags_{op}() RETURNS trigger LANGUAGE plpgsql AS $body$
{_FLAG_BODY.replace("{remove_empty}", "" if op == "insert" else _REMOVE_EMPTY).replace("{rows}", rows)}
$body$;
CREATE TRIGGER answers_flags_{op} AFTER {op.upper()} ON answers {referencing}
    FOR EACH STATEMENT EXECUTE FUNCTION tuiannot_count_flags_{op}()
""" for op, rows, referencing in [
    ("insert", _CONTENT.format(sign=1, table="new_rows"), "REFERENCING NEW TABLE AS new_rows"),
    ("delete", _CONTENT.format(sign=-1, table="old_rows"), "REFERENCING OLD TABLE AS old_rows"),
    ("update", f"{_CONTENT.format(sign=1, table='new_rows')} UNION ALL {_CONTENT.format(sign=-1, table='old_rows')}",
     "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
])


def _migrate_5(conn: Any) -> None:
    """Answer history and flag totals (see SQLite's migration 5). The functions' names begin ``tuiannot_count_``:
    ``db-roles`` makes those ``SECURITY DEFINER`` (:mod:`.postgres_roles`), so an annotator's edit writes its
    history, and its flags are counted, without a right to write either table (nor to forge them)."""
    run_script(conn, HISTORY_SCHEMA)
    conn.execute(f"""
    INSERT INTO flag_counts (dataset_id, session, flagged, commented)
    SELECT dataset_id, session, sum({_FLAGGED.format(row="j")}), sum({_COMMENTED.format(row="j")})
    FROM (SELECT a.dataset_id, a.session, {_JSON.format(row="a")} AS j FROM answers a
          WHERE {_HAS_FLAG.format(row="a")}) d GROUP BY 1, 2
    HAVING sum({_FLAGGED.format(row="j")}) > 0 OR sum({_COMMENTED.format(row="j")}) > 0""")


MIGRATIONS: dict[int, Callable[[Any], None]] = {1: _migrate_1, 2: _migrate_2, 3: _migrate_3, 4: _migrate_4,
                                                 5: _migrate_5}


def run_script(conn: Any, script: str) -> None:
    """Each statement of ``script`` in turn (a function body's semicolons are inside ``$body$`` quotes)."""
    statements, current = [], ""
    for piece in script.split(";"):
        current += piece + ";"
        if current.count("$body$") % 2 == 0:
            if current.strip(" \n;"):
                statements.append(current.strip())
            current = ""
    assert not current.strip(" \n;"), f"an incomplete statement: {current!r}"
    for statement in statements:
        conn.execute(statement)


def schema_version(conn: Any) -> int:
    """The version of the schema the connection's search path leads to (0: none yet)."""
    if conn.execute("SELECT to_regclass('tuiannot_meta')").fetchone()[0] is None:
        return 0
    row = conn.execute("SELECT value FROM tuiannot_meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: Any, schema: str) -> None:
    """Create ``schema`` if need be and bring it to :data:`SCHEMA_VERSION` (inside the caller's transaction,
    under an advisory lock of the schema's name: the first of many annotators starting at once does it)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('tuiannot schema ' || %s, 0))", (schema,))
    conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    conn.execute(f'SET LOCAL search_path TO "{schema}"')
    version = schema_version(conn)  # again, under the lock: another process may have done it meanwhile
    if version >= SCHEMA_VERSION:
        return
    conn.execute(META_SCHEMA)
    for step in range(version + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[step](conn)
    conn.execute("INSERT INTO tuiannot_meta (key, value) VALUES ('schema_version', %s) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))


def prepare(pool: "Pool") -> None:
    """Check the schema's version; create the schema or migrate it if need be (the first open in a process). A
    role that lacks a right is told which, and whom to ask."""
    import psycopg
    from psycopg import errors as pg_errors

    from .postgres_connect import query_error

    location = pool.location
    with pool.connection() as conn:
        try:
            try:
                version = schema_version(conn)
            except pg_errors.InsufficientPrivilege as e:
                name = pool.schema or "SCHEMA"
                raise StorageError(
                    f"{location}: this role may not read tuiannot's tables ({' '.join(str(e).split())}); ask the "
                    f"schema's owner (the team lead) to GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "
                    f"{name} and USAGE ON ALL SEQUENCES IN SCHEMA {name} to it, or to run tuiannot db-roles (an "
                    "annotator's rights only: see README, Team across machines)") from None
            if version > SCHEMA_VERSION:
                raise UserError(f"{location}: written by a newer tuiannot (schema {version}, this one knows "
                                f"{SCHEMA_VERSION}); upgrade tuiannot")
            if version == SCHEMA_VERSION:
                return
            schema = pool.schema or conn.execute("SELECT current_schema()").fetchone()[0]  # type: ignore[index]
            if schema is None:
                raise UserError(f"{location}: the search_path of the URL's options names no schema that exists; "
                                "create it, or give ?schema=NAME instead")
            exists = conn.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
            if exists and not conn.execute("SELECT has_schema_privilege(%s, 'USAGE')",  # type: ignore[index]
                                           (schema,)).fetchone()[0]:
                raise StorageError(f"{location}: this role may not use schema {schema!r} (its tables may be there); "
                                   f"ask its owner (the team lead) to GRANT USAGE ON SCHEMA {schema} and the rights "
                                   "on its tables (see README: Team across machines)")
            with conn.transaction():
                migrate(conn, schema)
        except pg_errors.InsufficientPrivilege as e:
            raise StorageError(
                f"{location}: this role may not create tuiannot's tables in schema {pool.schema or 'public'!r} "
                f"({' '.join(str(e).split())}); run tuiannot once as the schema's owner (the team lead: tuiannot "
                "stats --db URL), or have them grant it (GRANT CREATE ON SCHEMA ...)") from None
        except psycopg.Error as e:
            raise query_error(e, location, pool.secret, writing=True) from None
