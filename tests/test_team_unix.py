"""A team of Unix users on one server: two annotators as two uids share one database in a team folder.

Each annotator is a process that loads tuiannot as root, then drops to its own numeric uid and the team's gid
(``os.setgid``/``os.setuid``; no user accounts needed) before it opens the database, as a real login would be.
Tests run as root in CI; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import grp
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="running annotators as other uids needs root (CI runs "
                                                          "as root)")
TEAM_GID = 54_321
ALICE, BOB, EVE = 10_001, 10_002, 10_003
TUIANNOT = [sys.executable, "-m", "tuiannot"]

ANNOTATE = """
import json, os, sys, tempfile
import tuiannot
from tuiannot.controller import Controller, answer_all
from tuiannot.recipes import Components, get_recipe


def run(db, source, session, limit):
    components = Components.from_value(get_recipe("textcat")(source, label="POS", dataset="team"))
    database = tuiannot.connect(db)
    controller = Controller(components, database, session).start()
    count = answer_all(controller, lambda task: ("accept", None), limit=limit)
    controller.close()
    database.close()
    return count


uid, gid, db, source, limit = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
with tempfile.TemporaryDirectory() as scratch:  # a dry run as root loads every module (the interpreter's own
    run(os.path.join(scratch, "warm.db"), source, "warm", 1)  # folder may be closed to other users)
os.setgroups([gid]); os.setgid(gid); os.setuid(uid)  # then the annotator's own identity, as a login would be
os.umask(0o022)  # a usual login's: the sharing must not depend on it
try:
    print(json.dumps({"answered": run(db, source, f"u{uid}", limit)}))
except Exception as e:  # the one line a person would read
    print(json.dumps({"error": str(e)}))
"""


@pytest.fixture
def team_folder() -> Iterator[Path]:
    """A setgid folder of the team's gid, outside pytest's private tmp folder (other uids could not enter it)."""
    folder = Path(tempfile.mkdtemp(prefix="tuiannot-team-", dir="/tmp"))
    os.chown(folder, 0, TEAM_GID)
    os.chmod(folder, 0o2770)
    source = folder / "reviews.jsonl"
    source.write_text("".join(json.dumps({"text": f"review number {i}"}) + "\n" for i in range(10)))
    os.chown(source, 0, TEAM_GID)
    os.chmod(source, 0o640)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def annotate(uid: int, gid: int, db: Path, source: Path, limit: int) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", ANNOTATE, str(uid), str(gid), str(db), str(source), str(limit)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_uids_annotate_one_database_in_a_team_folder(team_folder: Path) -> None:
    db, source = team_folder / "team.db", team_folder / "reviews.jsonl"
    assert annotate(ALICE, TEAM_GID, db, source, 4) == {"answered": 4}  # alice creates the database
    info = db.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o660, ALICE, TEAM_GID)
    assert annotate(BOB, TEAM_GID, db, source, 3) == {"answered": 3}  # bob: no chmod needed
    assert annotate(ALICE, TEAM_GID, db, source, 10) == {"answered": 3}  # the rest
    for side in (Path(f"{db}-wal"), Path(f"{db}-shm")):
        if side.exists():  # SQLite gives them the database file's mode, whatever the umask
            assert stat.S_IMODE(side.stat().st_mode) == 0o660 and side.stat().st_gid == TEAM_GID
    import tuiannot

    with tuiannot.connect(db) as database:
        sessions = sorted({a["_session_id"] for a in database.answers("team")})
        assert database.count_answers("team") == 10 and sessions == [f"team-u{ALICE}", f"team-u{BOB}"]


def test_a_private_database_says_whose_it_is_and_what_fixes_it(team_folder: Path) -> None:
    private = team_folder / "alice"
    private.mkdir()
    os.chown(private, ALICE, TEAM_GID)
    os.chmod(private, 0o2750)  # bob may enter, not write: alice's own database, created 0600
    db, source = private / "mine.db", team_folder / "reviews.jsonl"
    assert annotate(ALICE, TEAM_GID, db, source, 1) == {"answered": 1}
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    error = str(annotate(BOB, TEAM_GID, db, source, 1)["error"])
    assert "\n" not in error
    assert f"{db} is {ALICE}:{TEAM_GID} with mode 600, and you are {BOB}" in error
    assert f"tuiannot team-init {private} --group GROUP" in error


def test_team_init_sets_a_folder_up_and_repairs_a_database(tmp_path: Path) -> None:
    group = next((g.gr_name for g in grp.getgrall() if g.gr_name in ("users", "staff", "adm")), None)
    if group is None:
        pytest.skip("no group named users, staff or adm on this machine")
    folder = Path(tempfile.mkdtemp(prefix="tuiannot-init-", dir="/tmp")) / "annot"
    try:
        done = subprocess.run([*TUIANNOT, "team-init", str(folder), "--group", group, "--json"], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["created"] is True
        gid = grp.getgrnam(group).gr_gid
        assert stat.S_IMODE(folder.stat().st_mode) == 0o2770 and folder.stat().st_gid == gid
        db = folder / "tuiannot.db"
        assert stat.S_IMODE(db.stat().st_mode) == 0o660 and db.stat().st_gid == gid
        os.chmod(db, 0o600)  # a database made before: team-init repairs its sharing
        again = subprocess.run([*TUIANNOT, "team-init", str(folder), "--group", group], capture_output=True,
                               text=True, timeout=120)
        assert again.returncode == 0 and "repaired (tuiannot.db)" in again.stdout
        assert stat.S_IMODE(db.stat().st_mode) == 0o660
        bad = subprocess.run([*TUIANNOT, "team-init", str(folder), "--group", "no-such-group-xyz"],
                             capture_output=True, text=True, timeout=120)
        assert bad.returncode == 1 and bad.stderr.startswith("error: no group named 'no-such-group-xyz'")
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)
