"""transfer-sim: a system-dynamics simulator of regional industrial-transfer policy.

The model is ``model/transfer.mdl`` (Vensim), run by PySD (the reference engine) or
Simlin (the fast engine). Typical use::

    import transfer_sim as ts
    ds = ts.compare([ts.load_scenario("no-policy"), ts.load_scenario("policy-as-written")])
    print(ts.format_table(ts.kpi_table(ds)))
"""

from .calibration import calibrate
from .errors import InputError, ModelError, OutputError, TransferSimError
from .kpis import format_table, kpi_table
from .levers import LEVERS
from .results import read_netcdf, write_csv, write_netcdf
from .runner import compare, run, run_scenario
from .scenarios import Scenario, load_scenario

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
