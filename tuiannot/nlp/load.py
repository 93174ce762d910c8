"""Every spaCy pipeline tuiannot opens is opened here, with one set of errors.

Three kinds of pipeline are asked for: a blank one for a language (its tokenizer,
for tasks without tokens and for exports), a given one (``--model``,
``--base-model``: a pipeline folder or an installed package) and, through those,
pipelines that ``--teach`` saved with tuiannot's own classifier architectures.
Nothing is ever downloaded: a name that is neither a folder nor an installed
package is an error that says so. Every failure is one line naming the option
and the value the user gave; spaCy is imported only when a pipeline is asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UserError
from ..sanitize import one_line

if TYPE_CHECKING:
    from spacy.language import Language

NEVER_DOWNLOADS = "tuiannot never downloads: install it with pip, or give the pipeline's path"


def blank(lang: str) -> "Language":
    """``spacy.blank(lang)``, or a one-line error for an unknown language code."""
    import spacy

    try:
        return spacy.blank(lang)
    except (ImportError, ValueError, KeyError):
        raise UserError(f"unknown language code {lang!r} for spaCy (e.g. en, de, fr, xx)") from None


def lang_of(nlp: "Language") -> str:
    """The pipeline's language code. spaCy types ``Language.lang`` as optional (a bare ``Language()`` has
    none); every pipeline opened here comes from a language class, which sets it."""
    assert nlp.lang is not None
    return nlp.lang


def resolve_pipeline(name: str, option: str = "--model") -> str:
    """A pipeline directory (made absolute), or the name of an installed pipeline package."""
    import spacy.util

    if name.startswith("blank:"):  # spaCy's own way to ask for a blank pipeline
        return name
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir() or not (path / "config.cfg").exists():
            raise UserError(f"{option} {name}: not a spaCy pipeline directory (no config.cfg)")
        return str(path.resolve())
    if spacy.util.is_package(name):
        return name
    raise UserError(f"{option} {name}: no such directory, and no installed spaCy pipeline package of that "
                    f"name ({NEVER_DOWNLOADS})")


def load_pipeline(name: str, option: str = "--model") -> "Language":
    """The pipeline at ``name`` (a folder or an installed package; see :func:`resolve_pipeline`)."""
    import spacy

    from .architectures import register

    register()  # models that --teach saved may use tuiannot's classifier architectures
    resolved = resolve_pipeline(name, option)
    try:
        return spacy.load(resolved)
    except Exception as e:  # a broken or incompatible pipeline raises many kinds
        raise UserError(f"{option} {name}: cannot load the spaCy pipeline ({type(e).__name__}: "
                        f"{one_line(str(e).splitlines()[0] if str(e) else '', 200)})") from None


def load_nlp(lang: str = "en", model: str | None = None) -> "Language":
    """The pipeline at ``model`` (``--model``) if one is given, else a blank pipeline for ``lang``."""
    return load_pipeline(model) if model else blank(lang)
