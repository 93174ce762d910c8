"""``g``: the session's guidelines, drawn as Markdown, scrollable and searchable, over the task.

The text was read once at the start (``--guidelines``: :mod:`tuiannot.recipes.guidelines`) and comes in the
screen's ``config``; this module, and Rich's Markdown with it, is imported only when ``g`` is pressed, so a
start pays nothing for it. The front matter is left out of the text (its version is in the title, with the hash
every answer stores), and the labels' descriptions and examples (``--labels-file``) follow the guidelines.

The text is untrusted: it is made printable first (control characters and escape sequences become visible
stand-ins, tabs spaces), then drawn by Rich's :class:`~rich.markdown.Markdown`, which styles Markdown and never
reads Rich markup (``[red]`` is shown as written); links are shown with their address, never made clickable.
It is drawn into lines at the box's width (again on a resize), so that a search can find the line of each match:
``/`` opens the search box, enter goes to the next match (every match highlighted, the current one underlined),
``n`` to the next and ``N`` to the previous; escape closes the search box, then the screen (so do ``g`` and
``q``). The task under it stays as it was: nothing is lost by looking.
"""

from __future__ import annotations

from typing import Any

from rich.markdown import Markdown
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Input, Static

from ..sanitize import one_line, printable

MATCH = Style(reverse=True)
CURRENT = Style(reverse=True, bold=True, underline=True)


def without_front_matter(text: str) -> str:
    """``text`` without a leading ``---`` (or ``+++``) block closed by the same fence."""
    lines = text.splitlines(keepends=True)
    if lines and lines[0].strip() in ("---", "+++"):
        fence = lines[0].strip()
        for i, line in enumerate(lines[1:], 1):
            if line.strip() == fence:
                return "".join(lines[i + 1:]).lstrip("\n")
    return text


def labels_markdown(info: dict[str, dict[str, str]], labels: list[str]) -> str:
    """The labels' descriptions and examples as a Markdown section (the session's labels first)."""
    order = [label for label in labels if label in info] + [label for label in info if label not in labels]
    if not order:
        return ""
    lines = ["", "---", "", "## Labels", ""]
    for label in order:
        entry = info.get(label) or {}
        line = f"- **{label}**"
        if entry.get("description"):
            line += f": {entry['description']}"
        if entry.get("example"):
            line += f" — *e.g.* {entry['example']}"
        lines.append(" ".join(line.split()))
    return "\n".join(lines) + "\n"


