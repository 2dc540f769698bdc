"""Dataset I/O: atomic writes, tidy CSV, provenance (no model run)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import xarray as xr

from transfer_sim.errors import OutputError
from transfer_sim.io.atomic import atomic_path, check_writable, remove_stale_parts
from transfer_sim.run.results import (
    read_netcdf,
    to_frame,
    write_csv,
    write_netcdf,
)


def _ds() -> xr.Dataset:
    return xr.Dataset(
        {"revenue": (("time", "sector"), np.ones((3, 2)), {"units": "yiyuan/Year"}),
         "total": ("time", np.arange(3.0), {"units": "yiyuan"})},
        coords={"time": [2005.0, 2006.0, 2007.0], "sector": ["a", "b"]},
        attrs={"model_sha256": "abc", "note": "亿元"})


def test_netcdf_round_trip_keeps_units_and_attrs(tmp_path):
    path = write_netcdf(_ds(), tmp_path / "out.nc")
    back = read_netcdf(path)
    assert back["revenue"].attrs["units"] == "yiyuan/Year"
    assert back.attrs["note"] == "亿元"
    xr.testing.assert_allclose(back, _ds())


def test_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "out.nc"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert not target.exists()
    assert os.listdir(tmp_path) == []
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("new, half written")
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["out.nc"]


def test_unwritable_targets_are_refused_before_work(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        check_writable(tmp_path / "missing" / "out.nc")
    with pytest.raises(OutputError, match="is a folder"):
        check_writable(tmp_path)


def test_written_file_has_normal_permissions(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    path = write_netcdf(_ds(), tmp_path / "out.nc")
    # the umask's permissions, not mkstemp's private 0600
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_tidy_csv(tmp_path):
    frame = to_frame(_ds())
    assert list(frame.columns) == ["variable", "sector", "time", "value", "unit"]
    assert set(frame["unit"]) == {"yiyuan/Year", "yiyuan"}
    assert (frame[frame["variable"] == "total"]["sector"] == "").all()
    path = write_csv(_ds(), tmp_path / "out.csv")
    assert path.read_text().splitlines()[0] == "variable,sector,time,value,unit"


def test_stale_parts_of_a_killed_writer_are_removed_and_targets_kept(tmp_path):
    (tmp_path / ".out.nc.abc123.part").write_bytes(b"half")
    (tmp_path / "out.nc").write_bytes(b"whole")
    assert remove_stale_parts(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["out.nc"]


def test_progress_off_a_terminal_logs_start_end_and_the_steps_of_short_work(capsys):
    from transfer_sim.io.progress import progress_bar

    report = progress_bar("calibrate", unit="steps")
    for i, label in enumerate(["screen", "global search", "polish"], start=1):
        report(i, 3, label)
    many = progress_bar("ensemble")
    for i in range(1, 101):
        many(i, 100, f"run {i}")
    quiet = progress_bar("x", enabled=False)
    quiet(1, 1, "never shown")
    assert capsys.readouterr().err.splitlines() == [
        "calibrate: 3 steps", "calibrate: screen", "calibrate: global search",
        "calibrate: polish", "calibrate: done", "ensemble: 100 runs", "ensemble: done"]
