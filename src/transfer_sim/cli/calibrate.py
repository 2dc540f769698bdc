"""``transfer-sim calibrate --observed FILE -o calibrated.toml``."""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
from pathlib import Path

from transfer_sim.analysis.calibration import calibrate, default_observed_path
from transfer_sim.cli import _common as common
from transfer_sim.errors import InputError
from transfer_sim.inputs.calibration_record import validate_vintage
from transfer_sim.inputs.parameters import parameter_names
from transfer_sim.inputs.scenarios import Scenario, load_scenario
from transfer_sim.io.atomic import atomic_path, check_writable
from transfer_sim.model.core import default_scenarios_dir


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``calibrate`` subcommand."""
    p = common.add_command(
        sub, "calibrate", _calibrate,
        help="fit the calibrated parameters to observed series; write them as a scenario "
             "layer with a [parameters] table")
    p.add_argument("--observed", type=Path, default=None, metavar="FILE",
                   help="observed CSV with columns variable,year,value,unit,source,confidence "
                        f"(default: {_shown(default_observed_path())})")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="TOML",
                   help="scenario layer to write (e.g. scenarios/calibrated.toml)")
    p.add_argument("--fitted-csv", type=Path, default=None, metavar="CSV",
                   help="also write every calibrated parameter with its interval as CSV")
    p.add_argument("--correlations-csv", type=Path, default=None, metavar="CSV",
                   help="also write the fitted parameters' correlation matrix as CSV")
    p.add_argument("--profile", type=int, default=0, metavar="N",
                   help="profile likelihood with N points across each fitted parameter's "
                        "range (re-fitting the others at each): a parameter whose profile "
                        "does not rise above the 95 %% threshold on both sides is not "
                        "identified and kept at its starting value (default 0: the "
                        "Jacobian alone decides)")
    p.add_argument("--profile-csv", type=Path, default=None, metavar="CSV",
                   help="also write the profile likelihood as CSV (needs --profile)")
    p.add_argument("--parameters", nargs="+", default=None, metavar="NAME",
                   help="parameters to fit (default: all: "
                        f"{', '.join(sorted({n.split('[')[0] for n in parameter_names()}))}; "
                        "reinvestment_rate alone means every sector, "
                        "'reinvestment_rate[chemicals]' one)")
    p.add_argument("--scenario", default=None,
                   help="scenario whose levers the historical run uses (default: the "
                        "model's defaults, the policy as written); the layer extends it")
    p.add_argument("--fit-until", type=int, default=None, metavar="YEAR",
                   help="fit only the years up to YEAR and report the errors on the later "
                        "years (out-of-sample check)")
    p.add_argument("--maxiter", type=int, default=30,
                   help="generations of the global search (default 30)")
    p.add_argument("--popsize", type=int, default=10,
                   help="population per parameter of the global search (default 10)")
    p.add_argument("--seed", type=int, default=1, help="seed of the global search (default 1)")
    p.add_argument("--time-step", type=float, default=None, metavar="DT",
                   help="integration step in years, a power of two up to 0.25, also "
                        "written to the layer's [run] table (default: the scenario's, else "
                        "the model's own)")
    p.add_argument("--vintage", default=None, metavar="NAME",
                   help="name of the data vintage, recorded in the layer's [calibration] "
                        "table (default: the observed file's stem)")
    p.add_argument("--name", default="calibrated", help="scenario name written (default "
                   "'calibrated')")
    common.add_progress(p)
    common.add_engine(p)


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _check_time_step(value: float | None) -> None:
    if value is None:
        return
    ok = math.isfinite(value) and 2 ** -8 <= value <= 0.25 and math.log2(value).is_integer()
    if not ok:
        raise InputError(f"{value!r} is not allowed; allowed: a power of two from 2^-8 to "
                         "0.25 Year (e.g. 0.0625)", key="--time-step")


def _extends(scenario: Scenario | None, output: Path) -> str | None:
    """How the written layer names the scenario the calibration ran on."""
    if scenario is None or scenario.path is None:
        return None
    folder = scenario.path.resolve().parent
    if folder in (output.resolve().parent, default_scenarios_dir().resolve()):
        return scenario.path.stem
    return os.path.relpath(scenario.path.resolve(), output.resolve().parent)


def _command(args: argparse.Namespace) -> str:
    """Return the command line that reproduces this calibration (recorded in the layer)."""
    observed = args.observed if args.observed is not None else default_observed_path()
    parts = ["transfer-sim", "calibrate", "--observed", _shown(Path(observed))]
    if args.parameters:
        parts += ["--parameters", *args.parameters]
    if args.scenario:
        parts += ["--scenario", args.scenario]
    if args.fit_until is not None:
        parts += ["--fit-until", str(args.fit_until)]
    parts += ["--maxiter", str(args.maxiter), "--popsize", str(args.popsize),
              "--seed", str(args.seed)]
    if args.time_step is not None:
        parts += ["--time-step", repr(args.time_step)]
    if args.profile:
        parts += ["--profile", str(args.profile)]
    if args.engine != "simlin":
        parts += ["--engine", args.engine]
    if args.vintage is not None:
        parts += ["--vintage", args.vintage]
    if args.name != "calibrated":
        parts += ["--name", args.name]
    parts += ["-o", _shown(args.output)]
    for flag, path in (("--fitted-csv", args.fitted_csv),
                       ("--correlations-csv", args.correlations_csv),
                       ("--profile-csv", args.profile_csv)):
        if path is not None:
            parts += [flag, _shown(path)]
    return shlex.join(parts)


def _calibrate(args: argparse.Namespace) -> int:
    """Fit the model's calibrated parameters to observed series.

    A global search, then a local polish; prints the values with 95 % intervals
    and the goodness of fit, and writes a scenario layer that other scenarios can
    extend.
    """
    _check_time_step(args.time_step)
    if args.vintage is not None:
        validate_vintage(args.vintage, key="--vintage")
    if args.profile < 0 or args.profile == 1:
        raise InputError(f"{args.profile} is not allowed; allowed: 0 (no profile) or at "
                         "least 2 points", key="--profile")
    if args.profile_csv is not None and not args.profile:
        raise InputError("needs --profile N (the number of points)", key="--profile-csv")
    outputs = [args.output, args.fitted_csv, args.correlations_csv, args.profile_csv]
    for path in outputs:
        if path is not None:
            check_writable(path)
    scenario = load_scenario(args.scenario) if args.scenario else None
    result = calibrate(args.observed, args.parameters, scenario=scenario,
                       fit_until=args.fit_until, engine=args.engine, time_step=args.time_step,
                       maxiter=args.maxiter, popsize=args.popsize, seed=args.seed,
                       profile_points=args.profile,
                       progress=common.progress_for(args, "calibrate", unit="steps"))
    print(result.summary())
    text = result.to_toml(name=args.name, extends=_extends(scenario, args.output),
                          command=_command(args), vintage=args.vintage,
                          layer_dir=args.output.parent)
    with atomic_path(args.output) as tmp:
        tmp.write_text(text, encoding="utf-8")
        load_scenario(tmp)  # the layer must load as a scenario before it replaces anything
    print(f"wrote {args.output}", file=sys.stderr)
    for path, write in ((args.fitted_csv, result.write_table),
                        (args.correlations_csv, result.write_correlations),
                        (args.profile_csv, result.write_profile)):
        if path is not None:
            write(path)
            print(f"wrote {path}", file=sys.stderr)
    return 0
