"""The ``classification`` view: does this label apply to this text? ``a`` yes, ``x`` no."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from ..sanitize import one_line
from .annotate import AnnotationScreen


class BinaryScreen(AnnotationScreen):
    VIEW_ID = "classification"
    HELP = {**AnnotationScreen.HELP, "accept": "accept: the label applies to this text",
            "reject": "reject: the label does not apply"}

    def show_question(self, task: dict[str, Any]) -> None:
        text = Text("  Label: ")
        text.append(f" {one_line(str(task.get('label', '')), 60)} ", Style(bold=True, reverse=True))
        if isinstance(task.get("score"), (int, float)):
            text.append(f"  model score {task['score']:.2f}", Style(color="cyan"))
        text.append("   a = it applies   x = it does not   space = skip", Style(dim=True))
        self.query_one("#question", Static).update(text)
