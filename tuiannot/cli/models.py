"""Models as annotators: ``model-annotate``.

The command builds the ``textcat``, ``ner`` or ``spans`` recipe with ``--llm`` or a spaCy ``--model`` (the same
suggestions a person would see) and lets :func:`tuiannot.llm.annotators.annotate_with_model` store them as the
answers of a session of the model's own, with a progress bar on stderr and a one-paragraph summary (or
``--json``). People and models are then compared with ``iaa``, ``progress`` and ``review`` as any annotators.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import UserError
from ..recipes.options import (DbOpt, JsonOpt, LabelOpt, LlmConcurrencyOpt, LlmKeyEnvOpt, LlmModelOpt,
                               LlmOpt, LlmTimeoutOpt, LoaderOpt, NoCacheOpt, PromptOpt, SourceArg)
from .program import app

TASKS = ("textcat", "ner", "spans")


@app.command("model-annotate")
def model_annotate(
    dataset: Annotated[str, typer.Argument(metavar="DATASET", show_default=False,
                                           help="The dataset the model's answers go to (beside people's).")],
    source: SourceArg,
    label: LabelOpt,
    task: Annotated[str, typer.Option("--task", help=f"What the model does: {'|'.join(TASKS)}.",
                                      show_default=False)],
    llm: LlmOpt = None,
    llm_model: LlmModelOpt = None,
    prompt: PromptOpt = None,
    llm_concurrency: LlmConcurrencyOpt = 4,
    llm_key_env: LlmKeyEnvOpt = None,
    llm_timeout: LlmTimeoutOpt = None,
    no_cache: NoCacheOpt = False,
    model: Annotated[Optional[str], typer.Option(
        "--model", "-m", help="A spaCy pipeline (folder or installed package) to answer with instead of --llm: "
                              "its text classifier (labels at or above --threshold) or entity recogniser.",
        show_default=False)] = None,
    threshold: Annotated[float, typer.Option(
        "--threshold", min=0.0, max=1.0, help="With --model and textcat: the score at which a label is given.")
    ] = 0.5,
    exclusive: Annotated[bool, typer.Option("--exclusive", help="textcat: one label per text.")] = False,
    lang: Annotated[str, typer.Option("--lang", help="ner/spans with --llm: spaCy's tokenizer language.")] = "en",
    loader: LoaderOpt = None,
    session: Annotated[Optional[str], typer.Option(
        "--session", "-s", help="The model's session name. Default: llm-<model> or model-<pipeline name>.",
        show_default=False)] = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """A model answers every task as an annotator (resumable; provenance on every answer)."""
    from ..components import Components
    from ..recipes import get_recipe
    from ..sanitize import blank, one_line
    from ..sources import Source
    from ..storage import connect
    from ..stream import Stream
    from .show import err, plural, print_json, stderr_console

    if task not in TASKS:
        raise UserError(f"--task must be one of {', '.join(TASKS)}, not {one_line(task, 40)!r}")
    if blank(dataset):
        raise UserError("the dataset name is blank")
    if (llm is None) == (model is None):
        raise UserError("name the model that answers: --llm URL (an OpenAI-compatible server) or --model PIPELINE "
                        "(one of the two)")
    options: dict[str, Any] = {"label": label, "dataset": dataset, "loader": loader, "db": db}
    if llm is not None:
        options.update(llm=llm, llm_model=llm_model, prompt=prompt, llm_concurrency=llm_concurrency,
                       llm_key_env=llm_key_env, no_cache=no_cache, llm_timeout=llm_timeout)
    elif prompt or llm_model or llm_timeout is not None:
        raise UserError("--prompt, --llm-model and --llm-timeout go with --llm")
    if task == "textcat":
        options.update(exclusive=exclusive, **({"model": model, "threshold": threshold} if model else {}))
    else:
        options.update(lang=lang, **({"model": model} if model else {}))
    components = Components.from_value(get_recipe(task)(source, **options), task)
    name = components.config.get("llm") if llm is not None else None
    who = session if session is not None else f"llm-{name}" if name else f"model-{Path(str(model)).name}"
    if blank(who):
        raise UserError("--session is blank: name the model's session")
    provenance = None if llm is not None else {"pipeline": model, "threshold": threshold, **_pipeline_meta(model)}
    stream = components.stream
    total = stream.source.line_count() if isinstance(stream, Stream) and isinstance(stream.source, Source) else None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..llm.annotators import annotate_with_model

    console = stderr_console()
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    with connect(db) as database, Progress(*columns, console=console, transient=True,
                                           disable=not console.is_terminal) as bar:
        job = bar.add_task(f"{one_line(who, 40)} answering", total=total)
        position = [0]

        def advance(_: Any) -> None:
            place = stream.record if isinstance(stream, Stream) else None
            if place is not None and place[0] != position[0]:
                position[0] = place[0]
                bar.update(job, completed=place[0])

        try:
            outcome = annotate_with_model(stream, database, components.dataset, who, components.view_id,
                                          components.stored_view_id(), components.labels,
                                          by=components.exclude_by, provenance=provenance, on_task=advance)
        finally:
            if components.on_exit is not None:
                components.on_exit(None)
    note = components.note()
    report = {"dataset": components.dataset, "session": who, "answered": outcome.answered,
              "by_answer": outcome.by_answer, "already_answered": outcome.already,
              "without_answer": outcome.unanswered, "note": note}
    if as_json:
        print_json(report)
        return
    counts = ", ".join(f"{answer} {n}" for answer, n in sorted(outcome.by_answer.items()))
    print(f"Stored {plural(outcome.answered, 'answer')} by {one_line(who, 60)} in dataset "
          f"{one_line(components.dataset, 60)!r}{f' ({counts})' if counts else ''}; "
          f"{plural(outcome.already, 'task')} already answered by it skipped.")
    if outcome.unanswered:
        err(f"{plural(outcome.unanswered, 'task')} got no usable answer from the model and "
            f"{'stays' if outcome.unanswered == 1 else 'stay'} unanswered (run again to ask again)")
    if note:
        print(one_line(note, 600))


@app.command("llm-cache")
def llm_cache(
    dataset: Annotated[str, typer.Argument(metavar="DATASET", show_default=False,
                                           help="The dataset whose cached LLM replies to show or clear.")],
    stats: Annotated[bool, typer.Option("--stats", help="How many replies are kept, their size, by model.")] = False,
    clear: Annotated[bool, typer.Option("--clear", help="Forget them: the next run asks the server again.")] = False,
    as_json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """The replies of LLM servers kept in the database (--llm reuses them instead of asking twice)."""
    from datetime import datetime, timezone

    from ..sanitize import one_line
    from ..storage import connect
    from .show import plural, print_json

    if stats == clear:
        raise UserError("llm-cache: say what to do: --stats or --clear")
    with connect(db) as database:
        if not database.has_dataset(dataset):
            from ..storage import UnknownDataset

            raise UnknownDataset(dataset, database.location)
        if clear:
            count = database.clear_cache(dataset)
            report: dict[str, Any] = {"dataset": dataset, "cleared": count}
            if as_json:
                print_json(report)
            else:
                print(f"Forgot {plural(count, 'cached reply', 'cached replies')} of dataset {one_line(dataset, 60)!r}.")
            return
        report = {"dataset": dataset, **database.cache_stats(dataset)}
    if as_json:
        print_json(report)
        return

    def when(t: float | None) -> str:
        return "—" if t is None else datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    print(f"{plural(report['replies'], 'cached reply', 'cached replies')} for dataset {one_line(dataset, 60)!r} "
          f"({report['bytes'] / 1024:,.1f} KiB), kept from {when(report['first'])} to {when(report['last'])}.")
    for model, count in report["by_model"].items():
        print(f"  {one_line(model, 60)}: {count:,}")


def _pipeline_meta(model: str | None) -> dict[str, Any]:
    """The pipeline's name and version from its meta.json (a folder), for the provenance of each answer."""
    if not model:
        return {}
    meta = Path(model) / "meta.json"
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: data[k] for k in ("lang", "name", "version") if isinstance(data.get(k), str)}
