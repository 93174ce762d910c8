"""One output of a blind comparison in a box of its own, and the words in which two outputs differ.

:class:`DiffText` is a :class:`~.task_text.TaskText` (printable, wrapped once per width, drawn a line at a time,
so a long output scrolls as smoothly as a short one) whose border says how many lines are above and below what
is shown (the scroll bar alone is a colour, lost under ``NO_COLOR``), and which can mark character ranges: the
words that differ from the other output when the compare view's differences are on. Marked words are drawn
bold and underlined (and in a colour where there is colour), so ``NO_COLOR`` keeps them apart too.

:func:`word_diff` compares two texts word by word (difflib's ``SequenceMatcher`` over the words, without its
junk heuristic, which would treat frequent words as noise): the ranges of each text's words that the other text
does not have at that place. It is given the texts as the widgets draw them (:func:`~tuiannot.sanitize.printable`,
so the ranges are those of what is on screen; what is compared is never sent to the terminal raw). Texts of
more than :data:`MAX_DIFF_WORDS` words are not compared (None): the matcher's time grows with the product of
the lengths, and a key must not wait for it.
"""

from __future__ import annotations

import bisect
import re
from difflib import SequenceMatcher
from typing import Iterable

from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from .task_text import TaskText

MAX_DIFF_WORDS = 20_000
MARK = Style(bold=True, underline=True, color="yellow")
"""A word that differs: bold and underlined, so that it stands out without colour too."""
_WORD = re.compile(r"\S+")

Ranges = list[tuple[int, int]]


def word_diff(first: str, second: str) -> tuple[Ranges, Ranges] | None:
    """The character ranges of the words of ``first`` and of ``second`` that differ (replaced, deleted or
    inserted), each list in order; None when either text has more than :data:`MAX_DIFF_WORDS` words."""
    words = [[(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)] for text in (first, second)]
    if max(len(words[0]), len(words[1])) > MAX_DIFF_WORDS:
        return None
    matcher = SequenceMatcher(None, [w for _, _, w in words[0]], [w for _, _, w in words[1]], autojunk=False)
    marks: tuple[Ranges, Ranges] = ([], [])
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for side, (lo, hi) in enumerate(((i1, i2), (j1, j2))):
            if hi > lo:  # a run of changed words is one range, the spaces between them included
                marks[side].append((words[side][lo][0], words[side][hi - 1][1]))
    return marks


class DiffText(TaskText):
    """An output: printable, wrapped, scrollable, with marked ranges; its border counts the lines out of view."""

    DEFAULT_CSS = """
    DiffText { height: 1fr; width: 1fr; border: round $primary 60%; border-title-align: left;
               border-subtitle-align: right; scrollbar-gutter: stable; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.marks: Ranges = []
        self._mark_ends: list[int] = []
        self._more: str | None = None

    def on_mount(self) -> None:
        for reactive in ("scroll_y", "virtual_size"):
            self.watch(self, reactive, self._show_more, init=False)

    def set_text(self, text: str, marks: Iterable[tuple[int, int]] = ()) -> None:
        """Show ``text`` (made printable here) with ``marks``, ranges of the printable text, drawn marked."""
        restyled = self._set_marks(marks)
        super().set_text(text)
        if restyled:
            self.refresh()  # (TaskText repaints the rows whose words changed: marks change the style alone)
        self.call_after_refresh(self._show_more)

    def set_marks(self, marks: Iterable[tuple[int, int]]) -> None:
        if self._set_marks(marks):
            self.refresh()

    def _set_marks(self, marks: Iterable[tuple[int, int]]) -> bool:
        marks = sorted((s, e) for s, e in marks if e > s)
        if marks == self.marks:
            return False
        self.marks = marks
        self._mark_ends = [e for _, e in marks]
        return True

    def marked_words(self) -> list[str]:
        """The marked parts of the text (for tests)."""
        return [self.text[s:e] for s, e in self.marks]

    def _show_more(self) -> None:
        above = round(self.scroll_y)
        below = max(0, round(self.max_scroll_y) - above)
        parts = ([f"↑ {above} line{'s' if above != 1 else ''} above"] if above else []) + \
            ([f"{below} more line{'s' if below != 1 else ''} ↓"] if below else [])
        said = " · ".join(parts) or None
        if said != self._more:
            self._more = said
            self.border_subtitle = Text(said) if said else None

    def line_segments(self, start: int, end: int, style: Style) -> list[Segment]:
        if not self.marks:
            return super().line_segments(start, end, style)
        segments: list[Segment] = []
        at = start
        marked = style + MARK
        for s, e in self.marks[bisect.bisect_right(self._mark_ends, start):]:
            if s >= end:
                break
            s, e = max(s, start), min(e, end)
            if s > at:
                segments.append(Segment(self.text[at:s], style))
            segments.append(Segment(self.text[s:e], marked))
            at = e
        if at < end:
            segments.append(Segment(self.text[at:end], style))
        return segments
