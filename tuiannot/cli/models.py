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
                               LlmOpt, LoaderOpt, PromptOpt, SourceArg)
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
    options: dict[str, Any] = {"label": label, "dataset": dataset, "loader": loader}
    if llm is not None:
        options.update(llm=llm, llm_model=llm_model, prompt=prompt, llm_concurrency=llm_concurrency,
                       llm_key_env=llm_key_env)
    elif prompt or llm_model:
        raise UserError("--prompt and --llm-model go with --llm")
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
        err(f"{plural(outcome.unanswered, 'task')} got no usable answer from the model and stay unanswered "
            "(run again to ask again)")
    if note:
        print(one_line(note, 600))


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
