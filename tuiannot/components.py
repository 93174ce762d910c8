"""What a recipe hands the controller: :class:`Components`, and the one table of views.

A recipe returns its components as a dict (Prodigy-style) or as :class:`Components`.
Every field the controller or the app *acts on* is a typed field here, so a recipe
author sees in one place what exists: the stream and where answers go, the
callbacks (``update``, ``validate_answer``, ``before_db``, ``on_exit``,
``progress``, ``task_router``), how far ahead tasks are read (``prefetch``),
whether a task is known by its input or by the whole question (``exclude_by``),
the ``_view_id`` answers are stored under (``stored_view``), the view a review
edits (``review_view``), why the stream ended (``finished_note``) and a line about
the model (``status``), and keys bound to the recipe's own functions (``events``). ``config`` keeps only what the
screens *display* (the choice
style, the graphics chosen for images, the model and patterns named): plain,
JSON-able settings. A key that is not a component, or a ``config`` key that has
become one, is a one-line error naming it.

:data:`VIEWS` is the one vocabulary of views. A recipe names one of those a screen
can show (:data:`RECIPE_VIEWS`); answers store a view id (``_view_id``, as Prodigy
names them), which decides what the answer means for exports, agreement and review.

A view plugin (entry-point group :data:`VIEW_GROUP`, :mod:`tuiannot.recipes.plugins`) adds a view a recipe can
name too: the built-in views are looked at first, the installed plugins' names (read, not imported: the app
imports the screen) only for an id none of them has. Its answers are stored under its own id.

``events`` binds keys to the recipe's functions (Prodigy's custom events): ``{"e": ("Look it up", look_up)}``.
The app calls ``look_up(task)`` off the screen's thread with a copy of the task on screen, the annotator's
edits so far in it (spans, chosen options); it returns the updated task (shown at once, and stored when
answered: it keeps the question's hashes) or None (nothing changes). The recipe's objects (a model, a client,
a knowledge base) reach the function by closure. An exception is a notification naming the event, never the
session's end. :meth:`Components.check` checks their shape here; the app checks the keys against the view's
own (:mod:`tuiannot.screens.events`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Callable, Iterable

from .errors import UserError
from .sanitize import blank, one_line


@dataclass(frozen=True)
class View:
    """One view: what a recipe names, what its answers are stored as, and what they mean."""

    id: str
    stored: str | None
    """The ``_view_id`` its answers are stored with (None: the reviewed view's, for ``review``)."""
    kind: str
    """What an answer holds: ``textcat`` (a label question or a choice), ``spans`` (every span of the text),
    ``binary_spans`` (yes/no about one suggested span), ``boxes`` (image regions), ``feedback`` (the answers to
    several questions, in ``answers``: neither labels nor spans of the text to the other exports), ``compare`` (which
    of two outputs is better: ``choice`` and ``winner``), ``rank`` (replies in order of preference: ``ranking``) or
    ``review``. ``compare`` and ``rank`` answers are preference data (``db-out --format preference``), not text
    labels: the other exports leave them out."""
    overlapping: bool = False
    """Spans may overlap (span categories, not entities)."""
    relations: bool = False
    """Its answers link spans too (``relations``: Prodigy's head, child, head_span, child_span, label). Their kind
    stays ``spans``: every consumer of span answers (the exports, training, agreement) reads their spans as it
    reads ``ner_manual``'s, and what knows of relations asks for ``views(relations=True)``."""
    reviewable: bool = False
    """``tuiannot review`` can adjudicate its answers."""
    shown: bool = True
    """A recipe can show it (False: a stored view id only, e.g. ``ner`` for teach's yes/no span questions)."""
    image: bool = False
    """Its tasks are images."""


VIEWS: dict[str, View] = {v.id: v for v in (
    View("classification", "classification", "textcat", reviewable=True),
    View("choice", "choice", "textcat", reviewable=True),
    View("ner_manual", "ner_manual", "spans", reviewable=True),
    View("spans_manual", "spans_manual", "spans", overlapping=True, reviewable=True),
    View("relations", "relations", "spans", relations=True, reviewable=True),  # entities (no overlaps), relations
    View("review", None, "review"),
    View("image_classification", "classification", "textcat", image=True),
    View("image_choice", "choice", "textcat", image=True),
    View("image_manual", "image_manual", "boxes", image=True),
    View("feedback", "feedback", "feedback"),
    View("compare", "compare", "compare"),  # which of two outputs is better (compare, tournament): blind, no labels
    View("rank", "rank", "rank"),  # replies to a prompt in order of preference (rank)
    # stored only: Prodigy's binary span views (one suggested span, accepted or rejected)
    View("ner", "ner", "binary_spans", shown=False),
    View("spans", "spans", "binary_spans", overlapping=True, shown=False),
)}

RECIPE_VIEWS: tuple[str, ...] = tuple(v.id for v in VIEWS.values() if v.shown)
"""The views this version can show; a recipe's ``view_id`` is one of them or a view plugin's."""

VIEW_GROUP = "tuiannot.views"
"""The entry-point group of view plugins: a Textual screen class per view id (the entry point's name)."""


def plugin_views() -> list[str]:
    """The view ids the installed view plugins declare, built-in ids left out (they win), sorted; read from the
    distributions' entry points, nothing imported."""
    from importlib.metadata import entry_points

    return sorted({ep.name for ep in entry_points(group=VIEW_GROUP)} - set(VIEWS))


def views(**where: Any) -> frozenset[str]:
    """The ids of the views whose attributes are as given, e.g. ``views(kind="spans")``."""
    return frozenset(v.id for v in VIEWS.values() if all(getattr(v, k) == value for k, value in where.items()))


def stored_views(**where: Any) -> frozenset[str]:
    """The ``_view_id`` values stored by the views whose attributes are as given."""
    return frozenset(v.stored for v in VIEWS.values()
                     if v.stored and all(getattr(v, k) == value for k, value in where.items()))


def stored_view(view_id: str) -> str | None:
    """The ``_view_id`` answers from the view ``view_id`` are stored under."""
    view = VIEWS.get(view_id)
    return view.stored if view is not None else view_id


MOVED_CONFIG = {"prefetch": "prefetch", "exclude_by": "exclude_by", "stored_view_id": "stored_view",
                "review_view": "review_view", "finished_note": "finished_note", "learner": "status"}
"""``config`` keys that are components now, and the component that replaced each."""


@dataclass
class Components:
    dataset: str
    stream: Iterable[dict[str, Any]]
    view_id: str
    labels: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    """What the screens display (``choice_style``, ``overlapping``, ``teach``, the graphics of images, ...)."""
    exclude: list[str] = field(default_factory=list)
    update: Callable[[list[dict[str, Any]]], Any] | None = None
    validate_answer: Callable[[dict[str, Any]], None] | None = None
    before_db: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None
    on_exit: Callable[[Any], None] | None = None
    progress: Callable[[Any], float | None] | None = None
    task_router: Callable[[dict[str, Any], list[str], dict[str, Any]], list[str]] | None = None
    batch_size: int = 10
    prefetch: int | None = None
    """Tasks read ahead of the annotator, at most (default: the controller's). Fewer for decoded images;
    a batch for ``--teach``, whose questions are chosen by the model of the moment."""
    exclude_by: str = "task"
    """``task``: a task answered is not asked again; ``input``: a text (or image) answered once is not asked
    again whatever the question (suggested spans and boxes may change between runs)."""
    stored_view: str | None = None
    """The ``_view_id`` stored with answers (default: the view's own, see :data:`VIEWS`)."""
    review_view: str | None = None
    """For ``review``: the view of the answers reviewed (stored with the final answers; ``e`` edits in it)."""
    finished_note: str | Callable[[], str | None] | None = None
    """Why there are no more tasks, where the recipe can say (e.g. ``--teach``): shown at the end."""
    status: Callable[[], str | None] | None = None
    """A line about the model (its version, answers learned), shown in the progress bar."""
    model: Any = None
    """The model a recipe teaches (``--teach``: its learner), for scripts and benchmarks that evaluate it.
    The controller and the app never touch it: they call ``update`` and ``status``."""
    events: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any] | None]]] = field(default_factory=dict)
    """Keys bound to the recipe's functions: key -> (what it does, ``function(task)``), see the module's
    docstring. A key is one key as Textual names it (``e``, ``ctrl+e``, ``f5``)."""

    @classmethod
    def from_value(cls, value: Any, recipe_name: str = "recipe") -> "Components":
        if isinstance(value, Components):
            components = value
        elif isinstance(value, dict):
            known = {f.name for f in fields(cls)}
            unknown = set(value) - known
            if unknown:
                raise UserError(f"{recipe_name}: unknown components {', '.join(sorted(unknown))} "
                                f"(known: {', '.join(sorted(known))})")
            missing = {"dataset", "stream", "view_id"} - set(value)
            if missing:
                raise UserError(f"{recipe_name}: the recipe returned no {', '.join(sorted(missing))}")
            components = cls(**value)
        else:
            raise UserError(f"{recipe_name}: a recipe must return a dict of components, not {type(value).__name__}")
        components.check(recipe_name)
        return components

    def check(self, recipe_name: str = "recipe") -> None:
        """One-line errors for what the controller could not act on."""
        if self.view_id not in RECIPE_VIEWS:
            plugins = plugin_views() if isinstance(self.view_id, str) else []
            if self.view_id not in plugins:
                from_plugins = f"; from plugins: {', '.join(one_line(p, 40) for p in plugins)}" if plugins else ""
                raise UserError(f"{recipe_name}: unknown view_id {one_line(repr(self.view_id), 60)} (available: "
                                f"{', '.join(RECIPE_VIEWS)}{from_plugins})")
        if not isinstance(self.dataset, str) or blank(self.dataset):
            raise UserError(f"{recipe_name}: the dataset name must be a non-empty string with something to see "
                            f"(not {self.dataset!r})")
        if not isinstance(self.config, dict):
            raise UserError(f"{recipe_name}: config must be a dict, not {type(self.config).__name__}")
        moved = sorted(set(self.config) & set(MOVED_CONFIG))
        if moved:
            raise UserError(f"{recipe_name}: config[{moved[0]!r}] is a component now: return "
                            f"{MOVED_CONFIG[moved[0]]!r} beside 'config'")
        if self.exclude_by not in ("task", "input"):
            raise UserError(f"{recipe_name}: exclude_by must be 'task' or 'input', not {self.exclude_by!r}")
        if self.prefetch is not None and (not isinstance(self.prefetch, int) or self.prefetch < 1):
            raise UserError(f"{recipe_name}: prefetch must be a whole number of at least 1, not {self.prefetch!r}")
        if self.stored_view is not None and not isinstance(self.stored_view, str):
            raise UserError(f"{recipe_name}: stored_view must be a view id (a string)")
        if self.review_view is not None and self.review_view not in views(reviewable=True):
            raise UserError(f"{recipe_name}: review_view {self.review_view!r} cannot be reviewed "
                            f"(reviewable: {', '.join(sorted(views(reviewable=True)))})")
        self._check_events(recipe_name)
        self.labels = [str(label) for label in self.labels or self.config.get("labels", [])]

    def _check_events(self, recipe_name: str) -> None:
        """``events``: a dict of one key (a string, no comma or space) to (a description, a callable)."""
        if self.events is None:
            self.events = {}
        if not isinstance(self.events, dict):
            raise UserError(f"{recipe_name}: events must be a dict of key to (description, function), not "
                            f"{type(self.events).__name__}")
        for key, event in self.events.items():
            shown = one_line(repr(key), 40)
            if not isinstance(key, str) or blank(key) or "," in key or key != key.strip() or " " in key:
                raise UserError(f"{recipe_name}: events key {shown} must be one key, e.g. 'e' or 'ctrl+e'")
            if not isinstance(event, (tuple, list)) or len(event) != 2:
                raise UserError(f"{recipe_name}: events[{shown}] must be (description, function), not "
                                f"{one_line(repr(event), 80)}")
            description, function = event
            if not isinstance(description, str) or blank(description):
                raise UserError(f"{recipe_name}: events[{shown}]: the description must be a non-empty string")
            if not callable(function):
                raise UserError(f"{recipe_name}: events[{shown}] ({one_line(description, 60)}): the function is not "
                                f"callable ({type(function).__name__})")

    def stored_view_id(self) -> str:
        """The ``_view_id`` an answer is stored with: the recipe's, the reviewed view's, or the view's own."""
        return self.stored_view or self.review_view or stored_view(self.view_id) or self.view_id

    def note(self) -> str | None:
        """:attr:`finished_note`, called if it is a function."""
        note = self.finished_note
        return note() if callable(note) else note
