"""Numbers and values as text, one way across the package (tables, reports, TOML, JSON)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["format_number", "jsonable"]


def format_number(value: Any, digits: int | None = None) -> str:
    """Return a number as short text: integers without a point, others as ``g``.

    Parameters
    ----------
    value : number, mapping or other
        A number; a mapping (a year schedule) is formatted as ``{ 2011: 30, 2013: 0 }``;
        anything else with ``str``.
    digits : int, optional
        Significant digits; ``repr`` precision (round-trip exact) by default.

    Examples
    --------
    >>> format_number(30.0), format_number(0.0435), format_number(1 / 3, 4)
    ('30', '0.0435', '0.3333')
    >>> format_number({2011: 30.0, 2013: 0.5})
    '{ 2011: 30, 2013: 0.5 }'
    >>> format_number(float("nan"))
    'nan'
    """
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k}: {format_number(v, digits)}" for k, v in value.items())
        return "{ " + inner + " }"
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        return str(value)
    x = float(value)
    if not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.{digits}g}" if digits is not None else repr(x)


def jsonable(value: Any) -> Any:
    """Return ``value`` with NumPy scalars and arrays, tuples and mapping keys made JSON-safe.

    Examples
    --------
    >>> jsonable({2011: np.float64(0.5), "a": np.array([1.0, 2.0])})
    {'2011': 0.5, 'a': [1.0, 2.0]}
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
