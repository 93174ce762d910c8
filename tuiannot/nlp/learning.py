"""Active learning: a spaCy model learns from the answers and picks what to ask next.

A :class:`Learner` scores candidate questions (a text with one label, or a
text with one entity span) and is updated from batches of binary answers:
``accept`` says the suggestion is right, ``reject`` that it is wrong, and both
teach. Updates run on the controller's update worker, never on the key-press
path; they train a second copy of the pipeline and then swap it in, so the
stream keeps scoring with a consistent model while an update runs.

:func:`select` orders the stream: it scores a look-ahead window of candidates
and serves the most informative first, dropping those below an exponential
moving average of recent informativeness (Prodigy's ``prefer_uncertain``
idea), so that the stream keeps moving through the source. Informativeness of
a question whose answer the model gives probability ``p`` (the model's
distribution over the answers, ``[p, 1 - p]`` for a binary question):

* ``uncertainty`` (least confidence): ``(1 - max p) * k / (k - 1)``
* ``margin``: ``1 - (p1 - p2)`` (the two most likely answers)
* ``entropy``: ``H(p) / log k``

All three are 1 for a coin toss and 0 for certainty; for binary questions
they rank candidates alike (each is a monotone function of ``|p - 0.5|``) and
differ only in how the moving-average threshold falls. ``random`` serves the
stream in source order, the baseline. Pattern matches (``--patterns``) are
served first, so that a blank model gets positives to learn from.

A question's ``score`` is the model's probability that the suggestion is right,
or None when the model has no opinion yet (``meta.score`` then says so, and the
screen too): a text classifier whose weights for the label were never moved
(a new one starts at zero, so it says exactly 0.5 for every text, and an
exclusive one the same for all its labels), or a new entity recogniser before
its first update. The version a question carries is that of the model that
scored it: a new model and its version are swapped in together.

A given pipeline without the learner's component (word vectors made by
``tuiannot vectors``, say) gets one added and trained (:func:`add_textcat`,
:func:`add_ner`). Only the learner's component is trained: one that shares a
tok2vec with others gets its own copy of it first, and the others are left out
of updates (and, after it, of scoring).
"""

from __future__ import annotations

import math
import random as random_module
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, cast

from ..errors import UserError
from ..tasks import input_hash, set_hashes

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.pipeline import TextCategorizer

STRATEGIES = ("uncertainty", "margin", "entropy", "random")
INCORRECT = "incorrect_spans"
NO_OPINION = "no opinion yet"
"""``meta.score`` of a question the model had no opinion about (its ``score`` is None)."""


def informativeness(probs: list[float], strategy: str) -> float:
    k = len(probs)
    if k < 2:
        return 0.0
    ordered = sorted((min(1.0, max(0.0, p)) for p in probs), reverse=True)
    if strategy == "uncertainty":
        return (1.0 - ordered[0]) * k / (k - 1)
    if strategy == "margin":
        return 1.0 - (ordered[0] - ordered[1])
    if strategy == "entropy":
        return -sum(p * math.log(p) for p in ordered if p > 0) / math.log(k)
    if strategy == "random":
        return 0.0
    raise UserError(f"unknown strategy {strategy!r} (choose from {', '.join(STRATEGIES)})")


