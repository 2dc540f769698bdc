"""``transfer-sim history SCENARIO [--observed CSV ...] [--fit-until YEAR] -o TABLE.csv``."""

from __future__ import annotations

import argparse
from pathlib import Path

import xarray as xr

from transfer_sim.analysis.history import (
    default_validation_path,
    history_observed,
    history_summary,
    run_history,
)
from transfer_sim.cli import _common as common
from transfer_sim.errors import InputError
from transfer_sim.inputs.scenarios import load_scenario


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``history`` subcommand."""
    p = common.add_command(
        sub, "history", _history,
        help="the model against every sourced observation it has an output for, period "
             "by period, in and out of sample")
    p.add_argument("scenario", help="scenario file or bundled name (e.g. calibrated)")
    p.add_argument("--observed", nargs="+", type=Path, default=None, metavar="CSV",
                   help="observed CSVs (columns variable,year,value,unit,source,confidence "
                        "and optionally period; default: the file the scenario was "
                        "calibrated on, then data/historical/"
                        f"{default_validation_path().name})")
    p.add_argument("--fit-until", type=int, default=None, metavar="YEAR",
                   help="last in-sample year of the calibration file (default: the "
                        "scenario's [calibration] record)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="TABLE.csv",
                   help="comparison table to write (.csv)")
    p.add_argument("--figure", type=Path, default=None, metavar="FIG.png",
                   help="also draw each variable's observations against the model "
                        "(.png, .svg or .pdf)")
    p.add_argument("--ensemble", type=Path, default=None, metavar="FILE",
                   help="ensemble NetCDF (transfer-sim ensemble) holding the scenario: adds "
                        "the model's 5 and 95 %% quantiles to the table and a 5-95 %% band "
                        "to the figure")
    common.add_progress(p)
    common.add_engine(p)


def _check_table(path: Path) -> None:
    if path.suffix.lower() != ".csv":
        raise InputError(f"unknown table suffix {path.suffix or '(none)'!r}; allowed: .csv",
                         file=str(path), key="output")
    common.check_output(path)


def _open_ensemble(path: Path, scenario: str) -> xr.Dataset:
    """Read one scenario's runs from an ensemble file (dims ``run``, ``time``, ``sector``)."""
    try:
        ds = xr.open_dataset(path, engine="h5netcdf")
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the ensemble file ({exc})", file=str(path),
                         key="ensemble") from None
    with ds:
        if "run" not in ds.dims:
            raise InputError("not an ensemble file (no 'run' dimension)", file=str(path),
                             key="ensemble")
        if "scenario" in ds.dims:
            names = [str(n) for n in ds["scenario"].values]
            if scenario not in names:
                raise InputError(f"no scenario {scenario!r} in the ensemble; it holds: "
                                 f"{', '.join(names)}", file=str(path), key="ensemble")
            ds = ds.sel(scenario=scenario)
        return ds.load()


def _history(args: argparse.Namespace) -> int:
    """Compare a scenario's run with every sourced observation it has an output for.

    Each observation is compared over the period it covers: an annual flow over its
    calendar year, a partial-year flow (Jan-Aug, H1, Q1-Q3) over its months, a stock
    at the period's end. A row is in sample when it comes from the file the scenario
    was calibrated on and its year is at most the fit-until year; out-of-sample rows
    come first. Prints the summary; writes the table (and the figure). In the table,
    observed, model and error are in the row's unit, relative_error is a fraction
    (error / observed), start and end are the period's times in years; model_side says
    whether the output is exogenous (an input lookup) or computed by the model.
    """
    _check_table(args.output)
    common.check_figure(args.figure)
    scenario = load_scenario(args.scenario)
    inputs = history_observed(scenario, args.observed or (), args.fit_until)
    ensemble = _open_ensemble(args.ensemble, scenario.name) if args.ensemble else None
    table, ds = run_history(scenario, inputs, engine=args.engine, ensemble=ensemble,
                            progress=common.progress_for(args, "history", unit="run"))
    print(history_summary(table))
    fig = None
    if args.figure is not None:  # drawn before anything is written
        from transfer_sim.plotting.history import plot_history

        fig = plot_history(table, ds, ensemble)
    common.write_table(table, args.output, float_format="%.6g")
    if fig is not None:
        common.write_figure(fig, args.figure)
    return 0
