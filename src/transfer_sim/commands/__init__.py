"""Subcommands of ``transfer-sim``; each module exposes ``register(subparsers)``."""
