"""Plugins: what installed packages add to tuiannot through entry points, looked for only when needed.

A package adds to tuiannot by declaring entry points in its ``pyproject.toml``
(``[project.entry-points."tuiannot.recipes"]``); pip records them in the package's
``.dist-info/entry_points.txt``, where :mod:`importlib.metadata` reads them. Three groups:

- ``tuiannot.recipes``: recipes, which become commands as the built-in ones are. The entry point names a module
  (importing it runs its ``@recipe`` decorators) or a function: a ``@recipe`` function itself, or one that is
  called without arguments and registers recipes. The entry point's name names the plugin; the recipes name the
  commands.
- ``tuiannot.loaders``: a source format, picked with ``--loader NAME`` (the entry point's name): a callable given
  the source's path (a string) that yields tasks (dicts; the n-th is record n) or
  :class:`~tuiannot.sources.Record` objects (its own line numbers, and ``error`` for a record that cannot be a task:
  skipped with a ``file:line: reason`` warning, or the session's end under ``--strict``, as every source's record),
  and raises :class:`~tuiannot.errors.SourceError` for a source it cannot read at all. Its tasks are checked as any
  source's are (a text task needs a non-empty ``text``). Found by :func:`tuiannot.sources.loader_plugin`.
- ``tuiannot.views``: a Textual screen class for a ``view_id`` (the entry point's name), the terminal's custom
  interface, made as the built-in screens are (``Screen(dataset, session, labels, config)``, an
  ``AnnotationScreen``). :func:`view_screen` looks it up by id. A recipe (a plugin's, or one of ``-F file.py``)
  names it as its ``view_id``: :meth:`~tuiannot.components.Components.check` accepts an id an installed plugin
  declares (by name, nothing imported), the app imports the screen (:data:`tuiannot.screens.app.SCREENS`), and
  answers are stored with that ``_view_id``. A built-in view's id always means the built-in view: a plugin that
  takes one is listed as shadowed.

Discovery is lazy, because start time matters (bench/README.md, "Start to first task"): reading the installed
distributions' entry points costs ~10 ms and importing a plugin whatever that plugin costs, so none of it happens
when the command line names a built-in command. The recipe plugins are loaded (:func:`load_recipes`) when it names
no command (``tuiannot``, ``tuiannot --help``, shell completion: every command is listed) or one tuiannot does not
know (perhaps a plugin's), or :func:`tuiannot.recipes.get_recipe` one not built in; a loader when ``--loader``
names one that is not built in; a view when a recipe names one that is not built in.

A plugin that fails to import (a missing dependency, a bug in it) is one warning line naming it and its
distribution; its commands are missing and every other command works. A plugin may not take the name of a command
that exists: such a recipe is left out, with a warning. ``tuiannot plugins`` (:func:`installed`) lists every entry
point of the three groups with its distribution, version, where it is installed, whether it loads (each is
imported to tell) and what it provides.

Nothing here imports Textual: a view plugin's module does when it is loaded, and only the app asks for that.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Iterable

from ..components import VIEW_GROUP
from ..components import VIEWS as BUILT_IN_VIEWS
from ..errors import UserError
from ..sources import LOADER_GROUP
from ..sources import LOADERS as BUILT_IN_LOADERS
from .registry import REGISTRY

RECIPES, LOADERS, VIEWS = "tuiannot.recipes", LOADER_GROUP, VIEW_GROUP
GROUPS = (RECIPES, LOADERS, VIEWS)


@dataclass
class Plugin:
    """One entry point of a tuiannot group, as ``tuiannot plugins`` lists it."""

    group: str
    name: str
    value: str  # what it names: module or module:attribute
    distribution: str | None
    version: str | None
    location: str | None  # the folder the distribution is installed in; the module's file once it is imported
    loads: bool | None = None  # None: not tried
    error: str | None = None  # why it does not load (or is shadowed)
    provides: list[str] = field(default_factory=list)  # recipes: the commands; loaders, views: the name

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def entry_points_of(group: str) -> list[EntryPoint]:
    """The entry points of ``group`` in the installed distributions (and any on ``sys.path``)."""
    return list(entry_points(group=group))


def describe(ep: EntryPoint, group: str) -> Plugin:
    dist = getattr(ep, "dist", None)
    location = None
    if dist is not None:
        try:
            location = str(dist.locate_file(""))
        except Exception:  # noqa: BLE001 (a distribution of an unusual kind: where it is stays unknown)
            location = None
    return Plugin(group, ep.name, ep.value, dist.name if dist is not None else None,
                  dist.version if dist is not None else None, location)


def who(plugin: Plugin) -> str:
    """``'name' (tuiannot.recipes, from dist 1.0)``: a plugin named in a message."""
    source = f", from {plugin.distribution} {plugin.version}" if plugin.distribution else ""
    return f"'{plugin.name}' ({plugin.group}{source})"


def _load(ep: EntryPoint, plugin: Plugin) -> Any:
    """The object ``ep`` names, imported now; None with ``plugin.error`` set when that fails."""
    try:
        loaded = ep.load()
    except Exception as e:  # noqa: BLE001 (the plugin's code: named in one line, never a crash)
        plugin.loads, plugin.error = False, f"{type(e).__name__}: {e}"
        return None
    plugin.loads = True
    module = sys.modules.get(ep.value.partition(":")[0].strip())
    plugin.location = getattr(module, "__file__", None) or plugin.location
    return loaded


def load_recipes(taken: Iterable[str] = ()) -> list[str]:
    """Load every recipe plugin, so that its recipes are in the registry; the warnings, one line each (the plugins
    that failed, the recipes left out because ``taken`` or the registry already has their name)."""
    return [warning for _, warning in _recipe_plugins(set(taken)) if warning]


def _recipe_plugins(taken: set[str]) -> list[tuple[Plugin, str | None]]:
    found: list[tuple[Plugin, str | None]] = []
    for ep in entry_points_of(RECIPES):
        plugin = describe(ep, RECIPES)
        before = dict(REGISTRY)
        loaded = _load(ep, plugin)
        if plugin.loads and callable(loaded) and not hasattr(loaded, "recipe_name"):
            try:
                loaded()  # a function that registers recipes
            except Exception as e:  # noqa: BLE001 (the plugin's code)
                plugin.loads, plugin.error = False, f"{type(e).__name__}: {e}"
        if not plugin.loads:
            REGISTRY.clear()
            REGISTRY.update(before)  # half a plugin is none: what it registered before failing goes too
            found.append((plugin, f"plugin {who(plugin)} failed to load: {plugin.error}; its commands are missing"))
            continue
        added = [n for n, f in REGISTRY.items() if before.get(n) is not f]
        if not added:  # imported already (an earlier load in this process): its recipes are its package's
            package = ep.value.partition(":")[0].strip().partition(".")[0]
            added = [n for n, f in REGISTRY.items()
                     if str(getattr(f, "__module__", "")).partition(".")[0] == package and n not in taken]
        clashes = sorted(n for n in added if n in taken or n in before)
        for name in clashes:
            if name in before:
                REGISTRY[name] = before[name]
            else:
                REGISTRY.pop(name)
        plugin.provides = sorted(set(added) - set(clashes))
        warning = None
        if clashes:
            plugin.error = f"{', '.join(clashes)}: left out, the name of a command that exists"
            warning = f"plugin {who(plugin)}: {plugin.error}"
        found.append((plugin, warning))
    return found


def loader_plugins() -> list[Plugin]:
    """Every loader plugin, imported to tell whether it loads; one named as a built-in loader is shadowed."""
    found = []
    for ep in entry_points_of(LOADERS):
        plugin = describe(ep, LOADERS)
        loaded = _load(ep, plugin)
        if plugin.loads and not callable(loaded):
            plugin.loads, plugin.error = False, f"not callable ({type(loaded).__name__})"
        if plugin.name in BUILT_IN_LOADERS:
            plugin.error = f"shadowed by the built-in loader '{plugin.name}'"
        elif plugin.loads:
            plugin.provides = [f"--loader {plugin.name}"]
        found.append(plugin)
    return found


def view_screen(view_id: str) -> type | None:
    """The screen class a plugin adds for ``view_id``, imported now; None when no plugin adds one (or ``view_id``
    is a built-in view's, which a plugin cannot take). A plugin that fails to load is a one-line error naming it."""
    if view_id in BUILT_IN_VIEWS:
        return None
    for ep in entry_points_of(VIEWS):
        if ep.name == view_id:
            plugin = describe(ep, VIEWS)
            loaded = _load(ep, plugin)
            if not plugin.loads:
                raise UserError(f"the view plugin {who(plugin)} failed to load: {plugin.error}")
            if not isinstance(loaded, type):
                raise UserError(f"the view plugin {who(plugin)} is not a screen class ({type(loaded).__name__})")
            return loaded
    return None


def view_plugins() -> list[Plugin]:
    found = []
    for ep in entry_points_of(VIEWS):
        plugin = describe(ep, VIEWS)
        loaded = _load(ep, plugin)
        if plugin.loads and not isinstance(loaded, type):
            plugin.loads, plugin.error = False, f"not a screen class ({type(loaded).__name__})"
        if plugin.name in BUILT_IN_VIEWS:
            plugin.error = f"shadowed by the built-in view '{plugin.name}'"
        elif plugin.loads:
            plugin.provides = [f"view_id {plugin.name}"]
        found.append(plugin)
    return found


def installed(taken: Iterable[str] = ()) -> list[Plugin]:
    """Every plugin of the three groups, each imported to tell whether it loads (see the module's docstring)."""
    return [*(plugin for plugin, _ in _recipe_plugins(set(taken))), *loader_plugins(), *view_plugins()]