class Learner(ABC):
    """A model that scores candidate questions and learns from answered ones."""

    kind = ""
    pipe = ""  # the component this learner trains
    untrained = False  # the component was added here, untrained (see NerLearner)
    saved_note: str | None = None  # what the last save said: "Model saved to DIR." (see save_note)

    def __init__(self, nlp: "Language", labels: list[str]) -> None:
        self.labels = labels
        self.nlp = nlp  # scores (never trained in place)
        self._train_nlp: "Language" | None = None
        self.version = 0  # updates applied
        self.answers_seen = 0
        self.losses: dict[str, float] = {}
        self._optimizer: Any = None
        self._swap = threading.Lock()
        self.save_to: Path | None = None
        self.save_every = 0
        # a few answers at a time must move a text classifier: five times spaCy's default step (tuned on
        # SST-2 train/test with bench/active_learning.py: 0.001-0.2 tried, with rehearsal of 200-2000)
        self.learn_rate = 0.005
        self.plain_sgd = False  # Adam (spaCy's default); plain SGD moves weights in proportion to the evidence
        self.replay = 500
        self.minibatch = 32
        self.memory: list[Any] = []
        self._rng = random_module.Random(0)
        self.texts_read = 0  # by select(): texts looked at, and those it asked nothing about
        self.texts_passed = 0
        self.cold_hint = ""  # said when the stream ends, e.g. that a blank model had nothing to go on

    # -- the two copies ------------------------------------------------------------
    def _trainable(self) -> "Language":
        if self._train_nlp is None:
            self._train_nlp = self._copy(self.nlp)
            if self.plain_sgd:
                from thinc.api import SGD

                self._optimizer = self._train_nlp.resume_training(sgd=SGD(self.learn_rate, use_averages=False))
            else:  # Adam, spaCy's default, at this learner's step (see learn_rate in each kind)
                self._optimizer = self._train_nlp.resume_training()
                self._optimizer.learn_rate = self.learn_rate
        return self._train_nlp

    @staticmethod
    def _copy(nlp: "Language") -> "Language":
        import spacy

        fresh = spacy.util.load_model_from_config(nlp.config, auto_fill=True, validate=False)
        vectors = nlp.vocab.vectors
        if getattr(vectors, "mode", "default") == "default":
            # Word vectors are never trained: both copies share one table (tens of MB) instead of copying it.
            # (Only a default table: a floret table looks words up through its vocab's strings.)
            fresh.vocab.from_bytes(nlp.vocab.to_bytes(exclude=["vectors"]), exclude=["vectors"])
            fresh.vocab.vectors = vectors
        else:
            fresh.vocab.from_bytes(nlp.vocab.to_bytes())
        fresh.from_bytes(nlp.to_bytes(exclude=["vocab"]), exclude=["vocab"])
        return fresh

    def _own_features(self) -> None:
        """Give the learner's component its own copy of a tok2vec it shares with other components.

        spaCy backpropagates through a shared tok2vec from its last listener only, so teaching one component
        would either not reach the shared layer or move the features the others were trained on. As
        ``train --base-model`` does, the listener gets the tok2vec's weights as its own layer.
        """
        for name, proc in self.nlp.pipeline:
            listeners = list(getattr(proc, "listening_components", None) or [])
            if self.pipe in listeners and len(listeners) > 1:
                try:
                    self.nlp.replace_listeners(name, self.pipe, ["model.tok2vec"])
                except ValueError as e:
                    raise UserError(f"the model's {self.pipe} shares {name} with {', '.join(listeners)} and "
                                    f"cannot be given its own copy ({str(e).splitlines()[0][:200]})") from None

    def _others(self, nlp: "Language") -> list[str]:
        """The pipeline's components that neither are the learner's nor feed it (a tok2vec it listens to):
        left out of updates, so that answers about one thing do not move a trained component of another."""
        needed = {self.pipe}
        for name, proc in nlp.pipeline:
            if self.pipe in (getattr(proc, "listening_components", None) or []):
                needed.add(name)
        return [name for name in nlp.pipe_names if name not in needed]

    def _after(self, nlp: "Language") -> list[str]:
        """The components after the learner's: not needed to score it (those before may annotate for it)."""
        names = nlp.pipe_names
        return names[names.index(self.pipe) + 1:] if self.pipe in names else []

    def _publish(self) -> None:
        """Swap the trained weights in for scoring (a consistent snapshot), with their version: a question
        scored meanwhile is scored by the old model and says so."""
        assert self._train_nlp is not None
        snapshot = self._copy(self._train_nlp)
        with self._swap:
            self.nlp = snapshot
            self.version += 1

    def _model(self) -> tuple["Language", int]:
        """The scoring model and its version, read together."""
        with self._swap:
            return self.nlp, self.version

    def update(self, answers: list[dict[str, Any]]) -> None:
        examples = [e for e in (self.example(a) for a in answers) if e is not None]
        self.answers_seen += len(answers)
        if not examples:
            return
        nlp = self._trainable()
        losses: dict[str, float] = {}
        # Rehearsal: each update is a pass over the new answers and (up to ``replay``) earlier ones,
        # in small shuffled batches, so that the model fits everything it was told, not only the
        # last few answers; its uncertainty is then worth asking about.
        self.memory.extend(examples)
        rehearse = self.memory[-self.replay:] if self.replay else examples
        batch = rehearse[:]
        self._rng.shuffle(batch)
        others = self._others(nlp)
        for start in range(0, len(batch), self.minibatch):
            nlp.update(batch[start:start + self.minibatch], sgd=self._optimizer, losses=losses, drop=0.2,
                       exclude=others)
        self.losses = losses
        self._publish()
        if self.save_to is not None and self.save_every and self.version % self.save_every == 0:
            self.save(self.save_to)

    def finished_note(self, strategy: str = "uncertainty", output: str | Path | None = None) -> str | None:
        """Why a --teach stream ended early (the model asks only about what it is unsure of), and where the
        model is saved (with ``output``).

        A text counts as asked about when a question about it was served; one the controller then drops
        (answered before) still counts, so a resumed run may report a few texts fewer than it skipped.
        """
        notes = []
        if self.texts_passed:
            notes.append(f"The model passed over {self.texts_passed} of the {self.texts_read} texts it read: it was "
                         "sure about them (or found nothing to ask).")
            notes.append(f"Run again with --model {output} to go over them with what it has learnt." if output else
                         "To go over them with what it has learnt, save it with --output and start from it with "
                         "--model.")
            if strategy != "random" and self.kind == "textcat":
                notes.append("--strategy random asks about every text.")
        if self.cold_hint:
            notes.append(self.cold_hint)
        if output:  # said on the summary screen before the session ends, and after it (see save_note)
            notes.append(self.saved_note or f"The model is saved to {output} when you quit.")
        return " ".join(notes) or None

    def save(self, path: str | Path) -> None:
        with self._swap:
            nlp = self.nlp
        nlp.to_disk(path)

    def save_note(self, path: str | Path) -> str:
        """Save the model at the end of a session and say so (or why it could not be saved), for the summary:
        the note is also kept as :attr:`saved_note`."""
        updates = f"{self.version} {'update' if self.version == 1 else 'updates'} from {self.answers_seen} " \
                  f"{'answer' if self.answers_seen == 1 else 'answers'}"
        try:
            self.save(path)
        except OSError as e:
            self.saved_note = f"The model was NOT saved to {path}: {e.strerror or e}."
        else:
            self.saved_note = f"Model saved to {path} ({updates})."
        return self.saved_note

    def status(self) -> str:
        loss = sum(self.losses.values()) if self.losses else None
        return f"model: {self.version} updates from {self.answers_seen} answers" + (
            f", loss {loss:.3f}" if loss is not None else "")

    # -- per kind ------------------------------------------------------------------
    @abstractmethod
    def candidates(self, tasks: list[dict[str, Any]], strategy: str) -> list[tuple[float, dict[str, Any]]]:
        """(informativeness, question) for the questions this model would ask about ``tasks``."""

    @abstractmethod
    def example(self, answer: dict[str, Any]) -> Any:
        """A spaCy Example teaching what ``answer`` says (None when it says nothing usable)."""


