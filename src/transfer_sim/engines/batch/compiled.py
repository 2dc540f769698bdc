"""The array program compiled by JAX: chunks of runs, and forward-mode derivatives.

:class:`CompiledSimulation` is one ``jax.jit`` of :func:`~.simulate.simulate` for one
time grid and a fixed chunk of runs: a batch of any size runs chunk by chunk (the
last chunk padded), so memory stays flat in the number of runs and every batch
size reuses one compilation. JAX's persistent compilation cache keeps the compiled
code on disk (:func:`configure_jax`), keyed by the program's own hash, so a later
process only traces the model (about 2 s) instead of compiling it (about 20 s).

Derivatives are forward mode (:func:`jax.jvp`) through the same program, one
direction per run of a small chunk (:data:`SMALL_CHUNK` directions a call), so ``k``
directions cost about ``2 k`` runs and need one more compilation, cached the same way.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from transfer_sim.engines.batch.layout import ConstantLayout
from transfer_sim.engines.batch.program import ArrayProgram, Grid
from transfer_sim.engines.batch.simulate import simulate

__all__ = ["CompiledSimulation", "configure_jax", "DEFAULT_CHUNK"]

#: Runs per compiled call (``$TRANSFER_SIM_BATCH_CHUNK`` overrides): large enough to
#: amortise the per-step cost of the compiled loop, small enough for the cache.
DEFAULT_CHUNK = 64
#: Runs per call for a few runs (a single run, a calibration's derivatives): a second
#: compilation, so that one run does not pay for a whole chunk.
SMALL_CHUNK = 8


def configure_jax(cache: Path) -> Any:
    """Import JAX with 64-bit floats and its persistent compilation cache in ``cache``.

    A compilation cache folder the user has already configured is kept.

    Returns
    -------
    module
        ``jax``.
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    if not jax.config.jax_compilation_cache_dir:
        cache.mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", str(cache))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return jax


def chunk_size() -> int:
    """Return the chunk of runs per compiled call (``$TRANSFER_SIM_BATCH_CHUNK``)."""
    value = os.environ.get("TRANSFER_SIM_BATCH_CHUNK", "")
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_CHUNK


class CompiledSimulation:
    """One time grid of the model, compiled for chunks of ``chunk`` runs.

    Parameters
    ----------
    program : ArrayProgram
        The model on ``jax.numpy``.
    layout : ConstantLayout
        How a run's row of inputs maps onto the constants.
    grid : Grid
        The time grid.
    outputs : sequence of str
        Variables the compiled function returns (every one, every saved time).
    chunk : int
        Runs per call (:data:`SMALL_CHUNK` for a few runs).
    """

    def __init__(self, program: ArrayProgram, layout: ConstantLayout, grid: Grid,
                 outputs: Sequence[str], chunk: int):
        import jax

        self.jax = jax
        self.program = program
        self.layout = layout
        self.grid = grid
        self.outputs = tuple(outputs)
        self.chunk = chunk
        self._shapes = [program.shape(n) for n in self.outputs]
        self._run = jax.jit(self._simulate)
        self._tangent = jax.jit(self._jvp)

    def _simulate(self, matrix: Any) -> list[Any]:
        consts = self.layout.unpack(matrix, self.program.xp)
        return simulate(self.program, consts, self.grid, self.outputs, matrix.shape[0],
                        self.jax.lax.scan)

    def _size(self, rows: int) -> int:
        """Return the runs per call for ``rows`` runs (the small chunk for a few)."""
        return SMALL_CHUNK if rows <= SMALL_CHUNK < self.chunk else self.chunk

    def _jvp(self, matrix: Any, directions: Any) -> tuple[list[Any], list[Any]]:
        return self.jax.jvp(self._simulate, (matrix,), (directions,))

    def _chunks(self, rows: np.ndarray) -> list[tuple[np.ndarray, int]]:
        """Split rows into full chunks; the last padded with copies of its first row."""
        out = []
        size = self._size(rows.shape[0])
        for start in range(0, rows.shape[0], size):
            part = rows[start:start + size]
            used = part.shape[0]
            if used < size:
                part = np.concatenate([part, np.repeat(part[:1], size - used, axis=0)])
            out.append((part, used))
        return out

    def run(self, rows: np.ndarray, names: Sequence[str] | None = None
            ) -> dict[str, np.ndarray]:
        """Run every row of inputs.

        Parameters
        ----------
        rows : numpy.ndarray
            Shape ``(runs, layout.size)``.
        names : sequence of str, optional
            Outputs to return (all are computed); every output by default.

        Returns
        -------
        dict
            Output -> shape ``(runs, saved times, *ranges)``.
        """
        rows = np.asarray(rows, dtype=float)
        wanted = list(self.outputs if names is None else names)
        index = {n: self.outputs.index(n) for n in wanted}
        times = self.grid.counts()[1]
        out = {n: np.empty((rows.shape[0], times, *self._shapes[index[n]])) for n in wanted}
        start = 0
        for part, used in self._chunks(rows):
            series = self._run(part)  # only the wanted outputs are copied back, chunk by chunk
            for n in wanted:
                out[n][start:start + used] = np.moveaxis(np.asarray(series[index[n]]), 1,
                                                         0)[:used]
            start += used
        return out

    def derivatives(self, row: np.ndarray, directions: np.ndarray
                    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Return the outputs at ``row`` and their derivatives along each direction.

        Parameters
        ----------
        row : numpy.ndarray
            One run's inputs, shape ``(layout.size,)``.
        directions : numpy.ndarray
            Shape ``(k, layout.size)``: the derivative along direction ``d`` is
            ``d/dh outputs(row + h d)`` at ``h = 0``.

        Returns
        -------
        values : list of numpy.ndarray
            One per output, shape ``(saved times, *ranges)``.
        tangents : list of numpy.ndarray
            One per output, shape ``(k, saved times, *ranges)``.
        """
        directions = np.atleast_2d(np.asarray(directions, dtype=float))
        k = directions.shape[0]
        size = SMALL_CHUNK  # one compilation of the derivatives, whatever the directions
        base = np.broadcast_to(np.asarray(row, dtype=float), (size, row.size))
        values: list[np.ndarray] = []
        parts: list[list[np.ndarray]] = [[] for _ in self.outputs]
        for start in range(0, max(k, 1), size):
            part = directions[start:start + size]
            used = part.shape[0]
            padded = np.zeros((size, row.size))
            padded[:used] = part
            primal, tangent = self._tangent(base, padded)
            if not values:
                values = [np.asarray(v)[:, 0] for v in primal]
            for i, t in enumerate(tangent):
                parts[i].append(np.moveaxis(np.asarray(t), 1, 0)[:used])
        return values, [np.concatenate(p) for p in parts]
