"""A text question of the feedback view: Textual's ``TextArea``, optionally prefilled from a task field.

The text area takes keys only while it has the focus: ``enter`` on the question gives it the focus (editing),
``escape`` or ``tab`` takes it away, and what was typed stays. While editing, every printable key types
(Textual leaves the screen's single-letter keys alone while a widget that consumes them has the focus), and
the text area's own keys work: arrows, home/end, ctrl+left/right by word, shift to select, ctrl+z and
ctrl+y to undo and redo. Loading a task empties the undo history, so ctrl+z never brings back another
task's text.

The prefill is untrusted: control characters and escape sequences become their visible stand-ins
(:func:`~tuiannot.sanitize.printable`; tabs and line breaks are kept, the text area draws them), so what the
annotator sees is what is stored.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import TextArea

from .question import QuestionWidget
from .task_fields import editable


class AnswerArea(TextArea):
    """The text area, acting on every key it gets in the order typed.

    Textual types a letter where it arrives but runs a key's binding only once the key has come back up to the
    app, so of ``end`` and ``!`` typed together the ``!`` would land before the cursor moved, and an ``a`` typed
    right after ``escape`` would be typed before the escape ended the editing. Here a bound key runs its
    binding at once (the text area's own, or the screen's: ``escape`` and ``tab`` end the editing), and keys
    that reach it once the editing has ended go on to the screen instead of typing."""

    async def _on_key(self, event: events.Key) -> None:
        if self.screen.focused is not self:  # (has_focus follows later, with the Blur event)
            event.prevent_default()  # (not TextArea's handler: the key bubbles on to the screen, which acts on it)
            return
        if event.is_printable or event.key == "enter":
            return  # typing: TextArea's handler
        await run_binding(self, event)


async def run_binding(widget: Widget, event: events.Key, only: Widget | None = None) -> None:
    """Run the binding ``event``'s key has now (from the focused widget up, keymap included) at once, instead of
    once the key has come back up to the app; a key bound to nothing (or, with ``only``, bound elsewhere) goes
    on."""
    active = widget.screen.active_bindings.get(event.key)
    if active is not None and active.enabled and (only is None or active.node is only):
        event.stop()
        event.prevent_default()
        await widget.app.run_action(active.binding.action, active.node)


class TextQuestion(QuestionWidget):
    KIND = "text"
    DEFAULT_CSS = """
    TextQuestion > AnswerArea { height: auto; max-height: 5; min-height: 1; border: none; padding: 0 1;
                                margin: 0 0 0 2; }
    TextQuestion > AnswerArea:focus { border: none; max-height: 12; }
    """

    def body(self) -> ComposeResult:
        yield AnswerArea("", soft_wrap=True, tab_behavior="focus", show_line_numbers=False, compact=True,
                       highlight_cursor_line=False, placeholder="(empty: enter to write)")

    @property
    def area(self) -> AnswerArea:
        return self.query_one(AnswerArea)

    @property
    def editing(self) -> bool:
        return self.screen.focused is self.area

    def set_value(self, value: Any) -> None:
        if not isinstance(value, str):
            field = self.settings.get("field")
            prefill = self.current_task.get(field) if field else None
            value = prefill if isinstance(prefill, str) else ""
        self.area.load_text(editable(value))  # (the undo history goes with the old text)

    def value(self) -> str:
        return self.area.text

    def answered(self) -> bool:
        return bool(self.area.text.strip())

    def clear(self) -> None:
        self.area.load_text("")
        self.redraw()

    def number(self, index: int) -> str | None:
        return "a text question: enter edits it"

    def draw_body(self) -> None:
        pass  # the text area draws itself

    def hint(self) -> str:
        return "editing: esc ends" if self.editing else "enter edits"

    def status(self) -> str:
        lines = self.area.document.line_count
        text = self.area.text
        return f"{len(text):,} character{'s' if len(text) != 1 else ''}" + \
            (f", {lines} lines" if lines > 1 else "") if text else "empty"

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self.redraw()  # the count in the header
