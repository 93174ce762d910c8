"""``c``: a one-line comment on the task on screen, typed in a small box over it.

Enter keeps what is typed (an empty line removes the comment), escape leaves the comment as it was; the screen
under it is untouched either way. The result goes back to the annotation screen, which shows it and sends it with
the answer (``_comment``). Every key types into the box while it is open: none answers the task.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ..sanitize import printable

MAX_LENGTH = 500
"""Characters a comment may have: a line, not a document."""


class CommentScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    CommentScreen { align: center middle; }
    #comment-box { width: 80; max-width: 100%; height: auto; border: round $accent; padding: 0 1;
                   background: $surface; }
    #comment-box > Static { height: 1; color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_comment")]

    def __init__(self, comment: str = "") -> None:
        super().__init__()
        self.comment = printable(" ".join(comment.split()))  # (a task read from a file may hold one: data)

    def compose(self) -> ComposeResult:
        with Vertical(id="comment-box") as box:
            box.border_title = "comment on this task"
            box.border_subtitle = "enter keeps · esc cancels"
            yield Input(self.comment, placeholder="one line; empty removes the comment", max_length=MAX_LENGTH,
                        id="comment")
            yield Static("Stored with the answer as _comment.", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
