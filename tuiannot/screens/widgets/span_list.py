"""The span list: one row per span of the current task (number, label, text, position), the current one marked.

The span views show it under the text when the annotator asks for it; it does
not take the keys (``tab``/``shift+tab`` move the current span, and the list
follows). A row reads ``▶ 2  ORG      Angela            tokens 0–0  chars 0–6``:
the current row has the ``▶`` and is reverse video, so it stands out without
colour; suggested spans have ``?`` after the label, in italics. Token ranges are
inclusive (as ``token_end`` is), character ranges end-exclusive (as ``end`` is).
Text and labels are untrusted: they are made printable and single-line, cut to
the width. Rows are drawn with the Line API, so a task with thousands of spans
scrolls as easily as one with three, and a key that only moves the current span
repaints its old row and its new one.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...sanitize import one_line
from .span_text import mark_style

CURRENT_ROW = Style(reverse=True, bold=True)


class SpanList(ScrollView, can_focus=False):
    """The spans of one task as rows, the current one marked; hidden until shown."""

    DEFAULT_CSS = """
    SpanList { height: auto; max-height: 45%; border-top: solid $primary; padding: 0 1; display: none;
               overflow-x: hidden; overflow-y: auto; scrollbar-gutter: stable; scrollbar-size-horizontal: 0; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = ""
        self.spans: list[dict[str, Any]] = []
        self.labels: list[str] = []
        self.current: int | None = None
        self.empty = "no spans"
        self._shown: tuple[Any, ...] | None = None  # what the columns were measured for
        self._width = -1
        self._columns: dict[str, Any] = {}

    def show(self, text: str, spans: list[dict[str, Any]], labels: list[str], current: int | None,
             empty: str = "no spans") -> None:
        """List ``spans`` (in the order given) of ``text``; ``current`` is the index of the current span."""
        shown = (text, tuple(labels), empty, tuple((s["start"], s["end"], s["label"], bool(s.get("suggested")),
                                                    s.get("token_start"), s.get("token_end")) for s in spans))
        self.text, self.spans, self.labels, self.empty = text, spans, labels, empty
        previous, self.current = self.current, current if current is not None and 0 <= current < len(spans) else None
        same = shown == self._shown
        if not same:
            self._shown, self._width = shown, -1
            self._measure()
        top = round(self.scroll_offset.y)
        if self.current is not None:
            height = max(1, self.scrollable_content_region.height)
            if self.current < top:
                self.scroll_to(y=self.current, animate=False)
            elif self.current >= top + height:
                self.scroll_to(y=self.current - height + 1, animate=False)
        if same and round(self.scroll_offset.y) == top:  # only the current row moved: repaint the two rows
            for row in (previous, self.current):
                if row is not None:
                    self.refresh_lines(row)
        else:
            self.refresh()

    def _measure(self) -> None:
        """The columns' widths at the widget's width (rows are made when drawn: only the visible ones)."""
        width = self.scrollable_content_region.width
        if width <= 0:
            width = 76  # not laid out yet: measured again at the real width on resize
        if width == self._width:
            return
        self._width = width
        wide = width >= 60
        places = []
        for span in self.spans:
            ts, te = span.get("token_start"), span.get("token_end")
            tokens = f"{ts}–{te}" if isinstance(ts, int) and isinstance(te, int) else ""
            chars = f"{span['start']}–{span['end']}"
            if wide:
                places.append((f"tokens {tokens}" if tokens else "", f"chars {chars}"))
            else:
                places.append((f"t{tokens}" if tokens else "", f"c{chars}"))
        labels = [f"{one_line(s['label'], 16)}{'?' if s.get('suggested') else ''}" for s in self.spans]
        self._columns = {
            "labels": labels, "places": places, "number": len(str(len(self.spans))),
            "label": max((cell_len(label) for label in labels), default=0),
            "tokens": max((len(t) for t, _ in places), default=0), "chars": max((len(c) for _, c in places), default=0)}
        self.virtual_size = Size(width, max(1, len(self.spans)))

    def _row(self, i: int) -> list[tuple[str, Style | None]]:
        width, columns = self._width, self._columns
        if not self.spans:
            return [(one_line(self.empty, max(1, width)), Style(dim=True, italic=True))]
        span, label, place = self.spans[i], columns["labels"][i], columns["places"][i]
        current = i == self.current
        index = self.labels.index(span["label"]) if span["label"] in self.labels else 7
        where = f"  {place[0]:<{columns['tokens']}}  {place[1]:<{columns['chars']}}"
        head = f"{'▶' if current else ' '} {i + 1:>{columns['number']}} "
        room = max(4, width - cell_len(head) - columns["label"] - 3 - cell_len(where))
        words = one_line(self.text[span["start"]:span["end"]], 400)
        words = words if cell_len(words) <= room else set_cell_size(words, room - 1) + "…"
        row_style = CURRENT_ROW if current else None
        return [
            (head, row_style),
            (f" {set_cell_size(label, columns['label'])} ", mark_style(index, bool(span.get("suggested")), current)),
            (" ", row_style),
            (set_cell_size(words, room), (row_style or Style()) + Style(bold=True)),
            (where, (row_style or Style()) + Style(dim=not current)),
        ]

    def row_texts(self) -> list[str]:
        """Every row as plain text (for tests)."""
        return ["".join(text for text, _ in self._row(i)).rstrip() for i in range(max(1, len(self.spans)))]

    def on_resize(self) -> None:
        self._measure()
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if self._width != width:
            self._measure()
        index = y + round(self.scroll_offset.y)
        base = self.rich_style
        if index >= max(1, len(self.spans)):
            return Strip.blank(width, base)
        segments = [Segment(text, base + style if style else base) for text, style in self._row(index)]
        return Strip(segments).adjust_cell_length(width, base)
