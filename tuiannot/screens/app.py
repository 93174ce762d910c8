"""The Textual app: connects a :class:`~tuiannot.controller.Controller` to the view's screen.

Answers flow screen -> app -> controller -> storage; tasks flow back. The
key-press path does one thing: store the answer (committed) and show the
next, prefetched task. When the queue is momentarily empty a thread worker
waits for it, so the screen never blocks on the source.

A user keymap (``$TUIANNOT_KEYMAP`` or ``~/.tuiannot/keymap.json``, a JSON object
of binding id to keys, e.g. ``{"accept": "y", "reject": "n"}``, or a configuration file's ``[keymap]`` table:
:data:`CONFIG_KEYMAP`) moves keys.

With ``NO_COLOR`` set the app sends no colour at all (no greys either): bold, dim, italic, underline and
reverse are what tell things apart.

:data:`SCREENS` imports a view's screen when it is first asked for: a session imports its own screen only (the
feedback screen alone brings Textual's Markdown, ~35 ms of a start; see bench/README.md "Start to first task").
A view id none of the built-in views has is a view plugin's (:func:`tuiannot.recipes.plugins.view_screen`): its
screen is imported when asked for, and one that fails to import, or is no annotation screen, is a one-line
:class:`~tuiannot.errors.UserError` (:func:`keymap_problem`, which the command line calls before the app, asks
for the screens of its views: the error comes before the terminal is taken).

A recipe's ``events`` (keys bound to its functions) are checked against the view's keys and bound on its screen
by :mod:`.events`, which also runs them.
"""

from __future__ import annotations

import gc
import importlib
import inspect
import json
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.worker import get_current_worker

from ..components import VIEWS
from ..components import views as component_views
from ..controller import AnswerRejected, Controller, SessionEnded, TaskTaken
from ..errors import UserError
from ..sanitize import one_line
from .annotate import AnnotationScreen, Progress
from .done import DoneScreen

if TYPE_CHECKING:
    from .events import EventRunner
    from .review import ReviewScreen

_SCREEN_OF: dict[str, tuple[str, str]] = {
    "classification": ("binary", "BinaryScreen"), "choice": ("choice", "ChoiceScreen"),
    "ner_manual": ("spans", "SpanScreen"), "spans_manual": ("spans", "OverlappingSpanScreen"),
    "review": ("review", "ReviewScreen"), "image_classification": ("image", "ImageBinaryScreen"),
    "image_choice": ("image", "ImageChoiceScreen"), "image_manual": ("image", "BoxScreen"),
    "feedback": ("feedback", "FeedbackScreen"), "relations": ("rel", "RelationScreen"),
    "compare": ("compare", "CompareScreen"), "rank": ("rank", "RankScreen"),
}


class _Screens(Mapping[str, "type[AnnotationScreen]"]):
    """View id -> its screen class, the module imported on first use; a view plugin's for an id no built-in view
    has (iterating gives the built-in views only)."""

    def __getitem__(self, view_id: str) -> type[AnnotationScreen]:
        if view_id not in _SCREEN_OF:
            return _plugin_screen(view_id)
        module, name = _SCREEN_OF[view_id]
        screen: type[AnnotationScreen] = getattr(importlib.import_module(f".{module}", __package__), name)
        return screen

    def __contains__(self, view_id: object) -> bool:
        if view_id in _SCREEN_OF:
            return True
        from ..components import plugin_views

        return isinstance(view_id, str) and view_id in plugin_views()

    def __iter__(self) -> Iterator[str]:
        return iter(_SCREEN_OF)

    def __len__(self) -> int:
        return len(_SCREEN_OF)


SCREENS: Mapping[str, type[AnnotationScreen]] = _Screens()
"""The screen of each view a recipe can name (:data:`tuiannot.components.RECIPE_VIEWS`; a test keeps them equal),
and of the view plugins' views when asked for by id."""


