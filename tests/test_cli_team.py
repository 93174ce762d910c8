"""The team lead's commands from the shell: iaa, progress, aggregate (exit codes, --json figures)."""

from __future__ import annotations

import json
import statistics
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


# -- at scale (issue 15): the reports read compact rows, Dawid-Skene works on arrays ------------------------------
def reference_dawid_skene(ratings: list, max_iter: int = 100, tol: float = 1e-6, smoothing: float = 0.01):
    """Dawid & Skene in plain Python loops, as tuiannot computed it before the numpy version: the reference."""
    import math

    table: dict = {}
    for item, who, label in ratings:
        table.setdefault(item, {})[who] = label
    classes = sorted({label for answers in table.values() for label in answers.values()})
    annotators = sorted({a for answers in table.values() for a in answers})
    k_count, cls, ann = len(classes), {c: i for i, c in enumerate(classes)}, {a: i for i, a in enumerate(annotators)}
    obs = [[(ann[a], cls[label]) for a, label in answers.items()] for answers in table.values()]
    post = []
    for answers in obs:
        row = [0.0] * k_count
        for _, label in answers:
            row[label] += 1.0
        post.append([v / len(answers) for v in row])

    def m_step(post: list) -> tuple:
        priors = [sum(p[k] for p in post) / len(post) for k in range(k_count)]
        counts = [[[smoothing / k_count] * k_count for _ in range(k_count)] for _ in annotators]
        for answers, p in zip(obs, post, strict=True):
            for a, label in answers:
                for k in range(k_count):
                    counts[a][k][label] += p[k]
        return priors, [[[v / sum(row) for v in row] for row in rows] for rows in counts]

    def e_step(priors: list, confusion: list) -> list:
        out = []
        for answers in obs:
            scores = [math.log(max(p, 1e-300)) for p in priors]
            for a, label in answers:
                for k in range(k_count):
                    scores[k] += math.log(max(confusion[a][k][label], 1e-300))
            top = max(scores)
            weights = [math.exp(s - top) for s in scores]
            out.append([w / sum(weights) for w in weights])
        return out

    iterations = 0
    while True:
        priors, confusion = m_step(post)
        if iterations >= max_iter:
            break
        iterations += 1
        new = e_step(priors, confusion)
        change = max(abs(x - y) for p, q in zip(post, new, strict=True) for x, y in zip(p, q, strict=True))
        post = new
        if change < tol:
            priors, confusion = m_step(post)
            break
    return dict(zip(table, post, strict=True)), classes, confusion, annotators, iterations


def test_dawid_skene_on_arrays_matches_the_loops() -> None:
    import random

    from tuiannot.metrics import dawid_skene

    rng = random.Random(3)
    labels = ["A", "B", "C"]
    ratings = []
    for item in range(300):
        truth = rng.choice(labels)
        for who, skill in (("ann", 0.9), ("bob", 0.7), ("cat", 0.5), ("dan", 0.8)):
            if rng.random() < 0.75:
                ratings.append((item, who, truth if rng.random() < skill else rng.choice(labels)))
    posts, classes, confusion, annotators, iterations = reference_dawid_skene(ratings)
    result = dawid_skene(ratings)
    assert result.classes == classes and result.iterations == iterations and len(result.posteriors) == len(posts)
    for item, p in posts.items():
        assert list(result.posteriors[item].values()) == pytest.approx(p, abs=1e-9)
        assert result.labels[item] == classes[max(range(len(p)), key=lambda k: (p[k], -k))]
    for j, who in enumerate(annotators):
        for k, truth in enumerate(classes):
            assert list(result.confusion[who][truth].values()) == pytest.approx(confusion[j][k], abs=1e-9)


