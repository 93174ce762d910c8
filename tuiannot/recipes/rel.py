"""``rel``: entity spans and the relations between them, by keyboard (Prodigy's ``rel.manual``).

The spans are those of ``ner`` (the same tokens, ``--patterns`` and ``--model`` suggestions, no overlaps; see
:func:`.ner.span_components`); the view (``relations``) adds relations between two spans, each with one of the
``--relation`` labels. Spans may come with the task, or from a dataset of span answers (``--from DATASET``: a
task that brings no spans gets those of the dataset's latest accepted answer about its text, its relations and
tokens too), and are corrected in the same view.

Stored as Prodigy stores relations: ``relations`` entries of ``head`` and ``child`` (the last token of each span,
as Prodigy's ``rel.manual`` has them), ``head_span`` and ``child_span`` (``start``, ``end``, ``token_start``,
``token_end``, ``label``) and ``label``, beside the ``tokens`` and ``spans`` of a span answer; ``_view_id`` is
``relations``. Relations given with a task are kept when both of their ends are spans of the task (found by
their offsets, else by their ``head``/``child`` token); the others are reported (file, line, relation) and left
out, never moved to another span.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from ..components import stored_views
from ..data.answers import align_relations
from ..errors import UserError
from ..tasks import input_hash
from .ner import PatternsOpt, span_components
from .options import DatasetOpt, DbOpt, ExcludeOpt, LabelOpt, LoaderOpt, SourceArg, TokenizerLangOpt
from .registry import MAX_KEYED_LABELS, parse_labels, recipe

RelationOpt = Annotated[str, typer.Option(
    "--relation", help="Comma-separated relation labels, e.g. WORKS_FOR,LOCATED_IN (at most 10: in relation mode "
                       "the keys 1-9 and 0 choose them).", metavar="LABELS", show_default=False)]
RelModelOpt = Annotated[Optional[str], typer.Option(
    "--model", "-m", help="spaCy pipeline (folder or installed package): its tokenizer, and its entity recogniser "
                          "suggests spans.", show_default=False)]
RelFromOpt = Annotated[Optional[str], typer.Option(
    "--from", help="A dataset of span answers (ner, or rel): a task that brings no spans gets those of the "
                   "dataset's latest accepted answer about its text (and its relations).", show_default=False)]

COMPLETE_SPAN_VIEWS = stored_views(kind="spans")
"""The views whose accepted answers mark every span of their text: what ``--from`` takes spans from."""


def relation_labels(value: str | None) -> list[str]:
    labels = parse_labels(value)
    if not labels:
        raise UserError("--relation needs at least one relation label, e.g. --relation WORKS_FOR,LOCATED_IN")
    if len(labels) > MAX_KEYED_LABELS:
        raise UserError(f"--relation has {len(labels)} labels; at most {MAX_KEYED_LABELS} fit on the keys 1-9 and 0")
    return labels


def from_dataset_step(db: str | None, dataset: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The step that gives a task without spans the spans (relations, tokens) of ``dataset``'s latest accepted
    span answer about its text. The answers are read once, at the start (an unknown dataset: one line)."""
    from ..storage import connect

    latest: dict[int, dict[str, Any]] = {}
    with connect(db) as database:
        for answer in database.answers(dataset, answer="accept"):
            text, spans = answer.get("text"), answer.get("spans")
            if not isinstance(text, str) or not isinstance(spans, list) \
                    or answer.get("_view_id", "ner_manual") not in COMPLETE_SPAN_VIEWS:
                continue
            key = input_hash({"text": text})
            stamp = answer.get("_timestamp")
            stamp = stamp if isinstance(stamp, (int, float)) else 0
            if key not in latest or stamp >= latest[key]["stamp"]:
                latest[key] = {"stamp": stamp, "spans": spans, "relations": answer.get("relations"),
                               "tokens": answer.get("tokens")}
    if not latest:
        raise UserError(f"--from {dataset}: no accepted span answers in the dataset")

    def step(task: dict[str, Any]) -> dict[str, Any]:
        if task.get("spans"):
            return task  # the task's own spans come first
        found = latest.get(input_hash({"text": task["text"]}))
        if found is not None:
            task["spans"] = found["spans"]
            if found["relations"] and not task.get("relations"):
                task["relations"] = found["relations"]
            if found["tokens"] and not task.get("tokens"):
                task["tokens"] = found["tokens"]
        return task

    return step


@recipe("rel", help="Mark entities and the relations between them with the keyboard (Prodigy's rel.manual).")
def rel(source: SourceArg, label: LabelOpt, relation: RelationOpt, lang: TokenizerLangOpt = "en",
        model: RelModelOpt = None, patterns: PatternsOpt = None, from_dataset: RelFromOpt = None,
        dataset: DatasetOpt = None, loader: LoaderOpt = None, exclude: ExcludeOpt = None,
        db: DbOpt = None) -> dict[str, Any]:
    relations = relation_labels(relation)
    given = from_dataset_step(db, from_dataset) if from_dataset else None
    components = span_components(source, label, view_id="relations", lang=lang, model=model, patterns=patterns,
                                 split_sents=False, dataset=dataset or Path(source).stem, loader=loader,
                                 exclude=exclude, given=given)
    stream = components["stream"]

    def relate(task: dict[str, Any]) -> dict[str, Any]:
        task["relations"] = align_relations(task.get("relations"), task["spans"], relations, stream.note)
        return task

    stream.map(relate)
    components["config"]["relation_labels"] = relations
    return components
