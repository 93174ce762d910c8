"""The running totals behind `stats` always equal a recount of the answers themselves."""

from __future__ import annotations

import json
import random
import statistics
from collections import Counter, defaultdict
from pathlib import Path

import tuiannot
from tuiannot.metrics import dataset_report
from tuiannot.storage.base import IDLE_CAP_SECONDS


def brute_force(db, dataset: str) -> dict:
    rows = list(db.answers(dataset))
    by_session: dict[str, Counter] = defaultdict(Counter)
    seconds: dict[str, list[float]] = defaultdict(list)
    by_labels: Counter = Counter()
    for r in rows:
        session = r["_session_id"].split("-", 1)[1]
        by_session[session][r["answer"]] += 1
        if r.get("_seconds") is not None:
            seconds[session].append(r["_seconds"])
        labels = r.get("accept") if "accept" in r else ([r["label"]] if "label" in r else [])
        by_labels[(r["answer"], json.dumps(labels))] += 1
    all_seconds = [s for v in seconds.values() for s in v]
    return {
        "answers": len(rows),
        "tasks": len({r["_task_hash"] for r in rows}),
        "inputs": len({r["_input_hash"] for r in rows}),
        "by_session": {k: dict(v) for k, v in by_session.items()},
        "capped": {k: sum(min(x, IDLE_CAP_SECONDS) for x in v) for k, v in seconds.items()},
        "medians": {k: statistics.median(v) for k, v in seconds.items() if v},
        "median": statistics.median(all_seconds) if all_seconds else None,
        "by_labels": {k: v for k, v in by_labels.items()},
    }


def from_totals(db, dataset: str) -> dict:
    c = db.dataset_counts(dataset)
    return {
        "answers": c.answers, "tasks": c.tasks, "inputs": c.inputs,
        "by_session": {k: {a: n for a, n in s.by_answer.items() if n} for k, s in c.sessions.items()},
        "capped": {k: s.seconds_total for k, s in c.sessions.items() if s.timed},
        "medians": {k: s.median_seconds for k, s in c.sessions.items() if s.median_seconds is not None},
        "median": c.median_seconds,
        "by_labels": {(a, json.dumps(labels)): n for a, labels, n in c.by_labels},
    }


def approx(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict) and key in ("capped", "medians"):
            assert a[key].keys() == b[key].keys(), key
            for k in a[key]:
                assert abs(a[key][k] - b[key][k]) < 1e-6, (key, k)
        else:
            assert a[key] == b[key], key


def test_totals_follow_inserts_replacements_imports_and_drops(tmp_path: Path) -> None:
    rng = random.Random(7)
    db = tuiannot.connect(tmp_path / "c.db")
    ids: list[int] = []
    texts = [f"text {i}" for i in range(40)]
    for step in range(600):
        action = rng.random()
        session = rng.choice(["ann", "bob", "cy"])
        task = {"text": rng.choice(texts), "answer": rng.choice(["accept", "reject", "ignore"]),
                "_session_id": f"ds-{session}", "_timestamp": 1_700_000_000 + step,
                "_seconds": rng.choice([None, rng.uniform(0.5, 20), rng.uniform(400, 900)])}
        if rng.random() < 0.5:
            task["label"] = rng.choice(["A", "B"])
        else:
            task["options"] = [{"id": "A"}, {"id": "B"}]
            task["accept"] = rng.sample(["A", "B"], rng.randint(0, 2))
        if action < 0.7 or not ids:
            ids.append(db.add_answer("ds", task))
        elif action < 0.95:
            db.replace_answer(rng.choice(ids), task)  # also changes hashes, sessions and groups
        else:
            db.add_answers("ds", [task, dict(task, text="imported")])
        if step % 100 == 99:
            approx(brute_force(db, "ds"), from_totals(db, "ds"))
    approx(brute_force(db, "ds"), from_totals(db, "ds"))
    assert db.count_answers("ds") == len(list(db.answers("ds")))
    assert db.count_answers("ds", "bob") == len(list(db.answers("ds", session="bob")))

    db.add_answer("other", {"text": "x", "answer": "accept", "_session_id": "other-z", "_timestamp": 5})
    assert db.drop_dataset("ds") > 0
    assert db.datasets() == ["other"]
    assert [r["dataset"] for r in db.overview()] == ["other"] and db.overview()[0]["answers"] == 1
    db.add_answer("ds", {"text": "again", "answer": "reject", "_session_id": "ds-ann"})
    counts = db.dataset_counts("ds")  # a dataset of the same name starts from zero
    assert (counts.answers, counts.tasks, counts.inputs, counts.by_answer) == (1, 1, 1, {"reject": 1})
    report = dataset_report(counts)
    assert report["by_answer"] == {"accept": 0, "reject": 1, "ignore": 0}
