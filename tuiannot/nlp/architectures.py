"""The text classifiers ``--teach`` adds: a linear layer over fixed features, beside a bag of words.

``tuiannot.TextCatVectors.v1`` is the classifier ``--teach`` adds to a pipeline
of word vectors (:mod:`tuiannot.nlp.vectors`): a logistic (or softmax) layer
over the mean of the text's word vectors, beside a bag of words.
``tuiannot.TextCatSentence.v1`` is the same over a frozen sentence encoder's
embedding of the whole text (:mod:`tuiannot.nlp.encoders`). The features stay
fixed; only the two linear parts learn, so a few hundred answers are enough, and
words never taught still count through their neighbours.

Saved pipelines name these architectures; ``spacy.load`` finds them through the
package's ``spacy_architectures`` entry points, and :func:`register` makes them
known in a process that loads a pipeline before those are read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, cast

from . import encoders
from .encoders import DEFAULT_ENCODER

if TYPE_CHECKING:
    from spacy.tokens import Doc
    from thinc.api import Model
    from thinc.types import Floats2d

ARCHITECTURE = "tuiannot.TextCatVectors.v1"
SENTENCE_ARCHITECTURE = "tuiannot.TextCatSentence.v1"


def mean_vectors(scale: float = 1.0) -> "Model[list[Doc], Any]":
    """Each text's mean word vector, scaled to length ``scale``; zeros for a text with no known word. Not trained."""
    from thinc.api import Model

    return Model("mean_vectors", _mean_vectors_forward, attrs={"scale": scale})


def _mean_vectors_forward(model: "Model", docs: list["Doc"], is_train: bool) -> tuple[Any, Callable]:
    import numpy

    if not docs:
        return model.ops.alloc2f(0, 0), lambda d_out: []
    vectors = docs[0].vocab.vectors
    width = vectors.shape[1]
    attr = getattr(vectors, "attr", None)
    out = numpy.zeros((len(docs), width), dtype="float32")
    if width:
        data = numpy.asarray(vectors.data)
        for i, doc in enumerate(docs):
            if not len(doc):
                continue
            rows = vectors.find(keys=doc.to_array(attr if attr is not None else "ORTH"))
            rows = numpy.asarray(rows)
            rows = rows[rows >= 0]
            if len(rows):
                mean = data[rows].mean(axis=0)
                norm = float(numpy.linalg.norm(mean))
                if norm > 0:
                    out[i] = mean * (model.attrs["scale"] / norm)
    return model.ops.asarray2f(cast("Floats2d", out)), lambda d_out: []


def textcat_vectors(exclusive_classes: bool, ngram_size: int = 1, length: int = 262144, use_bow: bool = True,
                    vectors_scale: float = 4.0, nO: int | None = None) -> "Model[list[Doc], Any]":
    """Linear over the mean word vector (plus a bag of words), then logistic or softmax.

    ``vectors_scale`` is the length of the mean vector fed to its linear part. At 4 it weighs about as much
    as the bag of words of a sentence of 16 distinct words (a vector of 16 ones has length 4); at 1 the bag
    of words outweighs it and learns the taught words first. Measured with bench/active_learning.py on
    SST-2 (3 seeds, 1,000 answers, uncertainty): accuracy 0.730 at scale 1, 0.754 at 4.
    """
    return _textcat_over(mean_vectors(vectors_scale), exclusive_classes, ngram_size, length, use_bow, nO)


def _zeros(ops: Any, shape: tuple[int, ...]) -> Any:
    return ops.alloc(shape, dtype="float32")



def sentence_vectors(encoder: str, scale: float = 1.0) -> "Model[list[Doc], Any]":
    """Each text's sentence embedding from ``encoder`` (a package or folder), scaled to length ``scale``.
    Not trained."""
    from thinc.api import Model

    return Model("sentence_vectors", _sentence_vectors_forward, attrs={"encoder": encoder, "scale": scale})


def _sentence_vectors_forward(model: "Model", docs: list["Doc"], is_train: bool) -> tuple[Any, Callable]:
    if not docs:
        return model.ops.alloc2f(0, 0), lambda d_out: []
    name, width = model.attrs["encoder"], model.attrs.get("untrained_width", 0)
    if width and not is_train and not encoders.encode_sentences.ready(name):
        # a new classifier, never updated: its weights over these features are all zero, so its scores do
        # not depend on them. Zeros of the encoder's width serve until the encoder has loaded (see
        # tuiannot.nlp.encoders): the first screen does not wait seconds for PyTorch.
        return model.ops.alloc2f(len(docs), width), lambda d_out: []
    if is_train:
        model.attrs["untrained_width"] = 0  # from the first update on, the features matter
    rows = encoders.encode_sentences(name, [doc.text for doc in docs])  # one cache per process
    return model.ops.asarray2f(rows * model.attrs["scale"]), lambda d_out: []


def textcat_sentence(exclusive_classes: bool, encoder: str = DEFAULT_ENCODER, ngram_size: int = 1,
                     length: int = 262144, use_bow: bool = True, sentence_scale: float = 4.0,
                     nO: int | None = None) -> "Model[list[Doc], Any]":
    """Linear over a frozen sentence encoder's embedding of the text (plus a bag of words), then logistic
    or softmax: :func:`textcat_vectors` with the whole text encoded at once instead of its mean word vector.

    The encoder reads each word in its context, so it carries more of a text's meaning than the mean of its
    words. It is named in the config (an installed package, or a folder by its absolute path) and loaded
    from there: a saved pipeline needs it installed where it is loaded.
    """
    return _textcat_over(sentence_vectors(encoder, sentence_scale), exclusive_classes, ngram_size, length,
                         use_bow, nO)


def _textcat_over(features: "Model", exclusive_classes: bool, ngram_size: int, length: int, use_bow: bool,
                  nO: int | None) -> "Model[list[Doc], Any]":
    from spacy.ml.models.textcat import build_bow_text_classifier_v3
    from thinc.api import Linear, Logistic, add, chain, softmax_activation

    dense: Model = chain(features, Linear(nO=nO, init_W=_zeros))
    parts = [dense]
    if use_bow:
        parts.append(build_bow_text_classifier_v3(exclusive_classes, ngram_size, no_output_layer=True,
                                                  length=length, nO=nO))
    scores = add(*parts) if len(parts) > 1 else dense
    output = softmax_activation() if exclusive_classes else Logistic()  # no weights of their own
    model: Model = chain(scores, output)
    if nO is not None:
        model.set_dim("nO", nO)
    model.attrs["multi_label"] = not exclusive_classes
    return model


def register() -> None:
    """Make the architectures known to spaCy (also found through the package's entry points)."""
    import spacy

    for name, func in ((ARCHITECTURE, textcat_vectors), (SENTENCE_ARCHITECTURE, textcat_sentence)):
        if name not in spacy.registry.architectures:
            spacy.registry.architectures.register(name, func=func)
