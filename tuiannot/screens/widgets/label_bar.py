"""The label bar of the choice views: each label with its number key, chosen ones marked.

Labels are untrusted text: they are made printable and shown literally (no Rich markup).
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from ...sanitize import one_line


class LabelBar(Static):
    """The labels with their keys and whether each is selected (never markup: labels are data)."""

    DEFAULT_CSS = """
    LabelBar { height: auto; padding: 0 1; }
    """

    def show_labels(self, labels: list[str], selected: set[str], exclusive: bool,
                    keys: dict[str, str] | None = None) -> None:
        """``keys``: the keys that accept, reject and ignore now (a keymap moves them); a, x, space if not given."""
        keys = {"accept": "a", "reject": "x", "ignore": "space", **(keys or {})}
        text = Text()
        for i, label in enumerate(labels):
            key = "0" if i == 9 else str(i + 1)
            on = label in selected
            mark = ("◉" if on else "○") if exclusive else ("☑" if on else "☐")
            text.append(f" {key} ", Style(reverse=True, bold=True))
            text.append(f" {mark} {one_line(label, 40)} ", Style(bold=on, underline=on,
                                                                   color="bright_green" if on else None))
            text.append("  ")
        hint = ("a number picks the label and submits" if exclusive
                else f"numbers toggle labels · {keys['accept']} submits")
        text.append(f"\n {hint} · {keys['reject']} rejects · {keys['ignore']} skips", Style(dim=True))
        self.update(text)
