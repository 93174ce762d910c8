"""How much could uncertainty sampling save at best with a bag-of-words model? (an analysis, not the product)

``bench/active_learning.py`` measures the real thing: the real recipe, controller
and spaCy model. This script asks a narrower question, to tell the model's limits
from the tool's: with a bag-of-words logistic regression *refitted to convergence*
after every batch (scikit-learn, binary unigram features, the idealised version of
the spaCy model ``--teach`` trains online), how many labels does uncertainty
sampling save against random order, on the same data, budget and seeds, and with
the same labels_saved definition (the share of labels uncertainty needs less to
reach random's final accuracy)?

Selection is tried two ways: from the whole pool (the strongest selection there
is: the 10 least certain of all unlabelled texts after every batch), and from
look-ahead windows like ``--teach`` (the window's texts at least as uncertain as a
moving average are served, most uncertain first).

    python bench/al_ceiling.py --train ../shared/data/textcat/sst2/train.jsonl \\
        --test ../shared/data/textcat/sst2/test.jsonl --budget 1000 --seeds 3

On SST-2 (2026-11-22): pool 0.20 saved, windows of 128 0.00 (random reaches 0.699 at 1,000 labels);
the real spaCy model with ``--teach`` saves 0.30. Needs scikit-learn (in the ``test`` extra).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--window", type=int, default=128, help="look-ahead window of the windowed selection")
    parser.add_argument("--C", type=float, default=1.0, help="inverse regularisation of the logistic regression")
    args = parser.parse_args()
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    sys.path.insert(0, str(Path(__file__).parent))
    from active_learning import labels_saved, positive_label, read, usable

    if not usable(args.train, args.test):
        return

    train, test = read(args.train), read(args.test)
    label, _ = positive_label(train)
    vectorizer = CountVectorizer(binary=True).fit([r["text"] for r in train])
    x, y = vectorizer.transform([r["text"] for r in train]).tocsr(), np.array([str(r["label"]) == label for r in train])
    x_test, y_test = vectorizer.transform([r["text"] for r in test]), np.array([str(r["label"]) == label for r in test])

    def accuracy(labelled: list[int]) -> float:
        if len(set(y[labelled])) < 2:
            return float(np.mean(y_test == y[labelled[0]])) if labelled else 0.5
        model = LogisticRegression(C=args.C, max_iter=1000).fit(x[labelled], y[labelled])
        return float(np.mean(model.predict(x_test) == y_test))

    def run(how: str, seed: int) -> list[tuple[int, float]]:
        order = list(np.random.RandomState(seed).permutation(len(train)))
        labelled: list[int] = []
        used = np.zeros(len(train), dtype=bool)
        position, ema, queue = 0, 0.0, []
        curve = [(0, 0.5)]
        model = None
        while len(labelled) < args.budget:
            if len(labelled) % args.batch_size == 0 and len(set(y[labelled])) > 1:
                model = LogisticRegression(C=args.C, max_iter=1000).fit(x[labelled], y[labelled])
            if how == "random" or model is None:
                pick = order[position]
                position += 1
            elif how == "pool":
                if not queue:
                    rest = np.flatnonzero(~used)
                    p = model.predict_proba(x[rest])[:, 1]
                    queue = list(rest[np.argsort(np.abs(p - 0.5))[:args.batch_size]])
                pick = queue.pop(0)
            else:  # windows with a moving-average threshold, as --teach serves them
                while not queue:
                    window = np.array([i for i in order[position:position + args.window] if not used[i]])
                    position += args.window
                    if not len(window):
                        return curve
                    u = 1 - 2 * np.abs(model.predict_proba(x[window])[:, 1] - 0.5)
                    for value in u:
                        ema = 0.9 * ema + 0.1 * value
                    queue = [window[i] for i in np.argsort(-u) if u[i] >= ema]
                pick = queue.pop(0)
            used[pick] = True
            labelled.append(pick)
            if len(labelled) % 50 == 0:
                curve.append((len(labelled), accuracy(labelled)))
        return curve

    means = {}
    for how in ("random", "pool", "windows"):
        curves = [run(how, seed) for seed in range(args.seeds)]
        points = min(len(c) for c in curves)
        means[how] = [(curves[0][i][0], statistics.mean(c[i][1] for c in curves)) for i in range(points)]
        shown = "  ".join(f"{n}:{v:.3f}" for n, v in means[how] if n % 200 == 0)
        print(f"{how:8s} {shown}")
    for how in ("pool", "windows"):
        saved = labels_saved(means[how], means["random"], args.budget)
        print(f"uncertainty from the {how}: labels_saved={saved if saved is None else f'{saved:.3f}'}")


if __name__ == "__main__":
    main()
