"""An ensemble's work folder: a manifest, one HDF5 file per finished block, and the combine.

The work folder sits beside the output (``OUT.nc.work/``). Its ``manifest.json``
holds the ensemble's fingerprint (:meth:`transfer_sim.run.ensemble_spec.EnsembleSpec.fingerprint`):
a folder made by other settings is refused rather than mixed in. Every file is
written through :func:`transfer_sim.io.atomic.atomic_path`, so a block file exists
only when complete; a process killed mid-write (SIGKILL) can leave only a hidden
temporary ``.part`` file, which :meth:`BlockStore.open` removes on resume. When every
block is there, :meth:`BlockStore.combine` copies them one at a time into the output
file (written atomically), so memory stays flat in the number of runs.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from transfer_sim.errors import InputError, ModelError
from transfer_sim.io.atomic import atomic_path, atomic_write_text, remove_stale_parts
from transfer_sim.model.core import SECTORS, catalogue
from transfer_sim.run.ensemble_spec import EnsembleSpec

__all__ = ["BlockStore", "work_dir_for", "MANIFEST"]

#: Name of the manifest in a work folder.
MANIFEST = "manifest.json"


def work_dir_for(output: str | os.PathLike[str]) -> Path:
    """Return the work folder of an ensemble written to ``output`` (``OUT.nc.work``)."""
    p = Path(output)
    return p.with_name(p.name + ".work")


def _block_name(s: int, c: int) -> str:
    return f"s{s:03d}-c{c:06d}.h5"


def _var_attrs(cat: Any, name: str) -> dict[str, str]:
    row = cat.loc[name]
    units = row["Units"] if isinstance(row["Units"], str) and row["Units"] else "Dmnl"
    return {"units": units, "long_name": str(row["Real Name"]),
            "description": " ".join(str(row["Comment"]).split())}


@dataclass
class BlockStore:
    """The work folder of one ensemble.

    Parameters
    ----------
    folder : pathlib.Path
        The work folder (:func:`work_dir_for` of the output).
    manifest : dict
        The manifest (fingerprint, creation time, summary).
    """

    folder: Path
    manifest: dict[str, Any]

    @classmethod
    def open(cls, folder: Path, fingerprint: str, summary: Mapping[str, Any]) -> BlockStore:
        """Open (resume) or create the work folder of the ensemble with ``fingerprint``.

        Raises
        ------
        InputError
            When the folder holds an ensemble with another fingerprint, or files
            without a manifest.
        """
        path = folder / MANIFEST
        if folder.is_dir():
            remove_stale_parts(folder)  # left by a writer that was killed (not blocks)
        if path.exists():
            try:
                manifest = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                manifest = {}
            if manifest.get("fingerprint") != fingerprint:
                raise InputError(f"work folder {folder} holds an unfinished ensemble with "
                                 "other settings; rerun that command to finish it, or delete "
                                 "the folder", key="output")
            return cls(folder, manifest)
        if folder.exists() and any(folder.iterdir()):
            raise InputError(f"work folder {folder} exists without a manifest; delete it",
                             key="output")
        folder.mkdir(parents=True, exist_ok=True)
        manifest = {"fingerprint": fingerprint,
                    "created": datetime.now(UTC).isoformat(timespec="seconds"), **summary}
        atomic_write_text(path, json.dumps(manifest, ensure_ascii=False, indent=1),
                          check=False)
        return cls(folder, manifest)

    def path(self, s: int, c: int) -> Path:
        """Return the file of block ``c`` of scenario ``s``."""
        return self.folder / _block_name(s, c)

    def has(self, s: int, c: int) -> bool:
        """Whether block ``c`` of scenario ``s`` is finished."""
        return self.path(s, c).exists()

    def write_block(self, s: int, c: int, start: int, time: np.ndarray,
                    data: Mapping[str, np.ndarray]) -> None:
        """Write one finished block as an HDF5 file, atomically."""
        import h5py

        # One dataset for the whole block: HDF5 object look-ups cost ~0.3 ms each.
        n = next(iter(data.values())).shape[0]
        columns = [(v, a.shape[2] if a.ndim == 3 else 0) for v, a in data.items()]
        values = np.concatenate([a.reshape(n, len(time), -1) for a in data.values()], axis=2)
        with atomic_path(self.path(s, c), check=False) as tmp, h5py.File(tmp, "w") as f:
            f.attrs["start"] = start
            f.attrs["columns"] = json.dumps(columns)
            f.create_dataset("time", data=time)
            f.create_dataset("values", data=values)

    def remove(self) -> None:
        """Delete the work folder."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def combine(self, out: Path, spec: EnsembleSpec, meta: Mapping[str, Any]) -> None:
        """Copy the block files one at a time into the output ``out`` (atomically)."""
        with self._open(self.path(0, 0)) as first:
            time = first["time"][()]
            columns = [(str(v), int(w)) for v, w in json.loads(first.attrs["columns"])]
        if [v for v, _ in columns] != list(spec.outputs):
            raise ModelError(f"block files in {self.folder} hold other variables; delete the "
                             "folder and rerun")
        with atomic_path(out) as tmp:
            _write_layout(tmp, spec, time, {v: w for v, w in columns}, meta)
            self._fill(tmp, spec, time, columns)

    @staticmethod
    def _open(path: Path) -> Any:
        import h5py

        return h5py.File(path, "r")

    def _fill(self, tmp: Path, spec: EnsembleSpec, time: np.ndarray,
              columns: Sequence[tuple[str, int]]) -> None:
        """Fill the data through h5py: h5netcdf's per-slice writes cost ~3 ms each."""
        import h5py

        with h5py.File(tmp, "r+") as f:
            targets = {v: f[v] for v, _ in columns}
            for s in range(len(spec.plans)):
                for c in range(spec.n_chunks):
                    with self._open(self.path(s, c)) as blk:
                        if not np.array_equal(blk["time"][()], time):
                            raise ModelError(f"block {_block_name(s, c)} has other output "
                                             "times; delete the work folder and rerun")
                        lo = int(blk.attrs["start"])
                        block = blk["values"][()]
                    hi, k = lo + block.shape[0], 0
                    for v, width in columns:
                        part = block[:, :, k:k + max(width, 1)]
                        targets[v][s, lo:hi, ...] = part if width else part[:, :, 0]
                        k += max(width, 1)