class GuidelinesScreen(Screen[None]):
    DEFAULT_CSS = """
    GuidelinesScreen { layout: vertical; }
    #guidelines-title { height: 1; background: $boost; }
    #guidelines-scroll { height: 1fr; border: round $primary; padding: 0 1; }
    #guidelines-search { height: 3; display: none; }
    #guidelines-status { height: 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape,g,q", "close", "Close", id="close_guidelines"),
        Binding("slash", "search", "Search", key_display="/", id="search_guidelines"),
        Binding("n", "next_match(1)", "Next match", id="next_match"),
        Binding("N", "next_match(-1)", "Previous match", show=False, id="previous_match"),
        Binding("down,j", "scroll('down')", "Scroll down", show=False, id="guidelines_down"),
        Binding("up,k", "scroll('up')", "Scroll up", show=False, id="guidelines_up"),
        Binding("pagedown,space", "scroll('page_down')", "Page down", show=False, id="guidelines_page_down"),
        Binding("pageup", "scroll('page_up')", "Page up", show=False, id="guidelines_page_up"),
        Binding("home", "scroll('home')", "Top", show=False, id="guidelines_top"),
        Binding("end", "scroll('end')", "Bottom", show=False, id="guidelines_bottom"),
    ]

    def __init__(self, guidelines: dict[str, Any], label_info: dict[str, dict[str, str]] | None = None,
                 labels: list[str] | None = None) -> None:
        super().__init__()
        self.guidelines = guidelines
        source = without_front_matter(str(guidelines.get("text", ""))) + labels_markdown(label_info or {},
                                                                                          labels or [])
        self.source = printable(source.expandtabs(4))
        self.rendered = Text()  # the Markdown drawn at the box's width
        self.query_text = ""
        self.matches: list[tuple[int, int]] = []  # (start, end) in rendered.plain
        self.current = -1
        self._width = 0

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="guidelines-title")
        with VerticalScroll(id="guidelines-scroll"):
            yield Static("", id="guidelines-text")
        yield Input(placeholder="search the guidelines (enter: next match, esc: close the search)",
                    id="guidelines-search")
        yield Static("", id="guidelines-status")

    def _title(self) -> Text:
        text = Text(" guidelines ", Style(bold=True, reverse=True))
        path = str(self.guidelines.get("path", ""))
        text.append("  " + one_line(path.rsplit("/", 1)[-1], 60), Style(bold=True))
        if self.guidelines.get("version"):
            text.append("  ·  version ")
            text.append(one_line(str(self.guidelines["version"]), 30), Style(bold=True))
        text.append(f"  ·  hash {one_line(str(self.guidelines.get('hash', '')), 20)}", Style(dim=True))
        return text

    def on_mount(self) -> None:
        self.query_one("#guidelines-scroll").focus()
        self._status()
        self.call_after_refresh(self._render_text)

    def on_resize(self, event: Resize) -> None:
        self.call_after_refresh(self._render_text)

    def _render_text(self) -> None:
        """The Markdown drawn into lines at the box's width (once per width), the matches marked."""
        box = self.query_one("#guidelines-scroll")
        width = max(20, box.scrollable_content_region.width or self.app.size.width - 4)
        if width == self._width and self.rendered:
            return
        self._width = width
        console = self.app.console
        lines = console.render_lines(Markdown(self.source, hyperlinks=False), console.options.update_width(width),
                                     pad=False)
        text = Text()
        for i, line in enumerate(lines):
            if i:
                text.append("\n")
            for segment in line:
                if not segment.control:
                    text.append(segment.text, segment.style)
        self.rendered = text
        self._find(keep=True)

    def _find(self, keep: bool = False) -> None:
        """Every match of the query in the text drawn; ``keep``: stay on the match the current one was."""
        plain, needle = self.rendered.plain.lower(), self.query_text.lower()
        self.matches = []
        if needle:
            at = plain.find(needle)
            while at >= 0:
                self.matches.append((at, at + len(needle)))
                at = plain.find(needle, at + len(needle))
        if not keep or self.current >= len(self.matches):
            self.current = -1
        self._draw()

    def _draw(self) -> None:
        text = self.rendered.copy()
        for i, (start, end) in enumerate(self.matches):
            text.stylize(CURRENT if i == self.current else MATCH, start, end)
        self.query_one("#guidelines-text", Static).update(text)
        self._status()

    def _status(self) -> None:
        status = self.query_one("#guidelines-status", Static)
        keys = "/ searches · n next match · N previous · esc, g or q closes"
        if not self.query_text:
            status.update(Text(" " + keys))
        elif not self.matches:
            status.update(Text(f" no match for {one_line(self.query_text, 40)!r} · {keys}"))
        else:
            at = f"{self.current + 1} of {len(self.matches)}" if self.current >= 0 else f"{len(self.matches)}"
            status.update(Text(f" {at} matches for {one_line(self.query_text, 40)!r} · {keys}"))

    def line_of(self, index: int) -> int:
        """The line of the text drawn that holds the match ``index``."""
        return self.rendered.plain.count("\n", 0, self.matches[index][0])

    def action_next_match(self, step: int = 1) -> None:
        if not self.matches:
            return
        scroll = self.query_one("#guidelines-scroll", VerticalScroll)
        if self.current < 0:  # the first match at or below the top of the box (going down), else the last above
            top = round(scroll.scroll_y)
            lines = [self.line_of(i) for i in range(len(self.matches))]
            below = [i for i, line in enumerate(lines) if line >= top]
            self.current = (below[0] if below else 0) if step > 0 else (
                [i for i, line in enumerate(lines) if line < top] or [len(self.matches) - 1])[-1]
        else:
            self.current = (self.current + step) % len(self.matches)
        self._draw()
        scroll.scroll_to(y=max(0, self.line_of(self.current) - 2), animate=False)

    def action_search(self) -> None:
        search = self.query_one("#guidelines-search", Input)
        search.display = True
        search.value = self.query_text
        search.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value != self.query_text:
            self.query_text = event.value
            self._find()
        self.action_next_match(1)

    def _close_search(self) -> None:
        search = self.query_one("#guidelines-search", Input)
        search.display = False
        self.query_one("#guidelines-scroll").focus()

    def action_close(self) -> None:
        if self.query_one("#guidelines-search", Input).has_focus:
            self._close_search()
            return
        self.dismiss()

    def action_scroll(self, how: str) -> None:
        getattr(self.query_one("#guidelines-scroll", VerticalScroll), f"scroll_{how}")(animate=False)
