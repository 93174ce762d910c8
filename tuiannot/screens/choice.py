"""The ``choice`` view: number keys toggle labels and ``a`` submits; with
``--exclusive`` (``choice_style: single``) one number key picks a label and submits;
the pick is not drawn first, so the next task is the one frame that key paints.

``a`` with no label chosen is refused with a short message (as Prodigy does since
1.14): an empty accept is rarely what the annotator meant. ``x`` says no label fits,
``space`` skips; a recipe that wants empty answers sets ``accept_empty`` (textcat's
``--accept-empty``).

The hint line under the labels is left out on a short terminal (see :mod:`.annotate`): the text needs the room.
The labels' descriptions (``--labels-file``) follow each label, cut short; the help lists them whole."""

from __future__ import annotations

from typing import Any

from textual.events import Resize

from .annotate import LABEL_KEYS, AnnotationScreen
from .widgets.label_bar import LabelBar


class ChoiceScreen(AnnotationScreen):
    VIEW_ID = "choice"
    HELP = {**AnnotationScreen.HELP, "accept": "accept: submit the selected labels",
            "reject": "reject: the text does not fit this question (selection kept)"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.selected: list[str] = []

    @property
    def exclusive(self) -> bool:
        return self.config.get("choice_style") == "single"

    def question_widget(self) -> LabelBar:
        return LabelBar(id="question")

    def _options(self) -> list[str]:
        if self.current_task and isinstance(self.current_task.get("options"), list):
            return [str(o.get("id") if isinstance(o, dict) else o) for o in self.current_task["options"]]
        return list(self.labels)

    def show_question(self, task: dict[str, Any]) -> None:
        accept = task.get("accept")
        options = self._options()
        self.selected = [str(a) for a in accept if str(a) in options] if isinstance(accept, list) else []
        self._draw()

    def _draw(self) -> None:
        options = self._options()
        names = []
        for o in (self.current_task or {}).get("options") or [{"id": label, "text": label} for label in options]:
            names.append(str(o.get("text", o.get("id"))) if isinstance(o, dict) else str(o))
        shown = {names[i] for i, o in enumerate(options) if o in self.selected}
        keys = {name: self.key_for(name, default) for name, default in
                (("accept", "a"), ("reject", "x"), ("ignore", "space"))}
        notes = {name: self.label_note(o) for name, o in zip(names, options, strict=False)} \
            if self.label_info() else None
        self.query_one("#question", LabelBar).show_labels(names, shown, self.exclusive, keys, hint=not self.short,
                                                          notes=notes)

    def on_resize(self, event: Resize) -> None:  # (Textual calls the base screen's handler too)
        if self.current_task is not None:
            self.call_after_refresh(self._draw)  # the hint line comes and goes with the height

    def current_accept(self) -> list[str] | None:
        return list(self.selected)

    def action_answer(self, answer: str) -> None:
        if answer == "accept" and self.current_task is not None and not self.selected \
                and not self.config.get("accept_empty"):
            self.notify("No label chosen: press a number key to choose one (x: none fits, space: skip).", timeout=3)
            return
        super().action_answer(answer)

    def action_label(self, index: int) -> None:
        options = self._options()
        if self.current_task is None or index >= len(options):
            return
        option = options[index]
        if self.exclusive:
            # Submitted at once: the next task is the one frame this key paints. (Drawing the pick first cost a
            # frame of its own, and the next task then waited for the frame after it.) The selection is left as
            # it was, so a refused answer leaves the screen showing what it holds.
            self.post_message(self.Answered("accept", [option]))
            return
        if option in self.selected:
            self.selected.remove(option)
        else:
            self.selected.append(option)
        self._draw()

    def label_help(self) -> dict[str, str]:
        verb = "choose and submit" if self.exclusive else "toggle"
        return {f"label_{LABEL_KEYS[i]}": f"{verb} {label}" + (f": {self.label_note(label)}" if self.label_note(label)
                                                                else "") for i, label in enumerate(self.labels[:10])}
