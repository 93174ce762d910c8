"""Recipes: plain functions that say what to annotate and how.

A recipe is registered with ``@recipe("name")`` and returns its components as
a dict (Prodigy-style) or :class:`~tuiannot.components.Components` (every
component is described there)::

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

:func:`get_recipe` finds a recipe by name: a built-in one, one registered already (``-F``, an import), else one a
recipe plugin adds (the plugins are loaded only then, :mod:`tuiannot.recipes.plugins`; none may take a built-in
recipe's name).
"""

from __future__ import annotations

from typing import Any, Callable

from ..components import RECIPE_VIEWS, Components
from ..errors import UserError
from .registry import REGISTRY, keyed_labels, load_recipe_file, parse_labels, recipe

__all__ = ["RECIPE_VIEWS", "REGISTRY", "Components", "get_recipe", "keyed_labels", "load_recipe_file", "parse_labels",
           "recipe"]


def get_recipe(name: str) -> Callable[..., Any]:
    """The recipe ``name``: built in, registered, or a plugin's (looked for only when no other has the name)."""
    _load_builtin()
    warnings: list[str] = []
    if name not in REGISTRY:
        from .plugins import load_recipes

        warnings = load_recipes(REGISTRY)
    if name not in REGISTRY:
        from ..sanitize import one_line

        failed = f"; {'; '.join(one_line(w, 300) for w in warnings)}" if warnings else ""
        raise UserError(f"no recipe named {one_line(repr(name), 60)} (known: {', '.join(sorted(REGISTRY))}){failed}")
    return REGISTRY[name]


def _load_builtin() -> None:
    from . import compare, feedback, image, ner, rank, rel, review, textcat  # noqa: F401  (they register themselves)
