"""The ``batch`` engine: the model compiled by JAX, many runs at once, with derivatives.

``model/transfer.mdl`` is parsed by PySD's Vensim parser, rewritten as the JSON
intermediate form (:mod:`.ir`, cached per model hash, so a later process needs no
PySD), evaluated on arrays with a run axis (:mod:`.program`) and compiled by
``jax.jit`` for chunks of runs (:mod:`.compiled`, cached on disk by JAX's persistent
compilation cache). :meth:`BatchEngine.run_batch` runs any number of lever sets in
one call; :meth:`BatchEngine.derivatives` gives exact derivatives of every output
at every saved time along any directions in the space of constants (forward mode).

Why JAX: it compiles the array program as it is (one ``lax.scan`` over the time
steps, a run axis) with no C toolchain on the user's machine, and the same
compilation gives exact derivatives (``jax.jvp``), which calibration's Jacobian and
the report's elasticities use. The benchmarks (``benchmarks/engines.py``) measure
it against Simlin and PySD.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from transfer_sim.engines.base import BatchResult, FactsEngine, RawResult, RunSpec, check_batch
from transfer_sim.engines.batch.compiled import (
    SMALL_CHUNK,
    CompiledSimulation,
    chunk_size,
    configure_jax,
)
from transfer_sim.engines.batch.ir import load_ir
from transfer_sim.engines.batch.layout import ConstantLayout
from transfer_sim.engines.batch.program import ArrayProgram, Grid
from transfer_sim.errors import InputError, ModelError
from transfer_sim.inputs.run_settings import FINAL_YEAR_RANGE
from transfer_sim.inputs.run_settings import final_time as _final_time
from transfer_sim.model.core import cache_dir

__all__ = ["BatchEngine", "Derivatives"]


class Derivatives:
    """Outputs of one run and their derivatives along named directions.

    Attributes
    ----------
    time : numpy.ndarray
        Output times, shape ``(t,)``.
    labels : tuple of str
        One per direction.
    values : dict
        Output -> shape ``(t,)`` or ``(t, sectors)``.
    tangents : dict
        Output -> shape ``(len(labels), t)`` or ``(len(labels), t, sectors)``:
        ``d output / d h`` along each direction.
    """

    def __init__(self, time: np.ndarray, labels: Sequence[str],
                 values: Mapping[str, np.ndarray], tangents: Mapping[str, np.ndarray]):
        self.time = time
        self.labels = tuple(labels)
        self.values = dict(values)
        self.tangents = dict(tangents)

    def of(self, name: str, label: str) -> np.ndarray:
        """Return ``d name / d label`` (shape ``(t,)`` or ``(t, sectors)``)."""
        return self.tangents[name][self.labels.index(label)]


class BatchEngine(FactsEngine):
    """Run the model compiled by JAX, many runs per call.

    Each run starts from the model's defaults plus its spec's inputs (a number sets
    every element of a subscripted constant; an array sets a constant over one range
    element by element); no state carries over. A single :meth:`run` costs one
    small chunk of runs (:data:`~.compiled.SMALL_CHUNK`): the engine pays off in batches.

    Building it switches JAX to 64-bit floats for the whole process
    (``jax_enable_x64``), which the equality with the other engines needs, and points
    JAX's persistent compilation cache into this package's cache folder unless one is
    configured already (``$JAX_COMPILATION_CACHE_DIR``).

    Parameters
    ----------
    model_path : path-like, default: the bundled model
        The ``.mdl`` to compile.
    """

    name = "batch"
    backend = "jax"
    distribution = "jax"

    def __init__(self, model_path: str | Path | None = None):
        super().__init__(model_path)
        configure_jax(cache_dir() / "jax")
        import jax.numpy as jnp

        ir = load_ir(self.model_path, self._facts)
        missing = [n for n in self._outputs if n not in ir.variables]
        if missing:
            raise ModelError(f"the batch engine cannot compute {missing[:3]}")
        self._program = ArrayProgram(ir, jnp)
        defaults = self._program.defaults()
        self.layout = ConstantLayout.from_defaults(
            defaults, {n: ir.variables[n]["dims"] for n in defaults}, ir.subscripts)
        self.chunk = chunk_size()
        self._compiled: dict[tuple[float, float, float], CompiledSimulation] = {}
        self._output_set = frozenset(self._outputs)
        self._reads_final_time = '["control", "final_time"]' in ir.to_json()

    # -- compilation ---------------------------------------------------------------
    def _grid(self, spec: RunSpec, runs: int) -> tuple[CompiledSimulation, int]:
        """Return the compiled simulation for ``runs`` runs of ``spec`` and its saved times.

        A few runs (a single run, a calibration's population, derivatives) are simulated
        to the latest final year a run may have and cut to the spec's own times: one
        compilation per time step and save interval then serves every final year
        (the model reads no ``FINAL TIME``, so the earlier years are the same).
        """
        final_time, time_step, saveper = spec.times(self._facts)
        saves = Grid(float(self._facts.control.initial_time), final_time, time_step,
                     saveper).counts()[1]
        if runs <= SMALL_CHUNK and not self._reads_final_time:
            extended = _final_time(FINAL_YEAR_RANGE[1])
            if extended > final_time:
                spec = dataclasses.replace(spec, final_time=extended)
        return self.compiled(spec), saves

    def compiled(self, spec: RunSpec) -> CompiledSimulation:
        """Return the compiled simulation for a spec's time grid (compiled on first use)."""
        final_time, time_step, saveper = spec.times(self._facts)
        key = (final_time, time_step, saveper)
        if key not in self._compiled:
            grid = Grid(float(self._facts.control.initial_time), final_time, time_step,
                        saveper)
            grid.counts()  # a grid the program cannot step is refused before compiling
            self._compiled[key] = CompiledSimulation(self._program, self.layout, grid,
                                                     self._outputs, self.chunk)
        return self._compiled[key]

    def _variables(self, spec: RunSpec) -> list[str]:
        names = list(spec.variables) if spec.variables is not None else self._outputs
        unknown = [n for n in names if n not in self._output_set]
        if unknown:
            raise InputError(f"not an output variable of the model (allowed: the "
                             f"{len(self._outputs)} outputs of the model facts)",
                             key=unknown[0])
        return names

    # -- runs ------------------------------------------------------------------------
    def run(self, spec: RunSpec) -> RawResult:
        """Run the model once from its defaults plus ``spec.inputs``."""
        return self.run_batch([spec]).run(0)

    def run_batch(self, specs: Sequence[RunSpec]) -> BatchResult:
        """Run every spec at once (they must share times and variables).

        Parameters
        ----------
        specs : sequence of RunSpec
            The runs.

        Returns
        -------
        BatchResult
            ``data[name]`` of shape ``(runs, t)`` or ``(runs, t, sectors)``.
        """
        check_batch(specs)
        names = self._variables(specs[0])
        compiled, saves = self._grid(specs[0], len(specs))
        rows = self.layout.rows(self._facts, [s.inputs for s in specs])
        return _cut(BatchResult(time=compiled.grid.times(), data=compiled.run(rows, names)),
                    saves)

    def run_rows(self, spec: RunSpec, rows: np.ndarray) -> BatchResult:
        """Run rows of constants (:attr:`layout`) on the grid and variables of ``spec``."""
        names = self._variables(spec)
        rows = np.atleast_2d(rows)
        compiled, saves = self._grid(spec, rows.shape[0])
        return _cut(BatchResult(time=compiled.grid.times(), data=compiled.run(rows, names)),
                    saves)

    # -- derivatives -----------------------------------------------------------------
    def directions(self, wrt: Sequence[str], row: np.ndarray | None = None,
                   relative: bool = False) -> np.ndarray:
        """Return unit directions for constants or elements (``name`` or ``name[e]``).

        A name of a subscripted constant moves all its elements together.

        Parameters
        ----------
        wrt : sequence of str
            Constants (Python names), or ``name[element]`` for one element.
        row : numpy.ndarray, optional
            The point; with ``relative``, each direction is scaled by its values there,
            so that the derivative is ``d output / d log(constant)``.
        relative : bool
            Scale by the point's values (elasticity numerators).

        Raises
        ------
        InputError
            For a name that is not a constant, or an unknown element.
        """
        out = np.zeros((len(wrt), self.layout.size))
        for i, label in enumerate(wrt):
            name, _, element = label.partition("[")
            if element:
                out[i, self.layout.column(name, element.rstrip("]"))] = 1.0
            else:
                out[i, self.layout.columns(name)] = 1.0
        if relative:
            if row is None:
                raise ValueError("relative directions need the point (row)")
            out *= row[None, :]
        return out

    def derivatives(self, spec: RunSpec, wrt: Sequence[str] | Mapping[str, np.ndarray],
                    relative: bool = False) -> Derivatives:
        """Return the outputs of one run and their exact derivatives.

        Parameters
        ----------
        spec : RunSpec
            The point (its inputs over the defaults), grid and variables.
        wrt : sequence of str or mapping
            Constants or ``name[element]`` labels (:meth:`directions`), or label ->
            a direction in the space of constants (shape ``(layout.size,)``).
        relative : bool
            For labels: derivatives with respect to the logarithm of each constant
            (``x d/dx``), the numerators of elasticities.

        Returns
        -------
        Derivatives
            Values and ``d output / d h`` along each direction.
        """
        names = self._variables(spec)
        compiled, saves = self._grid(spec, 1)
        row = self.layout.row(self._facts, spec.inputs)
        if isinstance(wrt, Mapping):
            labels = list(wrt)
            directions = np.stack([np.asarray(wrt[k], dtype=float) for k in labels]) \
                if labels else np.zeros((0, self.layout.size))
        else:
            labels = list(wrt)
            directions = self.directions(labels, row, relative)
        values, tangents = compiled.derivatives(row, directions)
        by_value = dict(zip(compiled.outputs, values, strict=True))
        by_tangent = dict(zip(compiled.outputs, tangents, strict=True))
        bad = [n for n in names if not np.all(np.isfinite(by_tangent[n]))]
        if bad:
            raise ModelError(f"the derivatives of {bad[:3]} are not finite at this point")
        return Derivatives(compiled.grid.times()[:saves], labels,
                           {n: by_value[n][:saves] for n in names},
                           {n: by_tangent[n][:, :saves] for n in names})


def _cut(result: BatchResult, saves: int) -> BatchResult:
    """Keep the first ``saves`` saved times of a batch."""
    if result.time.size == saves:
        return result
    return BatchResult(time=result.time[:saves],
                       data={k: v[:, :saves] for k, v in result.data.items()})
