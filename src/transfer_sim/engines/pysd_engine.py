"""The reference engine: PySD running the translated ``model/transfer.mdl``."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from transfer_sim.engines.base import ArrayInput, FactsEngine, RawResult, RunSpec, expand_inputs
from transfer_sim.errors import ModelError
from transfer_sim.model.core import load_pysd

__all__ = ["PySDEngine"]


class PySDEngine(FactsEngine):
    """Run the model with PySD.

    PySD keeps the params of an earlier ``run()`` in the model object, so every run
    starts from ``reload()``: each run gives what it would give alone.

    Parameters
    ----------
    model_path : path-like, default: the bundled model
        The ``.mdl`` that PySD translates (once, into the cache) and runs.
    """

    name = "pysd"
    backend = "pysd"
    distribution = "pysd"

    def __init__(self, model_path: str | Path | None = None):
        super().__init__(model_path)
        self._model = load_pysd(self.model_path)
        self._by_real = {v.real_name: n for n, v in self._facts.variables.items()}

    @staticmethod
    def _param(value: float | ArrayInput) -> object:
        if isinstance(value, ArrayInput):
            return xr.DataArray(value.values, {value.dim: list(value.elements)}, [value.dim])
        return value

    def _sector_values(self, value: object) -> np.ndarray:
        """Values of a Sector-subscripted DataArray in the model's sector order."""
        if not hasattr(value, "dims"):
            return np.asarray(value, dtype=float)
        sectors = self._facts.sectors
        if tuple(value.coords["Sector"].values) != sectors:  # type: ignore[attr-defined]
            value = value.loc[{"Sector": list(sectors)}]  # type: ignore[attr-defined]
        return np.asarray(value.values, dtype=float)  # type: ignore[attr-defined]

    def run(self, spec: RunSpec) -> RawResult:
        """Run the model once from its defaults plus ``spec.inputs``."""
        names = list(spec.variables) if spec.variables is not None else self._outputs
        params = {k: self._param(v) for k, v in expand_inputs(self._facts, spec.inputs).items()}
        self._model.reload()
        final_time, time_step, saveper = spec.times(self._facts)
        kwargs = {"final_time": final_time, "saveper": saveper}
        if spec.time_step is not None:
            kwargs["time_step"] = time_step
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                df = self._model.run(params=params, return_columns=names,
                                     flatten_output=False, **kwargs)
        except Exception as exc:  # PySD raises many types on bad params
            raise ModelError(f"PySD run failed: {exc}") from exc
        time = df.index.to_numpy(dtype=float)
        data: dict[str, np.ndarray] = {}
        for col in df.columns:
            py = self._by_real.get(col, col)
            values = df[col].to_numpy()
            if values.dtype == object:
                arr = np.stack([self._sector_values(v) for v in values])
            else:
                arr = values.astype(float)
            data[py] = arr
        return RawResult(time=time, data=data)
