"""The base of every annotation screen: the text, the question, progress, the keys.

A screen renders a task and emits what the annotator decided as messages
(:class:`AnnotationScreen.Answered`, :class:`AnnotationScreen.UndoRequested`);
it knows nothing of files or databases. Keys are Prodigy's, bound with stable
ids so that a user keymap can move them (see :mod:`tuiannot.screens.app`).

Small terminals: the text comes first. Lines that show nothing (no earlier answer, no warning) take no room
(:class:`Line`); under :data:`SHORT_ROWS` rows the screen has the class ``-short`` and drops its blank margins,
keeps the meta to one line and the choice views leave out their hint line. The task box says when there is
more text above or below (its border titles: the scroll bar alone is a colour, lost under NO_COLOR). The title
(:class:`TitleBar`) takes the longest form that fits, keeping the session's name; the keys (:class:`KeyBar`,
instead of Textual's footer, which cut them) wrap by item.

A key redraws what changed and nothing else (issue 15): a line around the text that says the same is not
touched, one whose height stays is redrawn without laying the screen out again
(:func:`~.widgets.task_text.update_static`), and the task box's border titles are set only when they change
(setting one repaints the whole box).

What the annotator says beside the answer: ``f`` flags the task and ``c`` opens a one-line comment
(:mod:`.comment`); both show on the line under the question (:class:`Line` ``#marks``) and go with the answer in
its ``fields`` (``_flagged``, ``_comment``: :meth:`AnnotationScreen.post_message` adds them to every
:class:`AnnotationScreen.Answered`, whichever view posts it; the controller drops them when not given). A task
shown again (undo, or a task that holds them) brings its flag and comment back; the next task starts without.
``g`` opens the guidelines (:mod:`.guidelines`, imported only then) the session was given in its ``config``
(``guidelines``), and the labels' descriptions (``label_info``) show beside the labels and in the help.

A start from the command line runs without Python's cyclic garbage collector (:mod:`tuiannot.cli.program`:
collections walked the ~60,000 objects the start makes again and again). The screen turns it back on once the
first task is drawn (or :data:`COLLECT_AFTER` seconds after it came up, whichever is first: a task can be slow
to come), with what the start made frozen out of its way: it lives as long as the app. The price: the start's
own cyclic garbage is frozen with it, never freed (about 2,000 objects, 0.3 MB, for ``textcat``; 12,000, 1 MB,
with spaCy), where collecting it first would hold the first key back by 35-150 ms.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.events import Click, Resize
from textual.geometry import Size
from textual.keys import key_to_character
from textual.message import Message
from textual.screen import Screen
from textual.types import CSSPathType
from textual.visual import VisualType
from textual.widget import Widget
from textual.widgets import Static

from ..sanitize import one_line
from ..stream import Position
from .widgets.label_bar import wrap_items
from .widgets.task_text import TaskText, safe, update_static

LABEL_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"]
SHORT_ROWS = 20
"""Below this many rows a screen is short: the text keeps the room that margins and hints would take."""
COLLECT_AFTER = 1.0
"""Seconds after a screen came up by which the garbage collector is back on, even if no task was drawn yet."""


def collect_again() -> None:
    """Turn the cyclic garbage collector back on if the start turned it off (see the module's docstring)."""
    if not gc.isenabled():
        gc.freeze()  # what the start made lives as long as the app: full collections need not walk it
        gc.enable()


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
    CSS = """
    AnnotationScreen.-short #question { margin: 0; }
    AnnotationScreen.-short #progress { margin: 0; }
    AnnotationScreen.-short #meta { max-height: 1; }
    """
    SCOPED_CSS = False  # the rules above name the screen's own class (-short), which a scope would put around them
    VERTICAL_BREAKPOINTS = [(0, "-short"), (SHORT_ROWS, "-tall")]
    VIEW_ID = ""
    _more_shown: tuple[str | None, str | None] = (None, None)  # what the task box's border titles say
    # Set by the app on its first screen: called as the screen mounts, in place of the Ready message, so that the
    # first task of a start is drawn by the screen's first frame. The message reached the app after the screen's
    # first two frames (and their layouts) were drawn without it; the first photo of `image` came ~30 ms later
    # (issue 15). Widgets that fit what they show to their size do it at their first layout.
    show_first: Callable[[], None] | None = None

    BINDINGS = [
        Binding("a", "answer('accept')", "Accept", id="accept"),
        Binding("x", "answer('reject')", "Reject", id="reject"),
        Binding("space", "answer('ignore')", "Ignore", id="ignore"),
        Binding("backspace", "undo", "Undo", id="undo"),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("i", "llm_io", "Model I/O", show=False, id="llm_io"),
        Binding("g", "guidelines", "Guidelines", id="guidelines"),  # in the key bar only with guidelines
        Binding("f,F", "flag", "Flag", show=False, id="flag"),  # F where a view keeps f (the image's fine steps)
        Binding("c,C", "comment", "Comment", show=False, id="comment"),  # C where a view keeps c (clear)
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
        "llm_io": "with --llm: the prompt sent for this task and the model's raw reply",
        "guidelines": "the guidelines (--guidelines): scroll, / searches, n goes to the next match, esc closes",
        "flag": "flag this task (again: unflag); stored with the answer as _flagged",
        "comment": "a one-line comment on this task (enter keeps it, esc cancels); stored with the answer as "
                   "_comment",
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
        text = self.query_one("#text")
        for reactive in ("scroll_y", "virtual_size"):
            self.watch(text, reactive, self._show_more, init=False)
        first = self.show_first
        self.show_first = None
        if first is not None:
            first()
        else:
            self.post_message(self.Ready())
        if not gc.isenabled():
            self.set_timer(COLLECT_AFTER, collect_again)

    def on_resize(self, event: Resize) -> None:
        self.call_after_refresh(self._show_more)

    def on_task_text_resized(self, _: Any) -> None:
        self.call_after_refresh(self._show_more)  # the text's box alone changed: "N more lines" too

    @property
    def short(self) -> bool:
        """Fewer than :data:`SHORT_ROWS` rows: leave out what the text needs the room for."""
        return 0 < self.size.height < SHORT_ROWS

    def _show_more(self) -> None:
        """Say in the task box's border how many lines of the text are above and below what is shown."""
        text, box = self.query_one("#text"), self.query_one("#task")
        above = round(text.scroll_y)
        below = max(0, round(text.max_scroll_y) - above)
        says = (f"↑ {above} line{'s' if above != 1 else ''} above" if above else None,
                f"{below} more line{'s' if below != 1 else ''} ↓" if below else None)
        if says != self._more_shown:  # (setting a border title repaints the whole box, text and all)
            self._more_shown = says
            box.border_title = Text(says[0]) if says[0] else None
            box.border_subtitle = Text(says[1]) if says[1] else None

    def __init__(self, dataset: str, session: str, labels: list[str], config: dict[str, Any]) -> None:
        super().__init__()
        self.dataset = dataset
        self.session = session
        self.labels = labels
        self.config = config
        self._marks_line = Line("", id="marks")  # the flag and the comment
        self.flagged = False  # f, for the task on screen
        self.comment: str | None = None  # c, for the task on screen
        self.current_task: dict[str, Any] | None = None
        self.waiting = True
        self._key_names: dict[str, str] = {}  # binding id -> its key for hints (see key_for)

    def compose(self) -> ComposeResult:
        yield TitleBar(self._title(), *self._shorter_titles(), id="title")
        with Vertical(id="task"):
            yield self.text_widget()
            yield Static("", id="meta")
        yield self.question_widget()
        yield Line("", id="previous")
        yield self._marks_line
        yield Static("", id="progress")
        yield Line("", id="warning")
        yield KeyBar()

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

    def _shorter_titles(self) -> list[Text]:
        """The title for narrower terminals, each shorter than the one before; the session's name stays."""
        bold = Style(bold=True)
        session = one_line(self.session, 40)
        return [Text.assemble(" dataset ", (one_line(self.dataset, 60), bold), " · session ", (session, bold)),
                Text.assemble(" ", (one_line(self.dataset, 60), bold), " · session ", (session, bold)),
                Text.assemble(" ", (one_line(self.dataset, 12), bold), " · session ", (session, bold)),
                Text.assemble(" session ", (session, bold))]

    # -- showing ---------------------------------------------------------------
    def show_loading(self, message: str = "Loading the next task…") -> None:
        self.current_task, self.waiting = None, True
        self.query_one("#text", TaskText).set_text(message)
        for wid in ("#meta", "#question", "#previous"):
            update_static(self.query_one(wid, Static), "")

    def show_task(self, task: dict[str, Any], progress: Progress) -> None:
        if not gc.isenabled():  # the first task of a start: the collector is back once it is on screen
            self.call_after_refresh(collect_again)
        self.current_task, self.waiting = task, False
        self.show_text(task)
        meta = task.get("meta")
        meta_text = Text()
        if isinstance(meta, dict) and meta:
            for key, value in list(meta.items())[:8]:
                meta_text.append(f"{one_line(str(key), 30)}: ", Style(dim=True))
                meta_text.append(one_line(str(value), 60) + "   ", Style(dim=True, italic=True))
        update_static(self.query_one("#meta", Static), meta_text)
        self.show_question(task)
        previous = self.query_one("#previous", Line)
        if task.get("answer"):
            update_static(previous, Text.assemble(("  earlier answer: ", "dim"), (str(task["answer"]).upper(), "bold"),
                                                  ("  — answer again to keep or change it", "dim")))
        else:
            update_static(previous, "")
        comment = task.get("_comment")  # a task shown again (undo) brings its flag and comment back
        self.flagged, self.comment = task.get("_flagged") is True, comment if isinstance(comment, str) else None
        self.draw_marks()
        self.show_progress(progress)

    @property
    def current_task(self) -> dict[str, Any] | None:
        return self._current_task

    @current_task.setter
    def current_task(self, task: dict[str, Any] | None) -> None:
        """No task (loading the next): its flag and comment are gone from the screen (each view's show_loading)."""
        self._current_task = task
        if task is None and (self.flagged or self.comment):
            self.flagged, self.comment = False, None
            self.draw_marks()

    def draw_marks(self) -> None:
        """The line saying the task is flagged and what the comment is (no room taken without them)."""
        marks = self._marks_line
        if not marks.is_attached:
            return  # not composed yet

        def key(binding_id: str, default: str) -> str:
            found = self.key_for(binding_id, default)
            return one_line(key_to_character(found) or found, 20)

        text = Text()
        if self.flagged:
            text.append(" ⚑ flagged ", Style(bold=True, reverse=True))
            text.append(f" {key('flag', 'f')} unflags", Style(dim=True))
        if self.comment:
            width = marks.size.width or self.app.size.width
            text.append("  ✎ comment: " if self.flagged else " ✎ comment: ", Style(bold=True))
            text.append(one_line(self.comment, max(10, width - text.cell_len - 12)), Style(italic=True))
            text.append(f"  {key('comment', 'c')} edits", Style(dim=True))
        update_static(marks, text)

    def post_message(self, message: Message) -> bool:
        """An answer, whichever view posts it, takes the task's flag and comment along in its ``fields`` (a review
        passing on what its editor of a version sent keeps the editor's, or else its own)."""
        if isinstance(message, AnnotationScreen.Answered):
            fields = dict(message.fields or {})
            fields["_flagged"] = fields.get("_flagged") is True or self.flagged
            fields["_comment"] = fields.get("_comment") or self.comment
            message.fields = fields
        return super().post_message(message)

    def show_text(self, task: dict[str, Any]) -> None:
        self.query_one("#text", TaskText).set_text(str(task.get("text", "")))

    def show_question(self, task: dict[str, Any]) -> None:
        """Draw the question part (label or choices); each view overrides it."""

    def show_progress(self, progress: Progress) -> None:
        def item(*parts: tuple[str, Style | None]) -> Text:
            return Text.assemble(*((part, style or "") for part, style in parts))

        bold = Style(bold=True)
        items = [item((f"{progress.session:,}", bold), (" this session", None)),
                 item((f"{progress.dataset:,}", bold), (" in the dataset", None))]
        if progress.target is not None:
            reached = progress.dataset >= progress.target
            items.append(item(("target ", None), (f"{progress.dataset:,} of {progress.target:,}", bold),
                              (" ✓" if reached else f" ({progress.dataset / progress.target:.0%})", None)))
        if progress.source is not None:
            items.append(item(("progress ", None), (f"{progress.source:.0%}", bold)))
        elif progress.position is not None:
            position = progress.position
            of = (f" of {max(position.lines, position.line):,}" if position.lines is not None else
                  f" ({position.share:.0%} of the file before it)" if position.share is not None else "")
            items.append(item(("source line ", None), (f"{position.line:,}", bold), (of, None)))
        if progress.model:
            items.append(Text(one_line(progress.model, 200), Style(color="cyan")))
        if progress.invalid:
            items.append(Text(f"{progress.invalid:,} invalid skipped", Style(color="yellow")))
        width = self.query_one("#progress", Static).size.width or self.app.size.width
        text = wrap_items(items, width - 1, gap="  ·  ", indent=" ")  # broken between figures, never inside one
        update_static(self.query_one("#progress", Static), text)
        update_static(self.query_one("#warning", Static),
                      safe(f"⚠ {progress.last_warning}", "yellow", 300) if progress.last_warning else "")

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

    def action_llm_io(self) -> None:
        io = (self.current_task or {}).get("_llm_io")
        if not isinstance(io, dict):
            self.notify("No model request for this task (with --llm, the prompt and reply of each task asked "
                        "in this session).", timeout=4)
            return
        from .llm_io import LLMIOScreen

        llm = (self.current_task or {}).get("_llm")
        self.app.push_screen(LLMIOScreen(io, llm.get("model") if isinstance(llm, dict) else None))

    def action_flag(self) -> None:
        if self.current_task is not None:
            self.flagged = not self.flagged
            self.draw_marks()

    def action_comment(self) -> None:
        if self.current_task is None:
            return
        from .comment import CommentScreen

        task = self.current_task

        def keep(comment: str | None) -> None:
            if comment is not None and self.current_task is task:  # None: cancelled
                self.comment = " ".join(comment.split()) or None
                self.draw_marks()

        self.app.push_screen(CommentScreen(self.comment or ""), keep)

    def action_guidelines(self) -> None:
        guidelines = self.config.get("guidelines")
        if not isinstance(guidelines, dict) or not isinstance(guidelines.get("text"), str):
            self.notify("No guidelines for this session: give --guidelines FILE.md (or guidelines = \"FILE.md\" in "
                        "tuiannot.toml).", timeout=4, markup=False)
            return
        from .guidelines import GuidelinesScreen

        self.app.push_screen(GuidelinesScreen(guidelines, self.label_info(), self.labels))

    def label_info(self) -> dict[str, dict[str, str]]:
        """Label -> its ``description`` and ``example`` (``--labels-file``, or the configuration's ``[labels]``)."""
        info = self.config.get("label_info")
        return info if isinstance(info, dict) else {}

    def label_note(self, label: str) -> str:
        """A label's description and example in one line (``""`` without them): raw text, to make printable."""
        info = self.label_info().get(label) or {}
        description, example = info.get("description", ""), info.get("example", "")
        if not example:
            return description
        return f"{description} (e.g. {example})" if description else f"e.g. {example}"

    def action_help(self) -> None:
        from .help import HelpScreen

        labels = [(label, self.label_note(label)) for label in self.labels if self.label_note(label)]
        self.app.push_screen(HelpScreen(self.active_bindings_help(), labels))

    KEY_NAMES = {"space": "space", "question_mark": "?", "backspace": "⌫", "escape": "esc"}

    def key_for(self, binding_id: str, default: str) -> str:
        """The key that does ``binding_id`` now, as the user's keymap has it (for hints), else ``default``.

        Looked up once the screen is on top (the keymap is set before), then remembered: hints are drawn on
        every key, and the app's active bindings are gathered anew at each look-up."""
        known = self._key_names.get(binding_id)
        if known is not None:
            return known
        try:
            bindings = self.app.active_bindings.items()
        except Exception:  # noqa: BLE001 (not mounted yet: the default is what is bound)
            return default
        found = next((self.KEY_NAMES.get(key, key) for key, active in bindings
                      if active.binding.id == binding_id and active.node is self), default)
        if self.is_current:
            self._key_names[binding_id] = found
        return found

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


# -- the lines around the task ---------------------------------------------------------------------------------
class Line(Static):
    """A line that takes no room while it shows nothing (an earlier answer, a warning)."""

    def __init__(self, content: VisualType = "", *, id: str | None = None) -> None:
        super().__init__(content, id=id)
        self.display = bool(content)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        super().update(content, layout=layout)
        self.display = bool(content)


class TitleBar(Static):
    """The title line: the first of its forms (longest first) that fits the width, so that a narrow terminal
    drops words, not the session's name. Given other content with :meth:`update`, it shows that as it is."""

    def __init__(self, *forms: Text, id: str | None = None) -> None:
        super().__init__(forms[0], id=id)
        self._forms = list(forms)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        self._forms = []
        super().update(content, layout=layout)

    def on_resize(self, event: Resize) -> None:
        if self._forms:
            width = self.content_region.width
            Static.update(self, next((f for f in self._forms if f.cell_len <= width), self._forms[-1]))


_TAKEN: dict[type, dict[str, str]] = {}


def taken_over(screen: type) -> dict[str, str]:
    """The actions a view binds to a key the base screen binds (the image view's ``f``, the ranking's ``c``), each
    with the action of the shown binding the view declares before it. Textual keeps a key where the base first
    bound it, which would move such a binding forward in the key bar: the bar puts it back after that one."""
    if screen not in _TAKEN:
        base_actions = {b.action for b in AnnotationScreen.BINDINGS if isinstance(b, Binding)}
        base_keys = {k.strip() for b in AnnotationScreen.BINDINGS if isinstance(b, Binding) for k in b.key.split(",")}
        found: dict[str, str] = {}
        for cls in screen.__mro__:
            if cls is AnnotationScreen or not issubclass(cls, AnnotationScreen):
                continue
            before: str | None = None
            for binding in cls.__dict__.get("BINDINGS", []):
                if not isinstance(binding, Binding) or not binding.show:
                    continue
                keys = {k.strip() for k in binding.key.split(",")}
                if binding.action not in base_actions and keys & base_keys and before is not None:
                    found.setdefault(binding.action, before)
                else:
                    before = binding.action
        _TAKEN[screen] = found
    return _TAKEN[screen]


class KeyBar(Widget):
    """The screen's keys and what they do, as the user's keymap has them, at the bottom. Where one line cannot
    hold them they wrap by item (Textual's footer cut them off). A click on a key presses it."""

    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: auto; background: $footer-background; color: $footer-foreground; }
    KeyBar > .key-bar--key { text-style: bold; color: $footer-key-foreground; }
    """
    COMPONENT_CLASSES = {"key-bar--key"}

    def __init__(self) -> None:
        super().__init__()
        self._keys: list[tuple[int, int, int, str]] = []  # (line, from, to, key) of each key shown, for clicks

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _: Screen[Any]) -> None:
        self.refresh(layout=True)

    def keys(self) -> list[tuple[str, str, str]]:
        """(key, as shown, what it does) of each binding shown, one per action."""
        shown: dict[str, tuple[str, str, str]] = {}
        guidelines = isinstance(getattr(self.screen, "config", {}).get("guidelines"), dict)
        for _, binding, enabled, _ in self.screen.active_bindings.values():
            if binding.id == "guidelines" and not guidelines:
                continue  # g says there are none, but only the help lists it then
            if binding.show and enabled and binding.action not in shown:
                shown[binding.action] = (binding.key, self.app.get_key_display(binding), binding.description)
        items = list(shown.items())
        for action, after in taken_over(type(self.screen)).items():  # back beside the view's own keys
            at = next((i for i, (a, _) in enumerate(items) if a == action), None)
            if at is not None and after in shown:
                item = items.pop(at)
                items.insert(next(i for i, (a, _) in enumerate(items) if a == after) + 1, item)
        return [item for _, item in items]

    def _text(self, width: int) -> Text:
        style = self.get_component_rich_style("key-bar--key")
        keys = self.keys()
        items = [Text.assemble((f" {display} ", style), f"{description} ") for _, display, description in keys]
        self._keys, line, x = [], 0, 0
        for item, (key, _, _) in zip(items, keys, strict=True):
            if x and x + item.cell_len > width > 0:
                line, x = line + 1, 0
            self._keys.append((line, x, x + item.cell_len, key))
            x += item.cell_len
        return wrap_items(items, width, "")

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._text(width).split("\n"))

    def render(self) -> Text:
        return self._text(self.content_region.width)

    def on_click(self, event: Click) -> None:
        for line, start, end, key in self._keys:
            if line == event.y and start <= event.x < end:
                self.app.simulate_key(key)
