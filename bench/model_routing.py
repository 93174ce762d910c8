"""Humans where models disagree: human labels spent and final accuracy against all-human and model-only.

On SST-2 (``../shared/data/textcat/sst2``; the bench says it is skipped when that is missing):

1. **Model annotators.** Two or more spaCy text classifiers are trained here, each on its own sample of
   ``--train-size`` gold labels from the training split (disjoint samples, seeds differ), with a different
   architecture (``--models``, default ``bow,cnn,ensemble``):

   - ``bow``: ``tuiannot train textcat`` (the product's own config: spaCy's bag of words, unigrams);
   - ``cnn``: ``tuiannot data-to-spacy``, the config's model swapped for ``spacy.TextCatReduce.v1`` over a
     ``HashEmbedCNN`` (a CNN over hashed word features, no vectors), trained with ``python -m spacy train``;
   - ``ensemble``: the same with ``spacy.TextCatEnsemble.v2`` (the bag of words beside the CNN).

   Models are kept in ``$TUIANNOT_BENCH_DIR/routing-models`` and reused by later runs with the same settings.
   ``--llm URL[,URL]`` adds model annotators behind OpenAI-compatible servers (``--llm-model`` names their
   models, in the same order).
2. **Models annotate.** On ``--n`` texts of the test split (default 1,000, a seeded sample), each model runs
   ``tuiannot model-annotate models TEST --task textcat --label positive,negative --exclusive (--model DIR |
   --llm URL)`` as a subprocess, into one dataset: one session per model.
3. **People where models disagree.** For each ``--min-agree K`` from 2 to the number of models (the default,
   no ``--min-agree``, is all of them: unanimous), the real stream
   ``get_recipe("textcat")(TEST, ..., ask_humans="disagree", from_dataset="models", min_agree=K, db=DB)`` runs
   through the real :class:`~tuiannot.controller.Controller`, and a simulated human answers every task it is
   given from the gold label (wrong on a seeded ``--human-error`` share of the inputs, the same inputs for
   every strategy). Human labels spent = the tasks that stream served; the bench checks they are exactly the
   inputs on which fewer than K models agree.
4. **The final dataset.** ``tuiannot aggregate people-kK --from models --output final-kK [--min-agree K] --json``
   runs as a subprocess and writes the final answers: the person's where one answered, else the models'
   agreed one. The accuracy of that row is the final dataset's against gold (an input it lacks counts as
   wrong), and the bench checks it holds exactly the labels the routing implies (the human's on the inputs
   asked, the agreed label elsewhere) and that the report's counts say so (nothing still open, no conflict).

Strategies, side by side (accuracy against gold on the ``--n`` texts):

- **all-human**: every input labelled by the human (``--n`` labels; 1.0 unless ``--human-error``);
- **model-only**: the models' majority (a tie broken by the first model of the list), no human label;
- **humans where models disagree, K**: the final dataset ``tuiannot aggregate --from`` writes: the label at least
  K models agree on where they do, the human's elsewhere.

The last line, ``overall: PASS``, when the default (unanimous) routing spends fewer human labels than
all-human and is more accurate than model-only (and the stream asked exactly the inputs it should have). Also
printed: each model's accuracy, their pairwise agreement, and the same number of human labels spent on inputs
drawn at random (the models' majority elsewhere), the baseline that shows what choosing the inputs buys. CPU
only: about a minute the first time (training), then about 10 s; ``--quick`` (300 texts, 200 labels a model,
at most 20 epochs) about 45 s, then 10 s.

    python bench/model_routing.py [--n 1000] [--train-size 300] [--models bow,cnn,ensemble] [--human-error 0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BENCH_DIR, tuiannot_argv, verdict  # noqa: E402

import tuiannot  # noqa: E402
from tuiannot.controller import Controller  # noqa: E402
from tuiannot.recipes import Components, get_recipe  # noqa: E402
from tuiannot.team.consensus import is_model_answer  # noqa: E402
from tuiannot.team.reports import annotator  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "textcat" / "sst2"
LABELS = ("positive", "negative")
ARCHITECTURES = ("bow", "cnn", "ensemble")
MODELS_DATASET = "models"

_TOK2VEC = {"@architectures": "spacy.HashEmbedCNN.v2", "pretrained_vectors": None, "width": 96, "depth": 2,
            "embed_size": 2000, "window_size": 1, "maxout_pieces": 3, "subword_features": True}
_BOW = {"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": True, "ngram_size": 1,
        "no_output_layer": False, "length": 262144, "nO": None}
SPACY_MODELS = {
    "cnn": {"@architectures": "spacy.TextCatReduce.v1", "exclusive_classes": True, "use_reduce_first": False,
            "use_reduce_last": False, "use_reduce_max": True, "use_reduce_mean": True, "nO": None,
            "tok2vec": _TOK2VEC},
    "ensemble": {"@architectures": "spacy.TextCatEnsemble.v2", "nO": None, "linear_model": _BOW,
                 "tok2vec": _TOK2VEC},
}


def read(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def run(argv: list[str], what: str, env: dict[str, str] | None = None) -> str:
    """Run a command; its stdout (its output is shown and the bench stops if it fails)."""
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(f"{what} failed (exit {done.returncode}): {' '.join(argv)}")
    return done.stdout


def cpu_env() -> dict[str, str]:
    return {**os.environ, "CUDA_VISIBLE_DEVICES": ""}


# -- 1. model annotators ------------------------------------------------------------------------------
def train_model(arch: str, sample: list[dict[str, Any]], name: str, seed: int, max_epochs: int,
                where: Path) -> Path:
    """A trained pipeline in ``where / name`` (reused if it is there)."""
    final = where / name
    if (final / "meta.json").exists():
        return final
    work = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=where))
    try:
        db = str(work / "train.db")
        options = [{"id": label, "text": label} for label in LABELS]
        write_jsonl(work / "sample.jsonl", [{"text": r["text"], "options": options, "accept": [r["label"]],
                                             "answer": "accept", "_view_id": "choice"} for r in sample])
        cli = tuiannot_argv()
        run([*cli, "db-in", "sample", str(work / "sample.jsonl"), "--db", db], "db-in", cpu_env())
        if arch == "bow":
            run([*cli, "train", "textcat", "sample", "-o", str(work / "model"), "--seed", str(seed),
                 "--max-epochs", str(max_epochs), "--db", db], f"tuiannot train textcat ({name})", cpu_env())
            trained = work / "model"
        else:
            data = work / "data"
            run([*cli, "data-to-spacy", str(data), "--textcat", "sample", "--seed", str(seed), "--db", db],
                "data-to-spacy", cpu_env())
            from thinc.api import Config

            config = Config().from_disk(data / "config.cfg", interpolate=False)
            config["components"]["textcat"]["model"] = json.loads(json.dumps(SPACY_MODELS[arch]))
            config.to_disk(data / f"{arch}.cfg")
            run([sys.executable, "-m", "spacy", "train", str(data / f"{arch}.cfg"),
                 "--paths.train", str(data / "train.spacy"), "--paths.dev", str(data / "dev.spacy"),
                 "--output", str(work / "out"), "--system.seed", str(seed),
                 "--training.max_epochs", str(max_epochs)], f"spacy train ({name})", cpu_env())
            trained = work / "out" / "model-best"
        trained.rename(final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final


def model_annotate(test: Path, db: Path, *, model: Path | None = None, llm: str | None = None,
                   llm_model: str | None = None, session: str | None = None) -> dict[str, Any]:
    argv = [*tuiannot_argv(), "model-annotate", MODELS_DATASET, str(test), "--task", "textcat",
            "--label", ",".join(LABELS), "--exclusive", "--db", str(db), "--json"]
    if model is not None:
        argv += ["--model", str(model)]
    else:
        assert llm is not None
        argv += ["--llm", llm, *(["--llm-model", llm_model] if llm_model else [])]
    if session:
        argv += ["--session", session]
    report: dict[str, Any] = json.loads(run(argv, "model-annotate", cpu_env()))
    return report


def llm_name(url: str, model: str | None) -> str:
    """The model a server answers with (``--llm-model``, else the first it lists), as model-annotate picks it."""
    from tuiannot.llm import LLMClient

    client = LLMClient(url, model=model)
    try:
        return client.check()
    finally:
        client.close()


# -- 2. what the models said ----------------------------------------------------------------------------
def label_of(answer: dict[str, Any]) -> str | None:
    """The one label an exclusive choice answer gives (None: none, or not an accepted answer)."""
    accept = answer.get("accept") or []
    return accept[0] if answer.get("answer") == "accept" and len(accept) == 1 else None


def model_labels(db: Path) -> dict[str, dict[str, str | None]]:
    """text -> model session -> its label (the newest answer of each session)."""
    said: dict[str, dict[str, str | None]] = defaultdict(dict)
    with tuiannot.connect(db) as database:
        for answer in database.answers(MODELS_DATASET):
            if is_model_answer(answer):
                said[answer["text"]][annotator(MODELS_DATASET, answer)] = label_of(answer)
    return said


def majority(votes: dict[str, str | None], order: list[str]) -> str | None:
    """The label most models gave; a tie goes to the first model (in ``order``) that gave a tied label."""
    counts = Counter(label for label in votes.values() if label is not None)
    if not counts:
        return None
    top = max(counts.values())
    return next(label for m in order if (label := votes.get(m)) is not None and counts[label] == top)


def settled(votes: dict[str, str | None], k: int) -> str | None | bool:
    """The label at least ``k`` models agree on, or False when they do not (a version may be 'no label')."""
    (label, count), = Counter(votes.values()).most_common(1)
    return label if count >= k else False


# -- 3. people where models disagree ----------------------------------------------------------------------
def human_label(text: str, gold: str, error: float, seed: int) -> str:
    """The simulated human: gold, except on a seeded ``error`` share of the inputs (the same for every run)."""
    if error and random.Random(f"{seed}/{text}").random() < error:
        return next(label for label in LABELS if label != gold)
    return gold


def ask_humans(test: Path, db: Path, k: int | None, gold: dict[str, str], error: float, seed: int
               ) -> tuple[dict[str, str], str | None]:
    """The real --ask-humans stream through the real controller: text -> the human's label, and the summary."""
    dataset = people_dataset(k)
    components = Components.from_value(get_recipe("textcat")(
        str(test), label=",".join(LABELS), exclusive=True, dataset=dataset, ask_humans="disagree",
        from_dataset=MODELS_DATASET, min_agree=k, db=str(db)), "textcat")
    controller = Controller(components, tuiannot.connect(db), "human").start()
    asked: dict[str, str] = {}
    try:
        while (task := controller.next_task()) is not None:
            label = human_label(task["text"], gold[task["text"]], error, seed)
            controller.answer("accept", [label])
            asked[task["text"]] = label
    finally:
        summary = controller.close()
        controller.db.close()
    return asked, summary.note


