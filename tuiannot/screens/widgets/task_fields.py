"""The task's fields in the feedback view: each field the questionnaire shows, named, one under the other.

Fields come from the task (a prompt, a model's response, a text, the list a ranking orders) and are untrusted:
made printable (:func:`editable`: control characters and escape sequences become visible stand-ins; tabs and
line breaks stay) and drawn as text, never read as markup. A field a task lacks takes no room. The box
scrolls (the screen's scroll keys, and its border says how much is above and below).

With Markdown on (the screen's ``m``), the ``response`` field is drawn by Textual's ``Markdown`` widget:
headings, lists, emphasis, code blocks. It is given the same printable text, so Markdown can style the text
but never send the terminal anything; links are shown, never opened.
"""

from __future__ import annotations

import json
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static

from ...sanitize import one_line, printable
from .task_text import update_static

MARKDOWN_FIELD = "response"


def editable(text: str) -> str:
    """``text`` safe to draw, tabs and line breaks kept (for the text area and Markdown, which lay them out)."""
    return "\t".join(printable(part) for part in text.split("\t"))


def field_text(value: Any) -> str:
    """A field's value as text: a string as it is, a list one numbered item a line, anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(f"{i}. {item.get('text', '') if isinstance(item, dict) else item}"
                         for i, item in enumerate(value, 1))
    return json.dumps(value, ensure_ascii=False)


class TaskFields(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    TaskFields { height: 1fr; padding: 0 1; }
    TaskFields > .field--name { height: 1; color: $text-accent; }
    TaskFields > .field--value { height: auto; margin: 0 0 1 0; }
    TaskFields > Markdown { height: auto; margin: 0 0 1 0; padding: 0; }
    TaskFields > #message { height: auto; }
    """

    def __init__(self, fields: list[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.fields = list(fields)
        self.markdown = False
        self.shown: dict[str, str] = {}  # field -> the text drawn (for tests)
        self._markdown_text: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="message")
        for i, name in enumerate(self.fields):
            yield Static(Text(one_line(name, 60), Style(bold=True)), classes=f"field--name field-{i}")
            yield Static("", classes=f"field--value field-{i}")
            if name == MARKDOWN_FIELD:
                markdown = Markdown("", open_links=False)
                markdown.display = False
                yield markdown

    def show_message(self, message: str) -> None:
        update_static(self.query_one("#message", Static), Text(message))
        self.query_one("#message").display = True
        for widget in self.query(".field--name, .field--value, Markdown"):
            widget.display = False
        self.shown = {}

    def show(self, task: dict[str, Any], markdown: bool) -> None:
        self.query_one("#message").display = False
        self.markdown = markdown
        self.shown = {}
        for i, name in enumerate(self.fields):
            value = task.get(name)
            present = value is not None and value != "" and value != []
            text = editable(field_text(value)) if present else ""
            self.shown[name] = text if present else ""
            as_markdown = present and markdown and name == MARKDOWN_FIELD and isinstance(value, str)
            for widget in self.query(f".field-{i}"):
                widget.display = present
            value_widget = self.query_one(f".field--value.field-{i}", Static)
            if as_markdown:
                value_widget.display = False
                self._show_markdown(text)
            elif present:
                update_static(value_widget, Text(text))
            if name == MARKDOWN_FIELD and self.query(Markdown):
                self.query_one(Markdown).display = as_markdown
        self.scroll_to(0, 0, animate=False)
        if not self.shown.get(MARKDOWN_FIELD):
            self._markdown_text = None

    def _show_markdown(self, text: str) -> None:
        if text != self._markdown_text:
            self._markdown_text = text
            self.query_one(Markdown).update(text)
