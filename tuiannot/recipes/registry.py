"""The recipe registry: ``@recipe`` registers a function by name; user files are imported into it.

Also the parsing of ``--label`` values every recipe shares (a comma-separated list, or
a file with a label per line; at most the ten number keys for an annotation view).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import UserError
from ..sources import STDIN, Source

REGISTRY: dict[str, Callable[..., Any]] = {}


def recipe(name: str, **meta: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function as the recipe ``name`` (``meta`` is kept for the CLI, e.g. ``help``)."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        func.recipe_name = name  # type: ignore[attr-defined]
        func.recipe_meta = meta  # type: ignore[attr-defined]
        REGISTRY[name] = func
        return func

    return register


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


def annotation_source(path: str, loader: str | None = None) -> Source:
    """The source of an annotation command: a file, a FIFO or a pipe, but not standard input (``-``), which is
    the keyboard while annotating."""
    if path == STDIN:
        raise UserError("annotating reads your keys from standard input, so the source cannot be '-': give a "
                        "file, a FIFO, or a pipe such as <(zcat data.jsonl.gz) with --loader")
    return Source(path, loader=loader)


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
