"""``?``: every key of the current screen, the labels' descriptions and examples (``--labels-file``), and how to
leave.

The box scrolls when the terminal is small; its bottom border always says how to leave (the last line may be
out of sight, and without colour so is the scroll bar)."""

from __future__ import annotations

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ..sanitize import one_line

KEY_NAMES = {"space": "space", "backspace": "backspace", "question_mark": "?", "pagedown": "page down",
             "pageup": "page up", "escape": "esc", "equals_sign": "="}


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="close_help")]

    def __init__(self, rows: list[tuple[str, str]], labels: list[tuple[str, str]] | None = None) -> None:
        super().__init__()
        self.rows = rows
        self.labels = labels or []  # (label, its description and example): untrusted, shown printable

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 2))
        table.add_column(style=Style(bold=True))
        table.add_column()
        for key, description in self.rows:
            shown = ", ".join(KEY_NAMES.get(k.strip(), k.strip()) for k in key.split(","))
            table.add_row(Text(shown), Text(one_line(description, 300), overflow="fold"))  # wrapped, not cut
        with Vertical(id="help") as box:
            box.border_subtitle = "esc closes"
            yield Static(Text("Keys", Style(bold=True)))
            yield Static(table)
            if self.labels:
                described = Table(box=None, show_header=False, padding=(0, 2))
                described.add_column(style=Style(bold=True))
                described.add_column()
                for label, note in self.labels:
                    described.add_row(Text(one_line(label, 40)), Text(one_line(note, 400), overflow="fold"))
                yield Static(Text("Labels", Style(bold=True)))
                yield Static(described)
            yield Static(Text("Every answer is saved the moment you give it. esc closes this help.",
                              Style(dim=True)))

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss()
