"""Atomic writes: data go to a temporary file beside the target, renamed over it when complete.

A failed or interrupted write (an exception, Ctrl-C) leaves no output file and never
clobbers an existing one. A process killed outright (SIGKILL) can leave only a
temporary ``.NAME.*.part`` file, never a half-written target; :func:`remove_stale_parts`
clears those.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from transfer_sim.errors import OutputError

__all__ = ["atomic_path", "atomic_write_text", "atomic_write_bytes", "check_writable",
           "remove_stale_parts", "PART_SUFFIX"]

#: Suffix of the temporary files :func:`atomic_path` writes.
PART_SUFFIX = ".part"


def check_writable(path: str | os.PathLike[str], *, key: str | None = None) -> Path:
    """Check that ``path`` can be written, before any work is done.

    Parameters
    ----------
    path : path-like
        Target file.
    key : str, optional
        Option or key that named the file, for the message.

    Returns
    -------
    pathlib.Path
        The path.

    Raises
    ------
    OutputError
        When the folder is missing or not writable, or the path is a folder.
    """
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    where = f"{p}: key '{key}'" if key else f"{p}"
    allowed = "allowed: a file in an existing, writable folder"
    if p.is_dir():
        raise OutputError(f"{where}: is a folder; {allowed}")
    if not folder.is_dir():
        raise OutputError(f"{where}: folder {folder} does not exist; {allowed}")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"{where}: folder {folder} is not writable; {allowed}")
    if p.exists() and not os.access(p, os.W_OK):
        raise OutputError(f"{where}: file is not writable; {allowed}")
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, check: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    On any exception (including KeyboardInterrupt) the temporary file is removed
    and ``path`` is left as it was.

    Parameters
    ----------
    path : path-like
        Target file.
    check : bool
        Check the target is writable first (:func:`check_writable`); internal
        callers writing into a folder they made can skip it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    target = check_writable(path) if check else Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=PART_SUFFIX,
                                    dir=target.parent if str(target.parent) else ".")
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str, *, check: bool = True) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    with atomic_path(path, check=check) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *,
                       check: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_path(path, check=check) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def remove_stale_parts(folder: str | os.PathLike[str]) -> int:
    """Remove temporary files left in ``folder`` by writers that were killed.

    Returns
    -------
    int
        How many were removed.
    """
    removed = 0
    for part in Path(folder).glob(f".*{PART_SUFFIX}"):
        with contextlib.suppress(OSError):
            part.unlink()
            removed += 1
    return removed
