"""The span views: ``ner_manual`` (no overlaps) and ``spans_manual`` (overlaps allowed).

A token cursor moves with the arrows (or ``h``/``l``, ``up``/``down`` by line of
wrapped text, ``home``/``end``); ``shift+arrows`` extend a selection from it; a
number key gives the selection (or the token under the cursor) that label;
``d`` removes the span under the cursor; ``tab``/``shift+tab`` jump between
spans. Spans are drawn in a colour per label (Okabe-Ito, told apart by
colour-blind users) with the label name beside them, so that they stay
distinguishable without colour too: the label badge, bold and underline carry
the meaning, colour only helps. Suggested spans are underlined, with ``?`` in
their badge, until the task is accepted.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from ..sanitize import one_line, printable
from .annotate import LABEL_KEYS, AnnotationScreen
from .widgets.span_text import SpanText, label_style


class SpanScreen(AnnotationScreen):
    VIEW_ID = "ner_manual"
    HELP = {**AnnotationScreen.HELP,
            "accept": "accept: the spans shown (suggestions included) are right",
            "reject": "reject: the suggestions are wrong (stored as shown)",
            "cursor_left": "cursor to the previous token", "cursor_right": "cursor to the next token",
            "cursor_up": "cursor up a line", "cursor_down": "cursor down a line",
            "first_token": "cursor to the first token", "last_token": "cursor to the last token",
            "extend_left": "extend the selection to the left", "extend_right": "extend the selection to the right",
            "remove_span": "remove the span under the cursor", "next_span": "jump to the next span",
            "previous_span": "jump to the previous span", "clear_selection": "clear the selection"}

    BINDINGS = [
        Binding("left,h", "move(-1)", "Left", show=False, id="cursor_left"),
        Binding("right,l", "move(1)", "Right", show=False, id="cursor_right"),
        Binding("up,k", "move_line(-1)", "Up", show=False, id="cursor_up"),
        Binding("down,j", "move_line(1)", "Down", show=False, id="cursor_down"),
        Binding("home", "edge(0)", "First", show=False, id="first_token"),
        Binding("end", "edge(1)", "Last", show=False, id="last_token"),
        Binding("shift+left", "extend(-1)", "Extend left", show=False, id="extend_left"),
        Binding("shift+right", "extend(1)", "Extend right", show=False, id="extend_right"),
        Binding("d", "remove", "Remove span", id="remove_span"),
        Binding("tab", "jump(1)", "Next span", show=False, priority=True, id="next_span"),
        Binding("shift+tab", "jump(-1)", "Previous span", show=False, priority=True, id="previous_span"),
        Binding("escape", "clear_selection", "Clear selection", show=False, id="clear_selection"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens: list[dict[str, Any]] = []
        self.spans: list[dict[str, Any]] = []
        self.cursor = 0
        self.anchor: int | None = None  # type: ignore[assignment]  # the selection's other end: hides Widget.anchor()

    @property
    def overlapping(self) -> bool:
        return bool(self.config.get("overlapping")) or self.VIEW_ID == "spans_manual"

    def text_widget(self) -> SpanText:
        return SpanText(id="text")

    def question_widget(self) -> Static:
        return Static("", id="question")

    # -- showing ------------------------------------------------------------------
    def show_task(self, task: dict[str, Any], progress: Any) -> None:
        self.tokens = list(task.get("tokens") or [])
        self.spans = [dict(s) for s in task.get("spans") or []]
        self.cursor = self._next_word(-1, 1) if self.tokens else 0
        self.anchor = None
        super().show_task(task, progress)

    def show_text(self, task: dict[str, Any]) -> None:
        self._redraw(new_text=True)

    def show_loading(self, message: str = "Loading the next task…") -> None:
        self.tokens, self.spans = [], []
        self.current_task, self.waiting = None, True
        self.query_one("#text", SpanText).show(message, [], [], self.labels, 0, None, new_text=True)
        for wid in ("#meta", "#question", "#previous"):
            self.query_one(wid, Static).update("")

    def show_question(self, task: dict[str, Any]) -> None:
        self._draw_labels()

    def _draw_labels(self) -> None:
        text = Text()
        for i, label in enumerate(self.labels):
            text.append(f" {LABEL_KEYS[i]} ", Style(reverse=True, bold=True))
            text.append(f" {one_line(label, 30)} ", label_style(i) + Style(bold=True))
            text.append("  ")
        text.append("\n")
        sel = self._range()
        if self.tokens:
            words = printable(self.current_task["text"][self.tokens[sel[0]]["start"]:self.tokens[sel[1]]["end"]]) \
                if self.current_task else ""
            what = "selection" if self.anchor is not None else "token"
            text.append(f" {what}: ", Style(dim=True))
            text.append(one_line(words, 60), Style(bold=True))
            text.append(f"   {len(self.spans)} span{'s' if len(self.spans) != 1 else ''}", Style(dim=True))
            suggested = sum(1 for s in self.spans if s.get("suggested"))
            if suggested:
                text.append(f" ({suggested} suggested: accept with a, or fix)", Style(dim=True, italic=True))
        text.append("\n ←/→ move · shift+←/→ select · number = label · d remove · tab next span", Style(dim=True))
        self.query_one("#question", Static).update(text)

    def _redraw(self, new_text: bool = False) -> None:
        if self.current_task is None:
            return
        self.query_one("#text", SpanText).show(self.current_task.get("text", ""), self.tokens, self.spans,
                                               self.labels, self.cursor, self.anchor, new_text=new_text)
        self._draw_labels()

    # -- cursor -------------------------------------------------------------------
    def _is_word(self, i: int) -> bool:
        return not self.tokens[i]["text"].isspace()

    def _next_word(self, start: int, step: int) -> int:
        i = start + step
        while 0 <= i < len(self.tokens):
            if self._is_word(i):
                return i
            i += step
        return start if 0 <= start < len(self.tokens) else 0

    def _range(self) -> tuple[int, int]:
        if self.anchor is None:
            return self.cursor, self.cursor
        return min(self.anchor, self.cursor), max(self.anchor, self.cursor)

    def action_move(self, step: int) -> None:
        if not self.tokens:
            return
        self.anchor = None
        self.cursor = self._next_word(self.cursor, step)
        self._redraw()

    def action_extend(self, step: int) -> None:
        if not self.tokens:
            return
        if self.anchor is None:
            self.anchor = self.cursor
        self.cursor = self._next_word(self.cursor, step)
        self._redraw()

    def action_move_line(self, step: int) -> None:
        if not self.tokens:
            return
        widget = self.query_one("#text", SpanText)
        line, column = widget.token_position(self.cursor)
        target = line + step
        while 0 <= target < len(widget._lines):
            found = widget.token_on_line(target, column)
            if found is not None:
                self.anchor = None
                self.cursor = found
                break
            target += step
        self._redraw()

    def action_edge(self, last: int) -> None:
        if not self.tokens:
            return
        self.anchor = None
        self.cursor = self._next_word(len(self.tokens), -1) if last else self._next_word(-1, 1)
        self._redraw()

    def action_clear_selection(self) -> None:
        self.anchor = None
        self._redraw()

    def action_jump(self, step: int) -> None:
        if not self.spans:
            return
        starts = sorted({s["token_start"] for s in self.spans})
        if step > 0:
            after = [t for t in starts if t > self.cursor]
            self.cursor = after[0] if after else starts[0]
        else:
            before = [t for t in starts if t < self.cursor]
            self.cursor = before[-1] if before else starts[-1]
        self.anchor = None
        self._redraw()

    # -- editing spans ------------------------------------------------------------
    @property
    def read_only(self) -> bool:
        """Binary questions (``--teach``): the span is the question, answered with a or x."""
        return bool(self.config.get("teach"))

    def _refuse_edit(self) -> bool:
        if self.read_only:
            self.notify("A yes/no question: a = the span is right, x = it is wrong, space = skip.", timeout=3)
        return self.read_only

    def action_label(self, index: int) -> None:
        if self.current_task is None or not self.tokens or index >= len(self.labels) or self._refuse_edit():
            return
        label = self.labels[index]
        ts, te = self._range()
        start, end = self.tokens[ts]["start"], self.tokens[te]["end"]
        if self.overlapping:
            same = [s for s in self.spans if s["start"] == start and s["end"] == end and s["label"] == label]
            self.spans = [s for s in self.spans if s not in same]
        else:
            self.spans = [s for s in self.spans if s["end"] <= start or s["start"] >= end]
        self.spans.append({"start": start, "end": end, "label": label, "token_start": ts, "token_end": te})
        self.spans.sort(key=lambda s: (s["start"], s["end"]))
        self.anchor = None
        self.cursor = self._next_word(te, 1)  # on to the next word: label, move on
        self._redraw()

    def action_remove(self) -> None:
        if not self.tokens or self._refuse_edit():
            return
        ts, te = self._range()
        start, end = self.tokens[ts]["start"], self.tokens[te]["end"]
        covering = [s for s in self.spans if s["start"] < end and start < s["end"]]
        if not covering:
            self.notify("No span under the cursor.", timeout=2)
            return
        self.spans.remove(min(covering, key=lambda s: s["end"] - s["start"]))
        self._redraw()

    def current_fields(self) -> dict[str, Any]:
        spans = []
        for s in self.spans:
            spans.append({k: v for k, v in s.items() if k != "suggested"})
        return {"spans": spans}

    def label_help(self) -> dict[str, str]:
        return {f"label_{LABEL_KEYS[i]}": f"label the selection (or the token) {label}"
                for i, label in enumerate(self.labels[:10])}


class OverlappingSpanScreen(SpanScreen):
    VIEW_ID = "spans_manual"