class TextcatLearner(Learner):
    """Asks whether a label applies to a text; learns with spaCy's text classifier."""

    kind = "textcat"

    def __init__(self, nlp: "Language", labels: list[str], encoder: str | None = None) -> None:
        super().__init__(nlp, labels)
        names = [n for n in ("textcat_multilabel", "textcat") if n in nlp.pipe_names]
        if not names:  # e.g. a pipeline of word vectors (`tuiannot vectors`): give it a classifier to train
            add_textcat(nlp, labels, encoder=encoder)
            names = ["textcat_multilabel"]
        self.pipe = names[0]
        known = set(cast("TextCategorizer", nlp.get_pipe(self.pipe)).labels)
        missing = [label for label in labels if label not in known]
        if missing:
            raise UserError(f"the model's classifier does not know the labels {', '.join(missing)}")
        self.exclusive = self.pipe == "textcat"
        self._own_features()

    @classmethod
    def blank(cls, lang: str, labels: list[str], ngram_size: int = 1, encoder: str | None = None
              ) -> "TextcatLearner":
        """A new classifier, one independent score per label, ready to learn: a bag of words, beside a
        frozen sentence encoder's view of the text when ``encoder`` names one."""
        from .load import blank

        nlp = blank(lang)
        add_textcat(nlp, labels, ngram_size=ngram_size, encoder=encoder)
        return cls(nlp, labels)

    @property
    def encoder(self) -> str | None:
        """The sentence encoder the classifier learns over, if any."""
        from .architectures import SENTENCE_ARCHITECTURE

        with self._swap:
            nlp = self.nlp
        model = nlp.config["components"][self.pipe].get("model", {})
        return model.get("encoder") if model.get("@architectures") == SENTENCE_ARCHITECTURE else None

    def scores(self, texts: list[str], nlp: "Language | None" = None) -> list[dict[str, float]]:
        nlp = nlp if nlp is not None else self._model()[0]
        return [dict(doc.cats) for doc in nlp.pipe(texts, batch_size=128, disable=self._after(nlp))]

    def has_opinion(self, cats: dict[str, float], label: str) -> bool:
        """Whether the classifier's scores of a text say anything about ``label``: not when its weights for it
        were never moved (the logistic of a zero is exactly 0.5; a softmax of equal logits gives every label
        the same score)."""
        if self.exclusive:
            return len(set(cats.values())) > 1
        return cats.get(label, 0.5) != 0.5

    def candidates(self, tasks: list[dict[str, Any]], strategy: str) -> list[tuple[float, dict[str, Any]]]:
        out = []
        nlp, version = self._model()
        for task, cats in zip(tasks, self.scores([t["text"] for t in tasks], nlp), strict=True):
            if self.exclusive and len(self.labels) > 1:
                probs = [cats.get(label, 0.0) for label in self.labels]
                label = self.labels[max(range(len(probs)), key=probs.__getitem__)]
                asks = [(label, informativeness(probs, strategy))]
            else:
                asks = [(label, informativeness([cats.get(label, 0.0), 1 - cats.get(label, 0.0)], strategy))
                        for label in self.labels]
            for label, value in asks:
                score = round(float(cats.get(label, 0.0)), 4) if self.has_opinion(cats, label) else None
                candidate = {k: v for k, v in task.items() if k not in ("_task_hash", "label")}
                candidate.update(label=label, score=score, _model_version=version)
                candidate["meta"] = {**(task.get("meta") or {}), "score": NO_OPINION if score is None else score}
                out.append((value, set_hashes(candidate)))
        return out

    def example(self, answer: dict[str, Any]) -> Any:
        from spacy.training import Example

        if answer.get("answer") not in ("accept", "reject") or answer.get("label") not in self.labels:
            return None
        nlp = self._trainable()
        value = 1.0 if answer["answer"] == "accept" else 0.0
        cats = {answer["label"]: value}
        if self.exclusive and len(self.labels) == 2 and value == 0.0:  # two exclusive labels: no means the other
            other = [label for label in self.labels if label != answer["label"]][0]
            cats[other] = 1.0
        return Example.from_dict(nlp.make_doc(answer["text"]), {"cats": cats})


