"""Training a pipeline with spaCy's own training loop, on the CPU, and scoring it on the held-out part.

The corpus is :mod:`.corpus`'s. A config is spaCy's own (``init_config``) for the
components the data asks for, or, with ``--base-model``, one that sources the
base pipeline's components: the one trained unfrozen with its own copy of a shared
``tok2vec``, the others frozen. The best model on the held-out part is saved;
Ctrl-C stops early and keeps the best so far. Scores are spaCy's ``Scorer``'s, per
label and overall.

How long a run lasts is a :class:`Schedule` sized to the corpus: spaCy's defaults
(evaluate every 200 steps, stop after 1600 steps without a better score) suit
thousands of examples, but a few dozen are an epoch of a handful of steps, so a
run that peaked at step 80 went on for 1,600 more. Here the held-out part is
scored about once an epoch and training stops after 10 evaluations without a
better score (never later than spaCy's 1600 steps). A :class:`Tracker` follows
the steps: the step a run will end at if the score does not improve, the time
left, and, at the end, why it stopped.

spaCy is imported inside the functions, never at module level: ``import tuiannot`` stays fast.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..errors import UserError
from ..nlp.load import lang_of, load_pipeline
from ..sanitize import one_line
from .answers import SPANS_KEY
from .corpus import MAX_SUGGESTER_SIZE, Corpus, write_docbin

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc


# -- configs ----------------------------------------------------------------------------------
def eval_frequency(train: list["Doc"]) -> int:
    """Evaluate about once per epoch of the first epochs (spaCy's batches start at 100 words), at most
    every 200 steps (spaCy's default): a small data set is scored before training ends."""
    words = sum(len(d) for d in train)
    steps, size, covered = 0, 100.0, 0.0
    while covered < words and steps < 200:
        covered += size
        size = min(1000.0, size * 1.001)
        steps += 1
    return max(1, steps)


SPACY_PATIENCE = 1600
"""spaCy's default ``training.patience`` (steps without a better score before stopping): the most waited."""
SPACY_MAX_STEPS = 20_000
PATIENCE_EVALUATIONS = 10
"""Evaluations without a better score before stopping (spaCy's defaults wait 8, of 200 steps each)."""


@dataclass(frozen=True)
class Schedule:
    """How often a run is scored and when it stops (spaCy's ``training`` settings; 0 is no limit)."""

    eval_frequency: int
    patience: int
    max_steps: int
    max_epochs: int

    def describe(self) -> str:
        """One line for people: what was chosen, and how to change it."""
        limits = []
        if self.patience:
            limits.append(f"when the held-out score has not improved for {self.patience:,} steps "
                          f"({_count(-(-self.patience // self.eval_frequency), 'evaluation')})")
        if self.max_epochs:
            limits.append(f"after {_count(self.max_epochs, 'epoch')}")
        if self.max_steps:
            limits.append(f"at step {self.max_steps:,}")
        stops = f"stopping {', or '.join(limits)}" if limits else "never stopping by itself (Ctrl-C stops it)"
        about = " (about an epoch)" if self.eval_frequency < 200 else ""  # see eval_frequency()
        return (f"Scoring the held-out part every {_count(self.eval_frequency, 'step')}{about}, {stops}. "
                f"Change with --patience, cap with --max-epochs or --max-steps.")

    def as_dict(self) -> dict[str, int]:
        return {"eval_frequency": self.eval_frequency, "patience": self.patience, "max_steps": self.max_steps,
                "max_epochs": self.max_epochs}


def _count(n: int, word: str) -> str:
    return f"{n:,} {word if n == 1 else word + 's'}"


def schedule(corpus: Corpus, *, max_epochs: int | None = None, max_steps: int | None = None,
             patience: int | None = None) -> Schedule:
    """The corpus's schedule: scored about once an epoch (:func:`eval_frequency`), stopped after
    :data:`PATIENCE_EVALUATIONS` evaluations without a better score (at most spaCy's 1600 steps), or at spaCy's
    20,000 steps; ``max_epochs``, ``max_steps`` and ``patience`` (0: never) override."""
    every = eval_frequency(corpus.train)
    return Schedule(eval_frequency=every,
                    patience=min(SPACY_PATIENCE, PATIENCE_EVALUATIONS * every) if patience is None else patience,
                    max_steps=SPACY_MAX_STEPS if max_steps is None else max_steps,
                    max_epochs=max_epochs or 0)


def make_config(corpus: Corpus, lang: str, plan: Schedule | None = None) -> Any:
    """spaCy's own config (``init_config``, CPU, efficiency) for the corpus's components, tuned to the data:
    spancat suggests n-grams up to the longest annotated span; evaluation and patience by ``plan`` (default:
    the corpus's :func:`schedule`)."""
    from spacy.cli.init_config import init_config

    config = init_config(lang=lang, pipeline=corpus.components, optimize="efficiency", gpu=False,
                         pretraining=False, silent=True)
    if "spancat" in config["components"]:
        longest = max(3, min(MAX_SUGGESTER_SIZE, corpus.longest_span))
        config["components"]["spancat"]["suggester"]["sizes"] = list(range(1, longest + 1))
    plan = plan or schedule(corpus)
    config["training"]["eval_frequency"] = plan.eval_frequency
    config["training"]["patience"] = plan.patience
    config["training"]["max_steps"] = plan.max_steps
    config["training"]["max_epochs"] = plan.max_epochs
    return config


def _standalone_component(lang: str, factory: str) -> dict[str, Any]:
    """A component block from init_config whose tok2vec is its own (no listener): added to a base pipeline."""
    from spacy.cli.init_config import init_config

    generated = init_config(lang=lang, pipeline=[factory], optimize="efficiency", gpu=False, silent=True)
    block = generated["components"][factory].copy()
    if isinstance(block.get("model"), dict) and "tok2vec" in block["model"]:
        tok2vec = {**generated["components"]["tok2vec"]["model"]}
        encode = dict(tok2vec["encode"])
        tok2vec["embed"] = {**tok2vec["embed"], "width": encode["width"]}
        tok2vec["encode"] = encode
        block["model"] = {**block["model"], "tok2vec": tok2vec}
    return block


# -- base pipelines ---------------------------------------------------------------------------
def base_model_config(base: str, base_nlp: "Language", corpus: Corpus, plan: Schedule | None = None
                      ) -> tuple[Any, list[str]]:
    """A config that starts from ``base``: its components sourced, the one trained unfrozen (with its own copy
    of a shared tok2vec), or added if the base has none; the rest frozen. Returns (config, labels to add
    to the trained component after initialisation)."""
    generated = make_config(corpus, lang_of(base_nlp), plan)
    config = base_nlp.config.copy()
    for section in ("paths", "corpora", "training", "initialize", "pretraining"):
        config[section] = generated[section].copy() if section in generated else {}
    trained: list[str] = []
    targets = corpus.components
    for name in base_nlp.pipe_names:
        config["components"][name] = {"source": base}
    new_labels: list[str] = []
    for factory in targets:
        existing = [n for n in base_nlp.pipe_names if base_nlp.get_pipe_meta(n).factory == factory]
        if existing:
            name = existing[0]
            pipe = base_nlp.get_pipe(name)
            listening = any(name in getattr(p, "listening_components", []) for _, p in base_nlp.pipeline)
            if listening:
                config["components"][name]["replace_listeners"] = ["model.tok2vec"]
            wanted = set(corpus.labels.get({"ner": "ner", "spancat": "spans"}.get(factory, "textcat"), {}))
            missing = sorted(wanted - set(getattr(pipe, "labels", ())))
            if missing and factory != "ner":
                raise UserError(f"--base-model {base}: its {name} has no label {', '.join(missing)} and a trained "
                                f"{factory} cannot learn new labels; train without --base-model")
            new_labels += missing
            trained.append(name)
        else:
            config["components"][factory] = _standalone_component(lang_of(base_nlp), factory)
            config["nlp"]["pipeline"] = [*config["nlp"]["pipeline"], factory]
            trained.append(factory)
    config["training"]["frozen_components"] = [n for n in base_nlp.pipe_names if n not in trained]
    config["training"]["annotating_components"] = []
    config["initialize"]["before_init"] = {"@callbacks": "spacy.copy_from_base_model.v1", "tokenizer": base,
                                           "vocab": base}
    if base_nlp.vocab.vectors.shape[0]:
        config["initialize"]["vectors"] = base
    config["nlp"]["lang"] = base_nlp.lang
    return config, new_labels


# -- training -----------------------------------------------------------------------------------
_ON_STEP: Callable[[dict[str, Any] | None], None] | None = None


def _register_logger() -> None:
    from spacy import registry

    if "tuiannot.ProgressLogger.v1" in registry.loggers:
        return

    @registry.loggers("tuiannot.ProgressLogger.v1")
    def progress_logger() -> Callable[..., Any]:
        def setup(nlp: Any, stdout: Any = None, stderr: Any = None) -> tuple[Callable[..., None], Callable[[], None]]:
            def log_step(info: dict[str, Any] | None) -> None:
                if _ON_STEP is not None:
                    _ON_STEP(info)

            return log_step, lambda: None

        return setup


CONSOLE_LOGGER = {"@loggers": "spacy.ConsoleLogger.v1", "progress_bar": False}


class Tracker:
    """Follows a run from spaCy's step infos (a dict on the steps that were scored, None on the others): the best
    score and its step, the step the run ends at if the score does not improve, the time left, why it stopped.

    Steps are counted as spaCy numbers them, from 0; the loop checks its limits after each step, so a run that
    stops at ``step`` has taken ``step + 1``.
    """

    def __init__(self, plan: Schedule, clock: Callable[[], float] | None = None) -> None:
        import time

        self.plan = plan
        self.clock = clock or time.monotonic
        self.started = self.clock()
        self.first_step: float | None = None  # when the first step ended: the pace is taken from there
        self.steps = 0
        self.epoch = 0
        self.loss: float | None = None
        self.score: float | None = None  # the latest evaluation's
        self.checkpoints: list[tuple[float, int]] = []  # (score, step) of each evaluation
        self._epoch_steps: dict[int, int] = {}  # epoch -> the first step seen in it (a scored one)

    def step(self, info: dict[str, Any] | None) -> None:
        self.steps += 1
        if self.first_step is None:
            self.first_step = self.clock()
        if info is None:
            return
        self.epoch = int(info.get("epoch", self.epoch))
        self._epoch_steps.setdefault(self.epoch, int(info.get("step", self.steps - 1)))
        self.loss = sum(float(v) for v in (info.get("losses") or {}).values())
        if info.get("score") is not None:
            self.score = float(info["score"])
            self.checkpoints.append((self.score, int(info.get("step", self.steps - 1))))

    @property
    def best(self) -> tuple[float, int] | None:
        """(score, step) of the best evaluation, the earliest of equals (as spaCy counts patience from)."""
        if not self.checkpoints:
            return None
        score, step = max((s, -t) for s, t in self.checkpoints)
        return score, -step

    def _epoch_end(self) -> int | None:
        """The step the last epoch allowed ends at, estimated from the steps of the latest whole epochs (batches
        grow as training goes on, so later epochs take fewer steps)."""
        if not self.plan.max_epochs:
            return None
        seen = sorted(self._epoch_steps.items())
        if len(seen) < 2:
            return None
        (e1, s1), (e2, s2) = seen[-2], seen[-1]
        per_epoch = (s2 - s1) / (e2 - e1)
        return max(self.steps - 1, round(s2 + (self.plan.max_epochs - e2) * per_epoch) - 1)

    def limit(self) -> tuple[int, str] | None:
        """(the step the run ends at if the score does not improve, which limit ends it): ``plateau`` (patience),
        ``max_steps`` or ``max_epochs`` (an estimate); None when nothing is known to end it."""
        limits: list[tuple[int, str]] = []
        best = self.best
        if self.plan.patience and best is not None:
            limits.append((best[1] + self.plan.patience, "plateau"))
        if self.plan.max_steps:
            limits.append((self.plan.max_steps, "max_steps"))
        end = self._epoch_end()
        if end is not None:
            limits.append((end, "max_epochs"))
        return min(limits) if limits else None

    def seconds_left(self) -> float | None:
        """Time to :meth:`limit` at the pace of the steps after the first (which includes setting up), evaluations
        included; None before that, or with no limit known."""
        limit = self.limit()
        if limit is None or self.first_step is None or self.steps < 2:
            return None
        per_step = (self.clock() - self.first_step) / (self.steps - 1)
        return max(0.0, (limit[0] + 1 - self.steps) * per_step)

    def stopped(self, interrupted: bool = False) -> str:
        """Why a finished run stopped: ``interrupted``, ``plateau``, ``max_steps`` or ``max_epochs``."""
        if interrupted:
            return "interrupted"
        last = self.steps - 1
        best = self.best
        if self.plan.patience and best is not None and last - best[1] >= self.plan.patience:
            return "plateau"
        if self.plan.max_steps and last >= self.plan.max_steps:
            return "max_steps"
        return "max_epochs"


@dataclass
class TrainResult:
    output: Path
    seconds: float
    steps: int
    best_score: float | None
    interrupted: bool
    plan: Schedule | None = None
    stopped: str = ""
    """``plateau`` (no better score for ``plan.patience`` steps), ``max_steps``, ``max_epochs``, ``interrupted``."""
    best_step: int | None = None


def check_output_dir(output: Path) -> None:
    """A directory to (re)place a pipeline in: not a file, not a folder of other things."""
    if output.exists() and not output.is_dir():
        raise UserError(f"{output}: is a file, not a directory")
    if output.is_dir() and any(output.iterdir()) and not (output / "config.cfg").exists():
        raise UserError(f"{output}: not empty and not a spaCy pipeline; not overwriting it (choose a new directory)")


def train(corpus: Corpus, output: Path, *, lang: str = "en", base_model: str | None = None,
          base_nlp: "Language | None" = None, max_epochs: int | None = None, max_steps: int | None = None,
          patience: int | None = None, seed: int = 0,
          on_step: Callable[[dict[str, Any] | None], None] | None = None) -> TrainResult:
    """Train with ``spacy.training.loop.train`` on the corpus, on its :func:`schedule` (``max_epochs``,
    ``max_steps`` and ``patience`` override it); the best model (on ``corpus.dev``) goes to ``output``
    (replacing a pipeline there). Ctrl-C stops early and keeps the best model so far."""
    import io

    from spacy.training.initialize import init_nlp
    from spacy.training.loop import train as train_loop
    from spacy.util import load_config
    from thinc.api import ConfigValidationError

    global _ON_STEP
    check_output_dir(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".tuiannot-train-", dir=output.parent))
    plan = schedule(corpus, max_epochs=max_epochs, max_steps=max_steps, patience=patience)
    tracker = Tracker(plan)
    interrupted = False
    try:
        write_docbin(corpus.train, work / "train.spacy")
        write_docbin(corpus.dev, work / "dev.spacy")
        new_labels: list[str] = []
        if base_model:
            config, new_labels = base_model_config(base_model, base_nlp or load_pipeline(base_model, "--base-model"),
                                                   corpus, plan)
        else:
            config = make_config(corpus, lang, plan)
        _register_logger()
        config["paths"]["train"] = str(work / "train.spacy")
        config["paths"]["dev"] = str(work / "dev.spacy")
        config["system"]["seed"] = seed
        config["training"]["seed"] = seed
        config["training"]["logger"] = {"@loggers": "tuiannot.ProgressLogger.v1"}
        config.to_disk(work / "config.cfg")
        config = load_config(work / "config.cfg", interpolate=False)
        try:
            nlp = init_nlp(config, use_gpu=-1)
        except ConfigValidationError as e:
            raise UserError(f"spaCy rejected the training config: {one_line(str(e), 500)}") from None
        for name in corpus.components:
            if name == "ner" and name in nlp.pipe_names:
                ner: Any = nlp.get_pipe(name)  # an EntityRecognizer (Cython, untyped)
                for label in new_labels:
                    ner.add_label(label)

        def step(info: dict[str, Any] | None) -> None:
            tracker.step(info)
            if on_step is not None:
                on_step(info)

        _ON_STEP = step
        sink = io.StringIO()
        (work / "out").mkdir()
        try:
            train_loop(nlp, work / "out", use_gpu=-1, stdout=sink, stderr=sink)
        except KeyboardInterrupt:
            interrupted = True
            if not (work / "out" / "model-best").exists():
                raise
        finally:
            _ON_STEP = None
        _install(work / "out" / "model-best", output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    best = tracker.best
    return TrainResult(output, tracker.clock() - tracker.started, tracker.steps, best[0] if best else None,
                       interrupted, plan=plan, stopped=tracker.stopped(interrupted),
                       best_step=best[1] if best else None)


def _install(model: Path, output: Path) -> None:
    """Put the trained pipeline at ``output`` with a config that loads anywhere (no temp paths, spaCy's logger)."""
    from spacy.util import load_config

    config_path = model / "config.cfg"
    config = load_config(config_path, interpolate=False)
    config["paths"]["train"] = None
    config["paths"]["dev"] = None
    config["training"]["logger"] = dict(CONSOLE_LOGGER)
    config.to_disk(config_path)
    old = None
    if output.exists():
        old = output.with_name(f".{output.name}.old-{os.getpid()}")
        os.replace(output, old)
    shutil.move(str(model), str(output))
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# -- evaluation --------------------------------------------------------------------------------
def evaluate(nlp: "Language", docs: list["Doc"], kind: str) -> dict[str, Any]:
    """Scores of ``nlp`` on gold ``docs`` (tokenised by ``nlp``, as spaCy evaluates during training).

    ner/spans: precision, recall and F per label and overall (exact spans). textcat: accuracy (exclusive:
    the top label is the gold one; multi-label: each stated label's yes/no at threshold 0.5) and macro F,
    with P/R/F per label.
    """
    from spacy.scorer import Scorer
    from spacy.training import Example

    predicted = nlp.pipe(nlp.make_doc(d.text) for d in docs)
    examples = [Example(p, d) for p, d in zip(predicted, docs, strict=True)]
    scores = Scorer(nlp=nlp).score(examples)
    support: dict[str, int] = {}
    if kind in ("ner", "spans"):
        prefix = "ents" if kind == "ner" else f"spans_{SPANS_KEY}"
        for doc in docs:
            for span in (doc.ents if kind == "ner" else doc.spans.get(SPANS_KEY, [])):
                support[span.label_] = support.get(span.label_, 0) + 1
        per_type = scores.get(f"{prefix}_per_type") or {}
        labels = sorted(set(per_type) | set(support))
        return {
            "precision": _round(scores.get(f"{prefix}_p")), "recall": _round(scores.get(f"{prefix}_r")),
            "f": _round(scores.get(f"{prefix}_f")),
            "per_label": {label: {"precision": _round(per_type.get(label, {}).get("p", 0.0)),
                                  "recall": _round(per_type.get(label, {}).get("r", 0.0)),
                                  "f": _round(per_type.get(label, {}).get("f", 0.0)),
                                  "support": support.get(label, 0)} for label in labels},
        }
    pipe = next(p for name, p in nlp.pipeline if name.startswith("textcat"))
    exclusive = pipe.__class__.__name__ == "TextCategorizer"  # textcat_multilabel is a subclass
    correct = total = 0
    for eg in examples:
        gold, pred = eg.reference.cats, eg.predicted.cats
        if exclusive:
            positive = [label for label, v in gold.items() if v == 1.0]
            if len(positive) == 1 and pred:
                total += 1
                correct += max(pred, key=lambda label: pred[label]) == positive[0]
        else:
            for label, v in gold.items():
                if label in pred:
                    total += 1
                    correct += (pred[label] >= 0.5) == (v >= 0.5)
        for label, v in gold.items():
            if v == 1.0:
                support[label] = support.get(label, 0) + 1
    per_type = scores.get("cats_f_per_type") or {}
    # spaCy averages over every label; a label absent from the held-out answers and never predicted there
    # (an option nobody chose) would count as F = 0, so it is left out of the average.
    if exclusive:
        predicted_labels = {max(eg.predicted.cats, key=eg.predicted.cats.__getitem__) for eg in examples
                            if eg.predicted.cats}
    else:
        predicted_labels = {label for eg in examples for label, v in eg.predicted.cats.items() if v >= 0.5}
    averaged = [v.get("f", 0.0) for label, v in per_type.items() if support.get(label) or label in predicted_labels]
    return {
        "exclusive": exclusive,
        "accuracy": _round(correct / total) if total else None,
        "macro_f": _round(sum(averaged) / len(averaged)) if averaged else None,
        "per_label": {label: {"precision": _round(v.get("p")), "recall": _round(v.get("r")),
                              "f": _round(v.get("f")), "support": support.get(label, 0)}
                      for label, v in sorted(per_type.items())},
    }


def _round(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), 4)
