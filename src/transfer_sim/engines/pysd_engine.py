"""The reference engine: PySD running the translated ``model/transfer.mdl``."""

from __future__ import annotations

import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import xarray as xr

from transfer_sim.engines.base import RawResult, RunSpec, output_variables, subscript_elements
from transfer_sim.errors import ModelError
from transfer_sim.model.core import SECTORS, catalogue, default_model_path, load_pysd

__all__ = ["PySDEngine"]


class PySDEngine:
    """Run the model with PySD.

    PySD keeps the params of an earlier ``run()`` in the model object, so every run
    starts from ``reload()``: each run gives what it would give alone.

    Parameters
    ----------
    model_path : path-like, optional
        Model file; the bundled model by default.
    """

    name = "pysd"

    def __init__(self, model_path: str | Path | None = None):
        self.model_path = Path(model_path) if model_path else default_model_path()
        self._model = load_pysd(self.model_path)
        self._catalogue = catalogue(self.model_path)
        self._outputs = output_variables(self._catalogue)

    @property
    def version(self) -> str:
        """PySD's version."""
        return version("pysd")

    def _param(self, name: str, value: float | np.ndarray) -> object:
        if np.ndim(value) == 0:
            return float(value)
        dim = self._catalogue.at[name, "Subscripts"][0]
        elements = subscript_elements(self._catalogue, name)
        values = np.asarray(value, dtype=float)
        if values.shape != (len(elements),):
            raise ModelError(f"{name}: expected {len(elements)} values, got {values.shape}")
        return xr.DataArray(values, {dim: elements}, [dim])

    @staticmethod
    def _sector_values(value: object) -> np.ndarray:
        """Values of a Sector-subscripted DataArray in :data:`SECTORS` order."""
        if not hasattr(value, "dims"):
            return np.asarray(value, dtype=float)
        if tuple(value.coords["Sector"].values) != SECTORS:  # type: ignore[attr-defined]
            value = value.loc[{"Sector": list(SECTORS)}]  # type: ignore[attr-defined]
        return np.asarray(value.values, dtype=float)  # type: ignore[attr-defined]

    def run(self, spec: RunSpec) -> RawResult:
        """Run the model once from its defaults plus ``spec.inputs``."""
        names = list(spec.variables) if spec.variables is not None else self._outputs
        params = {k: self._param(k, v) for k, v in spec.inputs.items()}
        self._model.reload()
        kwargs = {"final_time": spec.final_time, "saveper": spec.saveper}
        if spec.time_step is not None:
            kwargs["time_step"] = spec.time_step
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                df = self._model.run(params=params, return_columns=names,
                                     flatten_output=False, **kwargs)
        except Exception as exc:  # PySD raises many types on bad params
            raise ModelError(f"PySD run failed: {exc}") from exc
        time = df.index.to_numpy(dtype=float)
        data: dict[str, np.ndarray] = {}
        by_real = dict(zip(self._catalogue["Real Name"], self._catalogue.index, strict=True))
        for col in df.columns:
            py = by_real.get(col, col)
            values = df[col].to_numpy()
            if values.dtype == object:
                arr = np.stack([self._sector_values(v) for v in values])
            else:
                arr = values.astype(float)
            data[py] = arr
        return RawResult(time=time, data=data)
