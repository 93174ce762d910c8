"""The relation view (``relations``): entity spans, and relations between two of them, by keyboard.

The span keys are those of ``ner`` (:mod:`.spans`: cursor, ``shift+arrows``, number keys, ``d``, ``tab``, ``s``).
``r`` starts a relation from the current span, its *head*, and puts the screen in relation mode: the task box
gets a double border and the line under the labels says so, naming the head and the span under the cursor.
The cursor moves as ever (``tab``/``shift+tab``, arrows) to the *child*; a number key then chooses the relation's
label and makes it, and the mode ends; ``escape`` cancels. A relation from a span to itself is refused with a
message, as are the keys that would lose the relation being made (``a``, ``x``, ``space``, ``d``, a selection).

The relations of the task are listed under the text (:mod:`.widgets.relation_list`), numbered as the markers
glued to their spans in the text (:mod:`.widgets.relation_text`). ``]`` and ``[`` select the next or previous
relation: both its spans are highlighted, the cursor goes to its head (scrolling there), and ``d`` deletes the
relation instead of a span. Moving the cursor ends the selection. A relation is tied to its two spans by their
offsets: relabelling a span keeps its relations (with the new label), and a span that goes (``d``, or replaced
by an overlapping one) takes its relations with it, which a notice says.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical
from textual.types import CSSPathType
from textual.widget import Widget

from ..sanitize import one_line
from .annotate import LABEL_KEYS, AnnotationScreen
from .spans import SpanScreen
from .widgets.relation_list import RelationList, RelationRow
from .widgets.relation_text import RelationText, relation_style
from .widgets.span_list import SpanList

SPAN_KEYS = ("start", "end", "token_start", "token_end", "label")


class RelationScreen(SpanScreen):
    VIEW_ID = "relations"
    CSS_PATH: ClassVar[CSSPathType | None] = ["annotate.tcss", "rel.tcss"]
    KEY_NAMES = {**AnnotationScreen.KEY_NAMES, "left_square_bracket": "[", "right_square_bracket": "]"}
    HELP = {**SpanScreen.HELP,
            "accept": "accept: the spans and relations shown are right",
            "remove_span": "remove the selected relation ([ ]), else the current span and its relations",
            "clear_selection": "cancel the relation being made, else end the relation's selection, else clear the "
                               "selection",
            "relation": "start a relation from the current span (its head): move to the child span, then a number "
                        "key gives the relation's label",
            "next_relation": "select the next relation in the list (both its spans highlighted; d deletes it)",
            "previous_relation": "select the previous relation in the list"}

    BINDINGS = [
        Binding("r", "relation", "Relation", id="relation"),
        Binding("right_square_bracket", "select_relation(1)", "Next relation", show=False, key_display="]",
                id="next_relation"),
        Binding("left_square_bracket", "select_relation(-1)", "Previous relation", show=False, key_display="[",
                id="previous_relation"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.relation_labels: list[str] = [str(label) for label in self.config.get("relation_labels") or []]
        self.relations: list[dict[str, Any]] = []
        self.head: dict[str, Any] | None = None  # relation mode: the head span (one of self.spans)
        self.selected: int | None = None  # the selected relation (an index in self.relations)

    def text_widget(self) -> Widget:
        return Vertical(RelationText(id="text"), SpanList(id="span-list"), RelationList(id="relation-list"),
                        id="span-pane")

    # -- showing ------------------------------------------------------------------
    def show_task(self, task: dict[str, Any], progress: Any) -> None:
        self.relations = [dict(r) for r in task.get("relations") or []  # (the recipe has aligned them)
                          if isinstance(r, dict) and isinstance(r.get("head_span"), dict)
                          and isinstance(r.get("child_span"), dict) and isinstance(r.get("label"), str)]
        self.head, self.selected = None, None
        self.set_class(False, "-relating")
        super().show_task(task, progress)

    def show_loading(self, message: str = "Loading the next task…") -> None:
        self.relations, self.head, self.selected = [], None, None
        self.set_class(False, "-relating")
        self.query_one("#text", RelationText).clear_relations()
        self.query_one(RelationList).show([], None, empty="")
        super().show_loading(message)

    def _redraw(self, new_text: bool = False) -> None:
        if self.current_task is None:
            return
        self._sync()
        index = {id(s): i for i, s in enumerate(self.spans)}
        ends = [(index[id(h)], index[id(c)], self._label_index(r)) for r, h, c in self._ends()]
        lit = {ends[self.selected][0], ends[self.selected][1]} if self.selected is not None else set()
        if self.head is not None:
            lit = {index[id(self.head)]}
        self.query_one("#text", RelationText).set_relations(ends, self.selected, lit)
        super()._redraw(new_text)
        self._draw_relation_list()

    def _label_index(self, relation: dict[str, Any]) -> int:
        label = relation["label"]
        return self.relation_labels.index(label) if label in self.relation_labels else 7

    def _draw_relation_list(self) -> None:
        text = (self.current_task or {}).get("text", "")
        rows = []
        for relation, head, child in self._ends():
            rows.append(RelationRow(
                text[head["start"]:head["end"]], head["label"], self._span_label_index(head), relation["label"],
                self._label_index(relation), text[child["start"]:child["end"]], child["label"],
                self._span_label_index(child)))
        relation_list = self.query_one(RelationList)
        n = len(rows)
        title = (f" {n} relation{'s' if n != 1 else ''} · {self._key('next_relation', ']')}/"
                 f"{self._key('previous_relation', '[')} select · {self._key('remove_span', 'd')} deletes it ")
        if str(relation_list.border_title or "") != title:  # (setting it repaints the whole list)
            relation_list.border_title = Text(title)
        relation_list.show(rows, self.selected, empty=f"no relations yet: {self._key('relation', 'r')} on a span "
                                                      "starts one")

    def _span_label_index(self, span: dict[str, Any]) -> int:
        return self.labels.index(span["label"]) if span["label"] in self.labels else 7

    def _question_text(self) -> Text:
        text = Text()
        relating = self.head is not None
        self._label_keys(text, self.labels, Style(dim=True) if relating else None)
        text.append("\n")
        if relating:
            assert self.head is not None
            task_text = (self.current_task or {}).get("text", "")
            child = self.current_span()
            text.append(" RELATION ", Style(reverse=True, bold=True))
            text.append(f" {one_line(task_text[self.head['start']:self.head['end']], 24)}", Style(bold=True))
            text.append(" → ")
            if child is None or child is self.head:
                text.append("?", Style(bold=True))
            else:
                text.append(one_line(task_text[child["start"]:child["end"]], 24), Style(bold=True))
            for i, label in enumerate(self.relation_labels):
                text.append("  ")
                text.append(f" {LABEL_KEYS[i]} ", Style(reverse=True, bold=True))
                text.append(f" {one_line(label, 30)}", relation_style(i))
            text.append(f"  · {self._key('clear_selection', 'esc')} cancels", Style(dim=True))
        else:
            text.append(f" {self._key('relation', 'r')} relation:", Style(dim=True))
            for i, label in enumerate(self.relation_labels):
                text.append(f"  {LABEL_KEYS[i]} ", Style(dim=True))
                text.append(one_line(label, 30), relation_style(i))
        text.append("\n")
        self._state_lines(text)
        text.append(f"\n {self._hint()}", Style(dim=True))
        return text

    # -- relations and their spans --------------------------------------------------
    def _ends(self) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
        """Each relation with its head and child span (of self.spans); :meth:`_sync` has kept only those."""
        by_offsets = {(s["start"], s["end"]): s for s in self.spans}
        return [(r, by_offsets[_offsets(r["head_span"])], by_offsets[_offsets(r["child_span"])])
                for r in self.relations]

    def _sync(self) -> None:
        """Keep the relations whose two spans are still there (their labels as the spans' now); say which went."""
        by_offsets = {(s["start"], s["end"]): s for s in self.spans}
        kept, gone = [], []
        for relation in self.relations:
            head = by_offsets.get(_offsets(relation["head_span"]))
            child = by_offsets.get(_offsets(relation["child_span"]))
            if head is None or child is None:
                gone.append(relation)
            elif (relation["head_span"].get("label"), relation["child_span"].get("label")) != \
                    (head["label"], child["label"]):
                kept.append(self._relation(head, child, relation["label"], relation))
            else:
                kept.append(relation)
        if self.head is not None and not any(s is self.head for s in self.spans):
            self.head = None
            self.set_class(False, "-relating")
        self.relations = kept
        if not gone:
            return
        self.selected = None
        text = (self.current_task or {}).get("text", "")
        shown = "; ".join(self._describe(r, text) for r in gone[:3]) + (f"; and {len(gone) - 3} more"
                                                                         if len(gone) > 3 else "")
        self.notify(f"{len(gone)} relation{'s' if len(gone) != 1 else ''} removed with the span: {shown}",
                    timeout=4, markup=False)  # (the text is the task's: shown literally)

    @staticmethod
    def _describe(relation: dict[str, Any], text: str) -> str:
        head, child = relation["head_span"], relation["child_span"]
        return (f"{one_line(text[head['start']:head['end']], 20)} → {one_line(relation['label'], 20)} → "
                f"{one_line(text[child['start']:child['end']], 20)}")

    # -- keys ------------------------------------------------------------------------
    def _refuse_in_mode(self) -> bool:
        """In relation mode, a key that would lose the relation being made is refused, saying what to do."""
        if self.head is None:
            return False
        numbers = f"1-{LABEL_KEYS[len(self.relation_labels) - 1]}" if len(self.relation_labels) > 1 else "1"
        self.notify(f"Making a relation: move to the child span, then {numbers} gives its label; "
                    f"{self._key('clear_selection', 'esc')} cancels.", timeout=3, markup=False)
        return True

    def action_relation(self) -> None:
        if self.current_task is None or not self.tokens or self._refuse_edit():
            return
        current = self.current_span()
        if current is None:
            self.notify(f"No span under the cursor: a relation goes from a span ({self._key('next_span', 'tab')} "
                        "goes to the next).", timeout=3, markup=False)
            return
        self.head, self.selected, self.anchor = current, None, None
        self.set_class(True, "-relating")
        self._redraw()

    def action_select_relation(self, step: int) -> None:
        if self.current_task is None or self._refuse_in_mode():
            return
        if not self.relations:
            self.notify(f"No relations yet: {self._key('relation', 'r')} on a span starts one.", timeout=2,
                        markup=False)
            return
        n = len(self.relations)
        self.selected = (self.selected + step) % n if self.selected is not None else (0 if step > 0 else n - 1)
        _, head, _ = self._ends()[self.selected]
        self.anchor, self.focus_span = None, head
        self.cursor = min(head["token_start"], len(self.tokens) - 1)
        self._redraw()

    def action_label(self, index: int) -> None:
        if self.head is None:
            self.selected = None
            super().action_label(index)
            return
        if index >= len(self.relation_labels) or self.current_task is None:
            return
        child = self.current_span()
        if child is None:
            self.notify("No span under the cursor: move to the child span (tab, arrows), then the relation's key.",
                        timeout=3)
            return
        if child is self.head:
            self.notify("A relation from a span to itself is refused: move to another span (tab, arrows).",
                        severity="warning", timeout=3)
            return
        label = self.relation_labels[index]
        made = self._relation(self.head, child, label)
        same = next((i for i, r in enumerate(self.relations)
                     if (r["head"], r["child"], r["label"]) == (made["head"], made["child"], label)), None)
        if same is None:
            self.relations.append(made)
        else:
            self.notify(f"That relation is there already (number {same + 1}).", timeout=2)
        self.head, self.selected = None, same if same is not None else len(self.relations) - 1
        self.set_class(False, "-relating")
        self._redraw()

    def action_clear_selection(self) -> None:
        if self.head is not None:
            self.head = None
            self.set_class(False, "-relating")
            self._redraw()
        elif self.selected is not None:
            self.selected = None
            self._redraw()
        else:
            super().action_clear_selection()

    def action_remove(self) -> None:
        if self._refuse_in_mode():
            return
        if self.selected is not None and not self.read_only:
            del self.relations[self.selected]
            self.selected = min(self.selected, len(self.relations) - 1) if self.relations else None
            if self.selected is not None:  # the cursor goes with the selection: d again deletes the next one
                _, head, _ = self._ends()[self.selected]
                self.focus_span, self.cursor = head, min(head["token_start"], len(self.tokens) - 1)
            self._redraw()
            return
        super().action_remove()

    def action_answer(self, answer: str) -> None:
        if not self._refuse_in_mode():
            super().action_answer(answer)

    def action_extend(self, step: int) -> None:
        if not self._refuse_in_mode():
            self.selected = None
            super().action_extend(step)

    def action_move(self, step: int) -> None:
        self.selected = None
        super().action_move(step)

    def action_move_line(self, step: int) -> None:
        self.selected = None
        super().action_move_line(step)

    def action_edge(self, last: int) -> None:
        self.selected = None
        super().action_edge(last)

    def action_jump(self, step: int) -> None:
        self.selected = None
        super().action_jump(step)

    def current_fields(self) -> dict[str, Any]:
        fields = super().current_fields()
        fields["relations"] = [self._relation(head, child, r["label"], r) for r, head, child in self._ends()]
        return fields

    def _relation(self, head: dict[str, Any], child: dict[str, Any], label: str,
                  given: dict[str, Any] | None = None) -> dict[str, Any]:
        """A relation as Prodigy stores it (``head``/``child``: the last token of each span), other keys of
        ``given`` (Prodigy's ``color``) kept."""
        ends = [{**span, **dict(zip(("token_start", "token_end"), self._tokens_of(span), strict=True))}
                for span in (head, child)]
        extra = {k: v for k, v in (given or {}).items()
                 if k not in ("head", "child", "head_span", "child_span", "label")}
        return {**extra, "head": ends[0]["token_end"], "child": ends[1]["token_end"],
                "head_span": {k: ends[0][k] for k in SPAN_KEYS}, "child_span": {k: ends[1][k] for k in SPAN_KEYS},
                "label": label}

    def label_help(self) -> dict[str, str]:
        rows = {}
        for i in range(min(len(LABEL_KEYS), max(len(self.labels), len(self.relation_labels)))):
            said = [f"label the selection (or the token) {self.labels[i]}"] if i < len(self.labels) else []
            if i < len(self.relation_labels):
                said.append(f"in relation mode: the relation {self.relation_labels[i]}")
            rows[f"label_{LABEL_KEYS[i]}"] = "; ".join(said)
        return rows


def _offsets(span: dict[str, Any]) -> tuple[Any, Any]:
    return span.get("start"), span.get("end")