def _write_layout(tmp: Path, spec: EnsembleSpec, time: np.ndarray,
                  widths: Mapping[str, int], meta: Mapping[str, Any]) -> None:
    """Write the output's dimensions, coordinates, sampled values and empty outputs."""
    import h5netcdf
    import h5py

    cat = catalogue(spec.model)
    runs = spec.runs
    with h5netcdf.File(tmp, "w") as f:
        f.dimensions = {"scenario": len(spec.plans), "run": runs, "time": len(time),
                        "sector": len(SECTORS)}
        sv = f.create_variable("scenario", ("scenario",), dtype=h5py.string_dtype())
        sv[:] = np.array([p.name for p in spec.plans], dtype=object)
        sv.attrs["long_name"] = "scenario"
        rv = f.create_variable("run", ("run",), dtype="i8")
        rv[:] = np.arange(runs, dtype=np.int64)
        rv.attrs["long_name"] = "ensemble run (sampled point)"
        tv = f.create_variable("time", ("time",), dtype="f8")
        tv[:] = time
        tv.attrs.update({"units": "Year", "long_name": "time"})
        secv = f.create_variable("sector", ("sector",), dtype=h5py.string_dtype())
        secv[:] = np.array(list(SECTORS), dtype=object)
        secv.attrs["long_name"] = "non-resource sector"
        for j, unc in enumerate(spec.uncertainties):
            uv = f.create_variable(unc.name, ("run",), dtype="f8")
            uv[:] = spec.values[:, j]
            uv.attrs.update({**_var_attrs(cat, unc.name), "role": "sampled uncertainty",
                             "distribution": unc.describe(), "source": unc.source})
        rows = min(runs, spec.block_size, 100)  # HDF5 chunks of <= 100 runs: small caches
        for v, width in widths.items():
            sector = (("sector",), (len(SECTORS),)) if width else ((), ())
            var = f.create_variable(v, ("scenario", "run", "time") + sector[0], dtype="f8",
                                    chunks=(1, rows, len(time)) + sector[1])
            var.attrs.update(_var_attrs(cat, v))
        for k, value in meta.items():
            f.attrs[k] = value
