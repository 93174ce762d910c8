"""One question of the feedback view, and the two answered with the number keys: a rating and a choice of labels.

:class:`QuestionWidget` is what every question of :class:`~tuiannot.screens.feedback.FeedbackScreen` is: a
header line (a ``▶`` and a thick bar at the left when it is the focused question, its title or name, ``*``
when required, what it holds so far) and its body. The screen sends it the keys that answer it (number keys,
``c`` to clear, the span and rating moves) and asks it for :meth:`~QuestionWidget.value` (what is stored) and
:meth:`~QuestionWidget.answered`. The settings are those of :mod:`tuiannot.recipes.questions` as plain
JSON; names, titles and labels are untrusted text, made printable and never read as markup. The other kinds
are in :mod:`.text_question`, :mod:`.span_question` and :mod:`.ranking_question`.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ...sanitize import one_line
from .label_bar import wrap_items
from .task_text import update_static

KEY = Style(reverse=True, bold=True)
DIM = Style(dim=True)


def number_key(index: int) -> str:
    """The key of the ``index``-th choice (from 0): 1-9, then 0."""
    return "0" if index == 9 else str(index + 1)


class QuestionWidget(Vertical):
    """A question: its header line and body; subclasses draw the body and keep the answer."""

    DEFAULT_CSS = """
    QuestionWidget { height: auto; border-left: blank; padding: 0 1 0 0; }
    QuestionWidget.-focused { border-left: thick $accent; background: $boost; }
    QuestionWidget > .question--line { height: auto; }
    """
    KIND = ""

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__()
        self.settings = settings
        self.question = str(settings["name"])
        self.required = bool(settings.get("required"))
        self.focused_question = False
        self.current_task: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield Static("", classes="question--line question--header")
        yield from self.body()

    def body(self) -> ComposeResult:
        yield Static("", classes="question--line question--body")

    # -- what the screen calls ----------------------------------------------------------------------------------
    def load(self, task: dict[str, Any], value: Any) -> None:
        """Show ``task``'s question with ``value`` (a stored or given answer; None: unanswered) filled in."""
        self.current_task = task
        self.set_value(value)
        self.redraw()

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def value(self) -> Any:
        """What is stored under the question's name in ``answers``."""
        raise NotImplementedError

    def answered(self) -> bool:
        raise NotImplementedError

    def number(self, index: int) -> str | None:
        """Number key ``index`` (0 for 1, ..., 9 for 0); a message to show when it does nothing here."""
        return None

    def clear(self) -> None:
        self.set_value(None)
        self.redraw()

    def set_focus_mark(self, focused: bool) -> None:
        if focused != self.focused_question:
            self.focused_question = focused
            self.set_class(focused, "-focused")
            self.redraw()

    # -- drawing -------------------------------------------------------------------------------------------------
    def on_resize(self) -> None:
        self.draw_body()  # labels wrap by item: again for the new width

    def redraw(self) -> None:
        update_static(self.query_one(".question--header", Static), self.header())
        self.draw_body()

    def draw_body(self) -> None:
        update_static(self.query_one(".question--body", Static), self.body_text())

    def body_text(self) -> Text:
        return Text()

    def hint(self) -> str:
        """What the keys do here (dim, after the name)."""
        return ""

    def status(self) -> str:
        """What it holds so far, said in words (after the hint)."""
        return ""

    def header(self) -> Text:
        title = self.settings.get("title") or self.question
        text = Text("▶ " if self.focused_question else "  ", Style(bold=True))
        text.append(one_line(str(title), 80), Style(bold=True, underline=self.focused_question))
        if self.required:
            text.append(" *", Style(bold=True))
        if self.settings.get("title"):
            text.append(f"  ({one_line(self.question, 40)})", DIM)
        hint = self.hint()
        if hint:
            text.append(f"  {hint}", DIM)
        status = self.status()
        if status:
            text.append(f"  {status}", Style(italic=True))
        return text

    @property
    def line_width(self) -> int:
        return self.query_one(".question--header", Static).content_region.width or self.app.size.width - 4


class RatingQuestion(QuestionWidget):
    """A rating from 1 to its ``scale`` (2-10): a number key gives it (0 is 10), left/right move it."""

    KIND = "rating"

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        self.scale = int(settings["scale"])
        self.rating: int | None = None

    def set_value(self, value: Any) -> None:
        self.rating = value if isinstance(value, int) and not isinstance(value, bool) \
            and 1 <= value <= self.scale else None

    def value(self) -> int | None:
        return self.rating

    def answered(self) -> bool:
        return self.rating is not None

    def number(self, index: int) -> str | None:
        if index >= self.scale:
            return f"{one_line(self.question, 40)} is rated 1 to {self.scale}"
        self.rating = index + 1
        self.redraw()
        return None

    def step(self, by: int) -> None:
        self.rating = min(self.scale, max(1, (self.rating or (0 if by > 0 else self.scale + 1)) + by))
        self.redraw()

    def hint(self) -> str:
        return f"rate 1-{number_key(self.scale - 1)}" + (" (0 is 10)" if self.scale == 10 else "")

    def status(self) -> str:
        return f"{self.rating}/{self.scale}" if self.rating is not None else ""

    def body_text(self) -> Text:
        text = Text("  ")
        for value in range(1, self.scale + 1):
            chosen = value == self.rating
            text.append(f" {value} ", KEY if chosen else Style(bold=True, dim=self.rating is not None))
            text.append(" ")
        return text


class LabelQuestion(QuestionWidget):
    """Labels on the number keys: with ``multiple`` each key toggles its label, else it picks that one."""

    KIND = "label"

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        self.labels = [str(label) for label in settings["labels"]]
        self.multiple = bool(settings.get("multiple"))
        self.chosen: list[str] = []

    def set_value(self, value: Any) -> None:
        chosen = [str(v) for v in value if str(v) in self.labels] if isinstance(value, list) else []
        self.chosen = chosen if self.multiple else chosen[:1]

    def value(self) -> list[str]:
        return [label for label in self.labels if label in self.chosen]  # in the file's order

    def answered(self) -> bool:
        return bool(self.chosen)

    def number(self, index: int) -> str | None:
        if index >= len(self.labels):
            return f"{one_line(self.question, 40)} has {len(self.labels)} labels"
        label = self.labels[index]
        if not self.multiple:
            self.chosen = [label]
        elif label in self.chosen:
            self.chosen.remove(label)
        else:
            self.chosen.append(label)
        self.redraw()
        return None

    def hint(self) -> str:
        keys = f"1-{len(self.labels)}" if len(self.labels) > 1 else "1"
        return f"{keys} toggle labels" if self.multiple else f"{keys} choose one"

    def body_text(self) -> Text:
        items = []
        for i, label in enumerate(self.labels):
            on = label in self.chosen
            mark = ("☑" if on else "☐") if self.multiple else ("◉" if on else "○")
            items.append(Text.assemble((f" {number_key(i)} ", KEY),
                                       (f" {mark} {one_line(label, 40)}", Style(bold=on, underline=on))))
        return wrap_items(items, self.line_width - 2, "   ", indent="  ")
