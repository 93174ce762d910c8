"""The ``feedback`` view: the task's fields above, its questions under them, all answered from the keyboard.

Each question of the questionnaire (:mod:`tuiannot.recipes.questions`) is a widget of its own
(:mod:`.widgets.question` and the modules beside it); one is *focused*, marked with ``▶`` and a bar at its
left, and the keys that answer act on it:

- ``tab``/``shift+tab`` move between questions (from a text being edited too, which ends the editing);
- number keys rate (``0`` is 10), choose or toggle labels, label a span, or name a ranking's items in order of
  preference; ``c`` clears the focused question's answer;
- on a text question ``enter`` edits it in Textual's ``TextArea`` (its own keys: arrows, home/end, ctrl+arrows
  by word, ctrl+z to undo), ``escape`` ends the editing and the text stays. While it is edited every printable
  key types: Textual leaves the screen's single-letter keys alone while a widget that takes them has the
  focus. Nothing else ever has the focus (``AUTO_FOCUS`` is off), so the keys are the screen's otherwise;
- on a span question the span views' keys: ``left``/``right`` (``h``/``l``), ``up``/``down`` by line,
  ``shift`` to select, ``d`` to remove, ``escape`` to clear the selection; on a rating ``left``/``right``
  move the rating;
- ``a`` submits when every required question (``*``) is answered; otherwise a message names what is missing
  and the focus moves to the first of them. ``x`` (the task is wrong), ``space`` (skip), ``backspace``
  (undo: the previous task with its answers filled in), ``?`` and ``q`` as everywhere; ``m`` draws the
  response as Markdown, or as plain text again.

**Keys typed ahead.** Over a slow link keys arrive in bursts: ``enter`` and the first letters of a
correction, ``end`` and ``!``, ``escape`` and ``a``. Textual sends each key to whatever had the focus when it
arrived and types a letter where it lands, but runs a key's binding only once the key has come back up to the
app: a letter sent to the screen just before ``enter`` focused the text area would be lost, the ``!`` would land
before ``end`` moved the cursor, and an ``a`` that reached the text area before the ``escape`` was acted on
would be typed. So this screen (:meth:`FeedbackScreen.on_key`) and its text area
(:class:`~.widgets.text_question.AnswerArea`) run each key's binding as the key reaches them
(:func:`~.widgets.text_question.run_binding`: the binding it has now, keymap included), a letter that reaches
the screen while a text is edited types there, and a key that reaches the text area once the editing has ended
goes on to the screen: every key acts in the order typed.

The answers are posted as the answer's ``answers`` (question name -> answer); the recipe adds
``user_input`` and checks the required questions again.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import events
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static, TextArea

from ..sanitize import one_line
from .annotate import LABEL_KEYS, AnnotationScreen
from .widgets.question import LabelQuestion, QuestionWidget, RatingQuestion
from .widgets.ranking_question import RankingQuestion
from .widgets.span_question import SpanQuestion
from .widgets.task_fields import MARKDOWN_FIELD, TaskFields
from .widgets.task_text import update_static
from .widgets.text_question import TextQuestion, run_binding

QUESTION_WIDGETS: dict[str, type[QuestionWidget]] = {
    widget.KIND: widget for widget in (RatingQuestion, LabelQuestion, TextQuestion, SpanQuestion, RankingQuestion)}
DEFAULT_FIELDS = ["text", "prompt", "response"]


class Questions(VerticalScroll, can_focus=False):
    """The questions, one under the other; scrolled to keep the focused one in view."""


class FeedbackScreen(AnnotationScreen):
    VIEW_ID = "feedback"
    CSS_PATH = ["annotate.tcss", "feedback.tcss"]
    AUTO_FOCUS = ""  # (off: None would take the app's "*") the keys are the screen's until enter edits a text
    HELP: ClassVar[dict[str, str]] = {  # type: ignore[assignment]  # (see AnnotationScreen.HELP)
        **AnnotationScreen.HELP,
        "accept": "submit the answers; refused while a required question (*) is unanswered: the message names it "
                  "and the focus moves there",
        "reject": "reject: the task itself is wrong or unusable (the answers given are kept with it)",
        "next_question": "the next question (the focused one is marked ▶); while editing a text, ends the editing",
        "previous_question": "the previous question",
        "edit_text": "on a text question: edit it, with the text area's keys (arrows, home/end, ctrl+←/→ by word, "
                     "shift to select, ctrl+z undo, ctrl+y redo); every letter types until esc",
        "stop_editing": "end editing a text (what was typed stays); on a span question: clear the selection",
        "clear_answer": "clear the focused question's answer (a ranking: start the order again)",
        "markdown": "draw the response as Markdown, or as plain text again",
        "cursor_left": "span question: cursor to the previous token; rating: one less",
        "cursor_right": "span question: cursor to the next token; rating: one more",
        "extend_left": "span question: extend the selection to the left",
        "extend_right": "span question: extend the selection to the right",
        "first_token": "span question: cursor to the first token", "last_token": "span question: the last token",
        "remove_span": "span question: remove the span under the cursor",
        "scroll_down": "scroll the task down (span question: the cursor down a line)",
        "scroll_up": "scroll the task up (span question: the cursor up a line)",
    }

    BINDINGS = [
        Binding("a", "answer('accept')", "Submit", id="accept"),
        Binding("tab", "next_question(1)", "Next question", id="next_question"),
        Binding("shift+tab", "next_question(-1)", "Previous question", show=False,
                id="previous_question"),
        Binding("enter", "edit", "Edit text", id="edit_text"),
        Binding("escape", "escape", "End editing", show=False, id="stop_editing"),
        Binding("c", "clear", "Clear answer", show=False, id="clear_answer"),
        Binding("m", "markdown", "Markdown", id="markdown"),
        Binding("left,h", "move(-1)", "Left", show=False, id="cursor_left"),
        Binding("right,l", "move(1)", "Right", show=False, id="cursor_right"),
        Binding("shift+left", "move(-1, True)", "Extend left", show=False, id="extend_left"),
        Binding("shift+right", "move(1, True)", "Extend right", show=False, id="extend_right"),
        Binding("home", "edge(0)", "First", show=False, id="first_token"),
        Binding("end", "edge(1)", "Last", show=False, id="last_token"),
        Binding("d", "remove", "Remove span", show=False, id="remove_span"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions: list[QuestionWidget] = [QUESTION_WIDGETS[str(q["type"])](q)
                                                for q in self.config.get("questions") or []]
        self.focus_index = 0
        self.markdown = False

    def text_widget(self) -> Widget:
        return TaskFields(list(self.config.get("fields") or DEFAULT_FIELDS), id="text")

    def question_widget(self) -> Widget:
        return Questions(*self.questions, id="question")

    @property
    def focused_question(self) -> QuestionWidget | None:
        return self.questions[self.focus_index] if self.questions else None

    @property
    def editing(self) -> bool:
        return isinstance(self.focused, TextArea)

    # -- showing ------------------------------------------------------------------------------------------------
    def show_loading(self, message: str = "Loading the next task…") -> None:
        self.current_task, self.waiting = None, True
        self._stop_editing()
        self.query_one(TaskFields).show_message(message)
        self.query_one(Questions).display = False
        for wid in ("#meta", "#previous"):
            update_static(self.query_one(wid, Static), "")

    def show_task(self, task: dict[str, Any], progress: Any) -> None:
        self._stop_editing()
        self.query_one(Questions).display = True
        super().show_task(task, progress)

    def show_text(self, task: dict[str, Any]) -> None:
        self.query_one(TaskFields).show(task, self.markdown)

    def show_question(self, task: dict[str, Any]) -> None:
        given = task.get("answers")
        answers: dict[str, Any] = given if isinstance(given, dict) else {}
        for widget in self.questions:
            widget.load(task, answers.get(widget.question))
        self._focus(0)

    def _focus(self, index: int) -> None:
        if not self.questions:
            return
        self.focus_index = index % len(self.questions)
        for i, widget in enumerate(self.questions):
            widget.set_focus_mark(i == self.focus_index)
        self.query_one(Questions).scroll_to_widget(self.questions[self.focus_index], animate=False)

    def _stop_editing(self) -> None:
        if self.focused is not None:
            self.set_focus(None)

    async def on_key(self, event: events.Key) -> None:
        """Act on a key as it reaches the screen, in the order typed (see the module docstring): while a text is
        edited, a letter types there and a bound key runs its binding (the text area's or the screen's); else a
        key bound here runs its action, and others go on to the app."""
        area = self.focused if isinstance(self.focused, TextArea) else None
        if area is not None and (event.is_printable or event.key == "enter"):  # sent here before enter focused it
            event.stop()
            event.prevent_default()
            area.replace("\n" if event.key == "enter" else event.character or "", *area.selection,
                         maintain_selection_offset=False)
        else:  # while editing, the text area's keys too (sent here before enter focused it)
            await run_binding(self, event, only=None if area is not None else self)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        for i, widget in enumerate(self.questions):  # a click into a text area edits it: its question is focused
            if isinstance(widget, TextQuestion) and event.widget is widget.area:
                if i != self.focus_index and self.focused is widget.area:  # (still: keys may have moved on since)
                    self._focus(i)
                widget.redraw()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        for widget in self.questions:
            if isinstance(widget, TextQuestion) and event.widget is widget.area:
                widget.redraw()

    # -- answering ----------------------------------------------------------------------------------------------
    def current_fields(self) -> dict[str, Any]:
        return {"answers": {widget.question: widget.value() for widget in self.questions}}

    def unanswered(self) -> list[QuestionWidget]:
        """The required questions not answered yet, in order."""
        return [widget for widget in self.questions if widget.required and not widget.answered()]

    def action_answer(self, answer: str) -> None:
        if self.current_task is None:
            return
        if answer == "accept":
            missing = self.unanswered()
            if missing:
                self._stop_editing()
                self._focus(self.questions.index(missing[0]))
                names = ", ".join(one_line(w.question, 40) for w in missing)
                self.notify(f"Not answered yet: {names} (required). Answer "
                            f"{'it' if len(missing) == 1 else 'them'}, then {self.key_for('accept', 'a')} again.",
                            title="Not submitted", severity="warning", timeout=4, markup=False)
                return
        super().action_answer(answer)

    def action_next_question(self, step: int) -> None:
        self._stop_editing()
        self._focus(self.focus_index + step)

    def action_edit(self) -> None:
        widget = self.focused_question
        if self.current_task is None or widget is None:
            return
        if not isinstance(widget, TextQuestion):
            self.notify("enter edits a text question; this one is answered with its keys (? lists them).",
                        timeout=2)
            return
        self.set_focus(widget.area)  # now, not after the keys typed next: they must type (see AnswerArea)

    def action_escape(self) -> None:
        if self.editing:
            self._stop_editing()
        elif isinstance(self.focused_question, SpanQuestion):
            self.focused_question.clear_selection()

    def action_label(self, index: int) -> None:
        widget = self.focused_question
        if self.current_task is None or widget is None:
            return
        message = widget.number(index)
        if message:
            self.notify(message, timeout=2, markup=False)

    def action_clear(self) -> None:
        if self.current_task is not None and self.focused_question is not None:
            self.focused_question.clear()

    def action_move(self, step: int, extend: bool = False) -> None:
        widget = self.focused_question
        if self.current_task is None:
            return
        if isinstance(widget, SpanQuestion):
            widget.move(step, extend)
        elif isinstance(widget, RatingQuestion) and not extend:
            widget.step(step)

    def action_edge(self, last: int) -> None:
        if self.current_task is not None and isinstance(self.focused_question, SpanQuestion):
            self.focused_question.edge(bool(last))

    def action_remove(self) -> None:
        if self.current_task is not None and isinstance(self.focused_question, SpanQuestion):
            message = self.focused_question.remove_span()
            if message:
                self.notify(message, timeout=2)

    def action_scroll(self, how: str) -> None:
        if how in ("down", "up") and self.current_task is not None and isinstance(self.focused_question,
                                                                                  SpanQuestion):
            self.focused_question.move_line(1 if how == "down" else -1)
        else:
            super().action_scroll(how)

    def action_markdown(self) -> None:
        if self.current_task is None:
            return
        fields = self.query_one(TaskFields)
        if MARKDOWN_FIELD not in fields.fields or not isinstance(self.current_task.get(MARKDOWN_FIELD), str):
            self.notify("This task has no response to draw as Markdown.", timeout=2)
            return
        self.markdown = not self.markdown
        fields.show(self.current_task, self.markdown)

    def label_help(self) -> dict[str, str]:
        widget = self.focused_question
        name = one_line(widget.question, 30) if widget is not None else ""
        if isinstance(widget, RatingQuestion):
            says = [f"rate {v}" for v in range(1, widget.scale + 1)]
        elif isinstance(widget, LabelQuestion):
            says = [f"{'toggle' if widget.multiple else 'choose'} {one_line(label, 30)}" for label in widget.labels]
        elif isinstance(widget, SpanQuestion):
            says = [f"label the selection (or the token) {one_line(label, 30)}" for label in widget.labels]
        elif isinstance(widget, RankingQuestion):
            says = [f"item {i + 1} next in the order (placed already: take it and those after it out)"
                    for i in range(len(widget.items))]
        else:
            says = []
        return {f"label_{LABEL_KEYS[i]}": f"{name}: {said}" for i, said in enumerate(says[:10])}
