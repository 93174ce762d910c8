"""The relation list: one row per relation of the current task, numbered as the markers in the text.

A row reads ``▶ 1  Ann Lee PERSON → WORKS_FOR → Acme Corp ORG``: the head's text and label, the relation's label,
the child's text and label. The selected relation (the relation view's ``[``/``]``) has the ``▶`` and is in
reverse video, so it stands out without colour. The list does not take the keys: the screen moves its cursor.
Texts and labels are untrusted: made printable and single-line, the two texts cut to share the width. Rows are
drawn with the Line API, and a key that only moves the selection repaints its old row and its new one.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...sanitize import one_line
from .relation_text import relation_style
from .span_text import mark_style

CURRENT_ROW = Style(reverse=True, bold=True)


@dataclass(frozen=True)
class RelationRow:
    """What a row shows: the head's text and label (and the label's index, for its colour), the relation's label
    and index, the child's text and label."""

    head: str
    head_label: str
    head_index: int
    label: str
    label_index: int
    child: str
    child_label: str
    child_index: int


class RelationList(ScrollView, can_focus=False):
    """The relations of one task as rows, the selected one marked."""

    DEFAULT_CSS = """
    RelationList { height: auto; max-height: 35%; border-top: solid $primary; padding: 0 1;
                   overflow-x: hidden; overflow-y: auto; scrollbar-gutter: stable; scrollbar-size-horizontal: 0; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[RelationRow] = []
        self.selected: int | None = None
        self.empty = "no relations"

    def show(self, rows: list[RelationRow], selected: int | None, empty: str = "no relations") -> None:
        """List ``rows`` (numbered from 1 in the order given); ``selected`` is the index of the selected one."""
        same = rows == self.rows and empty == self.empty
        previous = self.selected
        self.rows, self.empty = rows, empty
        self.selected = selected if selected is not None and 0 <= selected < len(rows) else None
        if not same:
            self.virtual_size = Size(self.scrollable_content_region.width, max(1, len(rows)))
        top = round(self.scroll_offset.y)
        height = max(1, self.scrollable_content_region.height)
        if top > max(0, len(rows) - height):  # fewer rows than before: no blank rows under the last one
            self.scroll_to(y=max(0, len(rows) - height), animate=False)
        if self.selected is not None:
            if self.selected < top:
                self.scroll_to(y=self.selected, animate=False)
            elif self.selected >= top + height:
                self.scroll_to(y=self.selected - height + 1, animate=False)
        if same and round(self.scroll_offset.y) == top:  # only the selection moved: repaint its two rows
            for row in (previous, self.selected):
                if row is not None:
                    self.refresh_lines(row)
        else:
            self.refresh()

    def _row(self, i: int, width: int) -> list[tuple[str, Style | None]]:
        if not self.rows:
            return [(one_line(self.empty, max(1, width)), Style(dim=True, italic=True))]
        row, selected = self.rows[i], i == self.selected
        row_style = CURRENT_ROW if selected else None
        head_badge, child_badge = f" {one_line(row.head_label, 16)} ", f" {one_line(row.child_label, 16)} "
        label = f" → {one_line(row.label, 24)} → "
        number = f"{'▶' if selected else ' '} {i + 1:>{len(str(len(self.rows)))}}  "
        room = max(8, width - cell_len(number) - cell_len(head_badge) - cell_len(child_badge) - cell_len(label) - 2)
        texts = []
        for words, share in ((one_line(row.head, 400), room // 2), (one_line(row.child, 400), room - room // 2)):
            texts.append(words if cell_len(words) <= share else set_cell_size(words, max(1, share - 1)) + "…")
        bold = (row_style or Style()) + Style(bold=True)
        return [
            (number, row_style),
            (texts[0], bold), (" ", row_style), (head_badge, mark_style(row.head_index, False, selected)),
            (label, (row_style or Style()) + relation_style(row.label_index)),
            (texts[1], bold), (" ", row_style), (child_badge, mark_style(row.child_index, False, selected)),
        ]

    def row_texts(self) -> list[str]:
        """Every row as plain text (for tests)."""
        width = self.scrollable_content_region.width or 76
        return ["".join(text for text, _ in self._row(i, width)).rstrip() for i in range(max(1, len(self.rows)))]

    def on_resize(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, max(1, len(self.rows)))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = y + round(self.scroll_offset.y)
        base = self.rich_style
        if index >= max(1, len(self.rows)):
            return Strip.blank(width, base)
        segments = [Segment(text, base + style if style else base) for text, style in self._row(index, width)]
        return Strip(segments).adjust_cell_length(width, base)
