"""Custom events: keys a recipe binds to its own functions (``events`` of :class:`~tuiannot.components.Components`).

A recipe returns ``events = {"e": ("Look it up", look_up)}``; :meth:`Components.check` has checked their shape
(one key, a description, a callable). Here they meet the screen:

- :func:`events_problem` checks each key against Textual and the view: a key Textual names (a character such as
  ``e`` or ``?``, or a name such as ``f5``, ``ctrl+e``, ``enter``), taken by nothing else on the screen: not by
  the view's bindings as the user's keymap moves them, nor by the screen's or the app's own (``tab``,
  ``ctrl+q``, ``ctrl+c``). One line naming the key and what has it; the app refuses to start on it
  (:class:`~tuiannot.errors.UserError`, before the terminal is taken).
- :func:`with_events` is the view's screen with one binding per event (``event_0``, ...): shown in the key bar
  with its description and listed by ``?`` as the view's own keys are. The binding runs the app's
  ``custom_event`` action.
- :class:`EventRunner`, which the app makes when there are events, runs the function in a thread worker, so that a
  slow one (an LLM asked again) freezes nothing: the annotator may answer meanwhile. The function is given a copy of
  the task on screen with the annotator's edits so far (``spans``, the chosen ``accept``), and returns the updated
  task or None. An updated task replaces the one on screen, in the controller too, so that the answer stores it; it
  keeps the question's ``_input_hash`` and ``_task_hash`` (exclusion, routing and resuming know the question by
  them). A result that comes back after the annotator moved on to another task is dropped, saying so. An exception,
  or a result that is not a task, is a notification naming the event (escaped, one line); the session goes on. One
  event runs at a time: its key, or another event's, pressed meanwhile says that one is still running.

A session without events does not import this module (start time: bench/README.md, "Start to first task").
"""

from __future__ import annotations

import copy
import functools
from typing import TYPE_CHECKING, Any, Callable

from textual.binding import Binding
from textual.keys import Keys, _character_to_key, key_to_character

from ..sanitize import one_line
from ..sources import check_text_task

if TYPE_CHECKING:
    from .annotate import AnnotationScreen
    from .app import AnnotationApp

Event = tuple[str, Callable[[dict[str, Any]], "dict[str, Any] | None"]]

_NAMED_KEYS = frozenset(k.value for k in Keys if not k.value.startswith("<"))


def textual_key(key: str) -> str | None:
    """``key`` as Textual names it (``?`` is ``question_mark``), or None when Textual knows no such key."""
    if len(key) == 1:
        return _character_to_key(key) if key.isprintable() else None
    if key in _NAMED_KEYS or ("+" not in key and key_to_character(key) is not None):
        return key
    return None


def _keys_of(bindings: list[Binding], keymap: dict[str, str]) -> dict[str, str]:
    """Key -> the binding that has it (its id, else its action), the keymap's moves applied, first one wins."""
    taken: dict[str, str] = {}
    for binding in bindings:
        keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
        for key in (k.strip() for k in keys.split(",")):
            if key:
                taken.setdefault(textual_key(key) or key, binding.id or binding.action)
    return taken


def _class_bindings(cls: type) -> list[Binding]:
    """Every binding a class and its bases declare, the class's own first."""
    return [binding for klass in cls.__mro__ for binding in Binding.make_bindings(klass.__dict__.get("BINDINGS", []))]


def events_problem(screen: type, app: type, view_id: str, events: dict[str, Event],
                   keymap: dict[str, str] | None = None) -> str | None:
    """What is wrong with the recipe's ``events`` on ``screen`` (the view's class) in ``app``, in one line: a key
    Textual does not know, or one the screen or the app has already. None when nothing is."""
    keymap = keymap or {}
    own = _keys_of(_class_bindings(screen), keymap)
    app_keys = _keys_of(_class_bindings(app), keymap)
    for key, (description, _) in events.items():
        named = textual_key(key)
        what = f"events: the key {one_line(key, 20)!r} ({one_line(description, 60)})"
        if named is None:
            return (f"{what} is not a key Textual knows: give one character (e.g. 'e', '?') or a key's name "
                    "(e.g. 'f5', 'ctrl+e', 'enter')")
        if named in own:
            return (f"{what} is already {one_line(own[named], 40)!r} in the view {one_line(view_id, 40)!r}; "
                    "give the event another key")
        if named in app_keys:
            return f"{what} is already the app's {one_line(app_keys[named], 40)!r}; give the event another key"
    return None


