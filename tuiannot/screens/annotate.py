"""The base of every annotation screen: the text, the question, progress, the keys.

A screen renders a task and emits what the annotator decided as messages
(:class:`AnnotationScreen.Answered`, :class:`AnnotationScreen.UndoRequested`);
it knows nothing of files or databases. Keys are Prodigy's, bound with stable
ids so that a user keymap can move them (see :mod:`tuiannot.screens.app`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.types import CSSPathType
from textual.widget import Widget
from textual.widgets import Footer, Static

from ..sanitize import one_line
from ..stream import Position
from .widgets.task_text import TaskText, safe

LABEL_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"]


@dataclass
class Progress:
    """What the progress line shows. Each figure says what it counts: answers (this session's, the dataset's,
    against ``--target``), and where the task shown was read in the source (its line, of how many lines when
    they were counted, else the share of the file's bytes before it); a recipe's own ``progress`` replaces
    the source's place."""

    session: int
    dataset: int
    source: float | None  # the recipe's progress callback (0..1)
    invalid: int
    last_warning: str | None
    model: str | None = None  # --teach: how far the model has learned
    position: Position | None = None
    target: int | None = None


class AnnotationScreen(Screen[None]):
    CSS_PATH: ClassVar[CSSPathType | None] = "annotate.tcss"
    VIEW_ID = ""

    BINDINGS = [
        Binding("a", "answer('accept')", "Accept", id="accept"),
        Binding("x", "answer('reject')", "Reject", id="reject"),
        Binding("space", "answer('ignore')", "Ignore", id="ignore"),
        Binding("backspace", "undo", "Undo", id="undo"),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("down,j", "scroll('down')", "Scroll down", show=False, id="scroll_down"),
        Binding("up,k", "scroll('up')", "Scroll up", show=False, id="scroll_up"),
        Binding("pagedown", "scroll('page_down')", "Page down", show=False, id="page_down"),
        Binding("pageup", "scroll('page_up')", "Page up", show=False, id="page_up"),
        *[Binding(key, f"label({i})", f"Label {key}", show=False, id=f"label_{key}")
          for i, key in enumerate(LABEL_KEYS)],
    ]

    # binding id -> what it does, for the help screen; Textual's own HELP (a Markdown string) goes unused
    HELP: ClassVar[dict[str, str]] = {  # type: ignore[assignment]  # not Textual's HELP (see above)
        "accept": "accept: store this answer as right",
        "reject": "reject: store this answer as wrong",
        "ignore": "ignore: skip this task (stored as ignore)",
        "undo": "undo: back to the previous task, its answer restored; answer again to replace it",
        "help": "this help",
        "quit": "quit (every answer is already saved)",
    }

    class Answered(Message):
        """The annotator answered the task on screen."""

        def __init__(self, answer: str, accept: list[str] | None, fields: dict[str, Any] | None = None) -> None:
            super().__init__()
            self.answer = answer
            self.accept = accept
            self.fields = fields

    class UndoRequested(Message):
        """The annotator wants the previous task back."""

    class Ready(Message):
        """The screen is composed and can show tasks."""

    def on_mount(self) -> None:
        self.post_message(self.Ready())

    def __init__(self, dataset: str, session: str, labels: list[str], config: dict[str, Any]) -> None:
        super().__init__()
        self.dataset = dataset
        self.session = session
        self.labels = labels
        self.config = config
        self.current_task: dict[str, Any] | None = None
        self.waiting = True

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="title")
        with Vertical(id="task"):
            yield self.text_widget()
            yield Static("", id="meta")
        yield self.question_widget()
        yield Static("", id="previous")
        yield Static("", id="progress")
        yield Static("", id="warning")
        yield Footer()

    def text_widget(self) -> Widget:
        return TaskText(id="text")

    def question_widget(self) -> Widget:
        return Static("", id="question")

    def _title(self) -> Text:
        text = Text(" tuiannot ", Style(bold=True, reverse=True))
        text.append("  dataset ")
        text.append(one_line(self.dataset, 60), Style(bold=True))
        text.append("  ·  session ")
        text.append(one_line(self.session, 40), Style(bold=True))
        return text

    # -- showing ---------------------------------------------------------------
    def show_loading(self, message: str = "Loading the next task…") -> None:
        self.current_task, self.waiting = None, True
        self.query_one("#text", TaskText).set_text(message)
        self.query_one("#meta", Static).update("")
        self.query_one("#question", Static).update("")
        self.query_one("#previous", Static).update("")

    def show_task(self, task: dict[str, Any], progress: Progress) -> None:
        self.current_task, self.waiting = task, False
        self.show_text(task)
        meta = task.get("meta")
        meta_text = Text()
        if isinstance(meta, dict) and meta:
            for key, value in list(meta.items())[:8]:
                meta_text.append(f"{one_line(str(key), 30)}: ", Style(dim=True))
                meta_text.append(one_line(str(value), 60) + "   ", Style(dim=True, italic=True))
        self.query_one("#meta", Static).update(meta_text)
        self.show_question(task)
        previous = self.query_one("#previous", Static)
        if task.get("answer"):
            previous.update(Text.assemble(("  earlier answer: ", "dim"), (str(task["answer"]).upper(), "bold"),
                                          ("  — answer again to keep or change it", "dim")))
        else:
            previous.update("")
        self.show_progress(progress)

    def show_text(self, task: dict[str, Any]) -> None:
        self.query_one("#text", TaskText).set_text(str(task.get("text", "")))

    def show_question(self, task: dict[str, Any]) -> None:
        """Draw the question part (label or choices); each view overrides it."""

    def show_progress(self, progress: Progress) -> None:
        text = Text()
        text.append(f" {progress.session}", Style(bold=True))
        text.append(" this session  ·  ")
        text.append(f"{progress.dataset}", Style(bold=True))
        text.append(" in the dataset")
        if progress.target is not None:
            text.append("  ·  target ")
            text.append(f"{progress.dataset:,} of {progress.target:,}", Style(bold=True))
            text.append(" ✓" if progress.dataset >= progress.target else
                        f" ({progress.dataset / progress.target:.0%})")
        if progress.source is not None:
            text.append("  ·  progress ")
            text.append(f"{progress.source:.0%}", Style(bold=True))
        elif progress.position is not None:
            position = progress.position
            text.append("  ·  source line ")
            text.append(f"{position.line:,}", Style(bold=True))
            if position.lines is not None:
                text.append(f" of {max(position.lines, position.line):,}")
            elif position.share is not None:
                text.append(f" ({position.share:.0%} of the file before it)")
        if progress.model:
            text.append("  ·  ")
            text.append(progress.model, Style(color="cyan"))
        if progress.invalid:
            text.append("  ·  ")
            text.append(f"{progress.invalid} invalid skipped", Style(color="yellow"))
        self.query_one("#progress", Static).update(text)
        warning = self.query_one("#warning", Static)
        warning.update(safe(f"⚠ {progress.last_warning}", "yellow", 300) if progress.last_warning else "")

    # -- actions ---------------------------------------------------------------
    def current_accept(self) -> list[str] | None:
        """The labels to store with the answer (choice views); None for binary questions."""
        return None

    def action_answer(self, answer: str) -> None:
        if self.current_task is None:
            return
        self.post_message(self.Answered(answer, self.current_accept(), self.current_fields()))

    def current_fields(self) -> dict[str, Any] | None:
        """Parts of the task the annotator edited (spans, boxes); None when nothing is editable."""
        return None

    def action_undo(self) -> None:
        self.post_message(self.UndoRequested())

    def action_label(self, index: int) -> None:
        """Number keys: what they do depends on the view."""

    def action_scroll(self, how: str) -> None:
        getattr(self.query_one("#text"), f"scroll_{how}")(animate=False)

    def action_help(self) -> None:
        from .help import HelpScreen

        self.app.push_screen(HelpScreen(self.active_bindings_help()))

    KEY_NAMES = {"space": "space", "question_mark": "?", "backspace": "⌫", "escape": "esc"}

    def key_for(self, binding_id: str, default: str) -> str:
        """The key that does ``binding_id`` now, as the user's keymap has it (for hints), else ``default``."""
        try:
            bindings = self.app.active_bindings.items()
        except Exception:  # noqa: BLE001 (not mounted yet: the default is what is bound)
            return default
        for key, active in bindings:
            if active.binding.id == binding_id and active.node is self:
                return self.KEY_NAMES.get(key, key)
        return default

    def active_bindings_help(self) -> list[tuple[str, str]]:
        """(keys, what they do) for this screen's bindings, as the user's keymap has them."""
        keys: dict[str, list[str]] = {}
        descriptions: dict[str, str] = {}
        for key, active in self.app.active_bindings.items():
            binding = active.binding
            if binding.id is None or active.node is not self:
                continue
            keys.setdefault(binding.id, []).append(key)
            descriptions[binding.id] = self.HELP.get(binding.id, binding.description)
        labels = self.label_help()
        rows = []
        for binding_id, bound in keys.items():
            if binding_id.startswith("label_"):
                if binding_id not in labels:
                    continue
                descriptions[binding_id] = labels[binding_id]
            rows.append((",".join(bound), descriptions[binding_id]))
        return rows

    def label_help(self) -> dict[str, str]:
        """Binding id -> description for the number keys this view uses."""
        return {}

    async def action_quit(self) -> None:
        await self.app.action_quit()
