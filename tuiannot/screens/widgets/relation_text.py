"""Text with spans and the relations between them: :class:`~.span_text.SpanText` with a marker per relation.

Each span in a relation carries, glued after its label badge, the numbers of its relations as the relation list
numbers them, with an arrow that says which end it is: ``(1→)`` where relation 1 starts (its head), ``(→1)``
where it ends (its child); a span in several relations lists them all, ``(1→,→3)``. So "Ann Lee works for Acme"
with relation 1 WORKS_FOR reads ``Ann Lee▕PERSON(1→) works for Acme▕ORG(→1)``, which says the same with
``NO_COLOR`` and on a small terminal (the markers are glued to their span: a line never breaks inside them).
The markers are bold; those of the selected relation are in reverse video, and its two spans are highlighted
(:attr:`~.span_text.SpanText.highlighted`), as is the head of a relation being made. Markers are characters, so
they change the text's layout: they are set only when the relations change, never on a cursor move.
"""

from __future__ import annotations

from rich.style import Style

from .span_text import PALETTE, SpanText

MARKER = Style(bold=True)
SELECTED = Style(bold=True, reverse=True)


def relation_style(index: int) -> Style:
    """A relation label's colour (the palette from its other end, so that it differs from the entity labels')."""
    return Style(color=PALETTE[(len(PALETTE) - 1 - index) % len(PALETTE)], bold=True)


class RelationText(SpanText):
    """:class:`~.span_text.SpanText` with the relations' numbered markers after their spans."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.markers: dict[int, list[tuple[str, Style | None]]] = {}

    def set_relations(self, relations: list[tuple[int, int, int]], selected: int | None,
                      highlighted: set[int]) -> None:
        """Markers for ``relations``, (head, child, label index) with head and child indices in the spans given
        to the next :meth:`show`, numbered from 1 in order; ``selected`` (an index in ``relations``) in reverse
        video; the spans ``highlighted`` (indices) too. Drawn at the next :meth:`show`."""
        ends: dict[int, list[tuple[int, str, Style]]] = {}
        for number, (head, child, label) in enumerate(relations, 1):
            style = SELECTED if number - 1 == selected else MARKER + relation_style(label)
            ends.setdefault(head, []).append((number, f"{number}→", style))
            ends.setdefault(child, []).append((number, f"→{number}", style))
        markers: dict[int, list[tuple[str, Style | None]]] = {}
        for span, found in ends.items():
            pieces: list[tuple[str, Style | None]] = [("(", MARKER)]
            for i, (_, chars, style) in enumerate(sorted(found, key=lambda f: f[0])):
                pieces += [(",", MARKER)] if i else []
                pieces.append((chars, style))
            markers[span] = [*pieces, (")", MARKER)]
        self.markers = markers
        self.highlighted = frozenset(highlighted)

    def _after_span(self, i: int) -> list[tuple[str, Style | None]]:
        return self.markers.get(i, [])

    def clear_relations(self) -> None:
        self.markers, self.highlighted = {}, frozenset()

    def marker_text(self, span: int) -> str:
        """The marker drawn after span ``span`` (for tests)."""
        return "".join(chars for chars, _ in self.markers.get(span, []))

