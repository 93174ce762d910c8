"""The widgets the screens are built from, one per module (as Textual keeps its own).

- :mod:`.task_text`: :class:`TaskText`, a task's text drawn line by line, and :func:`safe` for untrusted text.
- :mod:`.label_bar`: :class:`LabelBar`, the labels of a choice with their keys.
- :mod:`.span_text`: :class:`SpanText`, text with labelled spans over it (nesting drawn as brackets).
- :mod:`.span_list`: :class:`SpanList`, the spans of a task as rows (label, text, position), the current one marked.
- :mod:`.image_view`: :class:`ImageView`, an image with boxes, in the terminal's best renderer.
- :mod:`.task_fields`: :class:`TaskFields`, a task's named fields (prompt, response, ...), Markdown on request.
- :mod:`.question`: :class:`QuestionWidget`, one question of the feedback view, and its rating and label kinds;
  :mod:`.text_question`, :mod:`.span_question` and :mod:`.ranking_question` hold the other kinds.
- :mod:`.relation_text`: :class:`RelationText`, span text with numbered relation markers glued to its spans;
  :mod:`.relation_list`: the relations of a task (head → label → child), one selectable.
- :mod:`.diff_text`: two outputs' differing words marked (compare); :mod:`.rank_responses`: replies in the order
  being ranked.

Import a widget from its module: this package imports none of them, so a screen pays only for what it shows.
"""
