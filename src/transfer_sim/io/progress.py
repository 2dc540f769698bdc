"""One progress convention for long work: a callback ``progress(done, total, label)``.

Library functions take ``progress: Progress | None``; they call it after each unit of
work (a run, a block, an evaluation) and never print. The command line makes the
callback with :func:`progress_bar`: a tqdm bar on stderr when stderr is a terminal,
else, for logs, one line at the start and one at the end, and a line per step with its
label when the work has at most :data:`LOG_EACH_STEP_UP_TO` steps (a calibration's
stages, counted in ``steps``); nothing with ``--quiet``.
"""

from __future__ import annotations

import sys
from typing import Protocol

__all__ = ["Progress", "progress_bar", "NO_PROGRESS", "LOG_EACH_STEP_UP_TO"]

#: Off a terminal, work of at most this many steps logs every step's label.
LOG_EACH_STEP_UP_TO = 20


class Progress(Protocol):
    """Called after each unit of work: ``done`` of ``total`` are finished."""

    def __call__(self, done: int, total: int, label: str = "") -> None:
        """Report progress."""
        ...


def _silent(done: int, total: int, label: str = "") -> None:
    return None


#: A progress callback that reports nothing.
NO_PROGRESS: Progress = _silent


def progress_bar(description: str, *, enabled: bool | None = None,
                 unit: str = "runs") -> Progress:
    """Return a progress callback for the command line.

    Parameters
    ----------
    description : str
        Text before the bar (e.g. ``"ensemble"``).
    enabled : bool, optional
        False: report nothing. True or None: a bar on stderr when it is a terminal,
        else a line when the work starts and one when it ends.
    unit : str
        What is counted, for the lines.
    """
    if enabled is False:
        return NO_PROGRESS
    if not sys.stderr.isatty():
        return _lines(description, unit)
    return _bar(description, unit)


def _lines(description: str, unit: str) -> Progress:
    state = {"started": False}

    def report(done: int, total: int, label: str = "") -> None:
        if not state["started"]:
            state["started"] = True
            print(f"{description}: {total} {unit}", file=sys.stderr, flush=True)
        if label and total <= LOG_EACH_STEP_UP_TO and unit == "steps":
            print(f"{description}: {label}", file=sys.stderr, flush=True)
        if done >= total:
            print(f"{description}: done", file=sys.stderr, flush=True)
            state["started"] = False

    return report


def _bar(description: str, unit: str) -> Progress:
    from tqdm import tqdm

    state: dict[str, tqdm] = {}

    def report(done: int, total: int, label: str = "") -> None:
        bar = state.get("bar")
        if bar is None or bar.total != total:
            if bar is not None:
                bar.close()
            bar = state["bar"] = tqdm(total=total, desc=description, unit=unit.rstrip("s"),
                                      file=sys.stderr, leave=False, dynamic_ncols=True)
        bar.n = done
        if label:
            bar.set_postfix_str(label, refresh=False)
        bar.refresh()
        if done >= total:
            bar.close()
            state.pop("bar", None)

    return report
