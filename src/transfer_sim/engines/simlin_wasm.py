"""Simlin's own WebAssembly compilation of a model, run by ``wasmtime``.

``libsimlin`` (the library inside ``pysimlin``) can compile a loaded model to a
WebAssembly module (``simlin_model_compile_to_wasm``); ``pysimlin`` 0.8.5 does not
wrap that function in Python, so this module calls it through ``pysimlin``'s own
FFI. The module is the same simulation as Simlin's bytecode VM (same equations,
same Euler steps, results equal to ~1e-15 relative), run by a JIT (wasmtime)
about 7x faster. :class:`~transfer_sim.engines.simlin_engine.SimlinEngine` uses it
when it is available and falls back to the VM otherwise; a test holds the two equal.

The module exports ``set_value(slot, value)``, ``clear_values()``, ``reset()``,
``run()`` and its linear ``memory``, where the saved steps are stored row by row
(``saved_steps`` rows of ``n_slots`` doubles) from ``results_offset``. The layout
blob names each slot: ``n_slots``, ``n_chunks``, ``results_offset`` (u64 each), a
u32 count, then per variable a u32 name length, the name and a u64 slot.

A run writes its overrides into the module's memory in one go, at the places that
``set_value`` writes to, probed at start-up
(:mod:`~transfer_sim.engines.simlin_memory`; ``set_value`` calls are the fallback,
:data:`WRITERS`), and reads back only the columns asked for.
"""

from __future__ import annotations

import atexit
import logging
import os
import struct
import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np

from transfer_sim.engines.simlin_memory import OverrideLayout, memory_view, probe
from transfer_sim.errors import ModelError

__all__ = ["compile_module", "WasmSimulation", "wasm_available", "wasm_problem",
           "EXPECTED_SIGNATURE", "WRITERS", "WRITER_VARIABLE"]

_LOG = logging.getLogger(__name__)

#: The C signature of ``simlin_model_compile_to_wasm`` this module calls (pysimlin
#: 0.8.5, pinned in ``pyproject.toml``); checked before use, since it is private API.
EXPECTED_SIGNATURE = ("void(*)(struct SimlinModel *, _Bool, _Bool, uint8_t * *, size_t *, "
                      "uint8_t * *, size_t *, struct SimlinError * *)")
#: The two booleans of ``simlin_model_compile_to_wasm``: no Loops-That-Matter scores.
LTM_ENABLED = False
#: ... and no LTM loop discovery.
LTM_DISCOVERY_MODE = False
#: How overrides reach the module: written into its memory at the places probed at
#: start-up (``memory``), one ``set_value`` call per element (``set_value``, the
#: fallback), or ``auto``: memory when the probe succeeds, else ``set_value``.
WRITERS = ("auto", "memory", "set_value")
#: The environment variable that chooses among :data:`WRITERS`.
WRITER_VARIABLE = "TRANSFER_SIM_SIMLIN_OVERRIDES"

#: Live simulations, closed before the interpreter tears down wasmtime's module
#: (its finalisers otherwise print "Exception ignored" at exit).
_LIVE: weakref.WeakSet[WasmSimulation] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for sim in list(_LIVE):
        sim.close()


def compile_signature() -> str | None:
    """Return the cffi signature of ``simlin_model_compile_to_wasm``, ``None`` if absent."""
    try:
        from simlin import _clib

        return str(_clib.ffi.typeof(_clib.lib.simlin_model_compile_to_wasm).cname)
    except (ImportError, AttributeError):
        return None


def wasm_problem() -> str | None:
    """Why the WebAssembly path cannot be used, or ``None`` when it can.

    It needs wasmtime and a ``libsimlin`` whose ``simlin_model_compile_to_wasm`` has
    exactly :data:`EXPECTED_SIGNATURE`.
    """
    try:
        import wasmtime  # noqa: F401
    except ImportError:
        return "wasmtime is not installed"
    signature = compile_signature()
    if signature is None:
        return "libsimlin has no simlin_model_compile_to_wasm"
    if signature != EXPECTED_SIGNATURE:
        return f"libsimlin's simlin_model_compile_to_wasm has the signature {signature}"
    return None


