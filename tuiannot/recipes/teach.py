"""``--teach``: the binary, model-in-the-loop variants of ``textcat`` and ``ner``.

The question is yes/no, as in Prodigy's teach recipes: a text with one
suggested label (textcat) or one suggested entity span (ner), and the model's
score (or that it has no opinion yet); ``a`` = right, ``x`` = wrong, ``space`` = skip.
Both answers update the model on the update worker; the stream is re-ranked by
:func:`tuiannot.nlp.learning.select`. With ``--output`` the model is saved every 10
updates and when the session ends, and the end-of-session note says where.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..errors import UserError
from ..nlp.learning import STRATEGIES

if TYPE_CHECKING:
    from spacy.pipeline import EntityRuler


def teach_components(kind: str, stream: Any, labels: list[str], *, lang: str, model: str | None,
                     patterns: str | None, strategy: str, batch_size: int, output: str | None,
                     nlp: Any = None, encoder: str | None = None) -> dict[str, Any]:
    """The teach recipe's components. ``encoder`` (textcat): ``auto``, ``none`` or a sentence encoder, for a
    classifier the learner adds (see :func:`tuiannot.nlp.learning.add_textcat`)."""
    from ..nlp.learning import NerLearner, TextcatLearner, select
    from ..nlp.load import load_nlp
    from ..nlp.spans import load_patterns

    if strategy not in STRATEGIES:
        raise UserError(f"--strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    if output is not None and Path(output).exists() and not Path(output).is_dir():
        raise UserError(f"--output {output}: exists and is not a folder")
    learner: Any
    if kind == "textcat":
        nlp = nlp if nlp is not None or not model else load_nlp(model=model)
        if encoder == "auto":
            from ..nlp.encoders import default_encoder

            # a given pipeline of word vectors keeps to them; a blank model gets the encoder when installed
            encoder = default_encoder() if nlp is None else None
        elif encoder in ("none", ""):
            encoder = None
        elif encoder and nlp is not None and any(n in nlp.pipe_names for n in ("textcat", "textcat_multilabel")):
            raise UserError(f"--encoder is for a new classifier: {model} has one already")
        learner = TextcatLearner(nlp, labels, encoder=encoder) if nlp is not None \
            else TextcatLearner.blank(lang, labels, encoder=encoder)
        if learner.encoder:  # checked now (a saved model's encoder may have gone): an error before the screen
            from ..nlp.encoders import encode_sentences, encoder_path  # starts; loaded beside the first screen

            if not encode_sentences.ready(learner.encoder):
                encoder_path(learner.encoder)
            encode_sentences.preload(learner.encoder)
    elif model:
        learner = NerLearner(nlp if nlp is not None else load_nlp(model=model), labels)
    else:
        learner = NerLearner.blank(lang, labels)
    if output:
        learner.save_to, learner.save_every = Path(output), 10
    if kind == "ner" and learner.untrained and not patterns:  # blank, or word vectors without a recogniser
        learner.cold_hint = ("A new entity recogniser (a blank model, or word vectors without one) with no --patterns "
                             "starts with no idea what an entity is: give it "
                             "--patterns, or a --model trained on a few hundred texts annotated with `tuiannot ner` "
                             "(`tuiannot train ner`).")
    first = None
    if patterns:
        first = _pattern_first(kind, learner, load_patterns(patterns), labels)
    stream.reorder(select(learner, strategy, first=first))

    def on_exit(controller: Any) -> None:
        if output:  # the note saying so (or why not) is the finished note's last sentence
            learner.save_note(output)

    return {"stream": stream, "view_id": "classification" if kind == "textcat" else "ner_manual",
            "update": learner.update, "batch_size": batch_size, "on_exit": on_exit,
            # questions are chosen a batch ahead of the annotator, not more: a question chosen long before it
            # is shown was chosen by an older model (and at least 10, so scoring a new look-ahead window,
            # about a second with an encoder, happens while the annotator still has questions to answer)
            "prefetch": max(batch_size, 10), "status": learner.status, "model": learner,
            "finished_note": lambda: learner.finished_note(strategy, output),
            "config": {"teach": True, "strategy": strategy}}


def _pattern_first(kind: str, learner: Any, patterns: list[dict[str, Any]], labels: list[str]) -> Any:
    """Questions from pattern matches, served before the model's (a cold start needs positives)."""
    import spacy

    from ..nlp.spans import make_span
    from ..tasks import set_hashes

    nlp = spacy.blank(learner.nlp.lang, vocab=learner.nlp.vocab)
    ruler = cast("EntityRuler", nlp.add_pipe("entity_ruler"))
    try:
        ruler.add_patterns([p for p in patterns if p["label"] in labels])
    except Exception as e:  # spaCy validates token patterns
        raise UserError(f"invalid pattern: {e}") from None

    def first(task: dict[str, Any]) -> list[dict[str, Any]]:
        doc = nlp(task["text"])
        found = []
        for ent in doc.ents:
            candidate = {k: v for k, v in task.items() if k not in ("_task_hash", "label", "spans")}
            candidate["meta"] = {**(task.get("meta") or {}), "pattern": ent.text}
            candidate["_model_version"] = learner.version  # the model the answer will go to
            if kind == "textcat":
                candidate["label"] = ent.label_
            else:
                tokens = task.get("tokens") or []
                if len(tokens) != len(doc):
                    continue
                candidate["spans"] = [make_span(tokens, ent.start, ent.end - 1, ent.label_, source="pattern")]
            found.append(set_hashes(candidate))
        if kind == "textcat":  # one question per label, however many matches
            found = list({c["label"]: c for c in found}.values())
        return found

    return first
