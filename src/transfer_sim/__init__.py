"""transfer-sim: a system-dynamics simulator of regional industrial-transfer policy.

The model is ``model/transfer.mdl`` (Vensim), run by PySD (the reference engine) or
Simlin (the fast engine). Typical use::

    import transfer_sim as ts
    ds = ts.compare([ts.load_scenario("no-policy"), ts.load_scenario("policy-as-written")])
    print(ts.format_table(ts.kpi_table(ds)))
"""

from transfer_sim.analysis.calibration import calibrate
from transfer_sim.analysis.kpis import format_table, kpi_table
from transfer_sim.errors import InputError, ModelError, OutputError, TransferSimError
from transfer_sim.inputs.levers import LEVERS
from transfer_sim.inputs.scenarios import Scenario, load_scenario
from transfer_sim.run.results import read_netcdf, write_csv, write_netcdf
from transfer_sim.run.runner import compare, run, run_scenario

__all__ = [
    "LEVERS",
    "InputError",
    "ModelError",
    "OutputError",
    "Scenario",
    "TransferSimError",
    "calibrate",
    "compare",
    "format_table",
    "kpi_table",
    "load_scenario",
    "read_netcdf",
    "run",
    "run_scenario",
    "write_csv",
    "write_netcdf",
]
