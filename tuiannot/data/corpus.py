"""Training data from datasets: answers merged per input into spaCy Docs, split for training and evaluation.

**Merging.** Answers about one input (``_input_hash``), across datasets and annotators, become one
example (one Doc): NER entities, span categories and text categories of the same text combine. Rejected
and ignored answers are left out, except a rejected yes/no question, which says the label does not apply
(``cats[label] = 0.0``). An accepted span answer that marks nothing (no spans, or no ``spans`` key: see
:mod:`.answers`) is an example with no entities (every token ``O``) or an empty span group, not a missing
one. Sentence tasks (``meta.doc_hash``) stay separate examples.

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

Configs, training and evaluation are in :mod:`.training`. spaCy is imported inside the functions, never at
module level: ``import tuiannot`` stays fast.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ..errors import UserError
from ..nlp.load import blank
from ..sanitize import one_line
from ..storage import UnknownDataset
from ..tasks import hash_value, input_hash
from .answers import SPANS_KEY, Problems, Span3, Where, answer_kind, cats, is_binary, is_training_answer, task_spans
from .export import make_doc, numbered_answers, set_entities, set_span_group

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
    for datasets in sources.values():
        for dataset in datasets:  # every name checked before the long read
            if not db.has_dataset(dataset):
                raise UnknownDataset(dataset, db.location)
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
                meta = task.get("meta")
                meta = meta if isinstance(meta, dict) else {}
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
            **({"warnings": self.problems.messages} if self.problems.keep else {}),
        }


def build_corpus(db: Any, sources: dict[str, list[str]], *, lang: str = "en", eval_split: float = 0.2,
                 seed: int = 0, problems: Problems | None = None, nlp: "Language | None" = None,
                 on_answer: Callable[[], None] | None = None) -> Corpus:
    """The merged, split training data of ``sources`` (kind -> datasets) as Docs.

    The first warnings are written as they come, then how many more there were (:meth:`Problems.finish`)."""
    problems = problems or Problems()
    try:
        return _build_corpus(db, sources, lang, eval_split, seed, problems, nlp, on_answer)
    finally:
        problems.finish()


def _build_corpus(db: Any, sources: dict[str, list[str]], lang: str, eval_split: float, seed: int,
                  problems: Problems, nlp: "Language | None", on_answer: Callable[[], None] | None) -> Corpus:
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

    from .files import output_file

    with output_file(path, binary=True) as f:  # a FIFO or a symlink is written in place
        f.write(DocBin(docs=docs, store_user_data=False).to_bytes())