def _plugin_screen(view_id: str) -> type[AnnotationScreen]:
    """The screen a view plugin adds for ``view_id``; KeyError when no plugin adds one, a one-line
    :class:`UserError` when it fails to import or is not an annotation screen."""
    from ..recipes.plugins import view_screen

    screen = view_screen(view_id)
    if screen is None:
        raise KeyError(view_id)
    if not issubclass(screen, AnnotationScreen):
        raise UserError(f"the view plugin '{one_line(view_id, 60)}' is not an annotation screen ({screen.__name__} "
                        "is not a subclass of tuiannot.screens.annotate.AnnotationScreen)")
    definer = next((c for c in screen.__mro__ if "CSS_PATH" in c.__dict__), None)
    css = definer.__dict__["CSS_PATH"] if definer is not None else None
    if definer is not None and definer.__module__ != screen.__module__ and css is not None:
        import inspect  # a style sheet inherited from tuiannot's screens: Textual would look beside the plugin

        base = Path(inspect.getfile(definer)).parent
        paths = [css] if isinstance(css, (str, os.PathLike)) else list(css)
        screen = type(screen.__name__, (screen,), {"CSS_PATH": [str(base / p) for p in paths],
                                                   "__module__": screen.__module__})
    return screen


CONFIG_KEYMAP: tuple[str, dict[str, str] | Path] | None = None
"""The keymap a configuration file gives, set by the command line (:mod:`tuiannot.cli.annotate`): where it was set
(``FILE:LINE``) and a ``[keymap]`` table of binding id to keys, or a JSON keymap's path. ``$TUIANNOT_KEYMAP`` wins
over it; it wins over ``~/.tuiannot/keymap.json`` (the two are not merged: one keymap is read, whole)."""


def _keymap_path() -> Path:
    """The JSON keymap read: ``$TUIANNOT_KEYMAP``, else the configuration's, else ``~/.tuiannot/keymap.json``."""
    if os.environ.get("TUIANNOT_KEYMAP"):
        return Path(os.environ["TUIANNOT_KEYMAP"])
    if CONFIG_KEYMAP is not None and isinstance(CONFIG_KEYMAP[1], Path):
        return CONFIG_KEYMAP[1]
    return Path.home() / ".tuiannot" / "keymap.json"


def _keymap_where() -> str:
    """The file the keymap comes from, for the errors: a JSON keymap's path, or the configuration file's line."""
    if not os.environ.get("TUIANNOT_KEYMAP") and CONFIG_KEYMAP is not None and isinstance(CONFIG_KEYMAP[1], dict):
        return CONFIG_KEYMAP[0]
    return str(_keymap_path())


def load_keymap() -> tuple[dict[str, str], str | None]:
    """The user's keymap and, if it could not be read, why (see :data:`CONFIG_KEYMAP` for which is read)."""
    if not os.environ.get("TUIANNOT_KEYMAP") and CONFIG_KEYMAP is not None and isinstance(CONFIG_KEYMAP[1], dict):
        return dict(CONFIG_KEYMAP[1]), None  # checked as it was read (tuiannot.recipes.config)
    path = _keymap_path()
    if not path.is_file():
        named = not os.environ.get("TUIANNOT_KEYMAP") and CONFIG_KEYMAP is not None  # a file's keymap = "x.json"
        return {}, f"{path}: keymap ignored (no such file)" if named else None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise ValueError("expected an object of binding id to keys")
        return data, None
    except (OSError, ValueError) as e:
        return {}, f"{path}: keymap ignored ({e})"


def _bindings(screen: type) -> list[Binding]:
    """The screen's bindings with ids, its own first (a subclass may move a key of its base)."""
    found: dict[str, Binding] = {}
    for cls in screen.__mro__:
        for binding in cls.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding) and binding.id and binding.id not in found:
                found[binding.id] = binding
    return list(found.values())


