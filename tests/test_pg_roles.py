"""``tuiannot db-roles``: on a PostgreSQL project, an annotator's role annotates (the real app, headless) but
cannot drop a dataset nor change another annotator's answers, each refusal one line; the lead can do both.

Roles are the cluster's, not the schema's: each test makes its own (unique names) and drops them afterwards.
Skipped without a PostgreSQL server, failed under ``CI=true`` (the ``postgres_url`` fixture)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

import tuiannot
from tuiannot.storage import StorageError

from .helpers import assert_one_line_error, make_app, raw_sql, run, texts, wait_for_task, write_jsonl

pytestmark = pytest.mark.usefixtures("cli_env")


class Team:
    def __init__(self, admin: str, suffix: str) -> None:
        self.admin = admin
        self.schema = urlsplit(admin).query.rsplit("schema=", 1)[1]
        self.lead, self.alice, self.bob = (f"{who}_{suffix}" for who in ("lead", "alice", "bob"))
        self.password = uuid.uuid4().hex

    def url(self, role: str) -> str:
        """The project's URL as ``role`` (its password in it: the server may not trust this host)."""
        parts = urlsplit(self.admin)
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit(parts._replace(netloc=f"{role}:{self.password}@{host}"))

    def roles(self) -> list[str]:
        return [self.lead, self.alice, self.bob, f"tuiannot_{self.schema}_lead", f"tuiannot_{self.schema}_annotator"]


@pytest.fixture
def team(postgres_url: str, capsys: pytest.CaptureFixture[str]) -> Iterator[Team]:
    """The roles made by ``tuiannot db-roles`` on this test's schema (as the server's admin), with passwords."""
    import psycopg

    from tuiannot.storage.postgres_connect import close_all

    team = Team(postgres_url, uuid.uuid4().hex[:10])
    try:
        code, out, err = run(capsys, "db-roles", postgres_url, "--lead", team.lead, "--annotators",
                             f"{team.alice},{team.bob}")
        assert code == 0, err
        assert f"owned by tuiannot_{team.schema}_lead" in out and "Made now: " in out
        for role in (team.lead, team.alice, team.bob):
            raw_sql(postgres_url, f'ALTER ROLE "{role}" PASSWORD \'{team.password}\'')
        yield team
    finally:
        close_all()
        with psycopg.connect(postgres_url.split("?")[0], autocommit=True) as conn:
            for role in team.roles():
                if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                    conn.execute(f'DROP OWNED BY "{role}" CASCADE')
                    conn.execute(f'DROP ROLE "{role}"')


async def test_an_annotator_annotates_but_cannot_drop_or_change_others_answers(
        team: Team, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(3))
    for n, who, key in ((0, team.alice, "a"), (1, team.bob, "x")):  # each in their own name, in the real app
        app = make_app(source, team.url(who), labels="POS", session=who)  # type: ignore[arg-type]
        async with app.run_test() as pilot:
            await wait_for_task(pilot, text=f"text number {n}")  # (bob: the dataset has text 0 already)
            await pilot.press(key)
            await wait_for_task(pilot, text=f"text number {n + 1}")
    rows = raw_sql(team.admin, "SELECT id, session, answer FROM answers ORDER BY id")
    assert [(s, a) for _, s, a in rows] == [(team.alice, "accept"), (team.bob, "reject")]
    bobs = rows[1][0]
    with tuiannot.connect(team.url(team.alice)) as db:
        assert db.dataset_counts("data").answers == 2  # the totals counted (their triggers run as the lead's)
        own = list(db.answers("data"))[0]
        db.replace_answer(rows[0][0], {**own, "answer": "ignore"})  # her own answer: she may edit it
        theirs = list(db.answers("data"))[1]
        for task in ({**theirs, "answer": "accept"}, {**theirs, "answer": "accept", "_session_id": team.alice}):
            with pytest.raises(StorageError) as info:
                db.replace_answer(bobs, task)
            assert "permission denied: only the lead role may change the answers of another session" in str(info.value)
            assert "\n" not in str(info.value) and "CONTEXT" not in str(info.value)
        with pytest.raises(StorageError, match="may only add or change answers in its own name"):
            db.add_answer("data", {"text": "forged", "answer": "accept", "_session_id": f"data-{team.bob}"})
    assert raw_sql(team.admin, "SELECT session, answer FROM answers ORDER BY id") == [
        (team.alice, "ignore"), (team.bob, "reject")]

    code, out, err = run(capsys, "drop", "data", "--yes", "--force", "--db", team.url(team.alice))
    assert code == 1 and out == ""
    assert_one_line_error(err, "permission denied: only the lead role may drop datasets")
    assert team.password not in err and "alice_" in err
    code, out, err = run(capsys, "drop", "data", "--yes", "--force", "--db", team.url(team.bob))
    assert code == 1
    assert_one_line_error(err, "only the lead role may drop datasets")
    assert raw_sql(team.admin, "SELECT count(*) FROM answers") == [(2,)]

    with tuiannot.connect(team.url(team.lead)) as db:  # the lead may change anyone's answer
        db.replace_answer(bobs, {**list(db.answers("data"))[1], "answer": "accept"})
    code, out, err = run(capsys, "drop", "data", "--yes", "--force", "--db", team.url(team.lead))
    assert code == 0, err
    assert "Deleted dataset 'data' (2 answers)" in out
    assert raw_sql(team.admin, "SELECT count(*) FROM answers") == [(0,)]


def test_db_roles_is_idempotent_and_grants_exactly_what_annotating_needs(
        team: Team, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    code, out, err = run(capsys, "db-roles", team.admin, "--lead", team.lead, "--annotators",
                         f"{team.alice},{team.bob}", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["created"] == [] and report["schema"] == team.schema
    assert report["annotators"] == [team.alice, team.bob]
    group = f"tuiannot_{team.schema}_annotator"
    rights = dict(raw_sql(team.admin, "SELECT table_name, string_agg(privilege_type, ',' ORDER BY privilege_type) "
                                      "FROM information_schema.role_table_grants WHERE grantee = ? AND "
                                      "table_schema = ? GROUP BY 1", group, team.schema))
    assert rights["datasets"] == "INSERT,SELECT"  # no DELETE, no UPDATE: no drop
    assert rights["answers"] == "INSERT,SELECT,UPDATE"  # no DELETE; UPDATE of its own rows only
    assert rights["answer_counts"] == rights["answer_keys"] == rights["question_counts"] == "SELECT"
    owners = raw_sql(team.admin, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = ?", team.schema)
    assert owners == [(f"tuiannot_{team.schema}_lead",)]
    # an annotator may not set up roles, and bad names are refused before anything is made
    code, _, err = run(capsys, "db-roles", team.url(team.alice), "--lead", team.alice, "--annotators", team.bob)
    assert code == 1
    assert_one_line_error(err, "this role may not set up roles")
    assert team.password not in err
    code, _, err = run(capsys, "db-roles", team.admin, "--lead", team.alice, "--annotators", team.alice)
    assert code == 1
    assert_one_line_error(err, "both as the lead and as an annotator")
    code, _, err = run(capsys, "db-roles", "answers.db", "--lead", "a", "--annotators", "b")
    assert code == 1
    assert_one_line_error(err, "give a postgresql:// URL")
