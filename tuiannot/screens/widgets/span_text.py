"""Text with spans over it: the span views' text widget, also used by review to show each version.

Spans are drawn in a colour per label (Okabe-Ito, told apart by colour-blind
users) with the label name glued to them, so that they stay readable without
colour (``NO_COLOR``) too: the glyphs, bold, underline and reverse carry the
meaning, colour only helps. A span that overlaps no other ends in a badge,
``Acme Corp▕ORG``. Spans that overlap are bracketed, the label after the closing
bracket, so nesting reads like parentheses: "Angela Merkel" PERSON holding
"Angela" ORG is ``[[Angela]ORG Merkel]PERSON``. A span that crosses another
(each holds a part of the other) names its label at its opening bracket too,
``ORG[Acme PERSON[Corp]ORG hired]PERSON``, since crossing brackets cannot pair
by nesting. The brackets and badges of own spans are reverse video (of
suggestions, dim italics), so they are not taken for brackets in the text. Own
spans are bold; suggested ones are italic and
underlined, with ``?`` after the label. The current span (the one the screen's
``tab`` and ``d`` act on, given to :meth:`SpanText.show`) is bold *and*
underlined, its brackets and badge too: only styles follow the cursor, never
characters, so moving never re-wraps the text.

A subclass may single out spans (:attr:`SpanText.highlighted`, drawn in reverse video, brackets and badge too)
and draw something glued after a span (:meth:`SpanText._after_span`): the relation view's numbered markers
(:mod:`.relation_text`).

Pieces are styled with one sweep over the spans and cached styles, and only the
visible lines are drawn (Textual's Line API), so long texts with many spans stay fast.
A key repaints only the rows that look different (a cursor move: the one or two rows
the cursor left and reached), and a cursor move, which changes no character, keeps the
wrapped lines.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...sanitize import one_line, printable
from .task_text import refresh_rows, set_virtual_size, wrap_offsets

PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999",
           "#88CCEE", "#DDCC77"]
CURSOR = Style(reverse=True, bold=True)
SELECTION = Style(bgcolor="#5f5f87", underline=True, bold=True)
CURRENT = Style(bold=True, underline=True, dim=False)
HIGHLIGHT = Style(reverse=True, bold=True, underline=True, dim=False)
"""Spans a subclass singles out (:attr:`SpanText.highlighted`: the relation view's selected relation)."""


@lru_cache(maxsize=64)
def label_style(index: int) -> Style:
    return Style(bgcolor=PALETTE[index % len(PALETTE)], color="#000000")


@lru_cache(maxsize=128)
def span_style(index: int, suggested: bool, current: bool = False) -> Style:
    """A span's text: label colour behind it (own spans), or underlined in it (suggestions); the current
    span bold and underlined whichever it is."""
    if suggested:
        style = Style(color=PALETTE[index % len(PALETTE)], underline=True, italic=True)
    else:
        style = label_style(index) + Style(bold=True)
    return style + CURRENT if current else style


@lru_cache(maxsize=128)
def mark_style(index: int, suggested: bool, current: bool = False) -> Style:
    """A span's brackets and label badge: reverse video (own spans), or dim italic (suggestions)."""
    if suggested:
        style = Style(color=PALETTE[index % len(PALETTE)], italic=True, dim=True)
    else:
        style = label_style(index) + Style(bold=True, reverse=True)
    return style + CURRENT if current else style


def overlaps(spans: list[dict[str, Any]]) -> tuple[set[int], set[int]]:
    """The indices of the spans that overlap another span, and of those that cross one (neither holds the other)."""
    overlapping: set[int] = set()
    crossing: set[int] = set()
    active: list[int] = []
    for i in sorted(range(len(spans)), key=lambda i: (spans[i]["start"], -spans[i]["end"])):
        start, end = spans[i]["start"], spans[i]["end"]
        if end <= start:
            continue
        active = [j for j in active if spans[j]["end"] > start]
        for j in active:  # each starts at or before this one, and ends after its start
            overlapping.update((i, j))
            if spans[j]["start"] < start and spans[j]["end"] < end:
                crossing.update((i, j))
        active.append(i)
    return overlapping, crossing


@dataclass
class _Piece:
    display_start: int
    text: str
    style: Style | None
    source_start: int | None  # None for a bracket or a label badge


class SpanText(ScrollView, can_focus=False):
    """Text with tokens, spans, a cursor and a selection, drawn a line at a time."""

    DEFAULT_CSS = """
    SpanText { height: 1fr; scrollbar-gutter: stable; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = ""
        self.tokens: list[dict[str, Any]] = []
        self.spans: list[dict[str, Any]] = []
        self.labels: list[str] = []
        self.cursor = 0
        self.anchor: int | None = None  # type: ignore[assignment]  # the selection's other end: hides Widget.anchor()
        self.current: int | None = None  # the index in spans of the current span
        self.highlighted: frozenset[int] = frozenset()  # indices in spans drawn in reverse video (subclasses set it)
        self._lit: set[int] = set()  # id() of the highlighted spans
        self.shown = ""
        self._pieces: list[_Piece] = []
        self._piece_starts: list[int] = []
        self._source_pieces: list[tuple[int, int]] = []  # (source_start, display_start), sorted
        self._lines: list[tuple[int, int]] = []
        self._line_starts: list[int] = []
        self._wrapped_width = -1

    # -- building -----------------------------------------------------------------
    def show(self, text: str, tokens: list[dict[str, Any]], spans: list[dict[str, Any]], labels: list[str],
             cursor: int, anchor: int | None, *, new_text: bool = False, current: int | None = None) -> None:
        """Draw ``text`` with ``spans``; ``current`` (an index in ``spans``) is the span the screen's keys act on."""
        top = round(self.scroll_offset.y)
        before = self._rows() if self._lines and self._wrapped_width == self.scrollable_content_region.width else None
        shown = self.shown
        self.text, self.tokens, self.spans, self.labels = printable(text), tokens, spans, labels
        self.cursor, self.anchor = cursor, anchor
        self.current = current if current is not None and 0 <= current < len(spans) else None
        self._build()
        if self.shown != shown:  # the same characters (a cursor move): the same lines, only styles change
            self._wrapped_width = -1
            self._rewrap()
        if new_text:
            self.scroll_to(0, 0, animate=False)
        self.follow_cursor()
        if before is None or round(self.scroll_offset.y) != top:
            self.refresh()
        else:  # only the rows that look different (a scroll has repainted them all already)
            refresh_rows(self, before, self._rows())

    def selection(self) -> tuple[int, int] | None:
        if self.anchor is None or not self.tokens:
            return None
        return min(self.anchor, self.cursor), max(self.anchor, self.cursor)

    def _style_at(self, pos: int, cursor: tuple[int, int] | None, selection: tuple[int, int] | None,
                  covering: list[dict[str, Any]] | None = None) -> Style | None:
        if covering is None:
            covering = [s for s in self.spans if s["start"] <= pos < s["end"]]
        style: Style | None = None
        if covering:
            inner = min(covering, key=lambda s: s["end"] - s["start"])
            current = self.spans[self.current] if self.current is not None else None
            style = span_style(self._label_index(inner), bool(inner.get("suggested")),
                               any(s is current for s in covering))
            if self._lit and any(id(s) in self._lit for s in covering):
                style += HIGHLIGHT
        if selection and selection[0] <= pos < selection[1]:
            style = (style or Style()) + SELECTION
        if cursor and cursor[0] <= pos < cursor[1]:
            style = (style or Style()) + CURSOR
        return style

    def _label_index(self, span: dict[str, Any]) -> int:
        return self.labels.index(span["label"]) if span["label"] in self.labels else 7

    def _marks(self, i: int, bracketed: bool, crossing: bool) -> tuple[_Piece | None, _Piece]:
        """A span's opening bracket (None when it has none) and its closing bracket or badge with the label."""
        span = self.spans[i]
        suggested = bool(span.get("suggested"))
        style = mark_style(self._label_index(span), suggested, i == self.current)
        if i in self.highlighted:
            style += HIGHLIGHT
        label = f"{one_line(span['label'], 30)}{'?' if suggested else ''}"
        if not bracketed:  # glued to the span (no space), so wrapping never parts a span from its label
            return None, _Piece(0, f"▕{label}", style, None)
        return _Piece(0, f"{label}[" if crossing else "[", style, None), _Piece(0, f"]{label}", style, None)

    def _after_span(self, i: int) -> list[tuple[str, Style | None]]:
        """What is drawn right after span ``i``'s closing bracket or badge, as (characters, style) pieces: nothing
        here; the relation view's markers in a subclass. Glued to it: no line breaks between a span and them."""
        return []

    def _build(self) -> None:
        text = self.text
        self._lit = {id(self.spans[i]) for i in self.highlighted if 0 <= i < len(self.spans)}
        cursor = None
        if self.tokens:
            t = self.tokens[min(self.cursor, len(self.tokens) - 1)]
            cursor = (t["start"], t["end"])
        sel = self.selection()
        selection = (self.tokens[sel[0]]["start"], self.tokens[sel[1]]["end"]) if sel else None
        bounds = {0, len(text)}
        overlapping, crossing = overlaps(self.spans)
        # the order brackets open in: outer first; they close in the reverse order, inner first
        rank = {i: r for r, i in enumerate(sorted(range(len(self.spans)),
                                                  key=lambda i: (self.spans[i]["start"], -self.spans[i]["end"], i)))}
        opens: dict[int, list[int]] = {}
        ends: dict[int, list[int]] = {}
        for i, s in enumerate(self.spans):
            bounds.update((s["start"], s["end"]))
            ends.setdefault(s["end"], []).append(i)
            if i in overlapping and s["end"] <= len(text):  # (a span past the end has no closing bracket)
                opens.setdefault(s["start"], []).append(i)
        for r in (cursor, selection):
            if r:
                bounds.update(r)
        points = sorted(b for b in bounds if 0 <= b <= len(text))
        pieces: list[_Piece] = []
        display_pos = 0

        def add(piece: _Piece) -> None:
            nonlocal display_pos
            piece.display_start = display_pos
            pieces.append(piece)
            display_pos += len(piece.text)

        by_start = sorted(self.spans, key=lambda s: s["start"])
        next_span = 0
        active: list[dict[str, Any]] = []  # the spans covering the current piece (a sweep, not a scan)
        for i, start in enumerate(points):
            while next_span < len(by_start) and by_start[next_span]["start"] <= start:
                active.append(by_start[next_span])
                next_span += 1
            active = [s for s in active if s["end"] > start]
            for j in sorted(ends.get(start, []), key=lambda j: -rank[j]):
                add(self._marks(j, j in overlapping, j in crossing)[1])
                for chars, style in self._after_span(j):
                    add(_Piece(0, chars, style, None))
            for j in sorted(opens.get(start, []), key=lambda j: rank[j]):
                opener = self._marks(j, True, j in crossing)[0]
                if opener is not None:
                    add(opener)
            if i + 1 < len(points):
                end = points[i + 1]
                if end > start:
                    add(_Piece(0, text[start:end], self._style_at(start, cursor, selection, active), start))
        self._pieces = pieces
        self._piece_starts = [p.display_start for p in pieces]
        self._source_pieces = [(p.source_start, p.display_start) for p in pieces if p.source_start is not None]
        self.shown = "".join(p.text for p in pieces)

    def _rewrap(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 0 or width == self._wrapped_width:
            return
        self._lines = wrap_offsets(self.shown, width)
        self._line_starts = [s for s, _ in self._lines]
        self._wrapped_width = width
        set_virtual_size(self, Size(width, len(self._lines)))

    def on_resize(self) -> None:
        self._rewrap()
        self.follow_cursor()
        self.refresh()

    # -- geometry -----------------------------------------------------------------
    def display_offset(self, source: int) -> int:
        keys = [s for s, _ in self._source_pieces]
        i = bisect_right(keys, source) - 1
        if i < 0:
            return 0
        s, d = self._source_pieces[i]
        return d + (source - s)

    def line_of(self, display: int) -> int:
        return max(0, bisect_right(self._line_starts, display) - 1)

    def token_position(self, index: int) -> tuple[int, int]:
        """(line, column) of a token's first character on screen."""
        d = self.display_offset(self.tokens[index]["start"])
        line = self.line_of(d)
        return line, d - self._lines[line][0] if self._lines else 0

    def token_on_line(self, line: int, column: int) -> int | None:
        best, best_distance = None, None
        for i, t in enumerate(self.tokens):
            if t["text"].isspace():
                continue
            tl, tc = self.token_position(i)
            if tl == line:
                distance = abs(tc - column)
                if best_distance is None or distance < best_distance:
                    best, best_distance = i, distance
            elif tl > line:
                break
        return best

    def follow_cursor(self) -> None:
        if not self.tokens or not self._lines:
            return
        line, _ = self.token_position(min(self.cursor, len(self.tokens) - 1))
        top = round(self.scroll_offset.y)
        height = max(1, self.scrollable_content_region.height)
        if line < top:
            self.scroll_to(y=line, animate=False)
        elif line >= top + height:
            self.scroll_to(y=line - height + 1, animate=False)

    # -- drawing ------------------------------------------------------------------
    def visible_text(self) -> str:
        top = round(self.scroll_offset.y)
        return "\n".join(self.shown[s:e] for s, e in self._lines[top:top + self.scrollable_content_region.height])

    def _row(self, index: int) -> tuple[tuple[str, Style | None], ...]:
        """Line ``index`` of the wrapped text as (characters, style) pieces."""
        start, end = self._lines[index]
        row = []
        i = max(0, bisect_right(self._piece_starts, start) - 1)
        while i < len(self._pieces) and self._pieces[i].display_start < end:
            piece = self._pieces[i]
            a = max(start, piece.display_start) - piece.display_start
            b = min(end, piece.display_start + len(piece.text)) - piece.display_start
            if b > a:
                row.append((piece.text[a:b], piece.style))
            i += 1
        return tuple(row)

    def _rows(self) -> list[tuple[tuple[str, Style | None], ...]]:
        """What each row on screen shows."""
        top = round(self.scroll_offset.y)
        return [self._row(i) for i in range(top, min(len(self._lines), top + self.scrollable_content_region.height))]

    def render_line(self, y: int) -> Strip:
        if self._wrapped_width != self.scrollable_content_region.width:
            self._rewrap()
        index = y + round(self.scroll_offset.y)
        base = self.rich_style
        width = self.scrollable_content_region.width
        if index >= len(self._lines):
            return Strip.blank(width, base)
        segments = [Segment(chunk, base + style if style else base) for chunk, style in self._row(index)]
        return Strip(segments).adjust_cell_length(width, base)
