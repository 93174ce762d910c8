"""Shown when the stream has no more tasks: what was done, and the way out (or back)."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from ..sanitize import one_line
from .annotate import KeyBar


class DoneScreen(Screen[None]):
    CSS_PATH = "done.tcss"
    BINDINGS = [
        Binding("backspace", "undo", "Undo last answer", id="undo"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    class UndoRequested(Message):
        """Back from the summary to the last answered task."""

    def __init__(self, dataset: str, by_answer: dict[str, int], invalid: int, dataset_total: int,
                 note: str | None = None) -> None:
        super().__init__()
        self.dataset, self.by_answer, self.invalid, self.dataset_total = dataset, by_answer, invalid, dataset_total
        self.note = note

    def compose(self) -> ComposeResult:
        total = sum(self.by_answer.values())
        text = Text("No more tasks.\n\n", Style(bold=True))
        text.append(f"This session: {total} answer{'s' if total != 1 else ''}")
        if total:
            text.append(" (" + ", ".join(f"{k} {v}" for k, v in sorted(self.by_answer.items())) + ")")
        text.append("\nDataset ")
        text.append(one_line(self.dataset, 60), Style(bold=True))
        text.append(f": {self.dataset_total} answer{'s' if self.dataset_total != 1 else ''} in all")
        if self.invalid:
            text.append(f"\nInvalid records skipped: {self.invalid}", Style(color="yellow"))
        if self.note:
            text.append(f"\n\n{one_line(self.note, 600)}")
        text.append("\n\nEverything is saved. q quits; backspace goes back to the last answer.", Style(dim=True))
        with Vertical(id="done"):
            yield Static(text, id="summary")
        yield KeyBar()

    def action_undo(self) -> None:
        self.post_message(self.UndoRequested())

    async def action_quit(self) -> None:
        await self.app.action_quit()
