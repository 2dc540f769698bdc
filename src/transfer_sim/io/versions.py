"""Installed package versions, for provenance (cached: a lookup costs milliseconds)."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version

__all__ = ["package_version", "UNKNOWN_VERSION"]

#: What :func:`package_version` returns for a package that is not installed.
UNKNOWN_VERSION = "0+unknown"


@cache
def package_version(dist: str) -> str:
    """Return the installed version of distribution ``dist``, or ``0+unknown``.

    Examples
    --------
    >>> package_version("no-such-distribution-here")
    '0+unknown'
    """
    try:
        return version(dist)
    except PackageNotFoundError:  # running from a source tree without installation
        return UNKNOWN_VERSION