def with_events(screen: type[AnnotationScreen], events: dict[str, Event]) -> type[AnnotationScreen]:
    """``screen`` with a binding per event (shown in the key bar, listed by ``?``), as a class of its own."""
    bindings = [Binding(textual_key(key) or key, f"app.custom_event({index})", one_line(description, 40),
                        id=f"event_{index}")
                for index, (key, (description, _)) in enumerate(events.items())]
    help_lines = {f"event_{index}": f"{one_line(description, 200)} (the recipe's own key)"
                  for index, (description, _) in enumerate(events.values())}
    namespace = {"BINDINGS": bindings, "HELP": {**screen.HELP, **help_lines},
                 "__module__": screen.__module__}  # Textual finds CSS_PATH beside the class's module
    return type(f"{screen.__name__}WithEvents", (screen,), namespace)


class EventRunner:
    """The app's side of the events: what a binding's ``custom_event`` action does, and the thread worker that
    calls the function. The app makes one when the recipe has events (this module is imported only then)."""

    def __init__(self, app: AnnotationApp, events: dict[str, Event]) -> None:
        self.app = app
        self.events = list(events.values())
        self.running: str | None = None  # the description of the event whose function runs

    def press(self, index: int) -> None:
        app, screen = self.app, self.app.annotation_screen
        if not 0 <= index < len(self.events) or app.screen is not screen or screen.waiting \
                or screen.current_task is None:
            return
        description, function = self.events[index]
        if self.running is not None:
            app.notify(f"{one_line(self.running, 60)} is still running: wait for it, or answer on.", timeout=3,
                       markup=False)
            return
        shown = screen.current_task
        task = copy.deepcopy(shown)
        task.update(copy.deepcopy(screen.current_fields() or {}))
        accept = screen.current_accept()
        if accept is not None:
            task["accept"] = list(accept)
        self.running = description
        app.notify(f"{one_line(description, 60)}…", timeout=1.5, markup=False)
        entry = app.controller.current
        app.run_worker(functools.partial(self._call, description, function, task, shown, entry), thread=True,
                       group="custom-event", exit_on_error=False)

    def _call(self, description: str, function: Callable[[dict[str, Any]], Any], task: dict[str, Any],
              shown: dict[str, Any], entry: Any) -> None:
        """In the worker's thread: the recipe's function, then what it gave back handed to the app's thread."""
        try:
            result = function(task)
        except Exception as e:  # noqa: BLE001 (the recipe's code: said on screen, the session goes on)
            self._back(self._failed, description, f"{type(e).__name__}: {e}")
            return
        self._back(self._done, description, result, shown, entry)

    def _back(self, callback: Callable[..., None], *args: Any) -> None:
        """``callback(*args)`` on the app's thread, unless the annotator quit while the function ran."""
        try:
            self.app.call_from_thread(callback, *args)
        except RuntimeError:  # the app is gone: nothing to show it on
            pass

    def _failed(self, description: str, reason: str) -> None:
        self.running = None
        self.app.notify(one_line(reason, 300), title=one_line(description, 60), severity="error", timeout=10,
                        markup=False)

    def _done(self, description: str, result: Any, shown: dict[str, Any], entry: Any) -> None:
        self.running = None
        app, name = self.app, one_line(description, 60)
        if result is None:
            app.notify(f"{name}: nothing changed.", timeout=2, markup=False)
            return
        if not isinstance(result, dict):
            self._failed(description, f"returned {type(result).__name__}, not a task (a dict) or None")
            return
        if "text" in shown and (problem := check_text_task(result)) is not None:
            self._failed(description, f"returned a task that cannot be shown: {problem}")
            return
        screen, current = app.annotation_screen, app.controller.current
        if current is None or current is not entry or screen.current_task is not shown:
            app.notify(f"{name} finished after you moved on: its result is dropped.", severity="warning",
                       timeout=4, markup=False)
            return
        updated = dict(result)
        for key in ("_input_hash", "_task_hash"):  # the same question: exclusion and routing know it by them
            if key in current.task:
                updated[key] = current.task[key]
        current.task = updated  # what the controller stores when the task is answered
        screen.show_task(updated, app.progress())