def wasm_available() -> bool:
    """Whether the WebAssembly path can be used (:func:`wasm_problem` finds nothing)."""
    return wasm_problem() is None


def compile_module(model: Any) -> tuple[bytes, bytes]:
    """Compile a loaded ``simlin.Model`` to (wasm bytes, layout bytes)."""
    from simlin import _clib
    from simlin._ffi import check_out_error

    ffi, lib = _clib.ffi, _clib.lib
    wasm_pp = ffi.new("uint8_t **")
    wasm_len = ffi.new("size_t *")
    layout_pp = ffi.new("uint8_t **")
    layout_len = ffi.new("size_t *")
    err = ffi.new("SimlinError **")
    lib.simlin_model_compile_to_wasm(model._ptr, LTM_ENABLED, LTM_DISCOVERY_MODE, wasm_pp,
                                     wasm_len, layout_pp, layout_len, err)
    check_out_error(err, "Compile to WebAssembly")
    try:
        wasm = bytes(ffi.buffer(wasm_pp[0], wasm_len[0]))
        layout = bytes(ffi.buffer(layout_pp[0], layout_len[0]))
    finally:
        for ptr in (wasm_pp[0], layout_pp[0]):
            if ptr != ffi.NULL:
                lib.simlin_free(ptr)
    return wasm, layout


def _parse_layout(layout: bytes) -> tuple[int, int, dict[str, int]]:
    n_slots, _n_chunks, results_offset = struct.unpack_from("<QQQ", layout, 0)
    (count,) = struct.unpack_from("<I", layout, 24)
    pos, slots = 28, {}
    for _ in range(count):
        (length,) = struct.unpack_from("<I", layout, pos)
        pos += 4
        name = layout[pos:pos + length].decode("utf-8")
        pos += length
        (slot,) = struct.unpack_from("<Q", layout, pos)
        pos += 8
        slots[name] = int(slot)
    if pos != len(layout):
        raise ModelError("unexpected WebAssembly layout from libsimlin (version change?)")
    return int(n_slots), int(results_offset), slots


