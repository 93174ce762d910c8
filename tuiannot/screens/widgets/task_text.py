"""A task's text, and the safe way to put untrusted text on screen.

:class:`TaskText` draws a task's text with Textual's Line API: the text is
made printable (:mod:`tuiannot.sanitize`), wrapped once per width into
character ranges, and only the visible lines are drawn, so a 1 MB text scrolls
as smoothly as a tweet. Keeping character offsets per line is what later lets
spans be drawn over the text.

Each key redraws only what changed (issue 15): a new text repaints only the rows
whose words differ, and a short text after a short one changes the scroll size
quietly (:func:`set_virtual_size`), which would otherwise lay the screen out and
repaint the whole box. :func:`update_static` does the same for the lines around
the text (question, progress, meta): nothing when the content is the same, no
layout when its height stays.
"""

from __future__ import annotations

import re
from typing import Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.visual import VisualType
from textual.widget import Widget
from textual.widgets import Static

from ...sanitize import one_line, printable

_TOKEN = re.compile(r"\S+\s*|\s+")


def wrap_offsets(text: str, width: int) -> list[tuple[int, int]]:
    """Greedy word wrap of ``text`` at ``width`` cells, as (start, end) character ranges.

    Hard line breaks (``\\n``) end a line; a word longer than the width is
    split across lines; trailing spaces stay on their line.
    """
    width = max(1, width)
    lines: list[tuple[int, int]] = []
    pos = 0
    for hard in text.split("\n"):
        end_of_hard = pos + len(hard)
        if not hard:
            lines.append((pos, pos))
        elif (hard.isascii() and len(hard) <= width) or (not hard.isascii() and cell_len(hard) <= width):
            lines.append((pos, end_of_hard))
        else:
            ascii_only = hard.isascii()
            start, used = pos, 0
            for m in _TOKEN.finditer(hard):
                word = m.group()
                visible = word.rstrip()
                w = len(visible) if ascii_only else cell_len(visible)
                if used and used + w > width:
                    lines.append((start, pos + m.start()))
                    start, used = pos + m.start(), 0
                if w > width:  # a word longer than a line: split it where the cells run out
                    base = pos + m.start()
                    cells = used
                    for j, ch in enumerate(visible):
                        c = 1 if ascii_only else cell_len(ch)
                        if cells and cells + c > width:
                            lines.append((start, base + j))
                            start, cells = base + j, 0
                        cells += c
                    used = cells + (len(word) - len(visible))
                    continue
                used += w + (len(word) - len(visible))
            lines.append((start, end_of_hard))
        pos = end_of_hard + 1
    return lines


