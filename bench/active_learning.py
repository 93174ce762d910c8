"""Does active learning save labels? A simulated annotator answers through the real controller.

For each strategy and seed, the training file is shuffled (the seed), the real
``textcat --teach`` or ``ner --teach`` recipe builds the stream, and a simulated
annotator answers every question from the gold labels through the real
:class:`~tuiannot.controller.Controller` (no UI): ``accept`` when the suggested
label (or entity span) is right, ``reject`` otherwise. After every ``--every``
answers the model is evaluated on the test file: accuracy (textcat; the
question's label predicted when its score >= 0.5) or entity F-score (ner).
Between batches the simulation waits for the model update, as an annotator
reading the next text would give it time to.

It prints a learning-curve table per strategy (mean and spread over seeds),
the area under each curve (mean score over the evaluation points), and last

    labels_saved=<fraction> auc_ratio=<uncertainty/random>

where labels_saved is the share of labels that uncertainty sampling saves
against random to reach random's final score (1 - n/budget, with n the first
point from which uncertainty's mean curve reaches random's final mean score and
stays there to its end, so that a lucky early point does not count; 0 if it
never does; n/a if random learned nothing). When random's final score is less
than 0.01 above the untrained model's, a note says the comparison means little.
A stream that ends before the budget (the model passed over the rest of the
source) keeps its last score to the budget: no more answers, no change.
It also writes the curves as a PNG.

The recipe runs with its defaults unless told otherwise: for textcat, a new
classifier learns over the sentence encoder when the ``vectors`` extra is
installed (``--encoder auto``), else over a bag of words alone (``--encoder
none`` forces that).

    python bench/active_learning.py --task textcat --train ../shared/data/textcat/sst2/train.jsonl \\
        --test ../shared/data/textcat/sst2/test.jsonl --budget 1000 --seeds 3
    python bench/active_learning.py --task ner --train ../shared/data/ner/wnut17/train.jsonl \\
        --test ../shared/data/ner/wnut17/test.jsonl --budget 1000 --seeds 3
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import tuiannot
from tuiannot.controller import Controller
from tuiannot.recipes import Components, get_recipe


def read(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def usable(*paths: Path) -> bool:
    """False (with a message) when a file is missing; never the holdout data."""
    if any("holdout" in str(path.resolve()) for path in paths):
        sys.exit("the holdout data is reserved for independent verification")
    for path in paths:
        if not path.exists():
            print(f"skipped: {path} is missing (the shared data sits beside the project as ../shared)")
            return False
    return True


def positive_label(rows: list[dict]) -> tuple[str, list[str]]:
    labels = sorted({str(r["label"]) for r in rows})
    preferred = [label for label in labels if label.lower() in ("positive", "pos", "1", "true", "yes")]
    return (preferred[0] if preferred else labels[-1]), labels


def ner_labels(rows: list[dict]) -> list[str]:
    return sorted({s["label"] for r in rows for s in r.get("spans", [])})[:10]


def write_source(rows: list[dict], task: str, path: Path, seed: int) -> None:
    rows = rows[:]
    random.Random(seed).shuffle(rows)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            if task == "textcat":
                out = {"text": r["text"], "meta": {"gold": str(r["label"])}}
            else:
                out = {"text": r["text"], "meta": {"gold": [[s["start"], s["end"], s["label"]] for s in r["spans"]]}}
                if r.get("tokens"):
                    out["tokens"] = r["tokens"]
            f.write(json.dumps(out, ensure_ascii=False) + "\n")


def evaluate(task: str, learner, test: list[dict], label: str) -> float:
    if task == "textcat":
        scores = learner.scores([r["text"] for r in test])
        return sum((s.get(label, 0.0) >= 0.5) == (str(r["label"]) == label)
                   for s, r in zip(scores, test, strict=True)) / len(test)
    nlp = learner.nlp
    tp = fp = fn = 0
    for doc, r in zip(nlp.pipe([r["text"] for r in test], batch_size=256), test, strict=True):
        predicted = {(e.start_char, e.end_char, e.label_) for e in doc.ents}
        gold = {(s["start"], s["end"], s["label"]) for s in r["spans"] if s["label"] in learner.labels}
        tp += len(predicted & gold)
        fp += len(predicted - gold)
        fn += len(gold - predicted)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def seed_patterns(rows: list[dict], path: Path) -> int:
    """Phrase patterns from what a user knows before starting: the gold entities of ``rows`` (ner).

    Stands for the term list an annotator writes down for a cold start (``--patterns``).
    """
    seen: dict[tuple[str, str], None] = {}
    for r in rows:
        for s in r.get("spans", []):
            seen.setdefault((s["label"], r["text"][s["start"]:s["end"]]), None)
    with open(path, "w", encoding="utf-8") as f:
        for label, phrase in seen:
            f.write(json.dumps({"label": label, "pattern": phrase}, ensure_ascii=False) + "\n")
    return len(seen)


def seed_model(rows: list[dict], task: str, labels: list[str], path: Path, epochs: int = 20,
               base: str | None = None) -> None:
    """A starting model trained on ``rows`` with full gold labels: a round of manual annotation before teach.

    The usual workflow for a model that knows nothing yet: annotate a few hundred texts with ``ner`` (or
    ``textcat``), train, then ``--teach --model`` that model. ``base``: a pipeline to add the component to
    (word vectors from ``tuiannot vectors``), instead of a blank one.
    """
    import random as random_module

    import spacy
    from spacy.training import Example

    from tuiannot.nlp.learning import NerLearner, TextcatLearner

    spacy.util.fix_random_seed(0)  # the same starting model for every strategy and run
    kind = NerLearner if task == "ner" else TextcatLearner
    learner = kind(spacy.load(base), labels) if base else kind.blank("en", labels)
    nlp = learner.nlp
    examples = []
    for r in rows:
        doc = nlp.make_doc(r["text"])
        if task == "ner":
            ents = [(s["start"], s["end"], s["label"]) for s in r["spans"] if s["label"] in labels]
            examples.append(Example.from_dict(doc, {"entities": ents}))
        else:
            examples.append(Example.from_dict(doc, {"cats": {label: float(str(r["label"]) == label)
                                                             for label in labels}}))
    optimizer = nlp.resume_training()
    rng = random_module.Random(0)
    for _ in range(epochs):
        rng.shuffle(examples)
        for start in range(0, len(examples), 16):
            nlp.update(examples[start:start + 16], sgd=optimizer, drop=0.2)
    nlp.to_disk(path)


def run(task: str, strategy: str, seed: int, train: list[dict], test: list[dict], budget: int, every: int,
        batch_size: int, workdir: Path, patterns: Path | None = None, model: str | None = None,
        encoder: str = "auto") -> tuple[list[tuple[int, float]], int]:
    """The learning curve (answers, score) up to the budget, and how many answers were given."""
    import spacy

    spacy.util.fix_random_seed(seed)
    source = workdir / f"{task}-{seed}.jsonl"
    if not source.exists():
        write_source(train, task, source, seed)
    db_path = workdir / f"{task}-{strategy}-{seed}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    if task == "textcat":
        label, _ = positive_label(train)
        components = get_recipe("textcat")(str(source), label=label, teach=True, strategy=strategy,
                                           batch_size=batch_size, dataset="sim", model=model,
                                           patterns=str(patterns) if patterns else None, encoder=encoder)
    else:
        label = ""
        components = get_recipe("ner")(str(source), label=",".join(ner_labels(train)), teach=True,
                                       strategy=strategy, batch_size=batch_size, dataset="sim", model=model,
                                       patterns=str(patterns) if patterns else None)
    components = Components.from_value(components)
    learner = components.model
    controller = Controller(components, tuiannot.connect(db_path), "simulated").start()
    curve = [(0, evaluate(task, learner, test, label))]
    answered = 0
    while answered < budget:
        question = controller.next_task()
        if question is None:
            break
        gold = question["meta"]["gold"]
        if task == "textcat":
            right = gold == question["label"]
        else:
            s = question["spans"][0]
            right = [s["start"], s["end"], s["label"]] in gold
        controller.answer("accept" if right else "reject")
        answered += 1
        if answered % batch_size == 0:
            controller.sync_updates()
        if answered % every == 0:
            curve.append((answered, evaluate(task, learner, test, label)))
    controller.close()  # waits for the last updates
    if answered < budget:  # the stream ended early: without answers the model stays as it is, and so its score
        last = evaluate(task, learner, test, label)
        n = (answered // every + 1) * every
        while n <= budget:
            curve.append((n, last))
            n += every
    return curve, answered


def area(curve: list[float]) -> float:
    return statistics.mean(curve)


def labels_saved(uncertainty: list[tuple[int, float]], random_curve: list[tuple[int, float]], budget: int
                 ) -> float | None:
    """None when random learned nothing (its final score is no better than the untrained model's)."""
    target = random_curve[-1][1]
    if target <= random_curve[0][1] + 1e-12:
        return None
    reached = None  # the first point from which uncertainty stays at or above the target
    for n, score in uncertainty:
        if score < target - 1e-12:
            reached = None
        elif reached is None and n > 0:
            reached = n
    return 1 - reached / budget if reached is not None else 0.0


def plot(curves: dict[str, list[tuple[int, float]]], path: Path, title: str) -> None:
    from PIL import Image, ImageDraw

    width, height, margin = 900, 560, 70
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    xs = [n for c in curves.values() for n, _ in c]
    ys = [v for c in curves.values() for _, v in c]
    x_max, y_min, y_max = max(xs) or 1, min(ys), max(ys)
    if y_max - y_min < 1e-6:
        y_max = y_min + 1

    def at(n: float, v: float) -> tuple[float, float]:
        return (margin + (width - 2 * margin) * n / x_max,
                height - margin - (height - 2 * margin) * (v - y_min) / (y_max - y_min))

    draw.rectangle([margin, margin, width - margin, height - margin], outline="black")
    for i in range(6):
        v = y_min + (y_max - y_min) * i / 5
        x, y = at(0, v)
        draw.text((8, y - 6), f"{v:.3f}", fill="black")
        draw.line([margin, y, width - margin, y], fill="#dddddd")
        n = x_max * i / 5
        x, _ = at(n, y_min)
        draw.text((x - 10, height - margin + 8), f"{n:.0f}", fill="black")
    colours = {"uncertainty": "#D55E00", "margin": "#009E73", "entropy": "#CC79A7", "random": "#0072B2"}
    for i, (name, curve) in enumerate(curves.items()):
        colour = colours.get(name, "black")
        draw.line([at(n, v) for n, v in curve], fill=colour, width=3)
        # bottom right: learning curves rise
        draw.text((width - margin - 150, height - margin - 12 - 16 * (len(curves) - i)), name, fill=colour)
    draw.text((margin, 20), title, fill="black")
    draw.text((width // 2 - 40, height - 30), "answers", fill="black")
    image.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=("textcat", "ner"), required=True)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--strategies", default="uncertainty,margin,entropy,random")
    parser.add_argument("--test-limit", type=int, default=0, help="evaluate on the first N test items only")
    parser.add_argument("--seed-patterns", type=int, default=0, metavar="N",
                        help="ner cold start: write patterns from the gold entities of the first N training "
                             "items (then left out of the stream), as a user's term list, and pass them as "
                             "--patterns")
    parser.add_argument("--seed-model", type=int, default=0, metavar="N",
                        help="start from a model trained on the gold labels of the first N training items "
                             "(then left out of the stream), as after a round of manual annotation; with "
                             "--model, trained on top of that pipeline (e.g. word vectors)")
    parser.add_argument("--patterns", type=Path, default=None, help="a pattern file for the recipe")
    parser.add_argument("--model", default=None, help="start from this spaCy pipeline instead of a blank one")
    parser.add_argument("--encoder", default="auto",
                        help="textcat: the recipe's --encoder for a new classifier (auto, none, or an encoder)")
    parser.add_argument("--png", type=Path, default=None, help="where to write the curves (default: a temp dir)")
    args = parser.parse_args()
    if not usable(args.train, args.test):
        return
    train, test = read(args.train), read(args.test)
    if args.test_limit:
        test = test[:args.test_limit]
    strategies = [s for s in args.strategies.split(",") if s]
    workdir = Path(tempfile.mkdtemp(prefix="tuiannot-al-"))
    patterns = args.patterns
    if args.seed_patterns and args.task != "ner":
        sys.exit("--seed-patterns is for --task ner (a text's label is not a phrase to match)")
    if args.seed_patterns:
        patterns = workdir / "seed_patterns.jsonl"
        n = seed_patterns(train[:args.seed_patterns], patterns)
        train = train[args.seed_patterns:]
        print(f"cold start: {n} patterns from the entities of the first {args.seed_patterns} training items "
              "(left out of the stream)")
    model = args.model
    if args.seed_model:
        model = str(workdir / "seed_model")
        labels = ner_labels(train) if args.task == "ner" else [positive_label(train)[0]]
        seed_model(train[:args.seed_model], args.task, labels, Path(model), base=args.model)
        train = train[args.seed_model:]
        print(f"starting model: trained on the gold labels of the first {args.seed_model} training items "
              "(left out of the stream)")
    means: dict[str, list[tuple[int, float]]] = {}
    print(f"task {args.task}: {len(train)} training items, {len(test)} test items, budget {args.budget}, "
          f"{args.seeds} seeds, evaluation every {args.every} answers")
    for strategy in strategies:
        started = time.monotonic()
        runs = [run(args.task, strategy, seed, train, test, args.budget, args.every, args.batch_size, workdir,
                    patterns, model, args.encoder)
                for seed in range(args.seeds)]
        curves = [curve for curve, _ in runs]
        short = [answered for _, answered in runs if answered < args.budget]
        points = min(len(c) for c in curves)
        mean_curve = [(curves[0][i][0], statistics.mean(c[i][1] for c in curves)) for i in range(points)]
        means[strategy] = mean_curve
        metric = "accuracy" if args.task == "textcat" else "F"
        print(f"\n{strategy} ({time.monotonic() - started:.0f} s): {metric} by answers (mean ± sd over seeds)")
        for i in range(points):
            values = [c[i][1] for c in curves]
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            print(f"  {curves[0][i][0]:5d}  {statistics.mean(values):.4f} ± {sd:.4f}")
        print(f"  area under the curve: {area([v for _, v in mean_curve]):.4f}")
        if short:
            print(f"  the stream ended early in {len(short)} of {len(runs)} runs, after {', '.join(map(str, short))} "
                  "answers (the model passed over the rest of the source); the last score carries on to the budget")
    if "uncertainty" in means and "random" in means:
        saved = labels_saved(means["uncertainty"], means["random"], args.budget)
        ratio = area([v for _, v in means["uncertainty"]]) / max(1e-12, area([v for _, v in means["random"]]))
        png = args.png or workdir / f"active_learning_{args.task}.png"
        plot(means, png, f"{args.task}: mean over {args.seeds} seeds")
        print(f"\ncurves: {png}")
        start, final = means["random"][0][1], means["random"][-1][1]
        if saved is None:
            print("random learned nothing (its final score is no better than the untrained model's): no comparison")
        elif final - start < 0.01:
            print(f"note: random learned next to nothing ({start:.4f} -> {final:.4f}): the comparison means little")
        print(f"labels_saved={'n/a' if saved is None else f'{saved:.3f}'} auc_ratio={ratio:.3f}")


if __name__ == "__main__":
    main()
