"""Options and helpers shared by subcommands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import xarray as xr

from transfer_sim.engines import DEFAULT_ENGINE, ENGINES
from transfer_sim.errors import InputError
from transfer_sim.io.atomic import check_writable
from transfer_sim.run.results import write_csv, write_netcdf

__all__ = ["add_engine", "add_output", "write_output", "output_format"]


def add_engine(parser: argparse.ArgumentParser) -> None:
    """Add ``--engine``."""
    parser.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE,
                        help=f"engine to run the model with (default {DEFAULT_ENGINE})")


def add_output(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """Add ``-o/--output`` and ``--format``."""
    parser.add_argument("-o", "--output", required=required, type=Path,
                        help="output file (NetCDF by default)")
    parser.add_argument("--format", choices=("netcdf", "csv"), default=None,
                        help="output format (default: from the suffix, else netcdf)")


def output_format(args: argparse.Namespace) -> str:
    """Return the output format: ``--format``, else from the file suffix."""
    if args.format:
        return args.format
    return "csv" if str(args.output).lower().endswith(".csv") else "netcdf"


def check_output(path: Path | None, key: str = "output") -> None:
    """Fail early (before any run) when an output path cannot be written.

    ``key`` names the option that gave the path, for the error message.
    """
    if path is not None:
        check_writable(path, key=key)


def write_output(ds: xr.Dataset, args: argparse.Namespace) -> None:
    """Write ``ds`` to ``args.output`` atomically in the chosen format."""
    fmt = output_format(args)
    if fmt == "csv":
        write_csv(ds, args.output)
    elif fmt == "netcdf":
        write_netcdf(ds, args.output)
    else:  # pragma: no cover - argparse restricts choices
        raise InputError(f"unknown format {fmt!r}", key="format")
    print(f"wrote {args.output}", file=sys.stderr)
