"""``ner`` and ``spans``: mark spans of text with the keyboard.

``ner`` allows no overlapping spans (named entities, view ``ner_manual``);
``spans`` allows them (span categorisation, view ``spans_manual``). Tokens are
spaCy's (``spacy.blank(lang)``, or the model's own with ``--model``); tasks that
carry tokens keep them. ``--patterns`` (entity-ruler JSONL) and ``--model`` (a
pipeline with an entity recogniser) suggest spans for the annotator to correct;
so does ``--llm URL``, a model behind an OpenAI-compatible server (see
:mod:`tuiannot.llm`), whose spans are added to the patterns' where they fit and
whose provenance every answer keeps in ``_llm``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from ..errors import UserError
from ..stream import Stream
from .registry import annotation_source, keyed_labels, parse_labels, recipe
from .options import (AskHumansOpt, BatchOpt, DatasetOpt, DbOpt, ExcludeOpt, FromOpt, LabelOpt, LlmConcurrencyOpt,
                      LlmKeyEnvOpt, LlmModelOpt, LlmOpt, LlmTimeoutOpt, LoaderOpt, MinAgreeOpt, NoCacheOpt,
                      OutputOpt, PromptOpt, SourceArg,
                      SpanModelOpt, StrategyOpt, TeachOpt, TokenizerLangOpt)

PatternsOpt = Annotated[Optional[str], typer.Option(
    "--patterns", help="JSONL of entity-ruler patterns whose matches are suggested.", show_default=False)]
SplitOpt = Annotated[bool, typer.Option("--split-sents", help="One task per sentence of each text.")]


def span_components(source: str, label: str, *, view_id: str, lang: str, model: str | None,
                    patterns: str | None, split_sents: bool, dataset: str | None, loader: str | None,
                    exclude: str | None, teach: bool = False, strategy: str = "uncertainty",
                    batch_size: int = 10, output: str | None = None, llm: str | None = None,
                    llm_model: str | None = None, prompt: str | None = None, llm_concurrency: int = 4,
                    llm_key_env: str | None = None, llm_timeout: float | None = None,
                    humans: dict[str, Any] | None = None,
                    given: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> dict[str, Any]:
    """The components of a span view (``view_id``: ``ner_manual``, ``spans_manual``, or ``relations``, whose
    spans do not overlap). ``given``, if any, is a step each task takes before its spans are aligned (``rel
    --from``: the spans of a dataset's answer for its input)."""
    from ..llm.suggest import check_llm_options
    from ..nlp.load import load_nlp
    from ..nlp.spans import Suggester, align_spans, load_patterns, split_sentences, task_tokens

    check_llm_options(llm, llm_model=llm_model, prompt=prompt, key_env=llm_key_env, teach=teach, model=model,
                      timeout=llm_timeout)
    labels = keyed_labels(label, "PERSON,ORG")
    overlapping = view_id == "spans_manual"
    stream = Stream(annotation_source(source, loader))
    nlp = load_nlp(lang, model)
    if output and not teach:
        raise UserError("--output goes with --teach")
    suggester = Suggester(nlp, load_patterns(patterns) if patterns and not teach else None,
                          use_model=bool(model) and not teach, labels=labels)
    if split_sents:
        stream.map(lambda task: list(split_sentences(nlp, task, stream.note)))

    def prepare(task: dict[str, Any]) -> dict[str, Any]:
        if given is not None:
            task = given(task)
        try:
            tokens = task_tokens(nlp, task)
        except ValueError as e:
            raise ValueError(f"'tokens' do not fit the text: {e}") from None
        task["tokens"] = tokens
        spans = align_spans(task.get("spans"), tokens, overlapping=overlapping, labels=labels, report=stream.note)
        if suggester.active and not spans:
            suggested = suggester.suggest(task["text"], tokens)
            spans = align_spans(suggested, tokens, overlapping=overlapping, labels=labels, report=lambda _: None)
        task["spans"] = spans
        return task

    stream.map(prepare)
    if teach:
        if humans and humans.get("how"):
            raise UserError("--ask-humans does not go with --teach")
        from .teach import teach_components

        components = teach_components("ner", stream, labels, lang=lang, model=model, patterns=patterns,
                                      strategy=strategy, batch_size=batch_size, output=output, nlp=nlp)
        components["config"].update(overlapping=False)
        components["stored_view"] = "ner"  # a yes/no question about one span is Prodigy's "ner" view
        return {"dataset": dataset or Path(source).stem, "labels": labels, "exclude": parse_labels(exclude),
                **components}
    result: dict[str, Any] = {
        "dataset": dataset or Path(source).stem,
        "stream": stream,
        "view_id": view_id,
        "labels": labels,
        "config": {"overlapping": overlapping, "model": model, "patterns": patterns},
        "exclude_by": "input",  # suggestions may change between runs: a text answered once is not asked again
        "exclude": parse_labels(exclude),
    }
    if humans:  # --ask-humans disagree --from DATASET: before the LLM step, which then asks only about these
        from ..team.consensus import ask_humans

        ask_humans(stream, result, **{k: v for k, v in humans.items() if k != "no_cache"})
    if llm:
        from ..llm import llm_suggester
        from ..llm.suggest import reply_cache

        cache = reply_cache((humans or {}).get("db"), result["dataset"], bool((humans or {}).get("no_cache")))
        asker = llm_suggester(llm, kind="spans", labels=labels, model=llm_model, prompt=prompt,
                              overlapping=overlapping, concurrency=llm_concurrency, key_env=llm_key_env, cache=cache,
                              timeout=llm_timeout)
        stream.reorder(asker, keeps_order=True)  # asks ahead, hands on in order: a restart still seeks
        stream.stop_hooks.append(asker.stop)
        result.update(asker.components())
        result["config"]["llm"] = asker.model
    return result


@recipe("ner", help="Mark named entities (no overlaps) with the keyboard; spaCy tokens.")
def ner(source: SourceArg, label: LabelOpt, lang: TokenizerLangOpt = "en", model: SpanModelOpt = None,
        patterns: PatternsOpt = None, split_sents: SplitOpt = False, dataset: DatasetOpt = None,
        loader: LoaderOpt = None, exclude: ExcludeOpt = None, teach: TeachOpt = False,
        strategy: StrategyOpt = "uncertainty", batch_size: BatchOpt = 10, output: OutputOpt = None,
        llm: LlmOpt = None, llm_model: LlmModelOpt = None, prompt: PromptOpt = None,
        llm_concurrency: LlmConcurrencyOpt = 4, llm_key_env: LlmKeyEnvOpt = None, no_cache: NoCacheOpt = False,
        llm_timeout: LlmTimeoutOpt = None, ask_humans: AskHumansOpt = None, from_dataset: FromOpt = None,
        min_agree: MinAgreeOpt = None, db: DbOpt = None) -> dict[str, Any]:
    return span_components(source, label, view_id="ner_manual", lang=lang, model=model, patterns=patterns,
                           split_sents=split_sents, dataset=dataset, loader=loader, exclude=exclude,
                           teach=teach, strategy=strategy, batch_size=batch_size, output=output, llm=llm,
                           llm_model=llm_model, prompt=prompt, llm_concurrency=llm_concurrency,
                           llm_key_env=llm_key_env, llm_timeout=llm_timeout,
                           humans={"how": ask_humans, "from_dataset": from_dataset, "min_agree": min_agree, "db": db,
                                   "no_cache": no_cache})


@recipe("spans", help="Mark spans that may overlap (span categorisation) with the keyboard.")
def spans(source: SourceArg, label: LabelOpt, lang: TokenizerLangOpt = "en", model: SpanModelOpt = None,
          patterns: PatternsOpt = None, split_sents: SplitOpt = False, dataset: DatasetOpt = None,
          loader: LoaderOpt = None, exclude: ExcludeOpt = None, llm: LlmOpt = None, llm_model: LlmModelOpt = None,
          prompt: PromptOpt = None, llm_concurrency: LlmConcurrencyOpt = 4, llm_key_env: LlmKeyEnvOpt = None,
          no_cache: NoCacheOpt = False, llm_timeout: LlmTimeoutOpt = None, ask_humans: AskHumansOpt = None,
          from_dataset: FromOpt = None, min_agree: MinAgreeOpt = None, db: DbOpt = None) -> dict[str, Any]:
    return span_components(source, label, view_id="spans_manual", lang=lang, model=model, patterns=patterns,
                           split_sents=split_sents, dataset=dataset, loader=loader, exclude=exclude, llm=llm,
                           llm_model=llm_model, prompt=prompt, llm_concurrency=llm_concurrency,
                           llm_key_env=llm_key_env, llm_timeout=llm_timeout,
                           humans={"how": ask_humans, "from_dataset": from_dataset, "min_agree": min_agree, "db": db,
                                   "no_cache": no_cache})