class NerLearner(Learner):
    """Asks whether a suggested entity span is right; scores spans with beam search over spaCy's NER."""

    kind = "ner"

    def __init__(self, nlp: "Language", labels: list[str], beam_width: int = 8) -> None:
        super().__init__(nlp, labels)
        self.pipe = "ner"
        self.untrained = "ner" not in nlp.pipe_names  # blank, or word vectors with no recogniser yet
        if self.untrained:
            add_ner(nlp, labels)
        ner: Any = nlp.get_pipe("ner")  # an EntityRecognizer (Cython, untyped)
        self.incorrect_key = ner.cfg.get("incorrect_spans_key") or INCORRECT
        if ner.cfg.get("incorrect_spans_key") is None:  # trained elsewhere: rejects must teach too
            ner.cfg["incorrect_spans_key"] = self.incorrect_key
            ner.moves.cfg["neg_key"] = self.incorrect_key
        self._own_features()
        self.beam_width = beam_width
        self.replay = 300  # NER updates cost more per example than a bag of words
        if self.untrained:
            # nothing to lose: Adam, at spaCy's default step (on the synthetic people-and-places data of the
            # tests, 200 answers from 4 patterns ended at F 0.49 with it and 0.40 with 0.005; one run each)
            self.learn_rate, self.plain_sgd = 0.001, False
        else:
            # A yes/no answer says nothing about the rest of the text; Adam takes a full step on every weight
            # however faint its gradient, so a trained model drifts (unknown tokens turn into entities, known
            # ones are forgotten). A given model is refined with plain SGD instead, whose steps follow the
            # evidence. Measured with bench/active_learning.py --seed-model 500 on WNUT-17 (F 0.08 at the
            # start), random order, 500 answers: Adam 0.005 fell to 0.01 within 100 answers, Adam 0.001 to
            # 0.03, Adam 0.0002 to 0.045 (3 seeds); SGD 0.01 ended at 0.087, SGD 0.02 at 0.080, SGD 0.05 at 0.042.
            self.learn_rate, self.plain_sgd = 0.01, True

    @classmethod
    def blank(cls, lang: str, labels: list[str]) -> "NerLearner":
        from .load import blank

        return cls(blank(lang), labels)

    def candidates(self, tasks: list[dict[str, Any]], strategy: str) -> list[tuple[float, dict[str, Any]]]:
        from .spans import make_span

        nlp, version = self._model()
        opinion = not self.untrained or version > 0  # a new recogniser's first scores are its random start
        ner: Any = nlp.get_pipe("ner")  # an EntityRecognizer (Cython, untyped)
        docs = [nlp.make_doc(t["text"]) for t in tasks]
        for name, proc in nlp.pipeline:
            if name == "ner":  # what comes before may annotate for it (an entity ruler, a tok2vec)
                break
            # a component made from a plain function has no .pipe: it is called per doc, as spaCy's nlp.pipe does
            docs = list(proc.pipe(docs)) if hasattr(proc, "pipe") else [proc(doc) for doc in docs]
        scored = ner.scored_ents(ner.beam_parse(docs, beam_width=self.beam_width))
        out = []
        for task, doc, spans in zip(tasks, docs, scored, strict=True):
            tokens = task.get("tokens") or []
            if len(tokens) != len(doc):
                continue  # the task's own tokens differ from the model's: no span can be placed
            for (start, end, label), p in spans.items():
                if label not in self.labels or p < 0.001:
                    continue
                span = make_span(tokens, start, end - 1, label)
                candidate = {k: v for k, v in task.items() if k not in ("_task_hash", "spans")}
                score = round(float(p), 4)  # the span keeps the recogniser's raw probability, for analysis
                candidate.update(spans=[{**span, "score": score}], score=score if opinion else None,
                                 _model_version=version)
                candidate["meta"] = {**(task.get("meta") or {}), "score": score if opinion else NO_OPINION}
                out.append((informativeness([p, 1 - p], strategy), set_hashes(candidate)))
        return out

    def example(self, answer: dict[str, Any]) -> Any:
        from spacy.training import Example

        if answer.get("answer") not in ("accept", "reject") or not answer.get("spans"):
            return None
        nlp = self._trainable()
        doc = nlp.make_doc(answer["text"])
        if len(doc) != len(answer.get("tokens") or doc):
            return None
        span = answer["spans"][0]
        tags = ["-"] * len(doc)  # what the answer does not speak of stays unknown
        if answer["answer"] == "accept":  # every span shown is right (the annotator may have fixed one)
            for accepted in answer["spans"]:
                ts, te, label = accepted.get("token_start"), accepted.get("token_end"), accepted.get("label")
                if not (isinstance(ts, int) and isinstance(te, int) and 0 <= ts <= te < len(doc)) \
                        or label not in self.labels or any(t != "-" for t in tags[ts:te + 1]):
                    continue
                if ts == te:
                    tags[ts] = f"U-{label}"
                else:
                    tags[ts], tags[te] = f"B-{label}", f"L-{label}"
                    for i in range(ts + 1, te):
                        tags[i] = f"I-{label}"
            if all(t == "-" for t in tags):
                return None
            return Example.from_dict(doc, {"entities": tags})
        example = Example.from_dict(doc, {"entities": tags})
        wrong = example.reference.char_span(span["start"], span["end"], label=span["label"])
        if wrong is None:
            return None
        example.reference.spans[self.incorrect_key] = [wrong]  # a rejected suggestion: known to be wrong
        return example


