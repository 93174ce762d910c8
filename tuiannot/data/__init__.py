"""Answers as data: what a stored answer means, the formats it is written in, and training on it.

- :mod:`.answers`: what a stored answer means (its kind, its categories, its spans), decided once, and the
  reporting of what cannot be represented (:class:`~.answers.Problems`).
- :mod:`.export`: the writers of ``db-out`` (spaCy DocBin, CoNLL IOB2, doccano, Label Studio).
- :mod:`.imports`: the readers of ``db-in --format`` (Prodigy, Label Studio, doccano, spaCy, CoNLL), detection;
  spaCy and CoNLL in :mod:`.imports_spacy`, what every reader shares in :mod:`.imports_common`.
- :mod:`.corpus`: answers merged per input into spaCy Docs (one example per input), split for evaluation.
- :mod:`.training`: spaCy configs, training with spaCy's own loop, evaluation.
- :mod:`.files`: where exports are written (a file is replaced only when complete).
- :mod:`.compare`: blind A/B comparison: two systems' outputs matched into compare tasks (the shape of tournament
  duels too), and what a compare answer means (which system won).
- :mod:`.preference`: preference pairs (``prompt``, ``chosen``, ``rejected``) from rank, compare and tournament
  answers.

Image exports (COCO, folders) are in :mod:`tuiannot.images.export`. Nothing here imports Textual or speaks SQL:
answers come from a :class:`~tuiannot.storage.Database`.
"""
