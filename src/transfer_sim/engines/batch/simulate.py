"""One simulation of a batch of runs, as a function of the constants' arrays.

:func:`simulate` is written once for both array libraries: with ``jax.numpy`` and
``jax.lax.scan`` it is the function that ``jax.jit`` compiles (and ``jax.jacfwd``
differentiates); with NumPy and :func:`python_scan` it runs step by step (used to
compare the candidates, and in unit tests of small models without JAX).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from transfer_sim.engines.batch.program import ArrayProgram, Grid

__all__ = ["simulate", "python_scan"]


def python_scan(body: Callable, carry: Any, xs: None = None, length: int = 0) -> tuple:
    """``jax.lax.scan`` without arrays of inputs, as a Python loop (for NumPy)."""
    ys = []
    for _ in range(length):
        carry, y = body(carry, None)
        ys.append(y)
    if ys and ys[0] is not None:
        import numpy as np

        return carry, [np.stack([y[i] for y in ys]) for i in range(len(ys[0]))]
    return carry, None


def simulate(program: ArrayProgram, consts: Mapping[str, Any], grid: Grid,
             outputs: Sequence[str], runs: int, scan: Callable) -> list[Any]:
    """Run ``runs`` simulations at once.

    Parameters
    ----------
    program : ArrayProgram
        The model on arrays (``program.xp`` is NumPy or ``jax.numpy``).
    consts : mapping
        Every constant of the model, shape ``(runs, *ranges)`` (or ``(1, ...)``).
    grid : Grid
        The time grid.
    outputs : sequence of str
        Variables to save.
    runs : int
        Number of runs.
    scan : callable
        ``jax.lax.scan`` or :func:`python_scan`.

    Returns
    -------
    list of arrays
        One per output, shape ``(saved times, runs, *ranges)``.
    """
    xp = program.xp
    every, n_save = grid.counts()
    consts = {k: xp.moveaxis(xp.asarray(v), 0, -1) for k, v in consts.items()}
    state0, statics = program.initialise(consts, grid, runs)
    dt = grid.time_step

    def frame(state: Mapping[str, Any], k: Any):  # noqa: ANN202 - private
        time = grid.initial_time + dt * xp.asarray(k, dtype=float)
        return program.step_frame(consts, grid, state, statics, time)

    def inner(carry: tuple, _: None) -> tuple:
        state, k = carry
        f = program.flows(frame(state, k))
        return (program.euler(state, f, dt), k + 1), None

    def outer(carry: tuple, _: None) -> tuple:
        state, k = carry
        fr = frame(state, k)
        saved = program.outputs(fr, outputs, runs)
        state = program.euler(state, program.flows(fr), dt)
        (state, k), _ = scan(inner, (state, k + 1), None, length=every - 1)
        return (state, k), saved

    (state, k), series = scan(outer, (state0, xp.asarray(0)), None, length=n_save - 1)
    last = program.outputs(frame(state, k), outputs, runs)
    if series is None:
        series = [xp.reshape(v, (1, *v.shape)) for v in last]
    else:
        series = [xp.concatenate([s, xp.reshape(v, (1, *v.shape))])
                  for s, v in zip(series, last, strict=True)]
    return [xp.moveaxis(s, -1, 1) for s in series]