class WasmSimulation:
    """One compiled model instance; runs are sequential and independent.

    Overrides are written into the module's memory in one go when the layout of
    ``set_value``'s writes could be probed (:mod:`transfer_sim.engines.simlin_memory`),
    else one ``set_value`` call per changed element; :attr:`writer` says which.

    Parameters
    ----------
    model : simlin.Model
        A loaded model (its time settings are compiled in).
    writer : {"auto", "memory", "set_value"}, optional
        How overrides reach the module (:data:`WRITERS`);
        ``$TRANSFER_SIM_SIMLIN_OVERRIDES`` or ``auto`` by default.
    """

    def __init__(self, model: Any, writer: str | None = None):
        import wasmtime

        writer = writer or os.environ.get(WRITER_VARIABLE, "auto")
        if writer not in WRITERS:
            raise ModelError(f"${WRITER_VARIABLE}: unknown override writer {writer!r}; "
                             f"allowed: {', '.join(WRITERS)}")
        wasm, layout = compile_module(model)
        self.n_slots, self._results_offset, self.slots = _parse_layout(layout)
        config = wasmtime.Config()
        # Compile on this thread: wasmtime's parallel compilation runs a thread pool
        # that does not survive fork(), and a forked ensemble worker compiling its
        # own module would deadlock. Serial compilation of this module takes ~0.2 s.
        config.parallel_compilation = False
        engine = wasmtime.Engine(config)
        self._engine = engine
        self._store = wasmtime.Store(engine)
        instance = wasmtime.Instance(self._store, wasmtime.Module(engine, wasm), [])
        ex = instance.exports(self._store)
        self._set_value = ex["set_value"]
        self._clear = ex["clear_values"]
        self._reset = ex["reset"]
        self._run = ex["run"]
        self._memory = ex["memory"]
        self._saved_steps = ex["saved_steps"]
        self._get_error = ex["get_error"]
        self._layout = None if writer == "set_value" else self._probe()
        if self._layout is None and writer == "memory":
            raise ModelError("Simlin (wasm): the layout of set_value's writes could not be "
                             f"probed; set {WRITER_VARIABLE}=set_value")
        if self._layout is None and writer == "auto":
            _LOG.debug("Simlin (wasm): overrides through set_value (layout not probed)")
        #: How overrides reach the module: ``"memory"`` or ``"set_value"``.
        self.writer = "set_value" if self._layout is None else "memory"
        # The model's own value of every slot at the start (constants keep theirs),
        # so that overrides equal to the default are not written.
        self._defaults: np.ndarray | None = None
        self._defaults = self.run_slots(np.zeros(0, dtype=np.int64), np.zeros(0))[0]
        _LIVE.add(self)

    def _probe(self) -> OverrideLayout | None:
        store = self._store
        return probe(self.n_slots, lambda slot, value: self._set_value(store, slot, value),
                     lambda: self._clear(store), lambda: memory_view(self._memory, store))

    def close(self) -> None:
        """Release the wasmtime store and engine (the object is unusable after)."""
        for attr in ("_set_value", "_clear", "_reset", "_run", "_memory", "_saved_steps",
                     "_get_error"):
            setattr(self, attr, None)
        for attr in ("_store", "_engine"):
            obj = getattr(self, attr, None)
            if obj is not None and hasattr(obj, "close"):
                obj.close()
            setattr(self, attr, None)

    def slot(self, name: str) -> int:
        """Return the slot of a variable (``name`` or ``name[element]``)."""
        try:
            return self.slots[name]
        except KeyError:
            raise ModelError(f"Simlin (wasm): no variable {name!r}") from None

    def run(self, overrides: Mapping[str, float],
            columns: np.ndarray | None = None) -> np.ndarray:
        """Run once from the model's defaults plus ``overrides``.

        ``overrides`` maps ``name`` or ``name[element]`` to a value; ``columns`` and
        the result are those of :meth:`run_slots`.
        """
        slots = np.fromiter((self.slot(name) for name in overrides), dtype=np.int64,
                            count=len(overrides))
        values = np.fromiter(overrides.values(), dtype=float, count=len(overrides))
        return self.run_slots(slots, values, columns)

    def run_slots(self, slots: np.ndarray, values: np.ndarray,
                  columns: np.ndarray | None = None) -> np.ndarray:
        """Run once from the model's defaults with ``values`` at ``slots``.

        Parameters
        ----------
        slots : array of int
            Slots of constants (:meth:`slot`).
        values : array of float
            One value per slot (of a repeated slot the last counts).
        columns : array of int, optional
            The slots to return; all by default.

        Returns
        -------
        numpy.ndarray
            Saved steps x columns (a copy).

        Raises
        ------
        ModelError
            For a slot that is not a constant, or a failed run.
        """
        store = self._store
        if slots.size > 1:  # a repeated slot: its last value, as set_value calls give
            last = slots.size - 1 - np.unique(slots[::-1], return_index=True)[1]
            slots, values = slots[last], values[last]
        if slots.size and self._defaults is not None:
            changed = values != self._defaults[slots]
            slots, values = slots[changed], values[changed]
        self._clear(store)
        if self._layout is not None:
            bad = slots[~self._layout.settable[slots]]
            if bad.size:
                self._refuse(int(bad[0]), 1)
            self._layout.write(memory_view(self._memory, store), slots, values)
        else:
            for slot, value in zip(slots.tolist(), values.tolist(), strict=True):
                status = self._set_value(store, slot, value)
                if status != 0:
                    self._refuse(slot, status)
        self._reset(store)
        self._run(store)
        error = self._get_error(store)
        if error != 0:
            raise ModelError(f"Simlin (wasm) run failed (error code {error})")
        steps = int(self._saved_steps.value(store))
        start, size = self._results_offset, steps * self.n_slots * 8
        raw = memory_view(self._memory, store)[start:start + size]
        table = raw.view("<f8").reshape(steps, self.n_slots)
        return table.copy() if columns is None else table[:, columns]

    def _refuse(self, slot: int, status: int) -> None:
        name = next((n for n, s in self.slots.items() if s == slot), f"slot {slot}")
        raise ModelError(f"Simlin (wasm): cannot set {name!r} (status {status})")