def team(db_path: Path) -> None:
    """Three annotators on 40 single-choice inputs, with ignores, a changed mind, and gold questions."""
    import tuiannot

    options = [{"id": x, "text": x} for x in ("POS", "NEG", "NEU")]
    rows = []
    for i in range(40):
        for k, who in enumerate(("alice", "bob", "carol")):
            label = ("POS", "NEG", "NEU")[(i + (k == 2 and i % 3 == 0)) % 3]
            answer = "ignore" if (i + k) % 17 == 0 else "accept"
            rows.append({"text": f"text {i}", "meta": {"i": i}, "options": options, "_view_id": "choice",
                         "accept": [label] if answer == "accept" else [], "answer": answer,
                         "_session_id": f"ds-{who}", "_seconds": 1 + (i * 7 + k) % 5, "_timestamp": 1000 + i})
    rows.append({**rows[9], "accept": ["NEG"], "_timestamp": 5000})  # alice changes her mind on input 3: POS
    for who, given in (("alice", "POS"), ("bob", "NEG")):
        rows.append({"text": "gold 1", "options": options, "_view_id": "choice", "answer": "accept",
                     "accept": [given], "_session_id": f"ds-{who}", "_gold": {"answer": "accept", "accept": ["POS"]}})
    with tuiannot.connect(db_path) as db:
        db.add_answers("ds", rows)


def test_the_reports_read_compact_rows_not_whole_answers(db_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from tuiannot.storage.sqlite import SQLiteDatabase

    team(db_path)
    code, out, _ = run(capsys, "aggregate", "ds", "-o", "before", "--json", "--db", db_path)
    expected = json.loads(out)
    before = {r["text"]: r for r in stored(db_path, "before")}

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a report decoded every whole answer")

    monkeypatch.setattr(SQLiteDatabase, "answers", refuse)
    code, out, _ = run(capsys, "progress", "ds", "--json", "--db", db_path)
    report = json.loads(out)
    assert code == 0 and report["answers"] == 123 and report["inputs_answered"] == 40
    people = {p["annotator"]: p for p in report["annotators"]}
    assert people["alice"]["gold_answered"] == 1 and people["alice"]["gold_accuracy"] == 1.0
    assert people["bob"]["gold_accuracy"] == 0.0 and people["carol"]["gold_answered"] == 0
    times = [1 + (i * 7) % 5 for i in range(40)] + [1 + 21 % 5]  # alice's: 40 inputs, the changed mind (gold: untimed)
    assert people["alice"]["median_seconds"] == statistics.median(times)
    assert people["alice"]["answers_per_hour"] == round(3600 * len(times) / sum(times), 1)
    assert people["alice"]["agreement_with_others"] is not None
    code, out, _ = run(capsys, "iaa", "ds", "--json", "--db", db_path)
    assert code == 0 and json.loads(out)["kind"] == "single" and json.loads(out)["documents"]["items"] == 40
    code, out, _ = run(capsys, "aggregate", "ds", "-o", "after", "--json", "--db", db_path)
    assert code == 0 and {**json.loads(out), "output": "before"} == expected
    monkeypatch.undo()
    after = {r["text"]: r for r in stored(db_path, "after")}
    assert after.keys() == before.keys() and len(after) == 40 - len(expected["ties"]) > 30
    for text, r in after.items():
        assert (r["answer"], r["accept"], r["meta"], r["_aggregate"]) == \
            (before[text]["answer"], before[text]["accept"], before[text]["meta"], before[text]["_aggregate"])
    assert after["text 3"]["_aggregate"]["votes"]["alice"] == "NEG"  # her last word, and so the majority's
    assert after["text 3"]["accept"] == ["NEG"]


def test_the_reports_pause_the_cyclic_garbage_collector_and_resume_it(db_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    import tuiannot
    from tuiannot.storage import UnknownDataset
    from tuiannot.storage.sqlite import SQLiteDatabase
    from tuiannot.team.reports import agreement_report, aggregate, progress_report

    team(db_path)
    during: list[bool] = []
    real = SQLiteDatabase.answer_fields

    def watch(self: SQLiteDatabase, *args: object) -> object:
        during.append(gc.isenabled())
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(SQLiteDatabase, "answer_fields", watch)
    with tuiannot.connect(db_path) as db:
        agreement_report(db, "ds")
        progress_report(db, "ds")
        aggregate(db, "ds", "majority", "final")
        assert during == [False, False, False] and gc.isenabled()
        with pytest.raises(UnknownDataset):
            progress_report(db, "nope")
        assert gc.isenabled()
