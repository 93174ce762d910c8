"""NER training on real data: ``tuiannot train ner`` on WNUT-17 (tweets), scored on its test split.

1. ``../shared/data/ner/wnut17/train.jsonl`` (3,394 sentences) is imported into a fresh database as
   ``ner_manual`` answers (Prodigy token dicts built from the given tokens; ``text`` is the tokens joined by
   single spaces), as ``tuiannot db-in`` would store them;
2. ``tuiannot train ner`` runs as a subprocess (its progress display on this terminal): it holds out
   ``--eval-split`` of the training sentences to pick the best model, and saves it;
3. the saved model (``spacy.load``) is scored on ``test.jsonl`` (1,287 sentences, never seen in training,
   not the dev split), per label and overall, exact entity match, two ways:
   * **pipeline tokens**: the model tokenises the text itself (what a user of the model gets; this is how
     ``tuiannot train`` scores its held-out part);
   * **gold tokens**: the test set's own tokens (the WNUT-17 setting; entity-level P/R/F as in the task).

Goals (a guard against regressions, not a quality target: WNUT-17 tests novel, rarely repeated entities,
and spaCy's efficiency CNN without pretrained vectors scores 0.12-0.16 F here, depending on the seed, while
the shared task's best system scored 0.42 with far more machinery): training finishes within the time goal
on the CPU, and the test F-score (gold tokens) stays above a floor that an untrained or mis-wired model
(F ~ 0) cannot reach. Skips with a message where ``../shared`` is missing. Never reads
``../shared/holdout``.

    python bench/train_wnut17.py [--max-epochs 30] [--eval-split 0.2] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import BENCH_DIR, tuiannot_argv, verdict

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "ner" / "wnut17"
F_GOAL = 0.08  # a floor against breakage (an untrained or mis-wired model scores ~0), not a quality target
TIME_GOAL = 15 * 60.0


def prodigy_task(record: dict) -> dict:
    """A WNUT-17 record as a stored ner_manual answer: token dicts with offsets, spans with token indices."""
    text = record["text"]
    tokens, position = [], 0
    for i, word in enumerate(record["tokens"]):
        start = text.index(word, position)
        tokens.append({"text": word, "start": start, "end": start + len(word), "id": i,
                       "ws": i + 1 < len(record["tokens"])})
        position = start + len(word)
    starts = {t["start"]: t["id"] for t in tokens}
    ends = {t["end"]: t["id"] for t in tokens}
    spans = [{"start": s["start"], "end": s["end"], "label": s["label"], "token_start": starts[s["start"]],
              "token_end": ends[s["end"]]} for s in record["spans"]]
    return {"text": text, "tokens": tokens, "spans": spans, "answer": "accept", "_view_id": "ner_manual",
            "_session_id": "wnut17-gold", "_annotator_id": "wnut17-gold"}


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def score_on_test(model: Path, test: list[dict]) -> dict:
    import spacy
    from spacy.scorer import Scorer
    from spacy.tokens import Doc
    from spacy.training import Example

    from tuiannot.data.training import evaluate

    nlp = spacy.load(model)
    gold = []
    for record in test:
        doc = Doc(nlp.vocab, words=record["tokens"], spaces=[True] * (len(record["tokens"]) - 1) + [False])
        doc.ents = [doc.char_span(s["start"], s["end"], label=s["label"], alignment_mode="strict")
                    for s in record["spans"]]
        gold.append(doc)
    started = time.monotonic()
    pipeline_tokens = evaluate(nlp, gold, "ner")
    seconds = time.monotonic() - started
    predicted = nlp.pipe(Doc(nlp.vocab, words=[t.text for t in d], spaces=[bool(t.whitespace_) for t in d])
                         for d in gold)
    scores = Scorer(nlp=nlp).score([Example(p, g) for p, g in zip(predicted, gold, strict=True)])
    per_type = scores.get("ents_per_type") or {}
    gold_tokens = {"precision": scores["ents_p"], "recall": scores["ents_r"], "f": scores["ents_f"],
                   "per_label": {label: {"precision": per_type.get(label, {}).get("p", 0.0),
                                         "recall": per_type.get(label, {}).get("r", 0.0),
                                         "f": per_type.get(label, {}).get("f", 0.0),
                                         "support": pipeline_tokens["per_label"].get(label, {}).get("support", 0)}
                                 for label in sorted(set(per_type) | set(pipeline_tokens["per_label"]))}}
    return {"pipeline_tokens": pipeline_tokens, "gold_tokens": gold_tokens,
            "words_per_second": round(sum(len(d) for d in gold) / seconds) if seconds else None}


def table(title: str, scores: dict) -> None:
    print(f"\n{title}")
    print(f"  {'label':<15} {'P':>6} {'R':>6} {'F':>6} {'support':>8}")
    for label, s in scores["per_label"].items():
        print(f"  {label:<15} {s['precision']:>6.3f} {s['recall']:>6.3f} {s['f']:>6.3f} {s['support']:>8}")
    support = sum(s["support"] for s in scores["per_label"].values())
    print(f"  {'overall':<15} {scores['precision']:>6.3f} {scores['recall']:>6.3f} {scores['f']:>6.3f} {support:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-epochs", type=int, default=30, help="cap on training epochs (default 30)")
    parser.add_argument("--eval-split", type=float, default=0.2, help="held out of train.jsonl to pick the model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N training sentences (quick run)")
    args = parser.parse_args()
    if not (DATA / "train.jsonl").exists() or not (DATA / "test.jsonl").exists():
        print(f"skipped: {DATA} not found (WNUT-17 lives in ../shared/data/ner/wnut17 beside the repository)")
        print("overall: SKIPPED")
        return
    import tuiannot

    train = read_jsonl(DATA / "train.jsonl")
    if args.limit:
        train = train[:args.limit]
    test = read_jsonl(DATA / "test.jsonl")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=BENCH_DIR, prefix="wnut17-") as tmp:
        db_path = Path(tmp) / "wnut17.db"
        model = Path(tmp) / "model"
        with tuiannot.connect(db_path) as db:
            db.add_answers("wnut17", (prodigy_task(r) for r in train))
        print(f"WNUT-17: {len(train)} training sentences imported, {len(test)} test sentences; "
              f"max {args.max_epochs} epochs, eval split {args.eval_split}, seed {args.seed}, "
              f"{os.cpu_count()} CPUs")
        command = [*tuiannot_argv(), "train", "ner", "wnut17", "--output", str(model), "--db", str(db_path),
                   "--max-epochs", str(args.max_epochs), "--eval-split", str(args.eval_split),
                   "--seed", str(args.seed), "--json"]
        started = time.monotonic()
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
        seconds = time.monotonic() - started
        if done.returncode != 0:
            print(f"tuiannot train failed (exit {done.returncode})")
            print("overall: FAIL")
            return
        report = json.loads(done.stdout)
        result = score_on_test(model, test)
    held = report["scores"]
    print(f"\ntrain: {seconds:.1f} s wall for `tuiannot train ner` (spaCy's loop: {report['seconds']} s, "
          f"{report['steps']} steps); {report['examples']['train']} training / {report['examples']['dev']} "
          f"held-out sentences; held-out F {held['f']:.3f} (used to pick the model)")
    table("test.jsonl, gold tokens (WNUT-17 setting):", result["gold_tokens"])
    table("test.jsonl, pipeline tokens (the model tokenises the text):", result["pipeline_tokens"])
    print(f"\nprediction speed: {result['words_per_second']} words/s")
    f = result["gold_tokens"]["f"]
    time_ok, f_ok = seconds <= TIME_GOAL, f >= F_GOAL
    print(f"\n{verdict(time_ok)} training time {seconds:.0f} s <= {TIME_GOAL:.0f} s")
    print(f"{verdict(f_ok)} test F (gold tokens) {f:.3f} >= {F_GOAL}")
    print(f"overall: {verdict(time_ok and f_ok)}")


if __name__ == "__main__":
    sys.exit(main())
