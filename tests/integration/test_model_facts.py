"""The bundled model's facts: equal to what PySD and Simlin read, and enough for Simlin.

A Simlin run in a fresh process with warm facts never imports PySD.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from transfer_sim.engines import get_engine, output_variables
from transfer_sim.model import SECTORS, YEARS, catalogue, load_pysd
from transfer_sim.model.core import default_model_path
from transfer_sim.model.facts import CONSTANT_TYPES, facts_path, model_facts


@pytest.fixture(scope="module")
def pysd_model():
    # Loaded, never run: its doc and constants are what the facts must hold.
    return load_pysd()


def test_the_catalogue_is_pysds_doc(facts, pysd_model):
    doc = pysd_model.doc.copy()
    doc["Subscripts"] = doc["Subscripts"].apply(
        lambda s: tuple(s) if isinstance(s, list | tuple) else ())
    doc = doc.set_index("Py Name", drop=False).sort_index()
    cat = facts.catalogue()
    pd.testing.assert_frame_equal(cat.drop(columns="Limits"), doc.drop(columns="Limits"))
    for name, limits in doc["Limits"].items():  # PySD's (min, max[, step]) -> (min, max)
        np.testing.assert_array_equal(cat.at[name, "Limits"],
                                      np.asarray(limits[:2], dtype=float))
    pd.testing.assert_frame_equal(catalogue(), cat)


def test_every_constant_has_the_value_pysd_evaluates(facts, pysd_model):
    cat = facts.catalogue()
    names = sorted(cat.index[cat["Type"].isin(CONSTANT_TYPES)])
    assert sorted(facts.constants) == names and len(names) > 90
    for name in names:
        value = facts.value(name)
        if facts.variables[name].type == "Lookup":
            ref = getattr(pysd_model.components, f"_hardcodedlookup_{name}").data
        else:
            ref = getattr(pysd_model.components, name)()
        if isinstance(ref, xr.DataArray):
            xr.testing.assert_equal(value, ref)
        else:
            assert value == ref and type(value) is type(ref), name


def test_control_section_sectors_and_years(facts):
    import simlin

    spec = simlin.load(default_model_path()).time_spec
    control = facts.control
    assert (control.initial_time, control.final_time, control.time_step) == \
        (spec.start, spec.stop, spec.dt)
    assert control.saveper == facts.value("saveper") == 0.25
    assert get_engine("simlin").default_time_step == control.time_step
    assert facts.sectors == SECTORS and facts.years == YEARS
    assert facts.subscripts["Year"] == tuple(f"y{y}" for y in YEARS)


def test_outputs_and_units(facts):
    assert output_variables() == list(facts.outputs) == output_variables(catalogue())
    assert facts.units("operating_assets") == "yiyuan"
    assert all(facts.units(n) for n in facts.variables)


def test_the_facts_are_cached_as_json_keyed_by_the_model_hash(facts):
    file = facts_path(facts.sha256)
    assert file.is_file() and file.stem == facts.sha256
    assert model_facts() is facts


@pytest.mark.slow
def test_a_simlin_run_in_a_fresh_process_never_imports_pysd(facts, tmp_path):
    code = textwrap.dedent(f"""
        import sys
        from transfer_sim.cli import main
        from transfer_sim.engines import RunSpec
        from transfer_sim.run.ensemble import _worker_engine

        assert main(["run", "policy-as-written", "-o", {str(tmp_path / "r.nc")!r}]) == 0
        raw = _worker_engine("simlin", None).run(RunSpec(variables=["nonresource_revenue"]))
        assert raw.data["nonresource_revenue"].size > 0
        assert "pysd" not in sys.modules, "a Simlin run imported PySD"
        print("no pysd")
    """)
    env = dict(os.environ)  # the session's cache, where the facts are warm
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "no pysd"
    assert (tmp_path / "r.nc").is_file()
