"""The label bar of the choice views: each label with its number key, chosen ones marked.

Labels are untrusted text: they are made printable and shown literally (no Rich markup). The bar wraps by
item (:func:`wrap_items`): a label never parts from its key, nor a hint from its key, when the terminal is
narrow; it is laid out again for each width. Under a short terminal the screen leaves the hint line out
(the text comes first; ``?`` lists the keys). A toggle repaints the bar without laying the screen out again.

A label the session describes (``--labels-file``: its description and example) has the description after it,
dim, cut to the width (a line a label for up to four labels, two labels a line beyond) so that the labels stay on
few lines (the help and ``g`` show it whole); a short terminal leaves it out with the hint line.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.events import Resize
from textual.visual import VisualType
from textual.widgets import Static

from ...sanitize import one_line
from .task_text import layout_for


def wrap_items(items: list[Text], width: int, gap: str | Text = "  ", indent: str = "") -> Text:
    """``items`` on as few lines of ``width`` cells as they fit, ``gap`` between them, a line broken only
    between items (an item wider than a line has one to itself, and the widget wraps it); ``indent`` starts
    each line. ``width`` 0 or less: one line."""
    gap = gap if isinstance(gap, Text) else Text(gap)
    text = Text(indent)
    used = cell_len(indent)
    for i, item in enumerate(items):
        size = item.cell_len
        if i and width > 0 and used + gap.cell_len + size > width:
            text.append("\n" + indent)
            used = cell_len(indent)
        elif i:
            text.append_text(gap)
            used += gap.cell_len
        text.append_text(item)
        used += size
    return text


class LabelBar(Static):
    """The labels with their keys and whether each is selected (never markup: labels are data)."""

    DEFAULT_CSS = """
    LabelBar { height: auto; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._shown: tuple[list[str], set[str], bool, dict[str, str], bool, dict[str, str]] | None = None

    def show_labels(self, labels: list[str], selected: set[str], exclusive: bool,
                    keys: dict[str, str] | None = None, hint: bool = True,
                    notes: dict[str, str] | None = None) -> None:
        """``keys``: the keys that accept, reject and ignore now (a keymap moves them); a, x, space if not given.
        ``hint``: the line saying what the keys do (left out where the terminal is short). ``notes``: label ->
        its description (untrusted text), shown after it where there is room (with the hint)."""
        keys = {"accept": "a", "reject": "x", "ignore": "space", **(keys or {})}
        self._shown = (labels, selected, exclusive, keys, hint, notes or {})
        self._draw()

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        self._shown = None  # something else is shown now: nothing to lay out again on a resize
        super().update(content, layout=layout)

    def on_resize(self, event: Resize) -> None:
        if self._shown is not None:
            self._draw()

    def _draw(self) -> None:
        assert self._shown is not None
        labels, selected, exclusive, keys, hint, notes = self._shown
        width = self.scrollable_content_region.width  # 0 before the first layout: one line until the resize
        items = []
        for i, label in enumerate(labels):
            key = "0" if i == 9 else str(i + 1)
            on = label in selected
            mark = ("◉" if on else "○") if exclusive else ("☑" if on else "☐")
            item = Text.assemble((f" {key} ", Style(reverse=True, bold=True)),
                                 (f" {mark} {one_line(label, 40)}", Style(bold=on, underline=on,
                                                                         color="bright_green" if on else None)))
            per_line = 1 if len(labels) <= 4 else 2  # few labels: one a line, many: two (and their notes)
            room = min(80, ((width or 80) - 3 * (per_line - 1)) // per_line - item.cell_len - 3)
            if hint and notes.get(label) and room >= 8:
                item.append(f" – {one_line(notes[label], room)}", Style(dim=True, italic=True))
            items.append(item)
        text = wrap_items(items, width, "   ")
        if hint:
            says = (["a number picks the label and submits"] if exclusive
                    else ["numbers toggle labels", f"{keys['accept']} submits"])
            says += [f"{keys['reject']} rejects", f"{keys['ignore']} skips"]
            line = wrap_items([Text(s) for s in says], width, " · ", indent=" ")
            line.stylize(Style(dim=True))
            text.append("\n")
            text.append_text(line)
        layout = layout_for(self, text)  # a toggled label: one line repainted, no layout
        if layout is not None:
            Static.update(self, text, layout=layout)
