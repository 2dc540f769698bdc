"""Options and helpers shared by subcommands (no command imports a sibling command)."""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from transfer_sim.engines import AUTO_ENGINE, BATCH_FROM_RUNS, DEFAULT_ENGINE, ENGINES
from transfer_sim.errors import InputError
from transfer_sim.inputs.scenarios import DEFAULT_REFERENCE, Scenario, list_scenarios, load_scenario
from transfer_sim.io.atomic import atomic_path, check_writable
from transfer_sim.io.progress import Progress, progress_bar
from transfer_sim.run.ensemble import DEFAULT_SEED
from transfer_sim.run.results import write_csv, write_netcdf

__all__ = ["add_command", "add_engine", "add_output", "add_progress", "add_execution",
           "add_reference", "add_scenarios", "add_uncertainty", "check_html_output",
           "check_output", "check_figure", "output_format", "positive_int", "progress_for",
           "scenario_refs", "write_figure", "write_output", "write_table", "DEFAULT_REFERENCE",
           "FIGURE_FORMATS", "OUTPUT_SUFFIXES"]

#: Figure formats, by file suffix.
FIGURE_FORMATS = ("png", "svg", "pdf")
#: Result formats and the file suffixes each accepts.
OUTPUT_SUFFIXES = {"netcdf": (".nc", ".nc4", ".netcdf"), "csv": (".csv",)}


def add_command(sub: argparse._SubParsersAction, name: str,
                func: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
    """Add subcommand ``name``, run by ``func(args)``, and return its parser.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The ``transfer-sim`` subparsers.
    name : str
        The subcommand.
    func : callable
        Runs the subcommand with the parsed arguments and returns the exit status.
        Its docstring, if it has one, is the paragraph of ``transfer-sim NAME --help``.
    help : str
        One line for ``transfer-sim --help``.
    """
    parser = sub.add_parser(name, help=help, description=inspect.getdoc(func))
    parser.set_defaults(func=func)
    return parser


def add_scenarios(parser: argparse.ArgumentParser, *, nargs: str = "+",
                  default: Sequence[str] = (), more: str = "") -> None:
    """Add the positional ``SCENARIO...`` (files or bundled names; ``all``).

    ``default`` names the scenarios taken when none is given (with ``nargs="*"``);
    ``more`` is appended to the help.
    """
    shown = f"; default: {' '.join(default)}" if default else ""
    parser.add_argument("scenarios", nargs=nargs, metavar="SCENARIO",
                        help="scenario files or bundled names ('all' for every bundled "
                             f"scenario{shown}){more}")


def add_reference(parser: argparse.ArgumentParser, role: str) -> None:
    """Add ``--reference NAME``; ``role`` says what the reference scenario is for."""
    parser.add_argument("--reference", default=DEFAULT_REFERENCE, metavar="NAME",
                        help=f"{role} (default {DEFAULT_REFERENCE})")


def add_uncertainty(parser: argparse.ArgumentParser) -> None:
    """Add the required ``--uncertainty FILE``."""
    parser.add_argument("--uncertainty", required=True, metavar="FILE",
                        help="uncertainty file (TOML), or 'default' for the bundled one")


def add_engine(parser: argparse.ArgumentParser, *, auto: bool = False) -> None:
    """Add ``--engine`` (with ``auto``, the default of many-run commands)."""
    if auto:
        parser.add_argument(
            "--engine", choices=(AUTO_ENGINE, *ENGINES), default=AUTO_ENGINE,
            help=f"engine to run the model with (default {AUTO_ENGINE}: batch from "
                 f"{BATCH_FROM_RUNS:,} runs, else {DEFAULT_ENGINE})")
        return
    parser.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE,
                        help=f"engine to run the model with (default {DEFAULT_ENGINE})")


