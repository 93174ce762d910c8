"""A ranking question of the feedback view: the items of a list field put in order of preference.

The number keys name the items from the most preferred down: ``2``, ``3``, ``1`` says item 2 is best, then
3, then 1. The order is shown as it grows (each item's place beside it, and the order in words); once one
item is left it takes the last place by itself. A key of an item already placed takes it, and the items
after it, out again (a correction without starting over); ``c`` clears the order. Stored: the items from the
most preferred, by their ``id`` where every item has one, else by their index in the list (from 0).
Items are untrusted text: printable, one line each here (the task box above shows them whole).
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text

from ...sanitize import one_line
from .question import KEY, QuestionWidget, number_key


def item_text(item: Any) -> str:
    return str(item.get("text", "")) if isinstance(item, dict) else str(item)


def _ordinal(n: int) -> str:
    return f"{n}{'st' if n == 1 else 'nd' if n == 2 else 'rd' if n == 3 else 'th'}"


class RankingQuestion(QuestionWidget):
    KIND = "ranking"

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        self.field = str(settings.get("field"))
        self.items: list[Any] = []
        self.order: list[int] = []  # indices into items, the most preferred first

    def load(self, task: dict[str, Any], value: Any) -> None:
        items = task.get(self.field)
        self.items = list(items) if isinstance(items, list) else []
        super().load(task, value)

    def ids(self) -> list[Any]:
        """What is stored for each item (as :func:`tuiannot.recipes.questions.ranking_ids` decides)."""
        if self.items and all(isinstance(i, dict) and isinstance(i.get("id"), (str, int))
                              and not isinstance(i.get("id"), bool) for i in self.items):
            return [i["id"] for i in self.items]
        return list(range(len(self.items)))

    def set_value(self, value: Any) -> None:
        ids = self.ids()
        self.order = []
        for v in value if isinstance(value, list) else []:
            if v in ids and ids.index(v) not in self.order:
                self.order.append(ids.index(v))

    def value(self) -> list[Any]:
        ids = self.ids()
        return [ids[i] for i in self.order]

    def answered(self) -> bool:
        return len(self.items) > 0 and len(self.order) == len(self.items)

    def number(self, index: int) -> str | None:
        if index >= len(self.items):
            return f"{one_line(self.question, 40)} ranks {len(self.items)} items"
        if index in self.order:  # placed already: it and those after it come out again
            self.order = self.order[:self.order.index(index)]
        else:
            self.order.append(index)
            if len(self.order) == len(self.items) - 1:  # one left: it is last
                self.order += [i for i in range(len(self.items)) if i not in self.order]
        self.redraw()
        return None

    def hint(self) -> str:
        return f"1-{len(self.items)} in order of preference, best first · c clears"

    def status(self) -> str:
        if not self.order:
            return ""
        return "order: " + " › ".join(number_key(i) for i in self.order) + ("" if self.answered() else " …")

    def body_text(self) -> Text:
        text = Text()
        width = max(20, self.line_width - 14)
        for i, item in enumerate(self.items):
            if i:
                text.append("\n")
            place = self.order.index(i) + 1 if i in self.order else None
            text.append("  ")
            text.append(f" {number_key(i)} ", KEY)
            text.append(f" {_ordinal(place):>4} " if place else "   ·  ", Style(bold=place is not None))
            text.append(one_line(item_text(item), width), Style(dim=place is None and bool(self.order)))
        return text