class TaskText(ScrollView, can_focus=False):
    """The task's text: printable, wrapped, scrollable, drawn a line at a time."""

    DEFAULT_CSS = """
    TaskText { height: 1fr; scrollbar-gutter: stable; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = ""
        self._lines: list[tuple[int, int]] = []
        self._wrapped_width = -1

    def set_text(self, text: str) -> None:
        before = self._rows() if self.scroll_offset.y == 0 else None  # scrolled: every row moves
        self.text = printable(text)
        self._wrapped_width = -1
        self._rewrap()
        self.scroll_to(0, 0, animate=False)
        after = self._rows()
        if before is None or after is None:
            self.refresh()
        else:  # (a new scroll height has repainted it all already)
            refresh_rows(self, before, after)

    def _rows(self) -> list[str] | None:
        """What each row on screen shows (None before the first layout)."""
        if self._wrapped_width != self.scrollable_content_region.width or self._wrapped_width <= 0:
            return None
        top = round(self.scroll_offset.y)
        return [self.text[s:e].rstrip(" ") for s, e in self._lines[top:top + self.scrollable_content_region.height]]

    def _rewrap(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 0 or width == self._wrapped_width:
            return
        self._lines = wrap_offsets(self.text, width)
        self._wrapped_width = width
        set_virtual_size(self, Size(width, len(self._lines)))

    class Resized(Message):
        """The text's box changed size (a bar below it wrapped onto two lines, say): how much of the text is out of
        sight may have changed, its width and so its lines not."""

    def on_resize(self) -> None:
        self._rewrap()
        self.refresh()
        self.post_message(self.Resized())

    @property
    def line_count(self) -> int:
        return len(self._lines)

    def visible_text(self) -> str:
        """The lines now on screen (for tests and the benchmark)."""
        top = round(self.scroll_offset.y)
        return "\n".join(self.text[s:e] for s, e in self._lines[top:top + self.scrollable_content_region.height])

    def render_line(self, y: int) -> Strip:
        if self._wrapped_width != self.scrollable_content_region.width:
            self._rewrap()
        index = y + round(self.scroll_offset.y)
        style = self.rich_style
        width = self.scrollable_content_region.width
        if index >= len(self._lines):
            return Strip.blank(width, style)
        start, end = self._lines[index]
        end = start + len(self.text[start:end].rstrip(" "))
        return Strip(self.line_segments(start, end, style)).adjust_cell_length(width, style)

    def line_segments(self, start: int, end: int, style: Style) -> list[Segment]:
        """How the characters ``start:end`` of the text (a row on screen, its trailing spaces left out) are drawn:
        plainly here; :class:`~.diff_text.DiffText` marks the words that differ."""
        return [Segment(self.text[start:end], style)]


def set_virtual_size(widget: ScrollView, size: Size) -> None:
    """Give ``widget`` its new scroll size. When the text fitted the view before and fits it now, nothing on
    screen depends on the size (no scroll bar, nothing above or below): it is set quietly, without the layout
    and the repaint of the whole widget that setting it costs otherwise."""
    old = widget.virtual_size
    if old.width == size.width and max(old.height, size.height) <= widget.scrollable_content_region.height:
        widget.set_reactive(ScrollView.virtual_size, size)
    else:
        widget.virtual_size = size


def refresh_rows(widget: Widget, before: Sequence[object], after: Sequence[object]) -> None:
    """Repaint the rows of ``widget`` (from the top of its view) whose content differs between ``before`` and
    ``after``, not the whole widget."""
    width = widget.size.width
    for row in range(max(len(before), len(after))):
        if row >= len(before) or row >= len(after) or before[row] != after[row]:
            widget.refresh(Region(0, row, width, 1))


def layout_for(widget: Static, content: VisualType) -> bool | None:
    """What ``widget.update(content)`` needs: None when the widget shows ``content`` already (nothing to
    redraw), else whether the screen must be laid out again: only when the widget's height may change (another
    number of lines, or a line too long for the width, which wraps)."""
    old = widget.content
    if type(old) is type(content) and old == content:
        if not isinstance(old, Text) or not isinstance(content, Text) or \
                (old.style, old.end) == (content.style, content.end):
            return None
    width = widget.size.width
    heights = [text_height(c, width) for c in (old, content)]
    return heights[0] is None or heights[0] != heights[1]


def text_height(content: VisualType, width: int) -> int | None:
    """The lines ``content`` takes at ``width`` cells when none wraps; None when unsure."""
    if isinstance(content, Text):
        plain = content.plain
    elif isinstance(content, str):
        plain = content
    else:
        return None
    lines = plain.split("\n")
    if width <= 0 or any((len(line) if line.isascii() else cell_len(line)) > width for line in lines):
        return None
    return len(lines)


def update_static(widget: Static, content: VisualType) -> None:
    """``widget.update(content)``, skipped when it shows that already, without a layout when its height stays."""
    layout = layout_for(widget, content)
    if layout is not None:
        widget.update(content, layout=layout)


def safe(text: str, style: str | Style = "", limit: int = 200) -> Text:
    """Untrusted text as a Rich Text: printable, single line, markup shown literally."""
    return Text(one_line(text, limit), style=style)
