"""The ``tuiannot`` command line (Typer): a thin layer over the library, as sqlite-utils is over its own.

- :mod:`.program`: the app, recipes as commands, exit codes, crash handling; :func:`main` is the entry point.
- :mod:`.annotate`: a recipe becomes a command; its components run in the Textual app.
- :mod:`.datasets`: ``stats``, ``db-out``, ``db-in``, ``drop``.
- :mod:`.history`: ``history``, the earlier versions of replaced answers.
- :mod:`.team`: ``iaa``, ``progress``, ``aggregate``.
- :mod:`.train`: ``data-to-spacy``, ``train``, ``vectors``.
- :mod:`.models`: ``model-annotate``, a model answering as an annotator.
- :mod:`.compare`: ``compare-stats`` and ``tournament-stats``, which output is better in figures.
- :mod:`.plugins`: ``plugins``, what installed packages add (recipes, loaders, views).
- :mod:`.migrate`: ``db-migrate``, a whole project copied between databases (SQLite, PostgreSQL).
- :mod:`.config`: the configuration files applied to a command, and ``config`` to show them.
- :mod:`.show`: every table, progress bar, summary and error line a person reads.

Options shared by commands are declared once, in :mod:`tuiannot.recipes.options`. The commands import what
they use when they run, so ``tuiannot --help`` starts without spaCy, Textual or the storage.
"""

from __future__ import annotations

from . import team, datasets, history, train, models, compare, plugins, migrate, config, roles  # noqa: F401, I001  (they register their commands, in order)
from .program import app, main

__all__ = ["app", "main"]
