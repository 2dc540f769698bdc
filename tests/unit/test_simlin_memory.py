"""The probe of ``set_value``'s writes, on small hand-written WebAssembly modules.

Each module follows the protocol of Simlin's compiled models (``set_value(slot, value)
-> status``, ``clear_values()``, an exported ``memory``) with a layout chosen here, so
that the probe is tested on layouts it must learn and on layouts it must refuse.
"""

from __future__ import annotations

import numpy as np
import pytest

wasmtime = pytest.importorskip("wasmtime")

from transfer_sim.engines.simlin_memory import memory_view, probe  # noqa: E402

N_SLOTS = 8
#: Slots the toy modules accept (a byte table in their data segment).
SETTABLE = (1, 2, 5, 6)


def _module(values_at: int = 1024, flags_at: int = 2048, extra: str = "") -> str:
    """A toy module: current values at 0, override values and flags elsewhere."""
    table = "".join("\\01" if s in SETTABLE else "\\00" for s in range(N_SLOTS))
    return f"""
    (module
      (memory (export "memory") 1)
      (data (i32.const 3072) "{table}")
      (func (export "set_value") (param $s i32) (param $v f64) (result i32)
        (if (i32.or (i32.lt_s (local.get $s) (i32.const 0))
                    (i32.ge_s (local.get $s) (i32.const {N_SLOTS})))
          (then (return (i32.const 1))))
        (if (i32.eqz (i32.load8_u offset=3072 (local.get $s)))
          (then (return (i32.const 1))))
        (f64.store offset={values_at} (i32.mul (local.get $s) (i32.const 8)) (local.get $v))
        (f64.store (i32.mul (local.get $s) (i32.const 8)) (local.get $v))
        (i32.store8 offset={flags_at} (local.get $s) (i32.const 1))
        {extra}
        (i32.const 0))
      (func (export "clear_values")
        (memory.fill (i32.const 1024) (i32.const 0) (i32.const 2048))))
    """


class Toy:
    """An instance of a toy module, with the three callables :func:`probe` takes."""

    def __init__(self, wat: str):
        self.store = wasmtime.Store()
        module = wasmtime.Module(self.store.engine, wasmtime.wat2wasm(wat))
        exports = wasmtime.Instance(self.store, module, []).exports(self.store)
        self._set, self._clear, self._memory = (exports["set_value"], exports["clear_values"],
                                                exports["memory"])

    def set_value(self, slot: int, value: float) -> int:
        return self._set(self.store, slot, value)

    def clear(self) -> None:
        self._clear(self.store)

    def read(self) -> np.ndarray:
        return memory_view(self._memory, self.store)

    def probe(self):
        return probe(N_SLOTS, self.set_value, self.clear, self.read)


@pytest.mark.parametrize("values_at, flags_at", [(1024, 2048), (1536, 1100)])
def test_the_probe_learns_where_set_value_writes(values_at, flags_at):
    toy = Toy(_module(values_at, flags_at))
    layout = toy.probe()
    assert layout is not None
    assert np.flatnonzero(layout.settable).tolist() == list(SETTABLE)
    slot = SETTABLE[2]
    assert sorted((layout.value_index[:, slot] * 8).tolist()) == [8 * slot, values_at + 8 * slot]
    assert layout.flag_offset[:, slot].tolist() == [flags_at + slot]


def test_a_probed_write_equals_set_value_byte_for_byte():
    toy = Toy(_module())
    layout = toy.probe()
    rng = np.random.default_rng(3)
    for _ in range(20):
        slots = rng.choice(SETTABLE, size=rng.integers(0, len(SETTABLE) + 1), replace=False)
        values = rng.normal(size=slots.size) * 10.0 ** rng.integers(-3, 9)
        toy.clear()
        predicted = np.array(toy.read())
        layout.write(predicted, slots, values)
        for slot, value in zip(slots.tolist(), values.tolist(), strict=True):
            assert toy.set_value(slot, value) == 0
        np.testing.assert_array_equal(predicted, toy.read())


def test_probing_twice_finds_the_same_layout():
    toy = Toy(_module())
    first, second = toy.probe(), toy.probe()
    np.testing.assert_array_equal(first.value_index, second.value_index)
    np.testing.assert_array_equal(first.flag_offset, second.flag_offset)


@pytest.mark.parametrize("extra", [
    # a counter in memory: a byte that belongs to no slot
    "(i32.store offset=4000 (i32.const 0) (i32.add (i32.load offset=4000 (i32.const 0))"
    " (i32.const 1)))",
    # the value also stored unaligned: not a double the probe can find
    "(f64.store offset=1601 (i32.mul (local.get $s) (i32.const 8)) (local.get $v))",
    # the value also written to the next slot's override: slots overlap
    "(f64.store offset=1032 (i32.mul (local.get $s) (i32.const 8)) (local.get $v))",
    # a flag that depends on the value: the check with other values fails
    "(i32.store8 offset=2600 (local.get $s) (i32.trunc_sat_f64_s (local.get $v)))",
], ids=["counter", "unaligned", "overlap", "value-dependent-flag"])
def test_a_layout_the_probe_cannot_model_is_refused(extra):
    assert Toy(_module(extra=extra)).probe() is None
