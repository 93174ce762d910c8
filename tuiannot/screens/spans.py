"""The span views: ``ner_manual`` (no overlaps) and ``spans_manual`` (overlaps allowed).

A token cursor moves with the arrows (or ``h``/``l``, ``up``/``down`` by line of
wrapped text, ``home``/``end``); ``shift+arrows`` extend a selection from it; a
number key gives the selection (or the token under the cursor) that label.

The *current span* is what ``d`` removes and where ``tab``/``shift+tab`` move
on from: the span ``tab`` jumped to, else the shortest span under the cursor
(or the selection). ``tab`` visits every span in order of start, then end, so
two spans that start on the same token ("Angela" ORG inside "Angela Merkel"
PERSON) are each reached. The current span is drawn bold and underlined, and
the line under the labels names it (number, label, text, token and character
positions). ``s`` shows or hides the span list under the text: every span of
the task in that same order, the current one marked (see
:mod:`.widgets.span_list`). How spans are drawn (badges, brackets for nested
and crossing spans, suggestions) is told in :mod:`.widgets.span_text`. Every
hint names the key the user's keymap gives. With the labels described (``--labels-file``), a line under the
current span says what its label means and an example (without a current span: every label's description, cut
to the line).
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

from ..sanitize import one_line, printable
from .annotate import LABEL_KEYS, AnnotationScreen
from .widgets.span_list import SpanList
from .widgets.span_text import SpanText, label_style
from .widgets.task_text import update_static

ARROWS = {"left": "←", "right": "→", "shift+left": "shift+←", "shift+right": "shift+→"}


class SpanScreen(AnnotationScreen):
    VIEW_ID = "ner_manual"
    HELP = {**AnnotationScreen.HELP,
            "accept": "accept: the spans shown (suggestions included) are right",
            "reject": "reject: the suggestions are wrong (stored as shown)",
            "cursor_left": "cursor to the previous token", "cursor_right": "cursor to the next token",
            "cursor_up": "cursor up a line", "cursor_down": "cursor down a line",
            "first_token": "cursor to the first token", "last_token": "cursor to the last token",
            "extend_left": "extend the selection to the left", "extend_right": "extend the selection to the right",
            "remove_span": "remove the current span (bold and underlined: the one tab went to, else the shortest "
                           "under the cursor)",
            "next_span": "the next span becomes the current one (nested spans each in turn)",
            "previous_span": "the previous span becomes the current one", "clear_selection": "clear the selection",
            "span_list": "show or hide the list of this task's spans (label, text, token and character positions)"}

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
        Binding("s", "span_list", "Span list", id="span_list"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens: list[dict[str, Any]] = []
        self.spans: list[dict[str, Any]] = []
        self.cursor = 0
        self.anchor: int | None = None  # type: ignore[assignment]  # the selection's other end: hides Widget.anchor()
        self.focus_span: dict[str, Any] | None = None  # the span tab went to (one of self.spans) till the cursor moves
        self._list_title = ""  # what the span list's border says

    @property
    def overlapping(self) -> bool:
        return bool(self.config.get("overlapping")) or self.VIEW_ID == "spans_manual"

    def text_widget(self) -> Widget:
        return Vertical(SpanText(id="text"), SpanList(id="span-list"), id="span-pane")

    def question_widget(self) -> Static:
        return Static("", id="question")

    # -- showing ------------------------------------------------------------------
    def show_task(self, task: dict[str, Any], progress: Any) -> None:
        self.tokens = list(task.get("tokens") or [])
        self.spans = [dict(s) for s in task.get("spans") or []]
        self.cursor = self._next_word(-1, 1) if self.tokens else 0
        self.anchor, self.focus_span = None, None
        super().show_task(task, progress)

    def show_text(self, task: dict[str, Any]) -> None:
        self._redraw(new_text=True)

    def show_loading(self, message: str = "Loading the next task…") -> None:
        self.tokens, self.spans, self.focus_span = [], [], None
        self.current_task, self.waiting = None, True
        self.query_one("#text", SpanText).show(message, [], [], self.labels, 0, None, new_text=True)
        self.query_one(SpanList).show("", [], self.labels, None, empty="")
        for wid in ("#meta", "#question", "#previous"):
            update_static(self.query_one(wid, Static), "")

    def show_question(self, task: dict[str, Any]) -> None:
        self._draw_labels()

    def _key(self, binding_id: str, default: str) -> str:
        """The key the keymap gives ``binding_id``, for hints, arrows as arrows."""
        key = self.key_for(binding_id, default)
        return ARROWS.get(key, key)

    def _draw_labels(self) -> None:
        update_static(self.query_one("#question", Static), self._question_text())

    def _question_text(self) -> Text:
        """The lines under the text: the labels with their keys, the token or selection, the current span, the
        keys' hint (a subclass adds its own lines between them)."""
        text = Text()
        self._label_keys(text, self.labels)
        text.append("\n")
        self._state_lines(text)
        text.append(f"\n {self._hint()}", Style(dim=True))
        return text

    def _label_keys(self, text: Text, labels: list[str], style: Style | None = None) -> None:
        """Each label after its number key (in the label's colour, else ``style``)."""
        for i, label in enumerate(labels):
            text.append(f" {LABEL_KEYS[i]} ", Style(reverse=True, bold=True))
            text.append(f" {one_line(label, 30)} ", style or label_style(i) + Style(bold=True))
            text.append("  ")

    def _state_lines(self, text: Text) -> None:
        """The token or selection under the cursor with the count of spans, then the current span."""
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
                text.append(f" ({suggested} suggested: accept with {self._key('accept', 'a')}, or fix)",
                            Style(dim=True, italic=True))
            text.append("\n")
            text.append_text(self._current_line())
            if self.label_info() and not self.short:  # the labels described, on a line of their own
                current = self.current_span()
                note = self.label_note(current["label"]) if current is not None else ""
                width = self.query_one("#question", Static).content_region.width or 78
                described = f"{current['label']}: {note}" if note and current is not None else " · ".join(
                    f"{label}: {self.label_info()[label].get('description', '')}" for label in self.labels
                    if self.label_info().get(label, {}).get("description"))
                text.append("\n ")
                text.append(one_line(described, max(10, width - 2)), Style(dim=True, italic=True))

    def _hint(self) -> str:
        """The keys of the view, as the keymap has them, in one line."""
        left, right = self._key("cursor_left", "←"), self._key("cursor_right", "→")
        extend_left, extend_right = self._key("extend_left", "shift+←"), self._key("extend_right", "shift+→")
        if extend_left.startswith("shift+") and extend_right.startswith("shift+"):
            extend = f"shift+{extend_left[6:]}/{extend_right[6:]}"
        else:
            extend = f"{extend_left}/{extend_right}"
        numbers = f"1-{LABEL_KEYS[len(self.labels) - 1]}" if 1 < len(self.labels) <= 9 else "number"
        return (f"{left}/{right} move · {extend} select · {numbers} label · {self._key('remove_span', 'd')} "
                f"remove · {self._key('next_span', 'tab')} next span · {self._key('span_list', 's')} list")

    def _current_line(self) -> Text:
        """The current span: its number in the span list, label, text and positions (or that there is none)."""
        line = Text()
        current = self.current_span()
        ordered = self._ordered()
        if current is None:
            line.append(" no span here" + (f" · {self._key('next_span', 'tab')} goes to the next" if ordered else ""),
                        Style(dim=True))
            return line
        number = next(i for i, s in enumerate(ordered) if s is current) + 1
        suggested = bool(current.get("suggested"))
        label = current["label"]
        index = self.labels.index(label) if label in self.labels else 7
        ts, te = self._tokens_of(current)
        head = f" span {number}/{len(ordered)} "
        badge = f" {one_line(label, 20)}{'?' if suggested else ''} "
        where = f"  tokens {ts}–{te}  chars {current['start']}–{current['end']}"
        width = self.query_one("#question", Static).content_region.width or 78
        room = max(8, width - cell_len(head) - cell_len(badge) - 1 - len(where))  # one line, whatever the width
        task_text = (self.current_task or {}).get("text", "")
        line.append(head, Style(bold=True, underline=True))
        line.append(badge, label_style(index) + Style(bold=True))
        line.append(" ")
        line.append(one_line(task_text[current["start"]:current["end"]], room), Style(bold=True))
        line.append(where, Style(dim=True))
        return line

    def _redraw(self, new_text: bool = False) -> None:
        if self.current_task is None:
            return
        current = self.current_span()
        index = next((i for i, s in enumerate(self.spans) if s is current), None)
        text = self.current_task.get("text", "")
        self.query_one("#text", SpanText).show(text, self.tokens, self.spans, self.labels, self.cursor, self.anchor,
                                               new_text=new_text, current=index)
        span_list = self.query_one(SpanList)
        if span_list.display:
            ordered = self._ordered()
            title = f" {len(ordered)} span{'s' if len(ordered) != 1 else ''} · {self._key('span_list', 's')} hides "
            if title != self._list_title:  # (setting it repaints the whole list)
                self._list_title = title
                span_list.border_title = Text(title)  # (not markup: the key is the user's)
            span_list.show(text, ordered, self.labels, next((i for i, s in enumerate(ordered) if s is current), None),
                           empty="no spans yet: select words and press a number key")
        self._draw_labels()

    def action_span_list(self) -> None:
        span_list = self.query_one(SpanList)
        span_list.display = not span_list.display
        self._redraw()

    # -- the current span ---------------------------------------------------------
    def _ordered(self) -> list[dict[str, Any]]:
        """The spans in the order tab visits them and the span list shows them: by start, then end."""
        return sorted(self.spans, key=lambda s: (s["start"], s["end"]))

    def _tokens_of(self, span: dict[str, Any]) -> tuple[int, int]:
        """A span's first and last token (given, or found from its characters)."""
        ts, te = span.get("token_start"), span.get("token_end")
        if isinstance(ts, int) and isinstance(te, int):
            return ts, te
        inside = [i for i, t in enumerate(self.tokens) if t["start"] < span["end"] and span["start"] < t["end"]]
        return (inside[0], inside[-1]) if inside else (0, 0)

    def current_span(self) -> dict[str, Any] | None:
        """The span ``d`` removes and ``tab`` moves on from: the one tab went to while the cursor stays on it, else
        the shortest span under the cursor or the selection (the first in the list of those as short)."""
        if not self.tokens or not self.spans:
            return None
        ts, te = self._range()
        start, end = self.tokens[ts]["start"], self.tokens[te]["end"]
        focus = self.focus_span
        if focus is not None and self.anchor is None and any(s is focus for s in self.spans) \
                and focus["start"] < end and start < focus["end"]:
            return focus
        under = [s for s in self._ordered() if s["start"] < end and start < s["end"]]
        return min(under, key=lambda s: s["end"] - s["start"]) if under else None

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
        self.anchor, self.focus_span = None, None
        self.cursor = self._next_word(self.cursor, step)
        self._redraw()

    def action_extend(self, step: int) -> None:
        if not self.tokens:
            return
        if self.anchor is None:
            self.anchor = self.cursor
        self.focus_span = None
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
                self.anchor, self.focus_span = None, None
                self.cursor = found
                break
            target += step
        self._redraw()

    def action_edge(self, last: int) -> None:
        if not self.tokens:
            return
        self.anchor, self.focus_span = None, None
        self.cursor = self._next_word(len(self.tokens), -1) if last else self._next_word(-1, 1)
        self._redraw()

    def action_clear_selection(self) -> None:
        self.anchor = None
        self._redraw()

    def action_jump(self, step: int) -> None:
        """The next (previous) span in the list becomes the current one, the cursor on its first token."""
        if not self.spans or not self.tokens:
            return
        ordered = self._ordered()
        current = self.current_span()
        if current is not None:
            target = ordered[(next(i for i, s in enumerate(ordered) if s is current) + step) % len(ordered)]
        else:
            here = self.tokens[self.cursor]["start"]
            if step > 0:
                target = next((s for s in ordered if s["start"] > here), ordered[0])
            else:
                target = next((s for s in reversed(ordered) if s["start"] < here), ordered[-1])
        self.anchor, self.focus_span = None, target
        self.cursor = min(self._tokens_of(target)[0], len(self.tokens) - 1)
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
        self.anchor, self.focus_span = None, None
        self.cursor = self._next_word(te, 1)  # on to the next word: label, move on
        self._redraw()

    def action_remove(self) -> None:
        if not self.tokens or self._refuse_edit():
            return
        current = self.current_span()
        if current is None:
            self.notify("No span under the cursor.", timeout=2)
            return
        self.spans = [s for s in self.spans if s is not current]
        self.focus_span = None  # the cursor stays: the next span under it becomes the current one
        self._redraw()

    def current_fields(self) -> dict[str, Any]:
        spans = []
        for s in self.spans:
            spans.append({k: v for k, v in s.items() if k != "suggested"})
        return {"spans": spans}

    def label_help(self) -> dict[str, str]:
        return {f"label_{LABEL_KEYS[i]}": f"label the selection (or the token) {label}" + (
            f": {self.label_note(label)}" if self.label_note(label) else "")
            for i, label in enumerate(self.labels[:10])}


class OverlappingSpanScreen(SpanScreen):
    VIEW_ID = "spans_manual"
