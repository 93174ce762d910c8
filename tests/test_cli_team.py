"""The team lead's commands from the shell: iaa, progress, aggregate (exit codes, --json figures)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tuiannot
from tuiannot.cli import main

from .test_team import seed

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "agreement" / "snow2008_rte"


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_iaa_progress_aggregate_json(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(db_path)
    code, out, _ = cli(["iaa", "ds", "--json", "--db", str(db_path)], capsys)
    report = json.loads(out)
    assert code == 0 and report["kind"] == "binary" and report["documents"]["items"] == 6
    code, out, _ = cli(["progress", "ds", "--json", "--db", str(db_path)], capsys)
    assert code == 0 and [p["annotator"] for p in json.loads(out)["annotators"]] == ["alice", "bob", "carol"]
    code, out, _ = cli(["aggregate", "ds", "--output", "final", "--method", "dawid-skene", "--json",
                        "--db", str(db_path)], capsys)
    assert code == 0 and json.loads(out)["written"] == 6
    assert len(list(tuiannot.connect(db_path).answers("final"))) == 6
    code, out, _ = cli(["progress", "ds", "--db", str(db_path)], capsys)
    assert code == 0 and "alice" in out and "Annotators" in out


def test_team_command_errors(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(db_path)
    code, _, err = cli(["iaa", "nope", "--db", str(db_path)], capsys)
    assert code == 1 and err.strip() == f"error: no dataset named 'nope' in {db_path}"
    code, _, err = cli(["iaa", "--db", str(db_path)], capsys)
    assert code == 2
    code, _, err = cli(["aggregate", "ds", "--output", "ds", "--db", str(db_path)], capsys)
    assert code == 1 and "--output must be another dataset" in err
    code, _, err = cli(["aggregate", "ds", "--output", "x", "--method", "vote", "--db", str(db_path)], capsys)
    assert code == 1 and "--method" in err
    code, _, err = cli(["iaa", "--from", str(db_path.parent / "none.csv")], capsys)
    assert code == 1 and "no such file" in err


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data/agreement is missing")
def test_iaa_from_csv_on_real_crowd_data(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(["iaa", "--from", str(SHARED / "annotations.csv"), "--json"], capsys)
    docs = json.loads(out)["documents"]
    assert code == 0 and docs["items"] == 800 and docs["ratings"] == 8000
    assert docs["fleiss_kappa"] == pytest.approx(0.241384, abs=1e-6)
    assert docs["krippendorff_alpha"] == pytest.approx(0.241479, abs=1e-6)
