"""Raw engine series -> ``xarray.Dataset`` with units and provenance; NetCDF/CSV I/O.

Every write is atomic: the data go to a temporary file in the target folder that is
renamed over the target only when complete, so a failed or interrupted write leaves
no output file and never clobbers an existing one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from transfer_sim.engines.base import RawResult
from transfer_sim.io.atomic import atomic_path
from transfer_sim.io.versions import package_version
from transfer_sim.model.core import SECTORS
from transfer_sim.model.facts import model_facts

__all__ = [
    "to_dataset",
    "write_netcdf",
    "write_csv",
    "read_netcdf",
    "to_frame",
]


def to_dataset(raw: RawResult, *, model_path: str | os.PathLike[str] | None = None,
               attrs: Mapping[str, Any] | None = None) -> xr.Dataset:
    """Build a Dataset with dims ``time`` and ``sector`` from an engine's series.

    Parameters
    ----------
    raw : RawResult
        What the engine returned.
    model_path : path-like, optional
        Model file the run used (for units, names and its hash).
    attrs : mapping, optional
        Provenance to add (engine, levers, scenario...).

    Returns
    -------
    xarray.Dataset
        One variable per model output, each with ``units``, ``long_name`` and
        ``description`` (the model's comment); provenance in ``attrs``.
    """
    from transfer_sim.model.core import model_file, model_hash

    path = model_file(model_path)
    digest = model_hash(path)
    meta = _variable_attrs(path)
    coords = {"time": ("time", raw.time, {"units": "Year", "long_name": "time"}),
              "sector": ("sector", list(SECTORS), {"long_name": "non-resource sector"})}
    data_vars = {}
    for name, values in raw.data.items():
        dims = ("time", "sector") if values.ndim == 2 else ("time",)
        data_vars[name] = xr.Variable(dims, values, dict(meta[name]))
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs.update({
        "title": "transfer-sim run of model/transfer.mdl",
        "model_file": path.name,
        "model_sha256": digest,
        "transfer_sim_version": package_version("transfer-sim"),
        "pysd_version": package_version("pysd"),
        "pysimlin_version": package_version("pysimlin"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    })
    for key, value in (attrs or {}).items():
        ds.attrs[key] = value if isinstance(value, str | int | float) else json.dumps(value)
    return ds


def _variable_attrs(path: Path) -> dict[str, dict[str, str]]:
    """Per-variable ``units``, ``long_name`` and ``description`` from the model facts."""
    facts = model_facts(path)
    return {name: {"units": facts.units(name), "long_name": var.real_name,
                   "description": " ".join((var.comment or "").split())}
            for name, var in facts.variables.items()}


def write_netcdf(ds: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """Write a Dataset to NetCDF atomically.

    The file is NetCDF-3 (64-bit offset) written by scipy: 30x faster here than the
    NetCDF-4 writer for a run's ~140 variables, and UTF-8 attributes round-trip.

    Parameters
    ----------
    ds : xarray.Dataset
        Results.
    path : path-like
        Target file.
    """
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="scipy", format="NETCDF3_64BIT")
    return Path(path)


def read_netcdf(path: str | os.PathLike[str]) -> xr.Dataset:
    """Read a results file (NetCDF-3 or NetCDF-4) into memory."""
    with xr.open_dataset(path) as ds:
        return ds.load()


def to_frame(ds: xr.Dataset) -> pd.DataFrame:
    """Return a tidy table: ``scenario, variable, sector, time, value, unit``.

    Scalar variables get an empty ``sector``.
    """
    frames = []
    for name, da in ds.data_vars.items():
        if "time" not in da.dims:
            continue
        df = da.to_dataframe(name="value").reset_index()
        df = df[[c for c in df.columns if c in ("scenario", "run", "sector", "time", "value")]]
        if "sector" not in df.columns:
            df["sector"] = ""
        df["variable"] = name
        df["unit"] = da.attrs.get("units", "")
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    cols = [c for c in ("scenario", "run") if c in out.columns]
    return out[cols + ["variable", "sector", "time", "value", "unit"]]


def write_csv(ds: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """Write a Dataset as a tidy CSV (see :func:`to_frame`) atomically."""
    frame = to_frame(ds)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return Path(path)
