"""One progress convention for long work: a callback ``progress(done, total, label)``.

Library functions take ``progress: Progress | None``; they call it after each unit of
work (a run, a block, an evaluation) and never print. The command line makes the
callback with :func:`progress_bar`: a tqdm bar on stderr when stderr is a terminal,
nothing otherwise (or with ``--quiet``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Protocol

__all__ = ["Progress", "progress_bar", "NO_PROGRESS"]


class Progress(Protocol):
    """Called after each unit of work: ``done`` of ``total`` are finished."""

    def __call__(self, done: int, total: int, label: str = "") -> None:
        """Report progress."""
        ...


def _silent(done: int, total: int, label: str = "") -> None:
    return None


#: A progress callback that reports nothing.
NO_PROGRESS: Progress = _silent


def progress_bar(description: str, *, enabled: bool | None = None) -> Callable[..., None]:
    """Return a progress callback drawing a bar on stderr, and closing it when done.

    Parameters
    ----------
    description : str
        Text before the bar (e.g. ``"ensemble"``).
    enabled : bool, optional
        Draw the bar; by default only when stderr is a terminal.
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return _silent
    from tqdm import tqdm

    state: dict[str, tqdm] = {}

    def report(done: int, total: int, label: str = "") -> None:
        bar = state.get("bar")
        if bar is None or bar.total != total:
            if bar is not None:
                bar.close()
            bar = state["bar"] = tqdm(total=total, desc=description, file=sys.stderr,
                                      leave=False, dynamic_ncols=True)
        bar.n = done
        if label:
            bar.set_postfix_str(label, refresh=False)
        bar.refresh()
        if done >= total:
            bar.close()
            state.pop("bar", None)

    return report
