"""The ``transfer-sim`` command line: argparse subcommands, thin over the package.

Each subcommand lives in a module under :mod:`transfer_sim.cli` exposing
``register(subparsers)``, which adds its parser and sets ``func(args) -> int``.
User mistakes print one line on stderr and exit 2; no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from transfer_sim.errors import TransferSimError

__all__ = ["main", "build_parser", "COMMAND_MODULES"]

#: Subcommand modules, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "run",
    "compare",
    "levers",
    "validate",
    "check",
    "calibrate",
    "history",
    "attribute", "report", "explore",
    "ensemble", "sensitivity",
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="transfer-sim",
        description="System-dynamics simulator of Inner Mongolia's 2011-2015 policy for "
                    "undertaking industrial transfer (承接产业转移).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"transfer_sim.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"transfer_sim.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        Exit code: 0 success, 1 a check failed, 2 bad input, 130 interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except TransferSimError as exc:
        print(f"transfer-sim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("transfer-sim: interrupted; no output written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a pager or head that closed early
        sys.stderr.close()
        return 0
