"""``compare`` and ``tournament``: which of two outputs is better, asked blind.

``tuiannot compare DATASET A.jsonl B.jsonl``: two systems' outputs for the same inputs (Prodigy's compare
format), matched by id or input text into compare tasks (:class:`~tuiannot.data.compare.ComparePairs`: every
record left out is a file:line warning, counted in the summary), each shown with the two outputs side by side
(stacked on a narrow terminal) in an order that is random per task and per annotator (the seed is the session's
name: a restart shows the same order) and never shown. ``tuiannot tournament DATASET SOURCE --prompts
P1.toml,P2.toml [--llm-model M1,M2] --llm URL``: every input of SOURCE becomes a duel of two (prompt, model)
candidates, their outputs generated through the LLM client and cached in the database
(:class:`~tuiannot.llm.tournament.Tournament`); the ratings (Glicko-2) are rebuilt from the duels stored in the
dataset at start and updated after every answer, and the progress line names the leader.

Both show the ``compare`` view: ``1`` the first output is better, ``2`` the second, ``=`` equally good, ``x``
both bad, ``space`` skip. The screen posts the choice about the sides (``choice``: ``left``, ``right``, ``tie``,
``both-bad``); :func:`~tuiannot.data.compare.add_winners` (``before_db``) stores what it means for the systems
(``winner``: ``A``, ``B``, ``tie``, ``both-bad``). ``tuiannot compare-stats`` and ``tournament-stats`` report
them, ``db-out --format preference`` writes them as preference pairs.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from ..data.compare import ComparePairs, add_winners
from ..errors import UserError
from ..stream import Stream
from .options import (DbOpt, ExcludeOpt, LlmConcurrencyOpt, LlmKeyEnvOpt, LlmTimeoutOpt, LoaderOpt, NoCacheOpt,
                      SessionOpt, SourceArg, StrictOpt)
from .registry import annotation_source, parse_labels, recipe

DatasetArg = Annotated[str, typer.Argument(help="Dataset to save the answers to.", metavar="DATASET",
                                           show_default=False)]
SystemArg = Annotated[str, typer.Argument(
    help="One system's outputs: JSONL (or a JSON array) of {\"id\", \"input\": {\"text\"}, \"output\": {\"text\"}} "
         "records (plain strings for input and output too).", show_default=False)]


def seed_of(session: str | None) -> str:
    """The blind order's seed: the annotator's name (``--session``, else the login name), so each annotator has an
    order of their own and a restart shows the same one."""
    from ..controller import default_session

    return session if session is not None else default_session()


@recipe("compare", help="Blind A/B comparison: which of two systems' outputs is better, side by side.")
def compare(
    dataset: DatasetArg,
    a: Annotated[str, typer.Argument(metavar="A", help="System A's outputs: JSONL or JSON of {\"id\", \"input\", "
                                                         "\"output\"} records (input and output: a string or an "
                                                         "object with text).", show_default=False)],
    b: Annotated[str, typer.Argument(metavar="B", help="System B's outputs, matched to A's by id, else by the "
                                                         "input's text.", show_default=False)],
    loader: Annotated[Optional[str], typer.Option(
        "--loader", help="Format of both files (jsonl|json). Default: from each file's extension.")] = None,
    exclude: ExcludeOpt = None,
    session: SessionOpt = None,
    strict: StrictOpt = False,
) -> dict[str, Any]:
    if loader is not None and loader not in ("jsonl", "json"):
        raise UserError(f"--loader {loader!r}: a compare file is jsonl or json")
    pairs = ComparePairs(a, b, seed=seed_of(session), loader=loader, strict=strict)
    return {
        "dataset": dataset,
        "stream": pairs.stream(),
        "view_id": "compare",
        "exclude": parse_labels(exclude),
        "before_db": add_winners,
        "progress": pairs.progress,
        "finished_note": pairs.note,
        "exclude_by": "task",  # a new version of either system's outputs is asked again
    }


@recipe("tournament", help="A rated tournament of prompts and models: blind duels of their outputs, Glicko-2 "
                           "ratings, the leader on the status line.")
def tournament_recipe(
    dataset: DatasetArg,
    source: SourceArg,
    prompts: Annotated[str, typer.Option(
        "--prompts", metavar="P1.toml,P2.toml", help="Comma-separated generation prompt files (TOML: name, system, "
                                                     "template with {text}); every prompt with every --llm-model is "
                                                     "a candidate.", show_default=False)],
    llm: Annotated[str, typer.Option(
        "--llm", metavar="URL", help="Base URL of an OpenAI-compatible server (llama-server, vLLM, Ollama), e.g. "
                                     "http://127.0.0.1:8080/v1.", show_default=False)],
    llm_model: Annotated[Optional[str], typer.Option(
        "--llm-model", metavar="M1,M2", help="Comma-separated models to ask. Default: the first the server lists.",
        show_default=False)] = None,
    loader: LoaderOpt = None,
    exclude: ExcludeOpt = None,
    llm_concurrency: LlmConcurrencyOpt = 4,
    llm_timeout: LlmTimeoutOpt = None,
    llm_key_env: LlmKeyEnvOpt = None,
    no_cache: NoCacheOpt = False,
    session: SessionOpt = None,
    db: DbOpt = None,
) -> dict[str, Any]:
    from ..llm.suggest import reply_cache
    from ..llm.tournament import tournament

    files = parse_labels(prompts)
    if not files:
        raise UserError("--prompts needs at least one prompt file, e.g. --prompts formal.toml,casual.toml")
    stream = Stream(annotation_source(source, loader))  # (a missing source fails before the server is asked)
    t = tournament(llm, files, models=parse_labels(llm_model) or None, key_env=llm_key_env,
                   concurrency=llm_concurrency, seed=seed_of(session), dataset=dataset, timeout=llm_timeout)
    try:  # the prompts and the server are checked: now the dataset (its cache of outputs) is made
        t.cache = reply_cache(db, dataset, no_cache)
        t.rebuild(t.cache.db.answers(dataset))  # the duels stored: a restart, or a second annotator, goes on
    except BaseException:
        t.close()
        raise
    stream.reorder(t, keeps_order=True)  # generates ahead, hands on in order: a restart still seeks
    stream.stop_hooks.append(t.stop)
    return {"dataset": dataset, "stream": stream, "view_id": "compare", "exclude": parse_labels(exclude),
            **t.components()}
