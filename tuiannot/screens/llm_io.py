"""``i``: the raw prompt and reply of the current task's model request (the seeds' "llm-io" view).

With ``--llm`` each task carries what was sent to the model server and the reply's text as it came (``_llm_io``;
never stored: the answer keeps the provenance in ``_llm``), so a prompt can be debugged while annotating. The box
scrolls; ``i`` or escape closes it. The text is untrusted (the task's, the model's): shown printable, markup
literal.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..sanitize import printable


class LLMIOScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    LLMIOScreen { align: center middle; }
    #llm-io { width: 100; max-width: 100%; height: auto; max-height: 100%; border: round $accent;
              padding: 0 1; background: $surface; }
    """
    BINDINGS = [Binding("escape,i,q", "dismiss", "Close", id="close_llm_io")]

    def __init__(self, io: dict[str, Any], model: str | None = None) -> None:
        super().__init__()
        self.io = io
        self.model = model

    def compose(self) -> ComposeResult:
        text = Text()
        for message in self.io.get("messages") or []:
            role = str(message.get("role", "")) if isinstance(message, dict) else ""
            content = str(message.get("content", "")) if isinstance(message, dict) else str(message)
            text.append(f"{printable(role) or 'message'}\n", Style(bold=True, reverse=True))
            text.append(printable(content) + "\n\n")
        text.append("reply\n", Style(bold=True, reverse=True))
        text.append(printable(str(self.io.get("reply", ""))) or "(empty)", Style(italic=True))
        with VerticalScroll(id="llm-io") as box:
            box.border_title = f"model request{f' · {printable(self.model)[:60]}' if self.model else ''}"
            box.border_subtitle = "i or esc closes"
            yield Static(text)

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss()
