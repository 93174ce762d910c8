"""The team lead's commands from the shell: iaa, progress, aggregate (exit codes, --json figures)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import SHARED, run, seed_votes, stored

SNOW = SHARED / "agreement" / "snow2008_rte"


def test_iaa_progress_aggregate_json(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed_votes(db_path)
    code, out, _ = run(capsys, "iaa", "ds", "--json", "--db", db_path)
    report = json.loads(out)
    assert code == 0 and report["kind"] == "binary" and report["documents"]["items"] == 6
    code, out, _ = run(capsys, "progress", "ds", "--json", "--db", db_path)
    assert code == 0 and [p["annotator"] for p in json.loads(out)["annotators"]] == ["alice", "bob", "carol"]
    code, out, _ = run(capsys, "aggregate", "ds", "--output", "final", "--method", "dawid-skene", "--json",
                       "--db", db_path)
    assert code == 0 and json.loads(out)["written"] == 6
    assert len(stored(db_path, "final")) == 6
    code, out, _ = run(capsys, "progress", "ds", "--db", db_path)
    assert code == 0 and "alice" in out and "Annotators" in out


def test_team_command_errors(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed_votes(db_path)
    code, _, err = run(capsys, "iaa", "nope", "--db", db_path)
    assert code == 1 and err.strip() == f"error: no dataset named 'nope' in {db_path}"
    code, _, err = run(capsys, "iaa", "--db", db_path)
    assert code == 2
    code, _, err = run(capsys, "aggregate", "ds", "--output", "ds", "--db", db_path)
    assert code == 1 and "--output must be another dataset" in err
    code, _, err = run(capsys, "aggregate", "ds", "--output", "x", "--method", "vote", "--db", db_path)
    assert code == 1 and "--method" in err
    code, _, err = run(capsys, "iaa", "--from", str(db_path.parent / "none.csv"))
    assert code == 1 and "no such file" in err


@pytest.mark.skipif(not SNOW.exists(), reason="../shared/data/agreement is missing")
def test_iaa_from_csv_on_real_crowd_data(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "iaa", "--from", SNOW / "annotations.csv", "--json")
    docs = json.loads(out)["documents"]
    assert code == 0 and docs["items"] == 800 and docs["ratings"] == 8000
    assert docs["fleiss_kappa"] == pytest.approx(0.241384, abs=1e-6)
    assert docs["krippendorff_alpha"] == pytest.approx(0.241479, abs=1e-6)
