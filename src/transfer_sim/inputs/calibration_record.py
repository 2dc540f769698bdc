"""What a calibrated layer was fitted to: its ``[calibration]`` table.

``transfer-sim calibrate -o LAYER.toml`` writes, beside the fitted ``[parameters]``,
a table naming the data the parameters were fitted on::

    [calibration]
    observed = "observed.csv"
    observed_sha256 = "c7f216812b4f..."
    fit_until = 2015
    vintage = "first-published"

``observed`` is a file name inside the bundled ``data/historical/`` or a path (relative
to the layer's folder or absolute); ``fit_until`` is the last year whose observations
were fitted; ``vintage`` names the statistical vintage of the data (the region's
figures were revised after 2018, see ``data/historical/README.md``). A scenario that
``extends`` a calibrated layer inherits its record
(:attr:`transfer_sim.inputs.scenarios.Scenario.calibration`), so that comparisons with
history can tell in-sample observations from out-of-sample ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transfer_sim.errors import InputError
from transfer_sim.model.core import YEARS, bundled_path

__all__ = ["CalibrationRecord", "parse_calibration", "validate_vintage"]

_KEYS = ("observed", "observed_sha256", "fit_until", "vintage")
_HEX = re.compile(r"^[0-9a-f]{12,64}$")
_VINTAGE = re.compile(r"^[a-z0-9][a-z0-9\-]*$")


@dataclass(frozen=True)
class CalibrationRecord:
    """The data a calibrated layer was fitted on.

    Attributes
    ----------
    observed : str
        The observed-data CSV: a file name inside ``data/historical/`` or a path.
    observed_sha256 : str
        SHA-256 (at least its first 12 hex digits) of that file when it was fitted.
    fit_until : int
        Last year whose observations were fitted; later ones were held out.
    vintage : str
        Name of the data vintage (lower case, digits and hyphens).
    base : pathlib.Path or None
        Folder of the layer that holds the record (resolves a relative ``observed``).
    """

    observed: str
    observed_sha256: str
    fit_until: int
    vintage: str
    base: Path | None = None

    def observed_path(self) -> Path:
        """Return the observed CSV.

        A relative ``observed`` is looked for in the layer's folder first, then in the
        bundled ``data/historical/``.
        """
        path = Path(self.observed)
        if path.is_absolute():
            return path
        if self.base is not None and (self.base / path).is_file():
            return self.base / path
        return bundled_path("data", "historical", self.observed)

    def toml_table(self) -> dict[str, Any]:
        """Return the record as a ``[calibration]`` table.

        It reads back the same from any folder: a file found beside the layer is
        written as its absolute path.
        """
        observed = self.observed
        if self.base is not None and not Path(observed).is_absolute() \
                and (self.base / observed).is_file():
            observed = str((self.base / observed).resolve())
        return {"observed": observed, "observed_sha256": self.observed_sha256,
                "fit_until": self.fit_until, "vintage": self.vintage}


def validate_vintage(value: str, *, file: str | None = None, key: str = "vintage") -> str:
    """Return ``value`` if it is a vintage name (lower-case letters, digits, hyphens).

    Raises
    ------
    InputError
        Naming ``file`` and ``key`` otherwise.
    """
    if not _VINTAGE.match(value):
        raise InputError("expected lower-case letters, digits and hyphens (e.g. "
                         f"'first-published'), got {value!r}", file=file, key=key)
    return value


def parse_calibration(table: Mapping[str, Any], *, file: str,
                      base: Path | None = None) -> CalibrationRecord:
    """Validate a ``[calibration]`` table.

    Parameters
    ----------
    table : mapping
        The parsed table.
    file : str
        The scenario file, for error messages.
    base : pathlib.Path, optional
        The file's folder.

    Raises
    ------
    InputError
        For a missing or unknown key, or a value of the wrong kind.

    Examples
    --------
    >>> r = parse_calibration({"observed": "observed.csv", "observed_sha256": "c7f216812b4f",
    ...                        "fit_until": 2015, "vintage": "first-published"}, file="x.toml")
    >>> r.fit_until, r.vintage
    (2015, 'first-published')
    """
    for key in table:
        if key not in _KEYS:
            raise InputError(f"unknown key (allowed: {', '.join(_KEYS)})", file=file,
                             key=f"calibration.{key}")
    for key in _KEYS:
        if key not in table:
            raise InputError(f"missing; the [calibration] table needs {', '.join(_KEYS)}",
                             file=file, key=f"calibration.{key}")
    for key in ("observed", "observed_sha256", "vintage"):
        if not isinstance(table[key], str) or not table[key].strip():
            raise InputError(f"expected a non-empty string, got {table[key]!r}", file=file,
                             key=f"calibration.{key}")
    if not _HEX.match(table["observed_sha256"]):
        raise InputError("expected 12 to 64 lower-case hex digits of a SHA-256, got "
                         f"{table['observed_sha256']!r}", file=file,
                         key="calibration.observed_sha256")
    validate_vintage(table["vintage"], file=file, key="calibration.vintage")
    fit_until = table["fit_until"]
    if isinstance(fit_until, bool) or not isinstance(fit_until, int) \
            or not YEARS[0] <= fit_until <= YEARS[-1]:
        raise InputError(f"expected a year {YEARS[0]}-{YEARS[-1]}, got {fit_until!r}",
                         file=file, key="calibration.fit_until")
    return CalibrationRecord(observed=table["observed"], observed_sha256=table["observed_sha256"],
                             fit_until=fit_until, vintage=table["vintage"], base=base)
