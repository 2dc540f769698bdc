"""One simulation of a batch of runs, as a function of the constants' arrays.

:func:`simulate` is written once for both array libraries: with ``jax.numpy`` and
``jax.lax.scan`` it is the function that ``jax.jit`` compiles (and ``jax.jacfwd``
differentiates); with NumPy and :func:`python_scan` it runs step by step (used to
compare the candidates, and in unit tests of small models without JAX).

The auxiliaries that read time but no stock, and that all runs share, are evaluated for
every step before the loop (:meth:`ArrayProgram.timeline`) and handed to the scan as
its inputs (``xs``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from transfer_sim.engines.batch.program import ArrayProgram, Grid

__all__ = ["simulate", "python_scan"]


def _leaf(xs: Any, i: int) -> Any:
    """Row ``i`` of every array in a nest of dicts, tuples and lists (``None`` stays)."""
    if xs is None:
        return None
    if isinstance(xs, Mapping):
        return {k: _leaf(v, i) for k, v in xs.items()}
    if isinstance(xs, tuple | list):
        return type(xs)(_leaf(v, i) for v in xs)
    return xs[i]


def python_scan(body: Callable, carry: Any, xs: Any = None, length: int | None = None
                ) -> tuple:
    """``jax.lax.scan`` as a Python loop (for NumPy).

    Parameters
    ----------
    body : callable
        ``(carry, x) -> (carry, y)``; ``y`` is ``None`` or a list of arrays.
    carry : any
        The initial carry.
    xs : any, optional
        ``None`` or a nest (dicts, tuples, lists) of arrays with a leading axis of
        ``length``; the body is given row ``i`` of each at iteration ``i``.
    length : int, optional
        Number of iterations (needed when ``xs`` is ``None``).

    Returns
    -------
    tuple
        The last carry and the ``y`` stacked along a new leading axis (or ``None``).
    """
    if length is None:
        first = xs
        while isinstance(first, Mapping | tuple | list):
            first = next(iter(first.values())) if isinstance(first, Mapping) else first[0]
        length = len(first)
    ys = []
    for i in range(length):
        carry, y = body(carry, _leaf(xs, i))
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
    steps = (n_save - 1) * every
    timed = program.timeline(consts, grid, statics, steps + 1)

    xs = {n: xp.reshape(v[:steps], (n_save - 1, every, *v.shape[1:])) for n, v in timed.items()}

    def frame(state: Mapping[str, Any], k: Any, x: Mapping[str, Any]):  # noqa: ANN202
        time = grid.initial_time + dt * k
        return program.step_frame(consts, grid, state, statics, time, x)

    def inner(carry: tuple, x: Mapping[str, Any]) -> tuple:
        state, k = carry
        f = program.flows(frame(state, k, x))
        return (program.euler(state, f, dt), k + 1.0), None

    def outer(carry: tuple, x: Mapping[str, Any]) -> tuple:
        state, k = carry
        fr = frame(state, k, {n: v[0] for n, v in x.items()})
        saved = program.outputs(fr, outputs, runs)
        state = program.euler(state, program.flows(fr), dt)
        rest = {n: v[1:] for n, v in x.items()}
        (state, k), _ = scan(inner, (state, k + 1.0), rest, length=every - 1)
        return (state, k), saved

    # The step counter is a float (time = initial + dt * k, as in the timeline).
    (state, k), series = scan(outer, (state0, xp.asarray(0.0)), xs, length=n_save - 1)
    last = program.outputs(frame(state, k, {n: v[steps] for n, v in timed.items()}), outputs,
                           runs)
    if series is None:
        series = [xp.reshape(v, (1, *v.shape)) for v in last]
    else:
        series = [xp.concatenate([s, xp.reshape(v, (1, *v.shape))])
                  for s, v in zip(series, last, strict=True)]
    return [xp.moveaxis(s, -1, 1) for s in series]
