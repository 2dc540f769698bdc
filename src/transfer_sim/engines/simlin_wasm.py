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
"""

from __future__ import annotations

import atexit
import struct
import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np

from transfer_sim.errors import ModelError

__all__ = ["compile_module", "WasmSimulation", "wasm_available", "wasm_problem",
           "EXPECTED_SIGNATURE"]

#: The C signature of ``simlin_model_compile_to_wasm`` this module calls (pysimlin
#: 0.8.5, pinned in ``pyproject.toml``); checked before use, since it is private API.
EXPECTED_SIGNATURE = ("void(*)(struct SimlinModel *, _Bool, _Bool, uint8_t * *, size_t *, "
                      "uint8_t * *, size_t *, struct SimlinError * *)")
#: The two booleans of ``simlin_model_compile_to_wasm``: no Loops-That-Matter scores.
LTM_ENABLED = False
#: ... and no LTM loop discovery.
LTM_DISCOVERY_MODE = False

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

    Parameters
    ----------
    model : simlin.Model
        A loaded model (its time settings are compiled in).
    """

    def __init__(self, model: Any):
        import wasmtime

        wasm, layout = compile_module(model)
        self.n_slots, self._results_offset, self.slots = _parse_layout(layout)
        config = wasmtime.Config()
        # Compile on this thread: wasmtime's parallel compilation runs a thread pool
        # that does not survive fork(), and a forked ensemble worker compiling its
        # own module would deadlock. Serial compilation of this module takes ~0.1 s.
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
        # The model's own value of every slot at the start (constants keep theirs),
        # so that overrides equal to the default need no call into the module:
        # each call through wasmtime's Python API costs ~40 us.
        self._defaults = self._simulate({})[0].copy()
        _LIVE.add(self)

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

    def run(self, overrides: Mapping[str, float]) -> np.ndarray:
        """Run once from the model's defaults plus ``overrides``.

        Returns
        -------
        numpy.ndarray
            Saved steps x slots (a copy).
        """
        changed = {}
        for name, value in overrides.items():
            slot = self.slot(name)
            if float(value) != self._defaults[slot]:
                changed[slot] = (name, float(value))
        return self._simulate(changed)

    def _simulate(self, changed: Mapping[int, tuple[str, float]]) -> np.ndarray:
        self._clear(self._store)
        for slot, (name, value) in changed.items():
            status = self._set_value(self._store, slot, value)
            if status != 0:
                raise ModelError(f"Simlin (wasm): cannot set {name!r} (status {status})")
        self._reset(self._store)
        self._run(self._store)
        error = self._get_error(self._store)
        if error != 0:
            raise ModelError(f"Simlin (wasm) run failed (error code {error})")
        steps = int(self._saved_steps.value(self._store))
        start = self._results_offset
        raw = self._memory.read(self._store, start, start + steps * self.n_slots * 8)
        return np.frombuffer(raw, dtype="<f8").reshape(steps, self.n_slots).copy()
