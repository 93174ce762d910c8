"""The ``classification`` view: does this label apply to this text? ``a`` yes, ``x`` no.

With ``--teach`` the question shows the model's score, or that the model has no opinion yet (a question whose
``score`` is None). A label the session describes (``--labels-file``) has its description and example on the line
under the question, cut to the width (left out on a short terminal)."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from ..sanitize import one_line
from .annotate import AnnotationScreen
from .widgets.task_text import update_static


class BinaryScreen(AnnotationScreen):
    VIEW_ID = "classification"
    HELP = {**AnnotationScreen.HELP, "accept": "accept: the label applies to this text",
            "reject": "reject: the label does not apply"}

    def show_question(self, task: dict[str, Any]) -> None:
        text = Text("  Label: ")
        text.append(f" {one_line(str(task.get('label', '')), 60)} ", Style(bold=True, reverse=True))
        score = task.get("score")
        if isinstance(score, (int, float)) and not isinstance(score, bool):
            text.append(f"  model score {score:.2f}", Style(color="cyan"))
        elif score is None and "score" in task and "_model_version" in task:  # --teach: nothing learnt yet
            text.append("  model has no opinion yet", Style(color="cyan", italic=True))
        llm = task.get("_llm")
        said = (llm.get("suggestion") or {}).get("answer") if isinstance(llm, dict) else None
        accept, reject = self.key_for("accept", "a"), self.key_for("reject", "x")
        if said in ("accept", "reject"):  # --llm: the model's answer, and the one key that confirms it
            text.append("  model: ", Style(color="cyan"))
            text.append(" it applies " if said == "accept" else " it does not ", Style(bold=True, reverse=True))
            text.append(f" ({accept if said == 'accept' else reject} confirms)", Style(color="cyan"))
        text.append(f"   {accept} = it applies   {reject} = it does not   {self.key_for('ignore', 'space')} = skip",
                    Style(dim=True))
        note = self.label_note(str(task.get("label", ""))) if not self.short else ""
        if note:
            width = self.query_one("#question", Static).content_region.width or self.app.size.width - 2
            text.append("\n  ")
            text.append(one_line(note, max(10, width - 3)), Style(dim=True, italic=True))
        update_static(self.query_one("#question", Static), text)
