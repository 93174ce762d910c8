"""Where exports are written: a regular file is replaced only when the new one is complete; anything else
is written in place.

Every command that writes a file goes through :func:`output_file`. For a regular
file (or a new path) the content is written beside the output and moved over it
at the end, so an interrupted export (Ctrl-C, a full disk, a crash) never leaves
half a file where a good one was; the replaced file's permissions are kept. A
FIFO, a device (``/dev/null``), a symlink (``/dev/stdout``, the ``/dev/fd/63``
of a shell's ``>(gzip > x.gz)``, a link to a file elsewhere) is opened and
written in place, as ``cat > PATH`` would: replacing it would swap the pipe or
the device for a plain file and the reader would get nothing.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Any, Iterator

from ..errors import UserError


def in_place(output: Path) -> bool:
    """Whether ``output`` is written in place: a symlink, or anything that exists and is not a regular file."""
    if output.is_symlink():
        return True
    try:
        mode = os.stat(output).st_mode
    except FileNotFoundError:
        return False
    except OSError as e:
        raise UserError(f"{output}: cannot write ({e.strerror})") from None
    return not stat.S_ISREG(mode)


@contextlib.contextmanager
def output_file(output: Path, binary: bool = False) -> Iterator[Any]:
    """A file to write the export to: ``output`` itself when :func:`in_place`, else a file beside it that is
    moved over it only when complete (no half exports)."""
    mode, encoding = ("wb", None) if binary else ("w", "utf-8")
    if in_place(output):
        if output.is_dir():
            raise UserError(f"{output}: is a directory; give a file name")
        try:
            with open(output, mode, encoding=encoding) as f:
                yield f
        except OSError as e:
            raise UserError(f"{output}: cannot write ({e.strerror or e})") from None
        return
    tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, mode, encoding=encoding) as f:
            yield f
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(output).st_mode))  # the file it replaces keeps its permissions
        os.replace(tmp, output)
    except OSError as e:
        raise UserError(f"{output}: cannot write ({e.strerror or e})") from None
    finally:
        if tmp.exists():
            tmp.unlink()