def people_dataset(k: int | None) -> str:
    return f"people-k{k or 'all'}"


# -- 4. the final dataset -------------------------------------------------------------------------------------
def aggregate_final(db: Path, k: int | None) -> tuple[dict[str, Any], dict[str, str | None]]:
    """``tuiannot aggregate PEOPLE --from models``: its --json report, and text -> the final dataset's label."""
    output = f"final-k{k or 'all'}"
    argv = [*tuiannot_argv(), "aggregate", people_dataset(k), "--from", MODELS_DATASET, "--output", output,
            "--json", "--db", str(db), *(["--min-agree", str(k)] if k else [])]
    report: dict[str, Any] = json.loads(run(argv, "tuiannot aggregate", cpu_env()))
    with tuiannot.connect(db) as database:
        written = {answer["text"]: label_of(answer) for answer in database.answers(output)}
    return report, written


# -- the run ------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, default=SHARED / "train.jsonl")
    parser.add_argument("--test", type=Path, default=SHARED / "test.jsonl")
    parser.add_argument("--n", type=int, default=1000, help="test texts the models and people label (1000)")
    parser.add_argument("--train-size", type=int, default=300, help="gold labels each model is trained on (300)")
    parser.add_argument("--models", default="bow,cnn,ensemble",
                        help=f"spaCy model annotators, comma-separated, each of {', '.join(ARCHITECTURES)} "
                             "(repeats allowed: another sample and seed); 'none' with --llm")
    parser.add_argument("--max-epochs", type=int, default=40, help="training epochs at most, per model (40)")
    parser.add_argument("--llm", default=None, help="URL[,URL]: LLM model annotators (OpenAI-compatible servers)")
    parser.add_argument("--llm-model", default=None, help="NAME[,NAME]: their models, in --llm's order")
    parser.add_argument("--human-error", type=float, default=0.0, help="share of inputs the human gets wrong (0)")
    parser.add_argument("--seed", type=int, default=0, help="samples, training and the human's errors (0)")
    parser.add_argument("--quick", action="store_true", help="--n 300 --train-size 200 --max-epochs 20")
    args = parser.parse_args()
    if args.quick:
        args.n, args.train_size, args.max_epochs = min(args.n, 300), min(args.train_size, 200), \
            min(args.max_epochs, 20)
    archs = [] if args.models.strip() == "none" else [a.strip() for a in args.models.split(",") if a.strip()]
    if any(a not in ARCHITECTURES for a in archs):
        parser.error(f"--models: each of {', '.join(ARCHITECTURES)}")
    llms = [u.strip() for u in args.llm.split(",") if u.strip()] if args.llm else []
    llm_models = [m.strip() or None for m in args.llm_model.split(",")] if args.llm_model else []
    if len(llm_models) > len(llms):
        parser.error("--llm-model names more models than --llm gives servers")
    if len(archs) + len(llms) < 2:
        parser.error("two or more model annotators are needed (--models, --llm)")
    if not 0 <= args.human_error < 0.5:
        parser.error("--human-error is a share from 0 to 0.5")
    if not (args.train.exists() and args.test.exists()):
        print(f"skipped: SST-2 not found ({args.train}, {args.test}); the bench needs ../shared beside the "
              "repository (see ../shared/README.md)")
        print("overall: SKIP")
        return

    started = time.monotonic()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    store = BENCH_DIR / "routing-models"
    store.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="routing-", dir=BENCH_DIR))
    try:
        train = read(args.train)
        random.Random(args.seed).shuffle(train)
        if len(archs) * args.train_size > len(train):
            parser.error(f"{len(archs)} samples of {args.train_size} need more than {len(train)} training texts")
        seen: set[str] = set()
        test_rows = []
        for row in read(args.test):
            if row["text"] not in seen:
                seen.add(row["text"])
                test_rows.append(row)
        random.Random(args.seed + 1).shuffle(test_rows)
        test_rows = test_rows[:args.n]
        gold = {r["text"]: r["label"] for r in test_rows}
        test = work / "test.jsonl"
        write_jsonl(test, test_rows)
        db = work / "routing.db"
        print(f"SST-2: {len(test_rows):,} test texts; {len(archs)} spaCy model(s) on {args.train_size} labels each "
              f"(disjoint samples of the {len(train):,} training texts){f', {len(llms)} LLM(s)' if llms else ''}; "
              f"human error {args.human_error:g}; work in {work}")

        order: list[str] = []  # model sessions, in the order given: the first breaks model-only's ties
        for i, arch in enumerate(archs):
            name = f"{arch}-n{args.train_size}-sample{i}-seed{args.seed}-e{args.max_epochs}"
            t = time.monotonic()
            sample = train[i * args.train_size:(i + 1) * args.train_size]
            folder = train_model(arch, sample, name, args.seed + i, args.max_epochs, store)
            trained = time.monotonic() - t
            t = time.monotonic()
            report = model_annotate(test, db, model=folder)
            order.append(report["session"])
            print(f"  {report['session']}: trained/reused in {trained:.1f} s; annotated {report['answered']:,} in "
                  f"{time.monotonic() - t:.1f} s {report['by_answer']}")
        served = [llm_name(url, llm_models[i] if i < len(llm_models) else None) for i, url in enumerate(llms)]
        for i, url in enumerate(llms):
            t = time.monotonic()
            name = served[i]  # sessions llm-<model>, unless two servers serve models of the same name
            report = model_annotate(test, db, llm=url, llm_model=name,
                                    session=f"llm{i + 1}-{name}" if served.count(name) > 1 else None)
            order.append(report["session"])
            print(f"  {report['session']}: annotated {report['answered']:,} in {time.monotonic() - t:.1f} s; "
                  f"{report['without_answer']:,} without a usable answer")

        said = model_labels(db)
        texts = [r["text"] for r in test_rows]
        n = len(texts)
        print("\nmodel annotators (accuracy on the test texts; agreement):")
        for m in order:
            right = sum(said.get(t, {}).get(m) == gold[t] for t in texts)
            print(f"  {m:<44} accuracy {right / n:.3f}")
        for a in range(len(order)):
            for b in range(a + 1, len(order)):
                both = [t for t in texts if order[a] in said.get(t, {}) and order[b] in said.get(t, {})]
                same = sum(said[t][order[a]] == said[t][order[b]] for t in both)
                print(f"  agreement {order[a]} / {order[b]}: {same / max(1, len(both)):.3f}")

        rows: list[tuple[str, int, float, str]] = []
        humans = {t: human_label(t, gold[t], args.human_error, args.seed) for t in texts}
        rows.append(("all-human", n, sum(humans[t] == gold[t] for t in texts) / n, ""))
        only = {t: majority(said.get(t, {}), order) for t in texts}
        rows.append((f"model-only (majority of {len(order)})", 0, sum(only[t] == gold[t] for t in texts) / n, ""))
        checks: list[tuple[str, bool]] = []
        default_row: tuple[int, float] | None = None
        for k in range(len(order), 1, -1):
            is_default = k == len(order)
            t0 = time.monotonic()
            asked, note = ask_humans(test, db, None if is_default else k, gold, args.human_error, args.seed)
            seconds = time.monotonic() - t0
            open_texts = {t for t in texts if len(said.get(t, {})) < k or settled(said[t], k) is False}
            exact = set(asked) == open_texts
            checks.append((f"K={k}: the stream asked exactly the {len(open_texts):,} inputs fewer than {k} models "
                           f"agree on", exact))
            if not exact:
                print(f"  K={k}: asked {len(asked):,}, expected {len(open_texts):,}: "
                      f"{len(set(asked) - open_texts):,} asked though settled, "
                      f"{len(open_texts - set(asked)):,} settled but not asked")
            final = {t: asked[t] if t in asked else settled(said[t], k) for t in texts}
            t0 = time.monotonic()
            report, written = aggregate_final(db, None if is_default else k)
            aggregated = time.monotonic() - t0
            accuracy = sum(written.get(t) == gold[t] for t in texts) / n  # the final dataset's, against gold
            counts = (report["from_people"], report["from_models"], report["still_open"], report["conflicts"])
            checks.append((f"K={k}: tuiannot aggregate wrote {report['written']:,} final answers, the labels the "
                           f"routing implies ({counts[0]:,} from people, {counts[1]:,} from the models, "
                           f"{counts[2]} still open, {counts[3]} conflicts)",
                           written == final and counts == (len(asked), n - len(asked), 0, 0)))
            if written != final:
                differ = [t for t in texts if written.get(t) != final[t]]
                print(f"  K={k}: the final dataset differs from the routing on {len(differ):,} inputs")
            settled_texts = [t for t in texts if t not in asked]
            on_settled = (f"{sum(written.get(t) == gold[t] for t in settled_texts) / len(settled_texts):.3f} right"
                          if settled_texts else "none")
            label = f"humans where models disagree, K={k}" + (" (default: all)" if is_default else "")
            rows.append((label, len(asked), accuracy,
                         f"{len(settled_texts):,} left to the models ({on_settled}); stream {seconds:.1f} s, "
                         f"aggregate {aggregated:.1f} s"))
            if is_default:
                default_row = (len(asked), accuracy)
                # the same budget on inputs drawn at random (models' majority elsewhere): what choosing them buys
                drawn = set(random.Random(args.seed + 2).sample(texts, len(asked)))
                at_random = {t: humans[t] if t in drawn else only[t] for t in texts}
                baseline = (f"same {len(asked):,} human labels on random inputs, model-only elsewhere",
                            len(asked), sum(at_random[t] == gold[t] for t in texts) / n, "(a baseline)")
                if note:
                    print(f"\nsummary of the default run: {note}")

        assert default_row is not None
        rows.append(baseline)
        print(f"\n{'strategy':<64} {'human labels':>12} {'accuracy':>9}  notes")
        for label, spent, accuracy, notes in rows:
            print(f"{label:<64} {spent:>12,} {accuracy:>9.3f}  {notes}")
        for what, ok in checks:
            print(f"check: {verdict(ok)}  {what}")
        fewer = default_row[0] < n
        better = default_row[1] > rows[1][2]
        print(f"\nfewer human labels than all-human: {verdict(fewer)} ({default_row[0]:,} of {n:,}, "
              f"{1 - default_row[0] / n:.0%} saved)")
        print(f"more accurate than model-only:     {verdict(better)} ({default_row[1]:.3f} against {rows[1][2]:.3f})")
        print(f"wall time {time.monotonic() - started:.0f} s")
        print(f"overall: {verdict(fewer and better and all(ok for _, ok in checks))}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