def keymap_problem(views: list[str] | None = None) -> str | None:
    """What is wrong with the user's keymap, in one line naming the file: unreadable, an unknown binding id, or
    one key given to two bindings of a screen of ``views`` (default: every screen). The command line refuses to
    start on it; the app, given one anyway, warns and goes on."""
    for view_id in views or []:
        if view_id not in _SCREEN_OF and view_id in SCREENS:  # a plugin's: fails to import here, before the app
            SCREENS[view_id]
    path = Path(_keymap_where())
    keymap, problem = load_keymap()
    if problem is not None:
        return problem.replace("keymap ignored", "not a keymap")
    if not keymap:
        return None  # nothing moved: no screen need be imported to check it
    from .review import FeedbackVersionEditor, ReviewScreen, version_editor

    screens = [SCREENS[v] for v in views if v in SCREENS] if views is not None else [*SCREENS.values()]
    editors = [version_editor(SCREENS[v]) for v in sorted(component_views(reviewable=True)) if v in SCREENS]
    editors.append(FeedbackVersionEditor)  # a review of feedback answers edits a version in its own editor
    if ReviewScreen in screens:  # review opens each reviewable view's screen as an editor of a version
        screens += editors
    known = {b.id for screen in [*SCREENS.values(), *editors] for b in _bindings(screen) if b.id}
    unknown = sorted(set(keymap) - known)
    if unknown:
        return (f"{one_line(str(path), 300)}: unknown binding id{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(one_line(u, 40) for u in unknown)} (known: {', '.join(sorted(known))})")
    for screen in screens:
        kept: dict[str, str] = {}  # the keys of bindings the keymap leaves alone (a subclass's win, as in Textual)
        moved: dict[str, str] = {}  # the keys the keymap gives
        for binding in _bindings(screen):
            if binding.id in keymap:
                for key in (k.strip() for k in keymap[binding.id].split(",")):
                    if moved.setdefault(key, binding.id) != binding.id:
                        return _clash(path, key, moved[key], binding.id)
            else:
                for key in (k.strip() for k in binding.key.split(",")):
                    kept.setdefault(key, str(binding.id))
        for key, binding_id in moved.items():
            if kept.get(key, binding_id) != binding_id:
                return _clash(path, key, kept[key], binding_id)
    return None


def events_problem(view_id: str, events: dict[str, Any]) -> str | None:
    """What is wrong with a recipe's ``events`` on the screen of ``view_id`` (a key Textual does not know, or one
    the view, the user's keymap or the app has already: :func:`.events.events_problem`), in one line; the app
    refuses to start on it, and the command line may ask first."""
    if not events:
        return None
    from . import events as custom_events

    return custom_events.events_problem(SCREENS[view_id], AnnotationApp, view_id, events, load_keymap()[0])


def _clash(path: Path, key: str, first: str, second: str) -> str:
    return (f"{one_line(str(path), 300)}: the key {one_line(key, 20)!r} would do both {first!r} and {second!r}; "
            "give one of them another key")


