"""The ``compare`` view: two outputs for one input, shown blind, and which is better.

The input is at the top (its own box, a few lines at most: it scrolls), the two outputs under it, side by side,
or one above the other on a terminal narrower than :data:`NARROW_COLUMNS` columns. The first (left, or top)
output is ``outputs[_sides[0]]``, the second ``outputs[_sides[1]]``: the recipe decided the order, at random per
task, and nothing on screen says which system or candidate wrote which. The screen reads the input's text and
meta, the two outputs' texts and the task's ``_sides``, nothing else: not ``_sides`` itself, not the provenance
(``_compare``, ``_duel``), not an output's ``meta``, and it has no ``i`` view of the model's input and output
(it would name the candidate). A tournament's status line names the leader over all the duels so far, never the
candidates of the duel on screen. The outputs are untrusted text: made printable, never read as markup.

Keys: ``1`` the first is better, ``2`` the second, ``=`` equally good, ``x`` both bad, ``space`` skip, then undo,
help and quit as everywhere (``a`` does nothing here: a comparison is answered by saying which). Each posts
``Answered(answer, None, {"choice": ...})`` (``left``, ``right``, ``tie``, ``both-bad``; ``answer`` accept, or
reject for both bad); the recipe's ``before_db`` stores what the choice means for the systems. After an undo the
line under the outputs says what was chosen before.

Long outputs scroll: ``down``/``up`` (``j``/``k``) and ``page down``/``page up`` move both outputs together (so
that their starts stay side by side); ``tab`` moves the scroll keys to the first output alone, the second, the
input, then both outputs again; the box they move has a double border (a glyph: seen without colour too) and
each box's border says how many lines are above and below. ``d`` marks the words in which the two outputs differ
(:func:`~.widgets.diff_text.word_diff`, bold and underlined), and stays on from task to task until pressed again.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.types import CSSPathType
from textual.widget import Widget
from textual.widgets import Static

from ..sanitize import printable
from .annotate import AnnotationScreen, Line, Progress
from .widgets.diff_text import DiffText, word_diff
from .widgets.label_bar import wrap_items
from .widgets.task_text import TaskText, update_static

NARROW_COLUMNS = 100
"""Below this width the two outputs are stacked: side by side, each would be under 50 columns."""
SIDES = ("A", "B")
ANSWERS = {"left": "accept", "right": "accept", "tie": "accept", "both-bad": "reject"}
"""The ``answer`` of each choice: a preference or a tie accepts the comparison, both bad rejects both."""
SAID = {"left": "the first is better", "right": "the second is better", "tie": "equally good",
        "both-bad": "both bad"}
TARGETS = ("outputs", "first", "second", "input")
"""What the scroll keys move, in the order ``tab`` goes through them."""
TARGET_SAID = {"outputs": "both outputs", "first": "the first output", "second": "the second output",
               "input": "the input"}
KEY = Style(bold=True, reverse=True)
INPUT_LINES = {False: 6, True: 2}
"""The most lines the input's box takes before it scrolls, by whether the terminal is short."""


def shown_sides(task: dict[str, Any]) -> tuple[str, str]:
    """The texts of the first and the second output, in the task's blind order (A then B if it has none)."""
    sides = task.get("_sides")
    order = list(sides) if isinstance(sides, list) and sorted(sides) == list(SIDES) else list(SIDES)
    given = task.get("outputs")
    outputs: dict[str, Any] = given if isinstance(given, dict) else {}
    texts = []
    for side in order:
        output = outputs.get(side)
        texts.append(str(output.get("text", "")) if isinstance(output, dict) else str(output or ""))
    return texts[0], texts[1]


