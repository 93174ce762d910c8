"""Training data from datasets, spaCy configs, and training a pipeline with spaCy's own training loop.

**Merging.** Answers about one input (``_input_hash``), across datasets and annotators, become one
example (one Doc): NER entities, span categories and text categories of the same text combine. Rejected
and ignored answers are left out, except a rejected yes/no question, which says the label does not apply
(``cats[label] = 0.0``). Sentence tasks (``meta.doc_hash``) stay separate examples.

**Contradictions.** Two accepted answers for one input that disagree (different NER spans, different span
categories, or a text label that one says applies and another says does not) are resolved by keeping the
latest answer (by ``_timestamp``, then by the order read: datasets in the order given, answers in the order
written); each overruled answer is reported and counted.

**Exclusive or multi-label text classification** is decided from the data: exclusive (spaCy ``textcat``)
when every accepted choice answer picked exactly one label and there are at least two labels; otherwise
multi-label (``textcat_multilabel``, which also accepts missing labels: yes/no questions state one label
each, so answers from the classification view always give a multi-label model).

**Split.** By input (or by document, for sentence tasks, so one document's sentences never straddle the
split): groups are ordered by a seeded hash of their key and the first ``eval_split`` share is held out.
The split is deterministic for a seed and stays mostly stable as more data is annotated.

spaCy is imported inside the functions, never at module level: ``import tuiannot`` stays fast.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .errors import UserError
from .export import (SPANS_KEY, Problems, Span3, Where, answer_kind, blank, cats, is_binary, is_training_answer,
                     make_doc, numbered_answers, set_entities, set_span_group, task_spans)
from .sanitize import one_line
from .tasks import hash_value, input_hash

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

KINDS: tuple[str, ...] = ("ner", "spans", "textcat")
KIND_ANSWERS = {"ner": "span answers (ner_manual)", "spans": "span answers (spans_manual)",
                "textcat": "text classification answers (choice or classification)"}
MAX_SUGGESTER_SIZE = 12
"""spancat suggests every n-gram up to the longest annotated span, at most this many tokens."""


# -- collecting answers -----------------------------------------------------------------
@dataclass
class SpanAnswer:
    stamp: tuple[float, int]
    where: Where
    spans: tuple[Span3, ...]
    tokens: Any


@dataclass
class CatValue:
    value: float
    stamp: tuple[float, int]
    where: Where


@dataclass
class Item:
    """Everything known about one input."""

    input_hash: int
    text: str
    group: Any
    first: int
    ner: SpanAnswer | None = None
    spans: SpanAnswer | None = None
    cats: dict[str, CatValue] = field(default_factory=dict)


@dataclass
class Collected:
    items: dict[int, Item] = field(default_factory=dict)
    left_out: dict[str, int] = field(default_factory=dict)  # "reject"/"ignore"/"other kind" -> answers
    used: dict[str, int] = field(default_factory=dict)  # kind -> answers used
    binary_answers: int = 0
    several_labels: int = 0  # accepted choice answers with != 1 label
    labels: set[str] = field(default_factory=set)  # text labels seen
    conflicted_inputs: set[tuple[str, int]] = field(default_factory=set)


def parse_datasets(value: str | None) -> list[str]:
    return [d.strip() for d in (value or "").split(",") if d.strip()]


def _stamp(task: dict[str, Any], seq: int) -> tuple[float, int]:
    ts = task.get("_timestamp")
    return (float(ts) if isinstance(ts, (int, float)) and not isinstance(ts, bool) else 0.0, seq)


def _who(answer: SpanAnswer | CatValue) -> str:
    return answer.where.short


def collect(db: Any, sources: dict[str, list[str]], problems: Problems,
            on_answer: Callable[[], None] | None = None) -> Collected:
    """Read the datasets (``{"ner": [...], "spans": [...], "textcat": [...]}``) and merge answers by input."""
    for kind, datasets in sources.items():
        for dataset in datasets:
            if not db.has_dataset(dataset):
                raise UserError(f"no dataset named {dataset!r} in {db.location}")
    out = Collected()
    seq = 0
    for kind, datasets in sources.items():
        for dataset in datasets:
            right_kind = 0
            for n, task in numbered_answers(db, dataset):
                seq += 1
                if on_answer is not None:
                    on_answer()
                found = answer_kind(task)
                if found != ("spans" if kind in ("ner", "spans") else "textcat"):
                    out.left_out["of another kind"] = out.left_out.get("of another kind", 0) + 1
                    continue
                right_kind += 1
                if not is_training_answer(task):
                    reason = f"{task.get('answer')}"
                    out.left_out[reason] = out.left_out.get(reason, 0) + 1
                    continue
                text = task.get("text")
                if not isinstance(text, str) or not text:
                    problems.answer(Where(dataset, n, task.get("_input_hash")), "no text: left out")
                    continue
                key = task.get("_input_hash")
                if not isinstance(key, int):
                    key = input_hash(task)
                where = Where(dataset, n, key)
                meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
                group = ("doc", meta["doc_hash"]) if meta.get("doc_hash") is not None else ("input", key)
                item = out.items.get(key)
                if item is None:
                    item = out.items[key] = Item(key, text, group, seq)
                out.used[kind] = out.used.get(kind, 0) + 1
                if kind == "textcat":
                    _add_cats(out, item, task, _stamp(task, seq), where, problems)
                else:
                    answer = SpanAnswer(_stamp(task, seq), where, tuple(task_spans(task, where, problems)),
                                        task.get("tokens"))
                    _add_spans(out, item, kind, answer, problems)
            if right_kind == 0:
                raise UserError(f"dataset {dataset!r} has no {KIND_ANSWERS[kind]} to train {kind} on")
    return out


def _add_spans(out: Collected, item: Item, kind: str, answer: SpanAnswer, problems: Problems) -> None:
    current: SpanAnswer | None = getattr(item, kind)
    if current is None:
        setattr(item, kind, answer)
        return
    latest, older = (answer, current) if answer.stamp >= current.stamp else (current, answer)
    if current.spans != answer.spans:
        out.conflicted_inputs.add((kind, item.input_hash))
        problems.conflict(f"{kind} answers of input hash {item.input_hash} disagree: {_who(older)} and "
                          f"{_who(latest)} mark different spans; keeping the latest ({_who(latest)})")
    setattr(item, kind, latest)


def _add_cats(out: Collected, item: Item, task: dict[str, Any], stamp: tuple[float, int], where: Where,
              problems: Problems) -> None:
    stated = cats(task)
    if is_binary(task):
        out.binary_answers += 1
    elif sum(1 for v in stated.values() if v == 1.0) != 1:
        out.several_labels += 1
    out.labels.update(stated)
    new_wins: list[str] = []
    old_wins: list[str] = []
    others: set[str] = set()
    for label, value in stated.items():
        current = item.cats.get(label)
        new = CatValue(value, stamp, where)
        if current is not None and current.value != value:
            others.add(_who(current))
            (new_wins if new.stamp >= current.stamp else old_wins).append(label)
        if current is None or new.stamp >= current.stamp:
            item.cats[label] = new
    if new_wins or old_wins:
        out.conflicted_inputs.add(("textcat", item.input_hash))
        labels = ", ".join(one_line(label, 60) for label in new_wins + old_wins)
        kept = _who(new) if new_wins and not old_wins else ", ".join(sorted(others)) if not new_wins else \
            "for each label the latest"
        problems.conflict(f"textcat answers of input hash {item.input_hash} disagree on {labels}: "
                          f"{' and '.join(sorted(others))} and {_who(new)}; keeping the latest ({kept})")


# -- the corpus ---------------------------------------------------------------------------
@dataclass
class Corpus:
    train: list["Doc"]
    dev: list["Doc"]
    kinds: list[str]  # ner, spans, textcat: what the data has
    exclusive: bool | None  # textcat: exclusive classes (None: no textcat)
    exclusive_reason: str
    labels: dict[str, dict[str, dict[str, int]]]  # kind -> label -> {"train": n, "dev": n}
    left_out: dict[str, int]
    conflicts: int  # answers overruled
    conflicted_inputs: int
    problems: Problems
    longest_span: int = 0  # tokens, spancat
    notes: list[str] = field(default_factory=list)

    @property
    def components(self) -> list[str]:
        names = {"ner": "ner", "spans": "spancat",
                 "textcat": "textcat" if self.exclusive else "textcat_multilabel"}
        return [names[k] for k in self.kinds]

    def summary(self) -> dict[str, Any]:
        return {
            "examples": {"train": len(self.train), "dev": len(self.dev)},
            "components": self.components,
            "textcat_exclusive": self.exclusive,
            "textcat_exclusive_reason": self.exclusive_reason or None,
            "labels": self.labels,
            "left_out": self.left_out,
            "contradictions": {"answers_overruled": self.conflicts, "inputs": self.conflicted_inputs,
                               "resolution": "latest answer kept"},
            "spans_not_represented": self.problems.spans,
            "notes": self.notes,
        }


def build_corpus(db: Any, sources: dict[str, list[str]], *, lang: str = "en", eval_split: float = 0.2,
                 seed: int = 0, problems: Problems | None = None, nlp: "Language | None" = None,
                 on_answer: Callable[[], None] | None = None) -> Corpus:
    """The merged, split training data of ``sources`` (kind -> datasets) as Docs."""
    problems = problems or Problems()
    conflicts_before = problems.conflicts
    sources = {k: v for k, v in sources.items() if v}
    if not sources:
        raise UserError("no datasets given: name at least one with --ner, --spans or --textcat")
    if not 0.0 < eval_split < 1.0:
        raise UserError(f"--eval-split must be between 0 and 1 (exclusive), not {eval_split}")
    tokenizer = nlp if nlp is not None else blank(lang)
    collected = collect(db, sources, problems, on_answer)
    items = [i for i in collected.items.values() if i.ner or i.spans or i.cats]
    if not items:
        detail = ", ".join(f"{n} {r}" for r, n in sorted(collected.left_out.items()))
        raise UserError(f"no training data: no accepted answers in {', '.join(sum(sources.values(), []))}"
                        f"{' (' + detail + ' answers left out)' if detail else ''}")
    kinds = [k for k in KINDS if k in sources and collected.used.get(k)]
    if "textcat" in sources and not collected.used.get("textcat"):
        raise UserError("no training data for textcat: no accepted or rejected yes/no answers")
    for kind in ("ner", "spans"):
        if kind in sources and not collected.used.get(kind):
            raise UserError(f"no training data for {kind}: no accepted answers in {', '.join(sources[kind])}")

    exclusive: bool | None = None
    reason = ""
    if "textcat" in kinds:
        if collected.binary_answers:
            exclusive, reason = False, "yes/no answers state one label each: multi-label (textcat_multilabel)"
        elif collected.several_labels:
            exclusive, reason = False, (f"{collected.several_labels} accepted answers have no label or several: "
                                        "multi-label (textcat_multilabel)")
        elif len(collected.labels) < 2:
            exclusive, reason = False, "a single label: multi-label (textcat_multilabel)"
        else:
            exclusive, reason = True, "every accepted answer has exactly one label: exclusive (textcat)"
    all_labels = sorted(collected.labels)

    docs: list[tuple[Any, int, "Doc"]] = []
    longest = 0
    for item in sorted(items, key=lambda i: i.first):
        source = item.ner or item.spans
        task = {"text": item.text, "tokens": source.tokens if source is not None else None}
        doc = make_doc(tokenizer, task, source.where if source else None, problems)
        if item.ner is not None:
            set_entities(doc, list(item.ner.spans), item.ner.where, problems)
        if item.spans is not None:
            set_span_group(doc, list(item.spans.spans), item.spans.where, problems)
            longest = max([longest, *(len(s) for s in doc.spans[SPANS_KEY])])
        if item.cats:
            values = {label: c.value for label, c in item.cats.items()}
            if exclusive:
                positive = [c for c in item.cats.values() if c.value == 1.0]
                if len(positive) > 1:  # choices with different options: keep the latest positive one
                    latest = max(positive, key=lambda c: c.stamp)
                    problems.conflict(f"textcat answers of input hash {item.input_hash} choose different labels; "
                                      f"keeping the latest ({latest.where.short})")
                    values = {label: 1.0 if c is latest else 0.0 for label, c in item.cats.items()}
                values = {label: values.get(label, 0.0) for label in all_labels}
            doc.cats = values
        docs.append((item.group, item.input_hash, doc))

    train, dev = split(docs, eval_split, seed)
    labels = _label_counts(kinds, train, dev)
    notes = []
    if len(kinds) > 1:
        for kind, missing_means in (("spans", "no spans"), ("textcat", "no label applies")):
            if kind in kinds and (kind != "textcat" or exclusive):
                missing = sum(1 for it in items if (it.spans is None if kind == "spans" else not it.cats))
                if missing:
                    notes.append(f"{missing} examples have no {kind} answer; spaCy reads that as {missing_means} "
                                 "(annotate the same texts, or train the components separately)")
    if longest > MAX_SUGGESTER_SIZE:
        notes.append(f"the longest span category has {longest} tokens; spancat suggests n-grams of at most "
                     f"{MAX_SUGGESTER_SIZE}, so longer spans cannot be predicted")
    return Corpus(train=train, dev=dev, kinds=kinds, exclusive=exclusive, exclusive_reason=reason, labels=labels,
                  left_out=collected.left_out, conflicts=problems.conflicts - conflicts_before,
                  conflicted_inputs=len(collected.conflicted_inputs), problems=problems, longest_span=longest,
                  notes=notes)


def split(docs: list[tuple[Any, int, "Doc"]], eval_split: float, seed: int) -> tuple[list["Doc"], list["Doc"]]:
    """Hold out ``eval_split`` of the groups (documents or inputs), chosen by a seeded hash; at least one each."""
    groups = sorted({g for g, _, _ in docs}, key=lambda g: hash_value([seed, list(g)]))
    if len(groups) < 2:
        groups = sorted({("input", h) for _, h, _ in docs}, key=lambda g: hash_value([seed, list(g)]))
        docs = [(("input", h), h, d) for _, h, d in docs]
    if len(groups) < 2:
        raise UserError(f"too little data: {len(docs)} example; at least 2 are needed to hold some out "
                        "for evaluation")
    n_dev = min(len(groups) - 1, max(1, round(len(groups) * eval_split)))
    held_out = set(groups[:n_dev])
    train = [d for g, _, d in docs if g not in held_out]
    dev = [d for g, _, d in docs if g in held_out]
    return train, dev


def _label_counts(kinds: list[str], train: list["Doc"], dev: list["Doc"]) -> dict[str, dict[str, dict[str, int]]]:
    counts: dict[str, dict[str, dict[str, int]]] = {k: {} for k in kinds}
    for part, docs in (("train", train), ("dev", dev)):
        for doc in docs:
            found: list[tuple[str, str]] = []
            if "ner" in kinds:
                found += [("ner", e.label_) for e in doc.ents]
            if "spans" in kinds and SPANS_KEY in doc.spans:
                found += [("spans", s.label_) for s in doc.spans[SPANS_KEY]]
            if "textcat" in kinds:
                found += [("textcat", label) for label, v in doc.cats.items() if v == 1.0]
                for label in doc.cats:
                    counts["textcat"].setdefault(label, {"train": 0, "dev": 0})
            for kind, label in found:
                entry = counts[kind].setdefault(label, {"train": 0, "dev": 0})
                entry[part] += 1
    return {k: dict(sorted(v.items())) for k, v in counts.items()}


def write_docbin(docs: Iterable["Doc"], path: Path) -> None:
    from spacy.tokens import DocBin

    DocBin(docs=docs, store_user_data=False).to_disk(path)


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


def make_config(corpus: Corpus, lang: str) -> Any:
    """spaCy's own config (``init_config``, CPU, efficiency) for the corpus's components, tuned to the data:
    spancat suggests n-grams up to the longest annotated span; evaluation about once an epoch."""
    from spacy.cli.init_config import init_config

    config = init_config(lang=lang, pipeline=corpus.components, optimize="efficiency", gpu=False,
                         pretraining=False, silent=True)
    if "spancat" in config["components"]:
        longest = max(3, min(MAX_SUGGESTER_SIZE, corpus.longest_span))
        config["components"]["spancat"]["suggester"]["sizes"] = list(range(1, longest + 1))
    config["training"]["eval_frequency"] = eval_frequency(corpus.train)
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
def resolve_base_model(name: str) -> str:
    """A pipeline directory, or the name of an installed pipeline package; never downloads."""
    import spacy.util

    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir() or not (path / "config.cfg").exists():
            raise UserError(f"--base-model {name}: not a spaCy pipeline directory (no config.cfg)")
        return str(path.resolve())
    if spacy.util.is_package(name):
        return name
    raise UserError(f"--base-model {name}: no such directory, and no installed spaCy pipeline package of that "
                    "name (tuiannot never downloads: install it with pip, or give the pipeline's path)")


def load_base_model(base: str) -> "Language":
    import spacy

    try:
        return spacy.load(base)
    except Exception as e:  # a broken or incompatible pipeline
        raise UserError(f"--base-model {base}: cannot load it ({type(e).__name__}: {one_line(str(e), 300)})") \
            from None


def base_model_config(base: str, base_nlp: "Language", corpus: Corpus) -> tuple[Any, list[str]]:
    """A config that starts from ``base``: its components sourced, the one trained unfrozen (with its own copy
    of a shared tok2vec), or added if the base has none; the rest frozen. Returns (config, labels to add
    to the trained component after initialisation)."""
    generated = make_config(corpus, base_nlp.lang)
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
            config["components"][factory] = _standalone_component(base_nlp.lang, factory)
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


@dataclass
class TrainResult:
    output: Path
    seconds: float
    steps: int
    best_score: float | None
    interrupted: bool


def check_output_dir(output: Path) -> None:
    """A directory to (re)place a pipeline in: not a file, not a folder of other things."""
    if output.exists() and not output.is_dir():
        raise UserError(f"{output}: is a file, not a directory")
    if output.is_dir() and any(output.iterdir()) and not (output / "config.cfg").exists():
        raise UserError(f"{output}: not empty and not a spaCy pipeline; not overwriting it (choose a new directory)")


def train(corpus: Corpus, output: Path, *, lang: str = "en", base_model: str | None = None,
          base_nlp: "Language | None" = None, max_epochs: int | None = None, max_steps: int | None = None,
          seed: int = 0, on_step: Callable[[dict[str, Any] | None], None] | None = None) -> TrainResult:
    """Train with ``spacy.training.loop.train`` on the corpus; the best model (on ``corpus.dev``) goes to
    ``output`` (replacing a pipeline there). Ctrl-C stops early and keeps the best model so far."""
    import io
    import time

    from spacy.training.initialize import init_nlp
    from spacy.training.loop import train as train_loop
    from spacy.util import load_config
    from thinc.api import ConfigValidationError

    global _ON_STEP
    check_output_dir(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".tuiannot-train-", dir=output.parent))
    started = time.monotonic()
    steps = 0
    best: float | None = None
    interrupted = False
    try:
        write_docbin(corpus.train, work / "train.spacy")
        write_docbin(corpus.dev, work / "dev.spacy")
        new_labels: list[str] = []
        if base_model:
            config, new_labels = base_model_config(base_model, base_nlp or load_base_model(base_model), corpus)
        else:
            config = make_config(corpus, lang)
        _register_logger()
        config["paths"]["train"] = str(work / "train.spacy")
        config["paths"]["dev"] = str(work / "dev.spacy")
        config["system"]["seed"] = seed
        config["training"]["seed"] = seed
        config["training"]["logger"] = {"@loggers": "tuiannot.ProgressLogger.v1"}
        if max_epochs is not None:
            config["training"]["max_epochs"] = max_epochs
        if max_steps is not None:
            config["training"]["max_steps"] = max_steps
        config.to_disk(work / "config.cfg")
        config = load_config(work / "config.cfg", interpolate=False)
        try:
            nlp = init_nlp(config, use_gpu=-1)
        except ConfigValidationError as e:
            raise UserError(f"spaCy rejected the training config: {one_line(str(e), 500)}") from None
        for name in corpus.components:
            if name == "ner" and name in nlp.pipe_names:
                for label in new_labels:
                    nlp.get_pipe(name).add_label(label)

        def step(info: dict[str, Any] | None) -> None:
            nonlocal steps, best
            steps += 1
            if info is not None and info.get("score") is not None:
                best = info["score"] if best is None else max(best, info["score"])
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
    return TrainResult(output, time.monotonic() - started, steps, best, interrupted)


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
    examples = [Example(p, d) for p, d in zip(predicted, docs)]
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
        predicted = {max(eg.predicted.cats, key=eg.predicted.cats.__getitem__) for eg in examples
                     if eg.predicted.cats}
    else:
        predicted = {label for eg in examples for label, v in eg.predicted.cats.items() if v >= 0.5}
    averaged = [v.get("f", 0.0) for label, v in per_type.items() if support.get(label) or label in predicted]
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
