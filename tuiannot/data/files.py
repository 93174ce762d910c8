"""Where exports are written: a file is replaced only when the new one is complete.

Every command that writes a file goes through :func:`atomic_file`: the content is
written beside the output and moved over it at the end, so an interrupted export
(Ctrl-C, a full disk, a crash) never leaves half a file where a good one was.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Iterator

from ..errors import UserError


@contextlib.contextmanager
def atomic_file(output: Path, binary: bool = False) -> Iterator[Any]:
    """A file written beside ``output`` and moved over it only when complete (no half exports)."""
    tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb" if binary else "w", encoding=None if binary else "utf-8") as f:
            yield f
        os.replace(tmp, output)
    except OSError as e:
        raise UserError(f"{output}: cannot write ({e.strerror})") from None
    finally:
        if tmp.exists():
            tmp.unlink()