def has_vectors(nlp: "Language") -> bool:
    return len(nlp.vocab.vectors.shape) == 2 and nlp.vocab.vectors.shape[0] > 0 and nlp.vocab.vectors.shape[1] > 0


def add_textcat(nlp: "Language", labels: list[str], ngram_size: int = 1, encoder: str | None = None) -> None:
    """A classifier with one independent score per label, ready to learn, added to ``nlp``.

    A bag of words, beside (:mod:`tuiannot.nlp.encoders`) a frozen sentence encoder's embedding of the text when
    ``encoder`` names one, else the mean of the pipeline's word vectors when it has them. Only the new
    component is initialised: the rest of the pipeline stays as it is.
    """
    from spacy.training import Example

    from .architectures import ARCHITECTURE, SENTENCE_ARCHITECTURE, register
    from .encoders import encoder_reference

    bow = {"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": False, "ngram_size": ngram_size,
           "no_output_layer": False, "length": 262144}
    if encoder:
        register()
        model = {"@architectures": SENTENCE_ARCHITECTURE, "exclusive_classes": False, "ngram_size": ngram_size,
                 "encoder": encoder_reference(encoder)}
    elif has_vectors(nlp):
        register()
        model = {"@architectures": ARCHITECTURE, "exclusive_classes": False, "ngram_size": ngram_size}
    else:
        model = bow
    textcat = cast("TextCategorizer", nlp.add_pipe("textcat_multilabel", config={"model": model}))
    if encoder:
        from .encoders import encoder_width

        width = encoder_width(encoder)
        for node in textcat.model.walk():  # new, all zero weights: no need to wait for the encoder until trained
            if node.name == "sentence_vectors" and width:
                node.attrs["untrained_width"] = width
    for label in labels:
        textcat.add_label(label)
    sample = Example.from_dict(nlp.make_doc("text"), {"cats": {label: 0.0 for label in labels}})
    textcat.initialize(lambda: [sample], nlp=nlp)


