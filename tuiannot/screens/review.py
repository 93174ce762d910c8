"""The ``review`` view: every annotator's version of one input, side by side.

The majority version comes first and is preselected. Number keys pick a
version, ``a`` keeps the picked version as the final answer, ``e`` opens it in
the normal view (choices or spans) to edit it, ``x`` rejects the input and
``space`` skips it. For spans, the spans that not every version has are marked.
The versions keep the most rows they have taken in this session (blank ones
below when an input has fewer versions), so that the text box does not move
from one input to the next: a key then repaints what changed, not the screen.
Annotators are shown by the names they annotated under (``--session``), as
``progress`` and ``stats`` show them. Who flagged a version (``f`` while
annotating) follows its line (``⚑ names``), and each comment given with it is
a line of its own under it (``✎ name: comment``), shown literally.

A review of relation answers lists, under each version's spans, its relations
(head text → label → child text, ``≠`` before those not every version has);
what is kept is a relation answer with the version's spans and relations, and
``e`` opens the relation view with them (its relation keys are the relation
labels the versions use, from the recipe's ``config``).

A review of feedback answers (the recipe gives the questions in ``config``)
shows the task's fields as the feedback view does and, under the versions, one
line per question with each version's answer to it (``≠`` where they differ,
the picked one's bold). ``e`` opens the feedback view filled in with the picked
version's answers (:class:`FeedbackVersionEditor`), and what is kept is a
feedback answer: the version's ``answers`` (or the edited ones).

The editor is the reviewed view's own screen made a :class:`VersionEditor` by
:func:`version_editor`: its title says, in reverse video, that this is an edit
of whose version and how to get out of it, from the keys as bound now (a
user keymap moves them): ``a`` (accept) keeps the edited version as the final
answer, ``escape`` (binding ``leave_editor``; ``backspace`` too) goes back to
the versions storing nothing. In the span views ``escape`` first clears a
selection, as it does there (in the relation view: the relation being made, or
the one selected), and leaves when nothing is selected.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar, cast

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical
from textual.events import Resize
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from ..components import views
from ..sanitize import one_line
from .annotate import LABEL_KEYS, AnnotationScreen, Progress
from .feedback import FeedbackScreen
from .rel import RelationScreen
from .widgets.ranking_question import item_text
from .widgets.relation_text import relation_style
from .widgets.span_list import SpanList
from .widgets.span_question import SpanQuestion
from .widgets.span_text import SpanText, label_style
from .widgets.task_fields import TaskFields
from .widgets.task_text import TaskText, layout_for, text_height, update_static


class ReviewScreen(AnnotationScreen):
    VIEW_ID = "review"
    HELP = {**AnnotationScreen.HELP,
            "accept": "keep the picked version as the final answer",
            "reject": "reject: the input itself is wrong", "ignore": "skip this input",
            "edit": "edit the picked version in the normal view (submit it there; escape comes back)",
            "span_list": "show or hide the list of the picked version's spans (label, text, positions)"}
    BINDINGS = [Binding("e", "edit", "Edit", id="edit"), Binding("s", "span_list", "Span list", id="span_list")]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.chosen = 0
        self.edited: dict[str, Any] | None = None
        self._question_rows = 0  # the most rows the versions took: they keep that height (see _draw_versions)
        self.shown_progress: Progress | None = None  # the last progress shown (a feedback editor shows it too)

    @property
    def spans_view(self) -> bool:
        return self.config.get("review_view") in views(kind="spans")

    @property
    def relations_view(self) -> bool:
        """A review of relation answers: each version has relations between its spans."""
        return self.config.get("review_view") in views(relations=True)

    @property
    def feedback(self) -> bool:
        """A review of feedback answers: the recipe gives the questions."""
        return bool(self.config.get("questions"))

    def text_widget(self) -> Widget:
        if self.feedback:
            return TaskFields(list(self.config.get("fields") or []), id="text")
        if self.spans_view:
            return Vertical(SpanText(id="text"), SpanList(id="span-list"), id="span-pane")
        return TaskText(id="text")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "span_list" and not self.spans_view:
            return False  # a review of choices has no spans to list (and no s in its help)
        return super().check_action(action, parameters)

    def action_span_list(self) -> None:
        span_list = self.query_one(SpanList)
        span_list.display = not span_list.display
        self._draw_span_list()

    def _draw_span_list(self) -> None:
        """The picked version's spans, in order, when the list is shown."""
        span_list = self.query_one(SpanList)
        if not span_list.display:
            return
        version = self.versions[self.chosen] if self.versions else {}
        spans = sorted((dict(s) for s in version.get("spans") or []), key=lambda s: (s["start"], s["end"]))
        key = self.key_for("span_list", "s")
        span_list.border_title = Text(f" {len(spans)} span{'s' if len(spans) != 1 else ''} of the picked version "
                                      f"· {key} hides ")
        span_list.show(str((self.current_task or {}).get("text", "")), spans, self.labels, None)

    @property
    def versions(self) -> list[dict[str, Any]]:
        return (self.current_task or {}).get("_review", {}).get("versions", [])

    # -- showing ------------------------------------------------------------------
    def show_loading(self, message: str = "Loading the next task…") -> None:
        self.current_task, self.waiting = None, True
        widget = self.query_one("#text")
        if isinstance(widget, SpanText):
            widget.show(message, [], [], self.labels, 0, None, new_text=True)
        elif isinstance(widget, TaskFields):
            widget.show_message(message)
        else:
            assert isinstance(widget, TaskText)  # text_widget() made one or the other
            widget.set_text(message)
        for wid in ("#meta", "#question", "#previous"):
            update_static(self.query_one(wid, Static), "")

    def show_task(self, task: dict[str, Any], progress: Any) -> None:
        self.chosen, self.edited = 0, None
        chosen = task.get("_review", {}).get("chosen")
        if isinstance(chosen, int):
            self.chosen = chosen
        self.shown_progress = progress
        super().show_task(task, progress)

    def show_text(self, task: dict[str, Any]) -> None:
        self._draw_text(new_text=True)

    def _draw_text(self, new_text: bool = False) -> None:
        task = self.current_task or {}
        widget = self.query_one("#text")
        if isinstance(widget, SpanText):
            version = self.versions[self.chosen] if self.versions else {}
            widget.show(str(task.get("text", "")), list(task.get("tokens") or []),
                        [dict(s) for s in version.get("spans") or []], self.labels, 0, None, new_text=new_text)
            self._draw_span_list()
        elif isinstance(widget, TaskFields):
            if new_text:
                widget.show(task, False)
        elif new_text:
            assert isinstance(widget, TaskText)  # text_widget() made one or the other
            widget.set_text(str(task.get("text", "")))

    def show_question(self, task: dict[str, Any]) -> None:
        self._draw_versions()

    def _draw_versions(self) -> None:
        versions = self.versions
        everywhere = None
        if self.spans_view and versions:
            sets = [{(s["start"], s["end"], s["label"]) for s in v.get("spans") or []} for v in versions]
            everywhere = set.intersection(*sets) if sets else set()
        shared_relations = set.intersection(*[{key for key, _ in relation_ends(v)} for v in versions]) \
            if self.relations_view and versions else set()
        text = Text()
        annotators = (self.current_task or {}).get("_review", {}).get("annotators", [])
        text.append(f" {len(versions)} version{'s' if len(versions) != 1 else ''} from "
                    f"{len(annotators)} annotator{'s' if len(annotators) != 1 else ''}\n", Style(dim=True))
        for i, v in enumerate(versions[:10]):
            if self.feedback:
                self._feedback_version(text, i, v)
                self._flags(text, v, ended=True)
                continue
            picked = i == self.chosen
            text.append(f" {LABEL_KEYS[i]} ", Style(reverse=True, bold=True))
            text.append(" ▶ " if picked else "   ", Style(bold=True))
            who = ", ".join(one_line(s, 20) for s in v.get("sessions", []))
            text.append(f"{len(v.get('sessions', []))}× ", Style(bold=picked))
            text.append(f"[{who}] ", Style(dim=not picked))
            text.append(str(v.get("answer", "")).upper(), Style(bold=True))
            if v.get("label") is not None and not self.spans_view:
                text.append(f" {one_line(str(v['label']), 30)}")
            if "accept" in v:
                text.append(": " + (", ".join(one_line(str(a), 30) for a in v["accept"]) or "—"))
            if self.spans_view:
                task_text = (self.current_task or {}).get("text", "")
                parts = []
                for s in v.get("spans") or []:
                    differs = everywhere is not None and (s["start"], s["end"], s["label"]) not in everywhere
                    parts.append((s, differs))
                text.append(": " if parts else ": no spans")
                for j, (s, differs) in enumerate(parts):
                    if j:
                        text.append(" · ")
                    index = self.labels.index(s["label"]) if s["label"] in self.labels else 7
                    words = one_line(str(task_text)[s["start"]:s["end"]], 30)
                    text.append(f"{'≠' if differs else ''}{words}",
                                Style(bold=differs, underline=differs, color="yellow" if differs else None))
                    text.append(f"▕{one_line(s['label'], 20)}", label_style(index) + Style(bold=True))
            if self.relations_view:
                self._relation_line(text, v, shared_relations)
            self._flags(text, v)
            text.append("\n")
        if self.feedback:
            self._feedback_answers(text, versions[:10])
        keys = {b: self.key_for(b, default) for b, default in
                (("accept", "a"), ("edit", "e"), ("reject", "x"), ("ignore", "space"))}
        text.append(f" number = pick · {keys['accept']} = keep it · {keys['edit']} = edit it · "
                    f"{keys['reject']} = reject · {keys['ignore']} = skip"
                    + (f"   (≠ marks spans{' and relations' if self.relations_view else ''} not every version has)"
                       if self.spans_view else "")
                    + ("   (≠ marks the questions the versions answer differently)" if self.feedback else ""),
                    Style(dim=True))
        question = self.query_one("#question", Static)
        layout = layout_for(question, text)
        if layout is None:
            return
        if not question.size.width:  # not laid out yet (the first task of a start): its rows counted once it is
            question.update(text)
            self.call_after_refresh(self._keep_question_rows)
            return
        rows = text_height(text, question.size.width)
        if rows is not None and not self.short and not self._keep_rows(question, rows):
            layout = False  # the text box keeps its place from one input to the next
        question.update(text, layout=layout)

    def _keep_question_rows(self) -> None:
        """The rows of the versions shown before the first layout, kept as later ones' are (see above)."""
        question = self.query_one("#question", Static)
        rows = text_height(question.content, question.size.width)
        if rows is not None and not self.short:
            self._keep_rows(question, rows)

    def _keep_rows(self, question: Static, rows: int) -> bool:
        """The versions' box keeps the most rows it has needed (the text box above it stays in place); whether it
        grew."""
        if rows <= self._question_rows:
            return False
        self._question_rows = rows
        question.styles.min_height = rows
        return True

    def _flags(self, text: Text, version: dict[str, Any], ended: bool = False) -> None:
        """Who flagged the version (``⚑`` and their names, at the end of the version's line) and each comment given
        with it on a line of its own under it (``✎ who: comment``): the review task carries them per version
        (``flagged``: names, ``comments``: [name, comment] pairs). ``ended``: the version's line already has its
        newline (a feedback version). Data: one short printable line each, never markup."""
        flagged = [one_line(str(who), 20) for who in version.get("flagged") or []]
        comments = [c for c in version.get("comments") or [] if isinstance(c, (list, tuple)) and len(c) == 2]
        if not flagged and not comments:
            return
        if ended and text.plain.endswith("\n"):
            text.right_crop(1)
        if flagged:
            text.append(f"  ⚑ {', '.join(flagged)}", Style(color="yellow", bold=True))
        for who, comment in comments:
            text.append(f"\n      ✎ {one_line(str(who), 20)}: ", Style(dim=True))
            text.append(one_line(str(comment), 120), Style(italic=True))
        if ended:
            text.append("\n")

    def _relation_line(self, text: Text, version: dict[str, Any], everywhere: set[Any]) -> None:
        """The version's relations on a line under its spans: head text → label → child text, ``≠`` before those
        not every version has (the task's text and the labels shown literally, one line each, kept short)."""
        task_text = str((self.current_task or {}).get("text", ""))
        known = [str(label) for label in self.config.get("relation_labels") or []]
        ends = relation_ends(version)
        text.append("\n      relations: " if ends else "\n      relations: none", Style(dim=True))
        for j, (key, label) in enumerate(ends):
            (head_start, head_end), (child_start, child_end), _ = key
            differs = key not in everywhere
            if j:
                text.append(" · ", Style(dim=True))
            mark = Style(bold=differs, underline=differs, color="yellow" if differs else None)
            text.append(f"{'≠' if differs else ''}{one_line(task_text[head_start:head_end], 24)}", mark)
            text.append(f" → {one_line(label, 20)} → ", relation_style(known.index(label) if label in known else 7)
                        + Style(bold=True))
            text.append(one_line(task_text[child_start:child_end], 24), mark)

    def _feedback_version(self, text: Text, i: int, version: dict[str, Any]) -> None:
        """One version of a feedback answer: its key, who gave it and its answer (its answers come below)."""
        picked = i == self.chosen
        text.append(f" {LABEL_KEYS[i]} ", Style(reverse=True, bold=True))
        text.append(" ▶ " if picked else "   ", Style(bold=True))
        text.append(f"{len(version.get('sessions', []))}× ", Style(bold=picked))
        text.append(f"[{', '.join(one_line(s, 20) for s in version.get('sessions', []))}] ", Style(dim=not picked))
        text.append(str(version.get("answer", "")).upper() + "\n", Style(bold=True))

    def _feedback_answers(self, text: Text, versions: list[dict[str, Any]]) -> None:
        """Per question, each version's answer to it side by side (the picked one bold), ``≠`` where they differ."""
        questions = [q for q in self.config.get("questions") or [] if isinstance(q, dict)]
        names = [one_line(str(q.get("name")), 20) for q in questions]
        width = self.query_one("#question", Static).size.width or self.app.size.width or 80
        room = max(12, (width - max(map(len, names), default=0) - 6) // max(1, len(versions)) - 6)
        for q, name in zip(questions, names, strict=True):
            shown = [self._answer_text(q, (v.get("answers") or {}).get(str(q.get("name")))) for v in versions]
            differs = len(set(shown)) > 1
            text.append(f" {'≠' if differs else ' '} ", Style(bold=True, color="yellow" if differs else None))
            text.append(f"{name:<{max(map(len, names))}}  ", Style(bold=differs))
            for i, said in enumerate(shown):
                if i:
                    text.append(" · ", Style(dim=True))
                text.append(f"{LABEL_KEYS[i]}: ", Style(dim=True))
                text.append(one_line(said, room), Style(bold=i == self.chosen, dim=i != self.chosen and not differs))
            text.append("\n")

    def _answer_text(self, question: dict[str, Any], value: Any) -> str:
        """One answer to one question as a line: a rating, the labels, the text, the spans' words, the order."""
        kind = question.get("type")
        task = self.current_task or {}
        if value is None or value == "" or value == []:
            return "no spans" if kind == "span" and value == [] else "—"
        if kind == "label" and isinstance(value, list):
            return ", ".join(str(label) for label in value)
        if kind == "text" and isinstance(value, str):
            return value.strip()
        if kind == "span" and isinstance(value, list):
            field = task.get(str(question.get("field") or "text"))
            source = field if isinstance(field, str) else ""
            return ", ".join(f"{source[s['start']:s['end']]}▕{s.get('label')}" for s in value
                             if isinstance(s, dict) and isinstance(s.get("start"), int)
                             and isinstance(s.get("end"), int))
        if kind == "ranking" and isinstance(value, list):
            items = task.get(str(question.get("field")))
            items = items if isinstance(items, list) else []
            keyed = items and all(isinstance(i, dict) and isinstance(i.get("id"), (str, int))
                                  and not isinstance(i.get("id"), bool) for i in items)
            ids = [i["id"] for i in items] if keyed else list(range(len(items)))  # what the ranking stores
            by_id = dict(zip(map(repr, ids), map(item_text, items), strict=True))
            return " > ".join(one_line(by_id.get(repr(entry), str(entry)), 20) for entry in value)
        return str(value)

    def on_resize(self, event: Resize) -> None:  # (Textual calls the base screen's handler too)
        if self.short and self._question_rows:  # a short terminal: the rows go back to the text
            self._question_rows = 0
            self.query_one("#question", Static).styles.min_height = None

    # -- actions ------------------------------------------------------------------
    def action_label(self, index: int) -> None:
        if self.current_task is None or index >= len(self.versions):
            return
        self.chosen = index
        self._draw_text()
        self._draw_versions()

    def provenance(self, chosen: int | str) -> dict[str, Any]:
        review = dict((self.current_task or {}).get("_review", {}))
        review["chosen"] = chosen
        review["reviewer"] = self.session
        return review

    def action_answer(self, answer: str) -> None:
        if self.current_task is None or not self.versions:
            return
        version = self.versions[self.chosen]
        if self.feedback:  # the version's answers to the questions (kept with a reject, as the feedback view does)
            self.post_message(self.Answered(str(version.get("answer")) if answer == "accept" else answer, None, {
                "answers": copy.deepcopy(version.get("answers") or {}), "_review": self.provenance(self.chosen)}))
            return
        if answer != "accept":  # the reviewer rejects or skips the input itself
            self.post_message(self.Answered(answer, None, {"_review": self.provenance(self.chosen)}))
            return
        fields: dict[str, Any] = {"_review": self.provenance(self.chosen)}
        if "spans" in version or self.spans_view:
            fields["spans"] = [dict(s) for s in version.get("spans") or []]
        if self.relations_view:  # the version's relations, between its spans
            fields["relations"] = copy.deepcopy(version.get("relations") or [])
        if version.get("label") is not None:
            fields["label"] = version["label"]
        self.post_message(self.Answered(str(version.get("answer")), version.get("accept"), fields))

    def action_edit(self) -> None:
        if self.current_task is None or not self.versions:
            return
        version = self.versions[self.chosen]
        if self.feedback:  # the feedback view, filled in with the version's answers (this screen's own editor)
            task = {k: v for k, v in self.current_task.items() if k != "_review"}
            task["answers"] = copy.deepcopy(version.get("answers") or {})
            task.pop("answer", None)
            self.app.push_screen(FeedbackVersionEditor(self.dataset, self.session, self.labels, self.config,
                                                       version=version, review=self, task=task))
            return
        self.post_message(self.EditRequested(version))

    class EditRequested(Message):
        """Open the picked version in the normal view."""

        def __init__(self, version: dict[str, Any]) -> None:
            super().__init__()
            self.version = version

    def edited_answer(self, answer: str, accept: list[str] | None, fields: dict[str, Any] | None) -> None:
        """The editor's result: submit it as the final answer."""
        fields = dict(fields or {})
        fields["_review"] = self.provenance("edited")
        self.post_message(self.Answered(answer, accept, fields))

    def label_help(self) -> dict[str, str]:
        return {f"label_{LABEL_KEYS[i]}": f"pick version {i + 1}" for i in range(min(10, max(1, len(self.versions))))}


def relation_ends(version: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """The version's relations as ((head offsets, child offsets, label), label), those whose ends have offsets."""
    found = []
    for relation in version.get("relations") or []:
        if not isinstance(relation, dict):
            continue
        head, child, label = relation.get("head_span"), relation.get("child_span"), relation.get("label")
        offsets = [(span.get("start"), span.get("end")) for span in (head, child) if isinstance(span, dict)]
        if len(offsets) == 2 and all(isinstance(o, int) and not isinstance(o, bool) for pair in offsets for o in pair) \
                and isinstance(label, str):
            found.append(((offsets[0], offsets[1], label), label))
    return found


def whose(names: list[str]) -> str:
    """``alice's version``, ``the version of alice and bob``: the names made printable and kept short."""
    shown = [one_line(str(n), 30) for n in names[:4]] + ([f"{len(names) - 4} more"] if len(names) > 4 else [])
    if not shown:
        return "the picked version"
    if len(shown) == 1:
        return f"{shown[0]}'s version"
    return f"the version of {', '.join(shown[:-1])} and {shown[-1]}"


class VersionEditor(AnnotationScreen):
    """The reviewed view's screen, opened on one version: says so, and how to keep the edit or leave it.

    Not used as is: :func:`version_editor` puts it in front of the view's own screen class. Leaving (escape
    or backspace) posts :class:`AnnotationScreen.UndoRequested`, which the app takes, in the editor, as
    "close it, store nothing"; an answer here is the edited version, which the app hands to the review.
    """

    LEAVE = Binding("escape", "leave_editor", "Back to versions", id="leave_editor")
    BINDINGS = [Binding("backspace", "undo", "Back to versions", show=False, id="undo")]
    EDIT_HELP: ClassVar[dict[str, str]] = {
        "leave_editor": "back to the versions, storing nothing",
        "undo": "back to the versions, storing nothing",
        "accept": "keep the edited version as the final answer",
        "reject": "reject the input itself (the final answer)",
        "ignore": "skip this input (stored as ignore)",
    }

    def __init__(self, *args: Any, version: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.version = version

    def _title(self) -> Text:
        text = Text(" EDITING ", Style(bold=True, reverse=True))
        text.append("  " + whose(list(self.version.get("sessions") or [])), Style(bold=True))
        text.append("  ·  final answers into dataset ")
        text.append(one_line(self.dataset, 60), Style(bold=True))
        text.append("  ·  reviewer ")
        text.append(one_line(self.session, 40), Style(bold=True))
        text.append("\n")
        text.append(f" {self.key_for('accept', 'a')} ", Style(bold=True, reverse=True))
        text.append(" keeps it as the final answer  ·  ")
        text.append(f" {self.key_for('leave_editor', 'esc')} ", Style(bold=True, reverse=True))
        text.append(" goes back to the versions, nothing stored")
        return text

    def show_task(self, task: dict[str, Any], progress: Progress) -> None:
        super().show_task(task, progress)
        title = self.query_one("#title", Static)
        title.styles.height = "auto"  # the two lines of the banner
        title.update(self._title())  # now mounted: the keys as the user's keymap has them

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_selection" and getattr(self, "anchor", None) is None and not (
                isinstance(self, RelationScreen) and (self.head is not None or self.selected is not None)):
            return False  # the span views: nothing selected (nor a relation made), so escape leaves the editor
        return super().check_action(action, parameters)

    def action_leave_editor(self) -> None:
        self.post_message(self.UndoRequested())


_EDITORS: dict[type[AnnotationScreen], type[VersionEditor]] = {}


def _escape_bindings(view: type[AnnotationScreen]) -> list[Binding]:
    """What ``view`` binds to escape (as Textual merges bindings: the most derived class that binds it)."""
    for cls in view.__mro__:
        found = [b for b in cls.__dict__.get("BINDINGS", [])
                 if isinstance(b, Binding) and "escape" in (k.strip() for k in b.key.split(","))]
        if found:
            return found
    return []


def version_editor(view: type[AnnotationScreen]) -> type[VersionEditor]:
    """``view``'s screen as a :class:`VersionEditor` (one class per view, made once).

    ``escape`` keeps what the view binds to it (tried first: it runs when the view enables it) and then
    leaves the editor; the help gains the editor's descriptions.
    """
    if view not in _EDITORS:
        namespace = {"BINDINGS": [*_escape_bindings(view), VersionEditor.LEAVE],
                     "HELP": {**view.HELP, **VersionEditor.EDIT_HELP},
                     "__module__": __name__}  # Textual finds CSS_PATH beside the class's module
        _EDITORS[view] = cast(type[VersionEditor], type(f"{view.__name__}Editor", (VersionEditor, view), namespace))
    return _EDITORS[view]


class FeedbackVersionEditor(VersionEditor, FeedbackScreen):
    """The feedback view opened by a review of feedback answers on one version, its answers filled in.

    The review screen opens it and takes its result itself (the app's editor, :func:`version_editor`, is for the
    views a recipe reviews as themselves): it shows its task once mounted, an answer here (``a`` once every
    required question is answered, or ``x``, ``space``) goes back to the review as the edited version, and
    leaving (``escape`` when no text is edited and no span selected, ``backspace``) stores nothing. Its own
    messages stop here, so the app never takes them for the review's.
    """

    HELP: ClassVar[dict[str, str]] = {  # type: ignore[assignment]  # (see AnnotationScreen.HELP)
        **FeedbackScreen.HELP, **VersionEditor.EDIT_HELP,
        "stop_editing": "end editing a text, or clear a span selection; else back to the versions, storing nothing"}

    def __init__(self, *args: Any, version: dict[str, Any], review: ReviewScreen, task: dict[str, Any],
                 **kwargs: Any) -> None:
        super().__init__(*args, version=version, **kwargs)
        self.review = review
        self.edit_task = task

    def on_annotation_screen_ready(self, message: AnnotationScreen.Ready) -> None:
        message.stop()
        self.show_task(self.edit_task, self.review.shown_progress or Progress(0, 0, None, 0, None))

    def on_annotation_screen_answered(self, message: AnnotationScreen.Answered) -> None:
        message.stop()
        self.app.pop_screen()
        self.review.edited_answer(message.answer, message.accept, message.fields)

    def on_annotation_screen_undo_requested(self, message: AnnotationScreen.UndoRequested) -> None:
        message.stop()
        self.app.pop_screen()

    def action_escape(self) -> None:
        question = self.focused_question
        if self.editing or (isinstance(question, SpanQuestion) and question.anchor_token is not None):
            super().action_escape()
        else:
            self.action_leave_editor()