def add_output(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """Add ``-o/--output`` and ``--format``."""
    parser.add_argument("-o", "--output", required=required, type=Path,
                        help="output file: .nc (NetCDF) or .csv (tidy table)")
    parser.add_argument("--format", choices=tuple(OUTPUT_SUFFIXES), default=None,
                        help="output format (default: from the suffix)")


def add_progress(parser: argparse.ArgumentParser) -> None:
    """Add ``-q/--quiet``: the one progress switch of every long command."""
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress on stderr (by default a bar on a terminal, else a "
                             "line at the start and one at the end)")


def progress_for(args: argparse.Namespace, description: str, unit: str = "runs") -> Progress:
    """Return the progress callback for a command (see :mod:`transfer_sim.io.progress`)."""
    return progress_bar(description, enabled=False if args.quiet else None, unit=unit)


def positive_int(text: str) -> int:
    """Parse a positive whole number (argparse ``type``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_execution(p: argparse.ArgumentParser) -> None:
    """Add ``--workers`` / ``--scheduler``, ``--seed``, ``--chunk-size``, ``--quiet``, engine."""
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, default=None, metavar="K",
                       help="local worker processes (default: one per usable core)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on a Dask cluster, e.g. tcp://host:8786 (workers need "
                            "transfer-sim installed and the model file)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help=f"sampler seed; the same seed gives the same runs (default "
                        f"{DEFAULT_SEED})")
    p.add_argument("--chunk-size", type=positive_int, default=None, metavar="RUNS",
                   help="runs per block written to the work folder (default: from --runs)")
    add_progress(p)
    add_engine(p, auto=True)


def scenario_refs(refs: Sequence[str], default: Sequence[str] = ()) -> list[Scenario]:
    """Load the scenarios named on the command line (``all`` = every bundled one)."""
    names = list(refs) or list(default)
    if names == ["all"]:
        names = [str(p) for p in list_scenarios()]
    return [load_scenario(r) for r in names]


def output_format(args: argparse.Namespace) -> str:
    """Return the output format: ``--format``, else the file suffix; refuse an unknown suffix.

    Without ``--format`` the suffix must say the format (``results.txt`` is refused, not
    silently written as NetCDF); with it, any suffix but one of the other format's.
    """
    suffix = Path(args.output).suffix.lower()
    by_suffix = next((f for f, sfx in OUTPUT_SUFFIXES.items() if suffix in sfx), None)
    if args.format is None and by_suffix is None:
        allowed = ", ".join(s for sfx in OUTPUT_SUFFIXES.values() for s in sfx)
        raise InputError(f"unknown output suffix {suffix or '(none)'!r}; allowed: {allowed} "
                         "(or name the format with --format)", file=str(args.output),
                         key="output")
    if args.format is not None and by_suffix not in (None, args.format):
        raise InputError(f"--format {args.format} but the suffix is for {by_suffix}; "
                         f"allowed: {', '.join(OUTPUT_SUFFIXES[args.format])}",
                         file=str(args.output), key="format")
    return args.format or by_suffix


def check_output(path: Path | None, key: str = "output") -> None:
    """Fail early (before any run) when an output path cannot be written.

    ``key`` names the option that gave the path, for the error message.
    """
    if path is not None:
        check_writable(path, key=key)


def check_html_output(path: Path, what: str) -> None:
    """Refuse an HTML output path that cannot be written or lacks ``.html``/``.htm``.

    ``what`` names the file in the message (``report``, ``explorer``).
    """
    if path.suffix.lower() not in (".html", ".htm"):
        shown = path.suffix or "(none)"
        raise InputError(f"unknown {what} suffix {shown!r}; allowed: .html, .htm",
                         file=str(path), key="output")
    check_output(path)


def check_figure(path: Path | None, key: str = "figure") -> str | None:
    """Check a figure path (writable, a known suffix) and return its format."""
    if path is None:
        return None
    check_writable(path, key=key)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FIGURE_FORMATS:
        raise InputError(f"unknown figure format {fmt or '(none)'!r}; allowed: "
                         f"{', '.join(FIGURE_FORMATS)}", file=str(path), key=key)
    return fmt


def _wrote(path: Path) -> None:
    print(f"wrote {path}", file=sys.stderr)


def write_output(ds: xr.Dataset, args: argparse.Namespace) -> None:
    """Write ``ds`` to ``args.output`` atomically in the chosen format."""
    fmt = output_format(args)
    (write_csv if fmt == "csv" else write_netcdf)(ds, args.output)
    _wrote(args.output)


def write_table(frame: pd.DataFrame, path: Path, **to_csv: Any) -> None:
    """Write a table as CSV atomically and say so on stderr."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, **to_csv)
    _wrote(path)


def write_figure(fig: Any, path: Path) -> None:
    """Save a matplotlib figure atomically (format by suffix), close it, say so on stderr."""
    import matplotlib.pyplot as plt

    fmt = check_figure(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=120)
    finally:
        plt.close(fig)
    _wrote(path)
