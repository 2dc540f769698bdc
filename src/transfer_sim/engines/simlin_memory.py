"""Constant overrides written straight into a Simlin WebAssembly module's memory.

Each call into the module through wasmtime's Python API costs 10-40 us, and the
module's own ``set_value(slot, value)`` takes one call per constant element (a
random lever set changes ~200). This module learns, once per compiled module, which
bytes of the linear memory ``set_value`` writes for every slot, and then writes all
of a run's overrides with two numpy assignments into a view of that memory.

Nothing about the layout is assumed; it is probed at start-up through the module's
own functions (:func:`probe`):

1. after ``clear_values()``, every slot is given a distinct sentinel through
   ``set_value`` (the slots it refuses are not settable); the 8-byte-aligned
   doubles of memory that now hold a slot's sentinel are where ``set_value``
   stores that slot's value;
2. the other bytes that changed are flags; they must be a whole number per settable
   slot, and are given to the slots in the order of their addresses;
3. a check: from a cleared module, a random half of the slots is set to random
   values through ``set_value`` and, in a copy of the memory before, by the probed
   layout; the two memories must be equal byte for byte. (``clear_values()`` resets
   the overrides, not the slots' current values, which every run recomputes.)

When any step fails (another libsimlin, another layout) :func:`probe` returns
``None`` and the caller keeps ``set_value``.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["OverrideLayout", "probe", "memory_view"]

#: Sentinel given to slot ``s`` while probing: ``SENTINEL_BASE + s``, an exactly
#: representable double that no model constant or time holds.
SENTINEL_BASE = -7.0e14 - 0.25
#: Seed of the random check in step 3 (fixed: start-up is reproducible).
CHECK_SEED = 20111


def memory_view(memory: Any, store: Any) -> np.ndarray:
    """Return the module's linear memory as a writable ``uint8`` numpy array (no copy).

    The view is valid until the memory grows; take a new one for each run.
    """
    size = memory.data_len(store)
    address = ctypes.addressof(memory.data_ptr(store).contents)
    return np.ctypeslib.as_array((ctypes.c_uint8 * size).from_address(address))


@dataclass(frozen=True)
class OverrideLayout:
    """Where ``set_value`` writes, for every slot of one compiled module.

    Attributes
    ----------
    settable : numpy.ndarray
        ``bool`` per slot: whether ``set_value`` accepts it.
    value_index : numpy.ndarray
        ``(k, n_slots)`` indices into the memory viewed as doubles where a slot's
        value is stored (``-1`` for slots that are not settable).
    flag_offset : numpy.ndarray
        ``(m, n_slots)`` byte offsets of the flags ``set_value`` sets (``-1`` likewise).
    flag_value : numpy.ndarray
        ``(m, n_slots)`` ``uint8``: the byte each flag is set to.
    """

    settable: np.ndarray
    value_index: np.ndarray
    flag_offset: np.ndarray
    flag_value: np.ndarray

    def write(self, memory: np.ndarray, slots: np.ndarray, values: np.ndarray) -> None:
        """Write ``values`` for distinct settable ``slots`` into ``memory`` (``uint8``).

        Does exactly what ``set_value(slot, value)`` for each pair does.
        """
        if self.flag_offset.shape[0]:
            memory[self.flag_offset[:, slots]] = self.flag_value[:, slots]
        doubles = memory.view("<f8")
        doubles[self.value_index[:, slots]] = values


def _snapshot(read: Callable[[], np.ndarray]) -> np.ndarray:
    return np.array(read(), dtype=np.uint8, copy=True)


def _value_positions(marked: np.ndarray, n_slots: int,
                     settable: np.ndarray) -> np.ndarray | None:
    """Step 1: ``(k, n_slots)`` double indices holding each slot's sentinel.

    Every double of ``marked`` is looked at, changed or not: a slot's current value
    may already hold its sentinel from an earlier probe.
    """
    slot = marked.view("<f8") - SENTINEL_BASE
    hit = (slot >= 0) & (slot < n_slots) & (slot == np.round(slot))
    index = np.flatnonzero(hit)
    slot = slot[index].astype(np.int64)
    if not np.array_equal(np.unique(slot), np.flatnonzero(settable)):
        return None
    counts = np.bincount(slot, minlength=n_slots)[settable]
    k = int(counts[0]) if counts.size else 0
    if k == 0 or not (counts == k).all():
        return None
    out = np.full((k, n_slots), -1, dtype=np.int64)
    order = np.lexsort((index, slot))  # by slot, then by address
    out[:, settable] = index[order].reshape(-1, k).T
    return out


def _flag_positions(base: np.ndarray, marked: np.ndarray, value_index: np.ndarray,
                    settable: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Step 2: the other changed bytes, a whole number per settable slot."""
    changed = base != marked
    covered = np.zeros(changed.size // 8, dtype=bool)
    covered[value_index[value_index >= 0]] = True
    changed &= ~np.repeat(covered, 8)
    offsets = np.flatnonzero(changed)
    n = int(settable.sum())
    if offsets.size % n:
        return None
    m = offsets.size // n
    flag_offset = np.full((m, settable.size), -1, dtype=np.int64)
    flag_offset[:, settable] = offsets.reshape(m, n)
    flag_value = np.zeros((m, settable.size), dtype=np.uint8)
    flag_value[:, settable] = marked[offsets].reshape(m, n)
    return flag_offset, flag_value


def probe(n_slots: int, set_value: Callable[[int, float], int], clear: Callable[[], None],
          read: Callable[[], np.ndarray]) -> OverrideLayout | None:
    """Learn where ``set_value`` writes (steps 1-3 of the module docstring).

    Parameters
    ----------
    n_slots : int
        The module's number of slots.
    set_value : callable
        ``set_value(slot, value) -> status`` of the module (0: set).
    clear : callable
        The module's ``clear_values()``.
    read : callable
        Returns the whole linear memory as a ``uint8`` array.

    Returns
    -------
    OverrideLayout or None
        ``None`` when the writes do not fit the layout model or fail the check. The
        module is left cleared.
    """
    clear()
    base = _snapshot(read)
    settable = np.array([set_value(s, SENTINEL_BASE + s) == 0 for s in range(n_slots)])
    marked = _snapshot(read)
    clear()
    if not settable.any() or base.size % 8 or marked.size != base.size:
        return None
    value_index = _value_positions(marked, n_slots, settable)
    if value_index is None:
        return None
    flags = _flag_positions(base, marked, value_index, settable)
    if flags is None:
        return None
    layout = OverrideLayout(settable, value_index, *flags)
    rng = np.random.default_rng(CHECK_SEED)
    slots = np.flatnonzero(settable & (rng.random(n_slots) < 0.5))
    values = rng.normal(size=slots.size) * 1e3
    predicted = _snapshot(read)
    for slot, value in zip(slots.tolist(), values.tolist(), strict=True):
        set_value(slot, value)
    expected = _snapshot(read)
    clear()
    layout.write(predicted, slots, values)
    return layout if np.array_equal(predicted, expected) else None
