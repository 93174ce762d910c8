"""A span question of the feedback view: spans over one text field of the task, marked with the span keys.

The text is drawn by :class:`~.span_text.SpanText`, the span views' own widget (labels glued to spans,
brackets where they overlap, the span the keys act on bold and underlined), at most :data:`MAX_ROWS` rows
high, scrolled to follow the cursor. The keys are the span views' where the feedback view leaves them free:
``left``/``right`` (``h``/``l``) move the token cursor, ``up``/``down`` (``k``/``j``) a line, ``home``/``end``,
``shift+left``/``shift+right`` extend a selection, a number key gives the selection (or the token under the
cursor) that label, ``d`` removes the current span (the shortest under the cursor), ``escape`` clears the
selection. (``tab`` moves between questions here.) Tokens are the recipe's (``_tokens`` of the task, spaCy's);
spans are stored as in the span views: ``start``, ``end``, ``label``, ``token_start``, ``token_end``, with
character offsets into the field.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from ...sanitize import one_line, printable
from .question import KEY, QuestionWidget, number_key
from .span_text import SpanText, label_style

MAX_ROWS = 8


class SpanQuestion(QuestionWidget):
    KIND = "span"
    DEFAULT_CSS = """
    SpanQuestion > SpanText { height: 1; margin: 0 0 0 1; }
    """

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        self.labels = [str(label) for label in settings["labels"]]
        self.field = str(settings.get("field") or "text")
        self.overlapping = bool(settings.get("overlapping"))
        self.text = ""
        self.tokens: list[dict[str, Any]] = []
        self.spans: list[dict[str, Any]] = []
        self.cursor = 0
        self.anchor_token: int | None = None  # the selection's other end

    def body(self) -> ComposeResult:
        yield SpanText()
        yield Static("", classes="question--line question--body")

    def load(self, task: dict[str, Any], value: Any) -> None:
        text = task.get(self.field)
        self.text = text if isinstance(text, str) else ""
        tokens = (task.get("_tokens") or {}).get(self.field) if isinstance(task.get("_tokens"), dict) else None
        self.tokens = [t for t in tokens if isinstance(t, dict)] if isinstance(tokens, list) else []
        self.cursor, self.anchor_token = self._next_word(-1, 1) if self.tokens else 0, None
        super().load(task, value)
        self._draw_text(new_text=True)

    def set_value(self, value: Any) -> None:
        self.spans = [dict(s) for s in value if isinstance(s, dict)] if isinstance(value, list) else []

    def value(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in s.items() if k != "suggested"} for s in sorted(self.spans, key=_order)]

    def answered(self) -> bool:
        return bool(self.spans)

    def clear(self) -> None:
        super().clear()
        self._draw_text()

    def hint(self) -> str:
        return f"spans over {one_line(self.field, 30)}: ←/→ move · shift+←/→ select · 1-{len(self.labels)} label · d " \
               "removes"

    def status(self) -> str:
        return f"{len(self.spans)} span{'s' if len(self.spans) != 1 else ''}"

    def body_text(self) -> Text:
        text = Text("  ")
        for i, label in enumerate(self.labels):
            text.append(f" {number_key(i)} ", KEY)
            text.append(f" {one_line(label, 30)} ", label_style(i) + Style(bold=True))
            text.append("  ")
        if self.tokens:
            ts, te = self._range()
            words = printable(self.text[self.tokens[ts]["start"]:self.tokens[te]["end"]])
            text.append(f"  {'selection' if self.anchor_token is not None else 'token'}: ", Style(dim=True))
            text.append(one_line(words, 40), Style(bold=True))
        return text

    def _draw_text(self, new_text: bool = False) -> None:
        widget = self.query_one(SpanText)
        current = self.current_span()
        index = next((i for i, s in enumerate(self.spans) if s is current), None)
        widget.show(self.text, self.tokens, self.spans, self.labels, self.cursor, self.anchor_token, new_text=new_text,
                    current=index)
        rows = max(1, min(MAX_ROWS, len(widget._lines) or self.text.count("\n") + 1))
        if widget.styles.height is None or widget.styles.height.value != rows:
            widget.styles.height = rows

    def on_resize(self) -> None:
        super().on_resize()
        self.call_after_refresh(self._draw_text)  # wrapped anew: as many rows as it takes

    def _changed(self) -> None:
        self._draw_text()
        self.redraw()

    # -- the cursor (as in the span views) -----------------------------------------------------------------------
    def _next_word(self, start: int, step: int) -> int:
        i = start + step
        while 0 <= i < len(self.tokens):
            if not str(self.tokens[i].get("text", "")).isspace():
                return i
            i += step
        return start if 0 <= start < len(self.tokens) else 0

    def _range(self) -> tuple[int, int]:
        if self.anchor_token is None:
            return self.cursor, self.cursor
        return min(self.anchor_token, self.cursor), max(self.anchor_token, self.cursor)

    def current_span(self) -> dict[str, Any] | None:
        """The span ``d`` removes: the shortest under the cursor or the selection."""
        if not self.tokens or not self.spans:
            return None
        ts, te = self._range()
        start, end = self.tokens[ts]["start"], self.tokens[te]["end"]
        under = [s for s in sorted(self.spans, key=_order) if s["start"] < end and start < s["end"]]
        return min(under, key=lambda s: s["end"] - s["start"]) if under else None

    def move(self, step: int, extend: bool = False) -> None:
        if not self.tokens:
            return
        if extend and self.anchor_token is None:
            self.anchor_token = self.cursor
        elif not extend:
            self.anchor_token = None
        self.cursor = self._next_word(self.cursor, step)
        self._changed()

    def move_line(self, step: int) -> None:
        if not self.tokens:
            return
        widget = self.query_one(SpanText)
        line, column = widget.token_position(self.cursor)
        target = line + step
        while 0 <= target < len(widget._lines):
            found = widget.token_on_line(target, column)
            if found is not None:
                self.anchor_token, self.cursor = None, found
                break
            target += step
        self._changed()

    def edge(self, last: bool) -> None:
        if not self.tokens:
            return
        self.anchor_token = None
        self.cursor = self._next_word(len(self.tokens), -1) if last else self._next_word(-1, 1)
        self._changed()

    def clear_selection(self) -> None:
        self.anchor_token = None
        self._changed()

    def number(self, index: int) -> str | None:
        if index >= len(self.labels):
            return f"{one_line(self.question, 40)} has {len(self.labels)} labels"
        if not self.tokens:
            return "no text to mark"
        label = self.labels[index]
        ts, te = self._range()
        start, end = self.tokens[ts]["start"], self.tokens[te]["end"]
        if self.overlapping:
            self.spans = [s for s in self.spans if (s["start"], s["end"], s["label"]) != (start, end, label)]
        else:
            self.spans = [s for s in self.spans if s["end"] <= start or s["start"] >= end]
        self.spans.append({"start": start, "end": end, "label": label, "token_start": ts, "token_end": te})
        self.spans.sort(key=_order)
        self.anchor_token = None
        self.cursor = self._next_word(te, 1)  # on to the next word: label, move on
        self._changed()
        return None

    def remove_span(self) -> str | None:
        current = self.current_span()
        if current is None:
            return "no span under the cursor"
        self.spans = [s for s in self.spans if s is not current]
        self._changed()
        return None


def _order(span: dict[str, Any]) -> tuple[int, int]:
    return span["start"], span["end"]
