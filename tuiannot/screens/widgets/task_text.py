"""A task's text, and the safe way to put untrusted text on screen.

:class:`TaskText` draws a task's text with Textual's Line API: the text is
made printable (:mod:`tuiannot.sanitize`), wrapped once per width into
character ranges, and only the visible lines are drawn, so a 1 MB text scrolls
as smoothly as a tweet. Keeping character offsets per line is what later lets
spans be drawn over the text.
"""

from __future__ import annotations

import re

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

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
        self.text = printable(text)
        self._wrapped_width = -1
        self._rewrap()
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def _rewrap(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 0 or width == self._wrapped_width:
            return
        self._lines = wrap_offsets(self.text, width)
        self._wrapped_width = width
        self.virtual_size = Size(width, len(self._lines))

    def on_resize(self) -> None:
        self._rewrap()
        self.refresh()

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
        segment_text = self.text[start:end].rstrip(" ") or ""
        return Strip([Segment(segment_text, style)]).adjust_cell_length(width, style)


def safe(text: str, style: str | Style = "", limit: int = 200) -> Text:
    """Untrusted text as a Rich Text: printable, single line, markup shown literally."""
    return Text(one_line(text, limit), style=style)