def add_ner(nlp: "Language", labels: list[str]) -> None:
    """An entity recogniser ready to learn from partial answers, added to ``nlp`` (using its word vectors)."""
    from spacy.training import Example

    config: dict[str, Any] = {"incorrect_spans_key": INCORRECT}
    if has_vectors(nlp):
        config["model"] = {
            "@architectures": "spacy.TransitionBasedParser.v2", "state_type": "ner", "extra_state_tokens": False,
            "hidden_width": 64, "maxout_pieces": 2, "use_upper": True,
            "tok2vec": {"@architectures": "spacy.HashEmbedCNN.v2", "pretrained_vectors": True, "width": 96,
                        "depth": 4, "embed_size": 2000, "window_size": 1, "maxout_pieces": 3,
                        "subword_features": True}}
    ner: Any = nlp.add_pipe("ner", config=config)  # an EntityRecognizer (Cython, untyped)
    for label in labels:
        ner.add_label(label)
    ner.initialize(lambda: [Example.from_dict(nlp.make_doc("text"), {})], nlp=nlp)


def select(learner: Learner, strategy: str, lookahead: int = 128, alpha: float = 0.1, bias: float = 0.0,
           warmup: int = 0,
           first: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None, seed: int = 0
           ) -> Callable[[Iterator[dict[str, Any]]], Iterator[dict[str, Any]]]:
    """The stream step that serves the most informative candidates first (see the module text)."""
    if strategy not in STRATEGIES:
        raise UserError(f"unknown strategy {strategy!r} (choose from {', '.join(STRATEGIES)})")
    rng = random_module.Random(seed)

    def serve(tasks: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        ema = 0.0
        served = 0
        window: list[dict[str, Any]] = []
        asked: set[int] = set()  # inputs of the window that got a question
        exhausted = False

        def ask(candidate: dict[str, Any]) -> dict[str, Any]:
            asked.add(candidate["_input_hash"])
            return candidate

        def settle() -> None:  # count the window's texts that got no question
            if window:
                inputs = {t["_input_hash"] if isinstance(t.get("_input_hash"), int) else input_hash(t) for t in window}
                learner.texts_read += len(inputs)
                learner.texts_passed += len(inputs - asked)
            window.clear()
            asked.clear()

        while not exhausted:
            settle()
            for task in tasks:
                window.append(task)
                if len(window) >= lookahead:
                    break
            else:
                exhausted = True
            if not window:
                return
            if first is not None:  # pattern matches: positives for a cold model, served first
                for task in window:
                    for candidate in first(task):
                        yield ask(candidate)
            if strategy == "random":  # the baseline: source order
                for _, candidate in learner.candidates(window, strategy):
                    yield ask(candidate)
                continue
            pool = window
            if served < warmup:  # a cold model's first questions: in source order, its scores mean nothing yet
                head, pool = window[:warmup - served], window[warmup - served:]
                for _, candidate in learner.candidates(head, strategy):
                    served += 1
                    yield ask(candidate)
                if not pool:
                    continue
            scored = [(u, rng.random(), c) for u, c in learner.candidates(pool, strategy)]
            for value, _, _ in scored:  # the moving average of what the stream offers
                ema = (1 - alpha) * ema + alpha * value
            threshold = ema + bias * (1 - ema)
            version = learner.version
            scored.sort(key=lambda x: (x[0], x[1]))
            while scored:
                if version != learner.version:  # the model changed: score what is left again
                    version = learner.version
                    keys = {c["_task_hash"] for _, _, c in scored}
                    rescored = learner.candidates(_inputs([c for _, _, c in scored]), strategy)
                    scored = sorted(((u, rng.random(), c) for u, c in rescored if c["_task_hash"] in keys),
                                    key=lambda x: (x[0], x[1]))
                    if not scored:
                        break
                value, _, candidate = scored.pop()  # the most informative left
                if value + 1e-9 < threshold:
                    break  # the rest of the window tells less than the stream usually does: move on
                served += 1
                yield ask(candidate)
        settle()

    return serve


def _inputs(candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The input tasks behind candidates (a candidate's own question taken off again)."""
    seen: dict[int, dict[str, Any]] = {}
    for c in candidates:
        base = {k: v for k, v in c.items() if k not in ("label", "score", "_model_version", "_task_hash")}
        if "spans" in base and len(base["spans"]) == 1 and "score" in base["spans"][0]:
            base.pop("spans")
        if isinstance(base.get("meta"), dict):
            base["meta"] = {k: v for k, v in base["meta"].items() if k != "score"}
        seen.setdefault(c["_input_hash"], base)
    return list(seen.values())