class AnnotationApp(App[int]):
    TITLE = "tuiannot"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, controller: Controller, theme: str | None = None) -> None:
        # NO_COLOR: Textual's own handling turns colours to greys (its Monochrome filter); with native ANSI
        # colours it strips them instead (its NoColor filter), leaving bold, reverse, underline and italic
        super().__init__(ansi_color=True if "NO_COLOR" in os.environ else None)
        if theme == "light":  # --theme (or the configuration's theme): Textual's light theme
            self.theme = "textual-light"
        self.controller = controller
        self.failure: str | None = None
        components = controller.components
        # what the screens display: the recipe's config, and for a review the view reviewed
        self.screen_config = {**components.config, "review_view": components.review_view} \
            if components.review_view else components.config
        screen = SCREENS[controller.view_id]
        self.event_runner: EventRunner | None = None
        if components.events:  # the recipe's own keys: refused (before the terminal is taken) if taken already
            from .events import EventRunner, with_events

            problem = events_problem(controller.view_id, components.events)
            if problem is not None:
                raise UserError(problem)
            screen = with_events(screen, components.events)
            self.event_runner = EventRunner(self, components.events)
        self.annotation_screen = screen(controller.dataset, controller.session, controller.labels, self.screen_config)
        self._preload_screen_css(self.annotation_screen)
        self.annotation_screen.show_first = self.show_next
        self._frozen = False
        self.first_task_at: float | None = None  # perf_counter() once the first task was drawn
        self._editor: AnnotationScreen | None = None  # review: the normal view, editing one version
        self._edit_task: dict[str, Any] | None = None

    def _preload_screen_css(self, screen: AnnotationScreen) -> None:
        """Give the stylesheet the screen's CSS (its files and its ``CSS``) before the app starts, under the keys
        Textual files a pushed screen's CSS by, so that its one start-up parse reads them. The annotation screen
        is the app's first screen (:meth:`get_default_screen`), for which Textual loads no CSS of its own; a
        screen pushed later with CSS the stylesheet lacks makes Textual parse every rule it has again."""
        self.css_path = [*self.css_path, *(p for p in screen.css_path if p not in self.css_path)]
        if screen.CSS:
            try:
                where = inspect.getfile(type(screen))
            except (TypeError, OSError):
                where = ""
            self.stylesheet.add_source(screen.CSS, read_from=(where, f"{type(screen).__name__}.CSS"),
                                       is_default_css=False,
                                       scope=screen._css_type_name if screen.SCOPED_CSS else "")

    def get_default_screen(self) -> AnnotationScreen:
        """The annotation screen is the app's first screen, not pushed over Textual's empty default one: a start
        then lays out one screen, not both at each of its layouts (13 layouts became 5 before a textcat start's
        first task; 2.7% of its main thread's instructions, bench/README.md "Start to first task"). Textual
        loads no CSS for a default screen: :meth:`_preload_screen_css` gave it.

        It gets its breakpoint classes (``-short`` or ``-tall``) now, from the terminal's rows: Textual gives them
        at the screen's first ``Resize`` event, after its first frame, and restyled and repainted all of it then
        (the first task is in the first frame, see :attr:`AnnotationScreen.show_first`)."""
        screen = self.annotation_screen
        height = self.size.height
        names = [name for _, name in screen.VERTICAL_BREAKPOINTS]
        reached = [name for rows, name in screen.VERTICAL_BREAKPOINTS if height >= rows]
        screen.update_classes({name: name == reached[-1] for name in names} if reached else {}, update=False)
        return screen

    def on_mount(self) -> None:
        keymap, problem = load_keymap()
        if keymap:
            self.set_keymap(keymap)
        if problem:
            self.notify(one_line(problem, 300), severity="warning", timeout=8, markup=False)  # a path is data

    def on_annotation_screen_ready(self, _: Any) -> None:
        if self._editor is not None and self.screen is self._editor and self._edit_task is not None:
            self._editor.show_task(self._edit_task, self.progress())
        elif self.screen is self.annotation_screen:
            self.show_next()

    def on_review_screen_edit_requested(self, message: ReviewScreen.EditRequested) -> None:
        task = self.annotation_screen.current_task
        view_id = self.controller.components.review_view
        if task is None or view_id is None or view_id not in SCREENS:
            return
        edit_task = {k: v for k, v in task.items() if k != "_review"}
        for key in ("label", "accept", "spans", "answers", "relations"):
            if key in message.version:
                edit_task[key] = message.version[key]
        edit_task.pop("answer", None)
        self._edit_task = edit_task
        from .review import version_editor

        self._editor = version_editor(SCREENS[view_id])(  # the view's screen, saying whose version it edits
            self.controller.dataset, self.controller.session, self.controller.labels,
            {**self.screen_config, "overlapping": VIEWS[view_id].overlapping}, version=message.version)
        self.push_screen(self._editor)

    # -- tasks in ----------------------------------------------------------------
    def progress(self) -> Progress:
        c = self.controller
        return Progress(session=c.session_answers, dataset=c.dataset_answers, source=c.source_progress,
                        invalid=c.invalid, last_warning=c.last_warning, model=c.model_status,
                        position=c.source_position, target=c.target)

    def show_next(self) -> None:
        try:
            task = self.controller.poll_task()
        except Exception as e:  # a bug in a recipe's stream: end cleanly, with the reason
            self.fail(f"{type(e).__name__}: {e}")
            return
        if task is Controller.PENDING:
            self.annotation_screen.show_loading()
            self.wait_for_task()
        elif task is None:
            self.finish()
        else:
            self.annotation_screen.show_task(task, self.progress())
            if self.first_task_at is None:  # for TUIANNOT_PROFILE_START: when the first task is on screen
                self.call_after_refresh(lambda: setattr(self, "first_task_at", time.perf_counter()))
            if not self._frozen:
                # Everything loaded so far (Textual, spaCy, the first task) lives as long as the app:
                # moving it out of the collector's view stops 80-90 ms full collections mid-keystroke.
                # (After the first frame, and without a collection first: both would delay the first task.)
                self._frozen = True
                self.call_after_refresh(lambda: gc.freeze())  # (a lambda: Textual inspects a builtin slowly)

    @work(thread=True, exclusive=True, group="next-task")
    def wait_for_task(self) -> None:
        worker = get_current_worker()
        shown: str | None = None
        while not worker.is_cancelled:
            if self.controller.wait_ready(timeout=0.5):
                self.call_from_thread(self.show_next)
                return
            message = self.controller.waiting
            if message and message != shown:  # others hold the remaining tasks: say so, keep waiting
                shown = message
                self.call_from_thread(self.annotation_screen.show_loading, message)

    def finish(self) -> None:
        c = self.controller
        if c.error is not None:
            self.fail(str(c.error))
            return
        if not isinstance(self.screen, DoneScreen):
            self.push_screen(DoneScreen(c.dataset, c.session_counts, c.invalid, c.dataset_answers,
                                        note=c.finished_note))

    def fail(self, message: str) -> None:
        self.failure = message
        self.exit(return_code=1)

    # -- answers out -------------------------------------------------------------
    def on_annotation_screen_answered(self, message: AnnotationScreen.Answered) -> None:
        if self._editor is not None and self.screen is self._editor:  # an edited review version
            self._close_editor()
            from .review import ReviewScreen

            assert isinstance(self.annotation_screen, ReviewScreen)  # only a review opens the editor
            self.annotation_screen.edited_answer(message.answer, message.accept, message.fields)
            return
        if self.annotation_screen.waiting or self.annotation_screen.current_task is None:
            return
        try:
            self.controller.answer(message.answer, message.accept, message.fields)
        except AnswerRejected as e:
            self.notify(one_line(str(e), 300), title="Not accepted", severity="warning", markup=False)
            return
        except TaskTaken as e:
            self.notify(one_line(str(e), 300), title="Moved on", severity="warning", timeout=8, markup=False)
        except SessionEnded as e:  # the storage failed (the dataset dropped, a full disk): end, saying why
            self.fail(str(e))
            return
        except Exception as e:  # the database refused: keep the task on screen, lose nothing
            self.notify(f"The answer was NOT saved: {one_line(str(e), 300)}", title="Storage error", severity="error",
                        timeout=15, markup=False)
            return
        c = self.controller
        if c.target is not None and c.dataset_answers == c.target:  # once, as the target is reached
            self.notify(f"{c.target:,} answers in the dataset: the target is reached. Go on, or press "
                        f"{self.annotation_screen.key_for('quit', 'q')} to quit.", title="Target reached", timeout=8)
        self.show_next()

    def _close_editor(self) -> None:
        self.pop_screen()
        self._editor, self._edit_task = None, None

    def on_annotation_screen_undo_requested(self, _: Any) -> None:
        if self._editor is not None and self.screen is self._editor:  # escape or backspace: leave the editor
            self._close_editor()
            return
        if self.annotation_screen.waiting and not self.controller.can_undo:
            return
        task = self.controller.undo()
        if task is None:
            self.notify("Nothing to undo in this session yet.", timeout=2)
            return
        self.annotation_screen.show_task(task, self.progress())

    def on_done_screen_undo_requested(self, _: Any) -> None:
        if not self.controller.can_undo:
            self.notify("Nothing to undo in this session.", timeout=2)
            return
        self.pop_screen()
        self.on_annotation_screen_undo_requested(None)

    def action_custom_event(self, index: int) -> None:
        """A key the recipe bound to one of its functions (its ``events``, :mod:`.events`)."""
        if self.event_runner is not None:
            self.event_runner.press(index)

    async def action_quit(self) -> None:
        self.exit(0)
