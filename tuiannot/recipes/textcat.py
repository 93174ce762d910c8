"""``textcat``: label whole texts.

One label asks a yes/no question about it (``accept`` = the label applies,
``reject`` = it does not; view ``classification``). Several labels ask a
choice (view ``choice``): number keys toggle labels and ``a`` submits, or with
``--exclusive`` one number key picks the label and submits.

``--model`` (a spaCy classifier) or ``--llm URL`` (a model behind an
OpenAI-compatible server, see :mod:`tuiannot.llm`) suggests: the labels it picks
start out selected in a choice; for a yes/no question the task's meta shows the
classifier's scores, or the LLM's answer (``llm: accept``). With ``--llm`` every
task keeps what was suggested, and how, in ``_llm`` beside the person's answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import UserError
from ..stream import Stream
from .registry import annotation_source, keyed_labels, parse_labels, recipe
from .options import (AskHumansOpt, BatchOpt, DatasetOpt, DbOpt, EncoderOpt, ExcludeOpt, FromOpt, LabelOpt,
                      LlmConcurrencyOpt, LlmKeyEnvOpt, LlmModelOpt, LlmOpt, LlmTimeoutOpt, LoaderOpt, MinAgreeOpt,
                      NoCacheOpt, OutputOpt, PromptOpt, SourceArg, StrategyOpt, TeachLangOpt, TeachOpt, TextcatModelOpt)


def ask_about(stream: Stream, labels: list[str]) -> str:
    """Put the question on every task: one label is a yes/no question (``label``), several a choice
    (``options``). Returns the view: ``classification`` or ``choice``."""
    if len(labels) == 1:
        the_label = labels[0]
        stream.map(lambda task: {**task, "label": the_label})
        return "classification"
    options = [{"id": name, "text": name} for name in labels]
    stream.map(lambda task: {**task, "options": options})
    return "choice"


def _move_label_to_meta(task: dict[str, Any]) -> dict[str, Any]:
    """A ``label`` the source already has (a gold label, say) is kept in ``meta``, not asked about."""
    if "label" in task:
        meta = task.get("meta") or {}
        meta.setdefault("label", task.pop("label"))
        task["meta"] = meta
    return task


@recipe("textcat", help="Label texts: one label asks yes/no, several ask a choice.")
def textcat(
    source: SourceArg,
    label: LabelOpt,
    dataset: DatasetOpt = None,
    exclusive: Annotated[bool, typer.Option(
        "--exclusive", help="One label per text: a number key picks it and submits.")] = False,
    accept_empty: Annotated[bool, typer.Option(
        "--accept-empty", help="Several labels: let a submit with no label chosen (stored as accept: []). "
                               "Default: refused with a message; x says none fits.")] = False,
    loader: LoaderOpt = None,
    exclude: ExcludeOpt = None,
    model: TextcatModelOpt = None,
    threshold: Annotated[float, typer.Option(
        "--threshold", help="Score at which --model preselects a label.", min=0.0, max=1.0)] = 0.5,
    teach: TeachOpt = False,
    strategy: StrategyOpt = "uncertainty",
    batch_size: BatchOpt = 10,
    output: OutputOpt = None,
    patterns: Annotated[Optional[str], typer.Option(
        "--patterns", help="With --teach: JSONL of patterns (phrases or token patterns) per label; texts "
                           "that match are asked about first.", show_default=False)] = None,
    lang: TeachLangOpt = "en",
    encoder: EncoderOpt = "auto",
    llm: LlmOpt = None,
    llm_model: LlmModelOpt = None,
    prompt: PromptOpt = None,
    llm_concurrency: LlmConcurrencyOpt = 4,
    llm_timeout: LlmTimeoutOpt = None,
    llm_key_env: LlmKeyEnvOpt = None,
    no_cache: NoCacheOpt = False,
    ask_humans: AskHumansOpt = None,
    from_dataset: FromOpt = None,
    min_agree: MinAgreeOpt = None,
    db: DbOpt = None,
) -> dict[str, Any]:
    if any(v is not None for v in (llm, llm_model, prompt, llm_key_env, llm_timeout)):
        from ..llm.suggest import check_llm_options  # (httpx and the client: not for a start without --llm)

        check_llm_options(llm, llm_model=llm_model, prompt=prompt, key_env=llm_key_env, teach=teach, model=model,
                          timeout=llm_timeout)
    labels = keyed_labels(label, "POS,NEG")
    stream = Stream(annotation_source(source, loader)).map(_move_label_to_meta)
    if teach:
        if ask_humans:
            raise UserError("--ask-humans does not go with --teach")
        from .teach import teach_components

        return {"dataset": dataset or Path(source).stem, "labels": labels, "exclude": parse_labels(exclude),
                **teach_components("textcat", stream, labels, lang=lang, model=model, patterns=patterns,
                                   strategy=strategy, batch_size=batch_size, output=output, encoder=encoder)}
    if patterns or output or encoder != "auto":
        raise UserError("--patterns, --output and --encoder go with --teach")
    view_id = ask_about(stream, labels)
    if model:
        stream.map(_model_scores(model, labels, threshold, exclusive and len(labels) > 1))
    components: dict[str, Any] = {
        "dataset": dataset or Path(source).stem,
        "stream": stream,
        "view_id": view_id,
        "labels": labels,
        "config": {"choice_style": "single" if exclusive else "multiple", "accept_empty": accept_empty},
        "exclude": parse_labels(exclude),
    }
    from ..team.consensus import ask_humans as humans_where_models_disagree

    humans_where_models_disagree(stream, components, ask_humans, from_dataset, min_agree, db)  # before --llm's step
    if llm:
        from ..llm import llm_suggester
        from ..llm.suggest import reply_cache

        suggester = llm_suggester(llm, kind="textcat", labels=labels, model=llm_model, prompt=prompt,
                                  exclusive=exclusive and len(labels) > 1, concurrency=llm_concurrency,
                                  key_env=llm_key_env, cache=reply_cache(db, components["dataset"], no_cache),
                                  timeout=llm_timeout)
        stream.reorder(suggester, keeps_order=True)  # asks ahead, hands on in order: a restart still seeks
        stream.stop_hooks.append(suggester.stop)
        components.update(suggester.components())
        components["config"]["llm"] = suggester.model
    return components


def _model_scores(model: str, labels: list[str], threshold: float, exclusive: bool) -> Any:
    """A stream step: the classifier's scores in ``meta``, and the labels it is sure of preselected."""
    from ..nlp.load import load_nlp

    nlp = load_nlp(model=model)
    if not any(name in nlp.pipe_names for name in ("textcat", "textcat_multilabel")):
        raise UserError(f"{model}: the pipeline has no text classifier (its components: "
                        f"{', '.join(nlp.pipe_names) or 'none'}); with --teach, one is added and trained")
    known = set(nlp.pipe_labels.get("textcat", [])) | set(nlp.pipe_labels.get("textcat_multilabel", []))
    missing = [label for label in labels if label not in known]
    if missing:
        raise UserError(f"{model}: the classifier does not know the labels {', '.join(missing)} "
                        f"(it knows {', '.join(sorted(known))})")
    disabled = [name for name in nlp.pipe_names if name not in ("textcat", "textcat_multilabel", "tok2vec")]

    def score(task: dict[str, Any]) -> dict[str, Any]:
        cats = nlp(task["text"], disable=disabled).cats
        scores = {label: round(float(cats.get(label, 0.0)), 3) for label in labels}
        task["meta"] = {**(task.get("meta") or {}), "scores": scores}
        if len(labels) > 1:
            raw = {label: float(cats.get(label, 0.0)) for label in labels}
            chosen = [label for label in labels if raw[label] >= threshold]
            if exclusive and chosen:
                chosen = [max(chosen, key=lambda label: raw[label])]
            task["accept"] = chosen
        return task

    return score
