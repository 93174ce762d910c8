"""The ``rank`` view: a prompt's responses put in order of preference, from the keyboard.

The prompt and the numbered responses fill the task box (:mod:`.widgets.rank_responses`; it scrolls). Number keys
in order of preference build the ranking, shown as it grows (each response's place beside its number, and the
order on the line under the box): ``3``, ``1``, ``4`` says response 3 is the best, then 1, then 4. ``=`` before a
number ties that response with the one placed before it (``3 1 = 4``: 1 and 4 share the second place); ``=``
again takes the tie back. A number already placed takes that response, and those placed after it, out again (a
correction without starting over); ``c`` clears the ranking. ``a`` submits what is ranked: one number key then
``a`` picks the best and says nothing about the order of the rest (they are all below it). ``x`` says the task
itself is wrong, ``space`` skips, then undo (the previous task, its ranking filled in), help and quit as
everywhere.

Posted: ``Answered("accept", None, {"ranking": [...]})``, best first, each element a response's id (its ``id``,
else its index in the list, from 0) or a list of the ids tied at one place; a reject or a skip posts no ranking.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Static

from .annotate import AnnotationScreen, Progress
from .widgets.label_bar import wrap_items
from .widgets.question import KEY, number_key
from .widgets.rank_responses import RankResponses
from .widgets.task_text import update_static


def response_ids(responses: list[Any]) -> list[Any]:
    """What a ranking stores for each response: its ``id``, else its index in the list (from 0)."""
    return [r["id"] if isinstance(r, dict) and "id" in r else i for i, r in enumerate(responses)]


def _index(ids: list[Any], rid: Any) -> int | None:
    return next((i for i, known in enumerate(ids) if known == rid and type(known) is type(rid)), None)


class RankScreen(AnnotationScreen):
    VIEW_ID = "rank"
    KEY_NAMES = {**AnnotationScreen.KEY_NAMES, "equals_sign": "="}
    HELP: ClassVar[dict[str, str]] = {  # type: ignore[assignment]  # (see AnnotationScreen.HELP)
        **AnnotationScreen.HELP,
        "accept": "submit the ranking (one number key then this: the best, the rest below it)",
        "reject": "reject: the task itself is wrong or unusable (no ranking kept)",
        "tie": "then a number: that response ties with the one placed before it (again: no tie)",
        "clear_ranking": "clear the ranking, to start again",
        "scroll_down": "scroll the prompt and responses down", "scroll_up": "scroll them up",
    }
    BINDINGS = [
        Binding("a", "answer('accept')", "Submit", id="accept"),
        Binding("equals_sign", "tie", "Tie", key_display="=", id="tie"),
        Binding("c", "clear", "Clear", id="clear_ranking"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order: list[tuple[int, bool]] = []  # (response index, tied with the one before), best first
        self.tie_next = False
        self.ids: list[Any] = []

    def text_widget(self) -> Widget:
        return RankResponses(id="text")

    @property
    def tiers(self) -> list[list[int]]:
        """The ranking as places, best first: each the indices of the responses placed there."""
        tiers: list[list[int]] = []
        for index, tied in self.order:
            if tied and tiers:
                tiers[-1].append(index)
            else:
                tiers.append([index])
        return tiers

    def ranking(self) -> list[Any]:
        """What is stored: a tier of one as the response's id, a tie as the list of ids."""
        return [self.ids[t[0]] if len(t) == 1 else [self.ids[i] for i in t] for t in self.tiers]

    # -- showing ------------------------------------------------------------------------------------------------
    def show_loading(self, message: str = "Loading the next task…") -> None:
        self.current_task, self.waiting = None, True
        self.query_one(RankResponses).show_message(message)
        for wid in ("#meta", "#question", "#previous"):
            update_static(self.query_one(wid, Static), "")

    def show_task(self, task: dict[str, Any], progress: Progress) -> None:
        responses = task.get("responses")
        self.ids = response_ids(responses if isinstance(responses, list) else [])
        self.order, self.tie_next = self._given(task.get("ranking")), False
        super().show_task(task, progress)

    def _given(self, ranking: Any) -> list[tuple[int, bool]]:
        """A ranking the task has (after an undo, or brought by the source) as the order; none if it is not one of
        the task's responses' ids each once."""
        order: list[tuple[int, bool]] = []
        for element in ranking if isinstance(ranking, list) else []:
            for n, rid in enumerate(element if isinstance(element, list) else [element]):
                index = _index(self.ids, rid)
                if index is None or any(index == i for i, _ in order):
                    return []
                order.append((index, n > 0))
        return order

    def show_text(self, task: dict[str, Any]) -> None:
        self.query_one(RankResponses).show(task, self.tiers)

    def show_question(self, task: dict[str, Any]) -> None:
        self._draw()

    def _draw(self) -> None:
        self.query_one(RankResponses).show_places(self.tiers)
        said = Text("ranking: ", Style(bold=True))
        if self.order:
            for n, tier in enumerate(self.tiers):
                said.append(" › " if n else "")
                said.append(" = ".join(number_key(i) for i in tier), Style(bold=True))
            said.append(" = ?" if self.tie_next else (" › …" if len(self.order) < len(self.ids) else ""))
        else:
            said.append("nothing yet", Style(dim=True))
        items = [said]
        if not self.short:
            keys = {name: self.key_for(name, default) for name, default in
                    (("accept", "a"), ("tie", "="), ("clear_ranking", "c"))}
            last = number_key(len(self.ids) - 1) if self.ids else "1"
            items += [Text.assemble((f" 1-{last} ", KEY), " best first"),
                      Text.assemble((f" {keys['tie']} ", KEY), " ties the next with the one before"),
                      Text.assemble((f" {keys['accept']} ", KEY), " submits (one key, then this: the best)"),
                      Text.assemble((f" {keys['clear_ranking']} ", KEY), " clears")]
        width = self.query_one("#question", Static).size.width or self.app.size.width
        update_static(self.query_one("#question", Static), wrap_items(items, width - 2, gap="   "))

    def on_resize(self, _: Any) -> None:  # (Textual calls the base screen's handler too)
        if self.current_task is not None:
            self.call_after_refresh(self._draw)

    # -- keys ---------------------------------------------------------------------------------------------------
    def action_label(self, index: int) -> None:
        if self.current_task is None:
            return
        if index >= len(self.ids):
            self.notify(f"This task has {len(self.ids)} responses: keys 1-{number_key(len(self.ids) - 1)}.", timeout=3)
            return
        placed = [i for i, _ in self.order]
        if index in placed:  # placed already: it, and those placed after it, come out again
            self.order = self.order[:placed.index(index)]
        else:
            self.order.append((index, self.tie_next and bool(self.order)))
        self.tie_next = False
        self._draw()

    def action_tie(self) -> None:
        if self.current_task is None:
            return
        if not self.order:
            self.notify("= ties the next response with the one placed before it: place one first.", timeout=3)
            return
        self.tie_next = not self.tie_next
        self._draw()

    def action_clear(self) -> None:
        if self.current_task is not None:
            self.order, self.tie_next = [], False
            self._draw()

    def action_answer(self, answer: str) -> None:
        if self.current_task is None:
            return
        if answer != "accept":
            self.post_message(self.Answered(answer, None, None))
        elif not self.order:
            self.notify(f"Nothing ranked: press the number of the best response first ({self.key_for('reject', 'x')}"
                        f": the task is wrong, {self.key_for('ignore', 'space')}: skip).", timeout=3)
        else:
            self.post_message(self.Answered("accept", None, {"ranking": self.ranking()}))

    def label_help(self) -> dict[str, str]:
        return {f"label_{number_key(i)}": f"place response {number_key(i)} next (placed: take it and those after "
                                          "it out)" for i in range(10)}

    def active_bindings_help(self) -> list[tuple[str, str]]:
        return [(keys.replace("equals_sign", "="), what) for keys, what in super().active_bindings_help()]
