"""Recipes: plain functions that say what to annotate and how.

A recipe is registered with ``@recipe("name")`` and returns its components as
a dict (Prodigy-style) or :class:`Components`::

    from tuiannot import recipe
    from tuiannot.sources import Source
    from tuiannot.stream import Stream

    @recipe("sentiment")
    def sentiment(source: str, dataset: str = "sentiment"):
        stream = Stream(Source(source)).map(lambda t: {**t, "label": "POSITIVE"})
        return {"dataset": dataset, "stream": stream, "view_id": "classification"}

``tuiannot -F my_recipes.py sentiment data.jsonl`` then runs it: the function's
parameters become the command's arguments and options (through Typer), and
``--db``, ``--session`` and ``--strict`` are added when it does not declare them.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import UserError

VIEWS = ("classification", "choice", "ner_manual", "spans_manual", "review", "image_classification", "image_choice",
         "image_manual")
"""The views this version can show; a recipe's ``view_id`` must be one of them."""

REGISTRY: dict[str, Callable[..., Any]] = {}


@dataclass
class Components:
    dataset: str
    stream: Iterable[dict[str, Any]]
    view_id: str
    labels: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=list)
    update: Callable[[list[dict[str, Any]]], Any] | None = None
    validate_answer: Callable[[dict[str, Any]], None] | None = None
    before_db: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None
    on_exit: Callable[[Any], None] | None = None
    progress: Callable[[Any], float | None] | None = None
    task_router: Callable[[dict[str, Any], list[str], dict[str, Any]], list[str]] | None = None
    batch_size: int = 10

    @classmethod
    def from_value(cls, value: Any, recipe_name: str = "recipe") -> "Components":
        if isinstance(value, Components):
            components = value
        elif isinstance(value, dict):
            known = {f.name for f in fields(cls)}
            unknown = set(value) - known
            if unknown:
                raise UserError(f"{recipe_name}: unknown components {', '.join(sorted(unknown))}")
            missing = {"dataset", "stream", "view_id"} - set(value)
            if missing:
                raise UserError(f"{recipe_name}: the recipe returned no {', '.join(sorted(missing))}")
            components = cls(**value)
        else:
            raise UserError(f"{recipe_name}: a recipe must return a dict of components, not {type(value).__name__}")
        if components.view_id not in VIEWS:
            raise UserError(f"{recipe_name}: unknown view_id {components.view_id!r} (available: {', '.join(VIEWS)})")
        if not isinstance(components.dataset, str) or not components.dataset:
            raise UserError(f"{recipe_name}: the dataset name must be a non-empty string")
        components.labels = [str(label) for label in components.labels or components.config.get("labels", [])]
        return components


def recipe(name: str, **meta: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function as the recipe ``name`` (``meta`` is kept for the CLI, e.g. ``help``)."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        func.recipe_name = name  # type: ignore[attr-defined]
        func.recipe_meta = meta  # type: ignore[attr-defined]
        REGISTRY[name] = func
        return func

    return register


def get_recipe(name: str) -> Callable[..., Any]:
    _load_builtin()
    if name not in REGISTRY:
        raise UserError(f"no recipe named {name!r} (known: {', '.join(sorted(REGISTRY))})")
    return REGISTRY[name]


def load_recipe_file(path: str | Path) -> list[str]:
    """Import a user's recipe file; return the names of the recipes it registered."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such recipe file")
    before = set(REGISTRY)
    module_name = f"tuiannot_user_recipes_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"{path}: cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # the user's code: report it in one line
        raise UserError(f"{path}: error while importing: {type(e).__name__}: {e}") from None
    return sorted(set(REGISTRY) - before)


def _load_builtin() -> None:
    from . import image, ner, review, textcat  # noqa: F401  (they register themselves)


MAX_KEYED_LABELS = 10


def keyed_labels(value: str | Iterable[str] | None, example: str = "POS,NEG") -> list[str]:
    """``--label`` for an annotation view: at least one, at most the ten number keys."""
    labels = parse_labels(value)
    if not labels:
        raise UserError(f"--label needs at least one label, e.g. --label {example}")
    if len(labels) > MAX_KEYED_LABELS:
        raise UserError(f"--label has {len(labels)} labels; at most {MAX_KEYED_LABELS} fit on the keys 1-9 and 0")
    return labels


def parse_labels(value: str | Iterable[str] | None) -> list[str]:
    """``"POS,NEG"`` (or a file with a label per line) as a list, duplicates removed."""
    if value is None:
        return []
    if isinstance(value, str):
        path = Path(value)
        if "," not in value and path.suffix in (".txt", ".labels") and path.is_file():
            items = path.read_text(encoding="utf-8").splitlines()
        else:
            items = value.split(",")
    else:
        items = list(value)
    labels: list[str] = []
    for item in items:
        item = str(item).strip()
        if item and item not in labels:
            labels.append(item)
    return labels
