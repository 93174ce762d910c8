"""Natural-language processing: every use of spaCy and of sentence encoders lives here.

- :mod:`.load`: every pipeline tuiannot opens (blank, ``--model``, ``--base-model``), one set of errors.
- :mod:`.spans`: tokens and spans in Prodigy's formats, alignment, suggestions from patterns and models.
- :mod:`.learning`: the models behind ``--teach`` and the order in which they ask.
- :mod:`.encoders`: sentence encoders loaded offline, and the embeddings cache.
- :mod:`.architectures`: the classifiers ``--teach`` adds (``tuiannot.TextCatVectors.v1``,
  ``tuiannot.TextCatSentence.v1``).
- :mod:`.vectors`: word vectors made offline from a sentence encoder (``tuiannot vectors``).

Importing this package imports neither spaCy nor PyTorch: each module imports them when a function needs them,
so the screen starts fast for recipes without a model. Nothing here imports Textual.
"""