class CompareScreen(AnnotationScreen):
    VIEW_ID = "compare"
    CSS_PATH: ClassVar[CSSPathType | None] = ["annotate.tcss", "compare.tcss"]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW_COLUMNS, "-wide")]
    KEY_NAMES = {**AnnotationScreen.KEY_NAMES, "equals_sign": "=", "tab": "tab"}
    HELP: ClassVar[dict[str, str]] = {  # type: ignore[assignment]  # (see AnnotationScreen.HELP)
        **AnnotationScreen.HELP,
        "label_1": "the first output (left, or top) is better",
        "label_2": "the second output (right, or bottom) is better",
        "tie": "both are equally good",
        "reject": "both are bad: neither is acceptable",
        "ignore": "skip this comparison (stored as ignore)",
        "differences": "mark the words in which the two outputs differ, or stop marking them",
        "scroll_target": "what the scroll keys move: both outputs, the first, the second, the input (double border)",
        "scroll_down": "scroll down (both outputs, or what tab chose)", "scroll_up": "scroll up",
        "page_down": "a page down", "page_up": "a page up",
    }

    BINDINGS = [
        Binding("1", "label(0)", "First better", id="label_1"),
        Binding("2", "label(1)", "Second better", id="label_2"),
        Binding("equals_sign", "choose('tie')", "Equal", key_display="=", id="tie"),
        Binding("x", "answer('reject')", "Both bad", id="reject"),
        Binding("space", "answer('ignore')", "Skip", id="ignore"),
        Binding("d", "differences", "Differences", id="differences"),
        Binding("tab", "scroll_target", "Scroll which", show=False, id="scroll_target"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.differences = False
        self.target = TARGETS[0]
        self._texts: tuple[str, str] = ("", "")
        self._diff: tuple[tuple[str, str], Any] | None = None  # (the texts, their word_diff), for the task shown

    def question_widget(self) -> Widget:
        return Vertical(Container(DiffText(id="first"), DiffText(id="second"), id="outputs"),
                        Static("", id="choices"), id="question")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if (action == "answer" and parameters == ("accept",)) or action == "llm_io":
            return False  # a comparison is answered by saying which; a model's input would name a candidate
        return True

    # -- showing ------------------------------------------------------------------------------------------------
    def show_loading(self, message: str = "Loading the next comparison…") -> None:
        self.current_task, self.waiting = None, True
        self.query_one("#text", TaskText).set_text(message)
        for pane in self.query(DiffText):
            pane.set_text("")
        for wid in ("#meta", "#choices", "#previous"):
            update_static(self.query_one(wid, Static), "")

    def show_task(self, task: dict[str, Any], progress: Progress) -> None:
        super().show_task(task, progress)
        meta = self.query_one("#meta", Static)
        meta.display = bool(str(meta.content))  # (the input's box keeps its rows for the input)
        self._fit_input()
        choice = task.get("choice") if task.get("answer") in ("accept", "reject") else None
        said = SAID.get(str(choice)) if choice is not None else ("skipped" if task.get("answer") == "ignore" else None)
        update_static(self.query_one("#previous", Line), Text.assemble(
            ("  earlier answer: ", "dim"), (said, "bold"), ("  — answer again to keep or change it", "dim"))
            if said else "")

    def show_question(self, task: dict[str, Any]) -> None:
        self._texts = shown_sides(task)
        marks = self._marks() if self.differences else ((), ())
        first, second = self.query_one("#first", DiffText), self.query_one("#second", DiffText)
        first.set_text(self._texts[0], marks[0])
        second.set_text(self._texts[1], marks[1])
        self._draw()

    def _fit_input(self) -> None:
        """The input's box as high as its wrapped lines, at most :data:`INPUT_LINES` (fewer on a short terminal):
        the outputs take the rest; a longer input scrolls."""
        text = self.query_one("#text", TaskText)
        text.styles.height = max(1, min(text.line_count, INPUT_LINES[self.short]))

    def _marks(self) -> tuple[Any, Any]:
        """The differing words of the outputs shown (computed once a task), or none when they are too long."""
        shown = (printable(self._texts[0]), printable(self._texts[1]))
        if self._diff is None or self._diff[0] != shown:
            self._diff = (shown, word_diff(*shown))
        marks = self._diff[1]
        if marks is None:
            self.notify("These outputs are too long to compare word by word.", timeout=3)
            return (), ()
        return marks

    def _draw(self) -> None:
        """The panes' titles (their keys, which the scroll keys move) and the line under the outputs."""
        keys = {name: self.key_for(name, default) for name, default in (
            ("label_1", "1"), ("label_2", "2"), ("tie", "="), ("reject", "x"), ("differences", "d"),
            ("scroll_target", "tab"))}
        wide = self.has_class("-wide")
        for pane_id, key, place in (("first", keys["label_1"], "left" if wide else "top"),
                                    ("second", keys["label_2"], "right" if wide else "bottom")):
            pane = self.query_one(f"#{pane_id}", DiffText)
            pane.border_title = Text.assemble((f" {key} ", KEY), f" {'first' if pane_id == 'first' else 'second'} "
                                                                 f"({place})")
            pane.set_class(self.target in (pane_id, "outputs"), "-target")
        self.query_one("#task").set_class(self.target == "input", "-target")
        items = [Text.assemble(("Which is better? ", Style(bold=True)), (f"{keys['label_1']}", KEY), " first  ",
                               (f"{keys['label_2']}", KEY), " second  ", (f"{keys['tie']}", KEY), " equal  ",
                               (f"{keys['reject']}", KEY), " both bad")]
        if self.differences:
            items.append(Text.assemble((f"{keys['differences']}", KEY), " differences marked"))
        if self.target != "outputs":
            items.append(Text.assemble((f"{keys['scroll_target']}", KEY), f" scrolling {TARGET_SAID[self.target]}"))
        width = self.query_one("#choices", Static).size.width or self.app.size.width
        update_static(self.query_one("#choices", Static), wrap_items(items, width - 1, gap="  ·  ", indent=" "))

    def on_resize(self, _: Any) -> None:  # (Textual calls the base screen's handler too)
        if self.current_task is not None:  # left/right or top/bottom, the line's wrapping, the input's lines
            self.call_after_refresh(self._draw)
            self.call_after_refresh(self._fit_input)

    # -- keys ---------------------------------------------------------------------------------------------------
    def action_label(self, index: int) -> None:
        if index in (0, 1):
            self.action_choose("left" if index == 0 else "right")
        elif self.current_task is not None:
            self.notify(f"{self.key_for('label_1', '1')}: the first is better, {self.key_for('label_2', '2')}: the "
                        f"second, {self.key_for('tie', '=')}: equally good, {self.key_for('reject', 'x')}: both bad",
                        timeout=3)

    def action_choose(self, choice: str) -> None:
        if self.current_task is None or choice not in ANSWERS:
            return
        self.post_message(self.Answered(ANSWERS[choice], None, {"choice": choice}))

    def action_answer(self, answer: str) -> None:
        if answer == "reject":
            self.action_choose("both-bad")
        elif answer == "ignore":
            super().action_answer(answer)

    def action_differences(self) -> None:
        self.differences = not self.differences
        if self.current_task is not None:
            marks = self._marks() if self.differences else ((), ())
            self.query_one("#first", DiffText).set_marks(marks[0])
            self.query_one("#second", DiffText).set_marks(marks[1])
            self._draw()

    def action_scroll_target(self) -> None:
        self.target = TARGETS[(TARGETS.index(self.target) + 1) % len(TARGETS)]
        self._draw()

    def action_scroll(self, how: str) -> None:
        moved: list[Widget] = {"outputs": [self.query_one("#first"), self.query_one("#second")],
                               "first": [self.query_one("#first")], "second": [self.query_one("#second")],
                               "input": [self.query_one("#text")]}[self.target]
        for widget in moved:
            getattr(widget, f"scroll_{how}")(animate=False)

    def label_help(self) -> dict[str, str]:
        return {"label_1": self.HELP["label_1"], "label_2": self.HELP["label_2"]}

    def active_bindings_help(self) -> list[tuple[str, str]]:
        return [(keys.replace("equals_sign", "="), what) for keys, what in super().active_bindings_help()]
