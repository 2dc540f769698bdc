"""Every constant of the model as one row of numbers: the batch engine's input vector.

A run of the batch engine is one row of ``n`` floats, every constant element of the
model in a fixed order (:class:`ConstantLayout`); a batch is a ``(runs, n)`` matrix.
The compiled simulation unpacks the matrix into each constant's ``(runs, *ranges)``
array, so one compiled function serves every lever set, and a derivative with
respect to any constant is a direction in this space.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from transfer_sim.engines.base import ArrayInput, expand_inputs
from transfer_sim.errors import InputError
from transfer_sim.model.facts import ModelFacts

__all__ = ["ConstantLayout"]


@dataclass(frozen=True)
class ConstantLayout:
    """Where each constant of the model sits in a run's row of inputs.

    Attributes
    ----------
    names : tuple of str
        Constants (Python names), in row order.
    shapes : dict
        Name -> shape of one run's value (``()`` for a scalar).
    dims : dict
        Name -> its subscript ranges.
    offsets : dict
        Name -> first column of the constant in the row.
    defaults : numpy.ndarray
        The model's own values, shape ``(n,)``.
    subscripts : dict
        Range -> its elements.
    """

    names: tuple[str, ...]
    shapes: Mapping[str, tuple[int, ...]]
    dims: Mapping[str, tuple[str, ...]]
    offsets: Mapping[str, int]
    defaults: np.ndarray
    subscripts: Mapping[str, tuple[str, ...]]

    @classmethod
    def from_defaults(cls, defaults: Mapping[str, np.ndarray],
                      dims: Mapping[str, Sequence[str]],
                      subscripts: Mapping[str, Sequence[str]]) -> ConstantLayout:
        """Lay out constants given their default values (shaped by their ranges).

        Parameters
        ----------
        defaults : mapping
            Name -> default value, an array of the constant's shape.
        dims : mapping
            Name -> its subscript ranges.
        subscripts : mapping
            Range -> its elements.
        """
        names = tuple(defaults)
        shapes = {n: tuple(np.shape(defaults[n])) for n in names}
        offsets, start = {}, 0
        for n in names:
            offsets[n] = start
            start += int(np.prod(shapes[n], dtype=int))
        row = np.concatenate([np.ravel(np.asarray(defaults[n], dtype=float)) for n in names]) \
            if names else np.zeros(0)
        return cls(names, shapes, {n: tuple(dims[n]) for n in names}, offsets, row,
                   {k: tuple(v) for k, v in subscripts.items()})

    @property
    def size(self) -> int:
        """Number of columns (constant elements)."""
        return int(self.defaults.size)

    def columns(self, name: str) -> slice:
        """Return the columns of a constant (all its elements, in C order).

        Raises
        ------
        InputError
            For a name that is not a constant of the model.
        """
        found = self._slices.get(name)
        if found is None:
            raise InputError("not a constant of the model (the batch engine sets constants "
                             "only)", key=name)
        return found

    @cached_property
    def _slices(self) -> dict[str, slice]:
        return {n: slice(self.offsets[n], self.offsets[n] + int(np.prod(self.shapes[n],
                                                                          dtype=int)))
                for n in self.names}

    def column(self, name: str, element: str) -> int:
        """Return the column of one element of a constant subscripted by one range.

        Raises
        ------
        InputError
            For an unknown constant or element.
        """
        cols = self.columns(name)
        dims = self.dims[name]
        elements = self.subscripts[dims[0]] if len(dims) == 1 else ()
        if element not in elements:
            raise InputError(f"no element {element!r} (allowed: {', '.join(elements)})",
                             key=name)
        return cols.start + elements.index(element)

    def row(self, facts: ModelFacts, inputs: Mapping[str, float | np.ndarray]) -> np.ndarray:
        """Return the defaults with ``inputs`` applied: one run's row.

        A number sets every element of a subscripted constant; an array sets a constant
        subscripted by one range element by element (checked as the other engines check
        it, :func:`transfer_sim.engines.base.expand_inputs`).

        Parameters
        ----------
        facts : ModelFacts
            The model's facts.
        inputs : mapping
            Constant -> number or array over its range.
        """
        out = self.defaults.copy()
        for name, value in expand_inputs(facts, inputs).items():
            cols = self.columns(name)
            if isinstance(value, ArrayInput):
                elements = self.subscripts[self.dims[name][0]]
                if value.elements == elements:  # the model's order (always, from the checks)
                    out[cols] = value.values
                else:
                    out[[cols.start + elements.index(e) for e in value.elements]] = value.values
            else:
                out[cols] = value
        return out

    def rows(self, facts: ModelFacts,
             inputs: Sequence[Mapping[str, float | np.ndarray]]) -> np.ndarray:
        """Return one row per run (:meth:`row`), shape ``(runs, n)``."""
        if not inputs:
            return np.zeros((0, self.size))
        return np.stack([self.row(facts, i) for i in inputs])

    def unpack(self, matrix: Any, xp: Any) -> dict[str, Any]:
        """Split a ``(runs, n)`` matrix into each constant's ``(runs, *shape)`` array.

        Parameters
        ----------
        matrix : array
            Rows of inputs (NumPy or JAX).
        xp : module
            The array library of ``matrix``.
        """
        runs = matrix.shape[0]
        return {n: xp.reshape(matrix[:, self.columns(n)], (runs, *self.shapes[n]))
                for n in self.names}
