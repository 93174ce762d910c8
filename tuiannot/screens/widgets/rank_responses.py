"""The prompt and its numbered responses in the rank view, each with its place in the ranking as it grows.

A ranking here is a list of tiers, best first: each tier the indices (from 0) of responses the annotator put at
the same place (a tie), so ``[[2], [0, 3]]`` is response 3 (key ``3``) first, then 1 and 4 tied. Each response is
drawn under a header line: its number key, its place (``1st``, ``2nd, tied``; a dot until placed, and dimmed
once others are placed), and its text, whole and wrapped (the box scrolls with the screen's scroll keys). The
prompt and the responses are untrusted text: made printable (tabs and line breaks kept) and drawn as text, never
read as markup. Ten slots are made once (the most responses a task may have: the number keys); a task uses the
first ones and hides the rest.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from .question import KEY, number_key
from .task_fields import editable
from .task_text import update_static

SLOTS = 10


def response_text(response: Any) -> str:
    return str(response.get("text", "")) if isinstance(response, dict) else str(response)


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def places(tiers: list[list[int]]) -> dict[int, tuple[int, bool]]:
    """Response index -> (its place from 1, tied with another): a tie of two at 2nd puts the next at 4th."""
    found: dict[int, tuple[int, bool]] = {}
    place = 1
    for tier in tiers:
        for index in tier:
            found[index] = (place, len(tier) > 1)
        place += len(tier)
    return found


class RankResponses(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    RankResponses { height: 1fr; padding: 0 1; }
    RankResponses > .rank--name { height: 1; text-style: bold; }
    RankResponses > .rank--value { height: auto; margin: 0 0 1 0; }
    RankResponses > .rank--value.-unplaced { text-style: dim; }
    RankResponses > #rank-message { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.responses: list[Any] = []
        self.shown: list[str] = []  # the text drawn for each response (for tests)

    def compose(self) -> ComposeResult:
        yield Static("", id="rank-message")
        yield Static(Text("prompt", Style(bold=True)), classes="rank--name rank-prompt")
        yield Static("", classes="rank--value rank-prompt", id="rank-prompt")
        for i in range(SLOTS):
            yield Static("", classes=f"rank--name rank-{i}", id=f"rank-head-{i}")
            yield Static("", classes=f"rank--value rank-{i}", id=f"rank-text-{i}")

    def show_message(self, message: str) -> None:
        update_static(self.query_one("#rank-message", Static), Text(message))
        self.query_one("#rank-message").display = True
        for widget in self.query(".rank--name, .rank--value"):
            widget.display = False
        self.responses, self.shown = [], []

    def show(self, task: dict[str, Any], tiers: list[list[int]]) -> None:
        """Draw ``task``'s prompt and responses, placed as ``tiers`` say; scrolled to the top."""
        self.query_one("#rank-message").display = False
        for widget in self.query(".rank-prompt"):
            widget.display = True
        update_static(self.query_one("#rank-prompt", Static), Text(editable(str(task.get("prompt", "")))))
        responses = task.get("responses")
        self.responses = list(responses)[:SLOTS] if isinstance(responses, list) else []
        self.shown = [editable(response_text(r)) for r in self.responses]
        for i in range(SLOTS):
            for widget in self.query(f".rank-{i}"):
                widget.display = i < len(self.responses)
            if i < len(self.responses):
                update_static(self.query_one(f"#rank-text-{i}", Static), Text(self.shown[i]))
        self.show_places(tiers)
        self.scroll_to(0, 0, animate=False)

    def show_places(self, tiers: list[list[int]]) -> None:
        """Redraw each response's header with its place (the texts stay as they are)."""
        placed = places(tiers)
        for i in range(len(self.responses)):
            head = Text.assemble((f" {number_key(i)} ", KEY), " ")
            if i in placed:
                place, tied = placed[i]
                head.append(f"{ordinal(place)}{', tied' if tied else ''}", Style(bold=True))
            else:
                head.append("·", Style(dim=True))
            update_static(self.query_one(f"#rank-head-{i}", Static), head)
            self.query_one(f"#rank-text-{i}").set_class(bool(placed) and i not in placed, "-unplaced")
