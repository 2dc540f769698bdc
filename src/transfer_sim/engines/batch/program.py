"""The array program: the intermediate form evaluated on arrays with a run axis.

Every value is an array of shape ``(*ranges, runs)`` (``runs`` may be 1 where all
runs share it; the run axis is last so that elementwise operations vectorise over
runs) together with the names of its ranges, so that ``a[Sector] *
b[Sector, Rank]`` aligns by name as Vensim does; ``SUM`` adds the ranges marked
``!``. The same code runs on NumPy or on JAX (``xp``): under JAX a whole simulation
is one traced function (:func:`simulate`) that ``jax.jit`` compiles and
``jax.jacfwd`` differentiates.

Integration is Euler's, as the model states: stocks at ``t + dt`` are the stocks at
``t`` plus ``dt`` times their flows at ``t``; auxiliaries are evaluated from the
stocks in dependency order (on demand, memoised per step); ``INITIAL`` and every
auxiliary that depends on neither time nor a stock are evaluated once, at the
initial time; the auxiliaries that read time but no stock, and that all runs share,
are evaluated for every step at once before the loop (:meth:`ArrayProgram.timeline`).
Lookups are sums of clipped ramps (:func:`ramps`), elementwise operations only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from transfer_sim.engines.batch.ir import IR
from transfer_sim.errors import ModelError

__all__ = ["Grid", "ArrayProgram", "Value", "ramps"]

#: An array of shape ``(*sizes, runs or 1)`` and the names of its ranges.
Value = tuple[Any, tuple[str, ...]]


@dataclass(frozen=True)
class Grid:
    """The time grid of a run: initial and final time, time step and save interval."""

    initial_time: float
    final_time: float
    time_step: float
    saveper: float

    def counts(self) -> tuple[int, int]:
        """Return ``(steps between saves, number of saved times)``.

        Raises
        ------
        ModelError
            When the save interval is not a whole number of steps or the horizon not a
            whole number of save intervals.
        """
        every = self.saveper / self.time_step
        saves = (self.final_time - self.initial_time) / self.saveper
        if abs(every - round(every)) > 1e-9 or round(every) < 1:
            raise ModelError(f"the batch engine needs SAVEPER ({self.saveper:g}) to be a "
                             f"whole number of time steps ({self.time_step:g})")
        if abs(saves - round(saves)) > 1e-9:
            raise ModelError("the batch engine needs the horizon to be a whole number of "
                             f"save intervals ({self.saveper:g})")
        return round(every), round(saves) + 1

    def times(self) -> np.ndarray:
        """Return the saved times."""
        return self.initial_time + self.saveper * np.arange(self.counts()[1])


def _base(dim: str) -> str:
    return dim[:-1] if dim.endswith("!") else dim


class _Frame:
    """The values of one evaluation: at the initial time, at one step, or at every step.

    ``time`` has the frame's batch shape: ``(1,)`` at one time, ``(steps, 1)`` when the
    time-only auxiliaries are evaluated for every step at once (then the constants and
    the statics carry a time axis of size 1 before the run axis).
    """

    def __init__(self, program: ArrayProgram, consts: Mapping[str, Any], time: Any,
                 control: Mapping[str, float], state: Mapping[str, Any] | None = None,
                 statics: Mapping[str, Value] | None = None):
        self.p = program
        self.consts = consts
        self.time = time
        self.ones = (1,) * time.ndim
        self.control = control
        self.state = state
        self.init = state is None
        self.memo: dict[str, Value] = dict(statics or {})
        self._active: set[str] = set()

    # -- variables -----------------------------------------------------------------
    def var(self, name: str) -> Value:
        if name in self.memo:
            return self.memo[name]
        record = self.p.ir.variables.get(name)
        if record is None:
            raise ModelError(f"the batch engine found a reference to an unknown name {name!r}")
        if name in self._active:
            raise ModelError(f"{name}: simultaneous equations (a loop without a stock)")
        self._active.add(name)
        dims = tuple(record["dims"])
        kind = record["kind"]
        if kind == "const":
            value = (self.consts[name], dims)
        elif kind == "stock" and not self.init:
            value = (self.state[name], dims)
        elif kind == "stock":
            value = (self.p.full(self.eval(record["init"]), dims), dims)
        elif kind in ("aux", "initial"):
            value = (self.p.full(self.eval(record["expr"]), dims), dims)
        else:
            raise ModelError(f"{name}: a lookup is read by calling it, as {name}(x)")
        self._active.discard(name)
        self.memo[name] = value
        return value

    # -- expressions ---------------------------------------------------------------
    def eval(self, node: list) -> Value:
        return getattr(self, "_" + node[0])(*node[1:])

    def _num(self, x: float) -> Value:
        return self.p.xp.full(self.ones, x, dtype=float), ()

    def _time(self) -> Value:
        return self.time, ()

    def _control(self, name: str) -> Value:
        return self._num(self.control[name])

    def _ref(self, name: str, subs: Sequence[str] | None) -> Value:
        arr, dims = self.var(name)
        if subs is None:
            return arr, dims
        if len(subs) != len(dims):
            raise ModelError(f"{name}: {len(subs)} subscripts for {len(dims)} ranges")
        out: list[str] = []
        index: list[Any] = []
        for dim, sub in zip(dims, subs, strict=True):
            if _base(sub) == dim:
                out.append(sub)
                index.append(slice(None))
            elif sub in self.p.subscripts[dim]:
                index.append(self.p.subscripts[dim].index(sub))
            else:
                raise ModelError(f"{name}[{', '.join(subs)}]: the batch engine maps no "
                                 f"range onto {dim}")
        return arr[(*index, Ellipsis)], tuple(out)

    def _neg(self, a: list) -> Value:
        arr, dims = self.eval(a)
        return -arr, dims

    def _arith(self, ops: Sequence[str], args: Sequence[list]) -> Value:
        acc = self.eval(args[0])
        for op, arg in zip(ops, args[1:], strict=True):
            acc = self.p.apply(_ARITH[op], acc, self.eval(arg))
        return acc

    def _logic(self, ops: Sequence[str], args: Sequence[list]) -> Value:
        acc = self.eval(args[0])
        for op, arg in zip(ops, args[1:], strict=True):
            acc = self.p.apply(_LOGIC[op], acc, self.eval(arg))
        return acc

    def _not(self, a: list) -> Value:
        arr, dims = self.eval(a)
        return self.p.xp.logical_not(self.p.truth(arr)), dims

    def _lookup(self, name: str, arg: list) -> Value:
        arr, dims = self.eval(arg)
        return ramps(self.p.xp, arr, *self.p.lookups[name]), dims

    def _initial(self, key: str, a: list) -> Value:
        if key not in self.memo:
            if not self.init:
                raise ModelError(f"{key}: INITIAL evaluated after the initial time")
            self.memo[key] = self.eval(a)
        return self.memo[key]

    def _call(self, function: str, args: Sequence[list]) -> Value:
        values = [self.eval(a) for a in args]
        if function == "sum":
            arr, dims = values[0]
            axes = tuple(i for i, d in enumerate(dims) if d.endswith("!"))
            arr = self.p.xp.sum(arr, axis=axes)
            return arr, tuple(d for d in dims if not d.endswith("!"))
        return self.p.call(function, values)


def ramps(xp: Any, x: Any, xs: np.ndarray, ys: np.ndarray) -> Any:
    """Piecewise-linear interpolation as a sum of clipped ramps (``np.interp``'s values).

    ``ys[0] + sum_i slope_i * (clip(x, xs[i], xs[i + 1]) - xs[i])``: no search and no
    gather, only elementwise operations that XLA fuses (``jnp.interp`` sorts, searches
    and gathers). Outside the table the end values are held, as ``np.interp`` does. A
    vertical step (two equal ``xs``) adds its jump from that ``x`` on.

    Parameters
    ----------
    xp : module
        ``numpy`` or ``jax.numpy``.
    x : array
        Where to interpolate.
    xs, ys : numpy.ndarray
        The table: ``xs`` non-decreasing, at least one point.

    Returns
    -------
    array
        The interpolated values, shaped as ``x``.

    Examples
    --------
    >>> float(ramps(np, np.array(1.5), np.array([1.0, 2.0, 4.0]), np.array([0.0, 2.0, 1.0])))
    1.0
    """
    acc = xp.zeros_like(x) + ys[0]
    for i in range(len(xs) - 1):
        rise = float(ys[i + 1] - ys[i])
        width = float(xs[i + 1] - xs[i])
        if rise == 0.0:
            continue
        if width == 0.0:
            acc = acc + xp.where(x >= xs[i], rise, 0.0)
        else:
            acc = acc + (rise / width) * (xp.clip(x, xs[i], xs[i + 1]) - xs[i])
    return acc


_ARITH: dict[str, Callable[[Any, Any, Any], Any]] = {
    "+": lambda xp, a, b: a + b,
    "-": lambda xp, a, b: a - b,
    "*": lambda xp, a, b: a * b,
    "/": lambda xp, a, b: a / b,
    "^": lambda xp, a, b: xp.power(a, b),
}
_LOGIC: dict[str, Callable[[Any, Any, Any], Any]] = {
    "=": lambda xp, a, b: a == b,
    "<>": lambda xp, a, b: a != b,
    "<": lambda xp, a, b: a < b,
    ">": lambda xp, a, b: a > b,
    "<=": lambda xp, a, b: a <= b,
    ">=": lambda xp, a, b: a >= b,
    ":AND:": lambda xp, a, b: xp.logical_and(a != 0, b != 0),
    ":OR:": lambda xp, a, b: xp.logical_or(a != 0, b != 0),
}


class ArrayProgram:
    """The model's equations on arrays.

    Parameters
    ----------
    ir : IR
        The translated model.
    xp : module
        ``numpy`` or ``jax.numpy``.
    """

    def __init__(self, ir: IR, xp: Any):
        self.ir = ir
        self.xp = xp
        self.subscripts = {k: list(v) for k, v in ir.subscripts.items()}
        self.sizes = {k: len(v) for k, v in ir.subscripts.items()}
        records = ir.variables
        self.stocks = tuple(n for n, r in records.items() if r["kind"] == "stock")
        self.constants = tuple(n for n, r in records.items() if r["kind"] == "const")
        self.lookups = {n: (np.asarray(r["x"]), np.asarray(r["y"]))
                        for n, r in records.items() if r["kind"] == "lookup"}
        self.static = self._static()
        self.timed = self._timed()

    # -- structure -----------------------------------------------------------------
    def shape(self, name: str) -> tuple[int, ...]:
        """Return the shape of one run's value of a variable."""
        return tuple(self.sizes[d] for d in self.ir.variables[name]["dims"])

    def defaults(self) -> dict[str, np.ndarray]:
        """Return every constant's value in the model, shaped by its ranges."""
        return {n: np.broadcast_to(np.asarray(self.ir.variables[n]["value"], dtype=float),
                                   self.shape(n)).copy()
                for n in self.constants}

    def _stock_free(self, *, time_free: bool) -> frozenset[str]:
        """Variables that read no stock (and, with ``time_free``, not time either).

        Constants, lookups and ``INITIAL`` values count as free (fixed after the
        initial time); an auxiliary is free when everything it reads is.
        """
        records = self.ir.variables
        memo: dict[str, bool] = {}

        def node_free(node: Any) -> bool:
            if not isinstance(node, list) or not node:
                return True
            head = node[0]
            if not isinstance(head, str):  # a list of nodes
                return all(node_free(part) for part in node)
            if head == "time":
                return not time_free
            if head == "initial":
                return True
            if head == "ref":
                return free(node[1])
            return all(node_free(part) for part in node[1:] if isinstance(part, list))

        def free(name: str) -> bool:
            if name not in memo:
                record = records.get(name, {"kind": "const"})
                memo[name] = False
                memo[name] = record["kind"] in ("const", "lookup", "initial") or (
                    record["kind"] == "aux" and node_free(record["expr"]))
            return memo[name]

        return frozenset(n for n in records if free(n))

    def _static(self) -> frozenset[str]:
        """Variables fixed after the initial time: constants, INITIALs and what reads only them."""
        return self._stock_free(time_free=True)

    def _timed(self) -> tuple[str, ...]:
        """Auxiliaries that read time but no stock (computable before the loop)."""
        free = self._stock_free(time_free=False)
        return tuple(n for n, r in self.ir.variables.items()
                     if r["kind"] == "aux" and n not in self.static and n in free)

    # -- array helpers -------------------------------------------------------------
    def _size(self, dim: str) -> int:
        return self.sizes[_base(dim)]

    def align(self, value: Value, dims: Sequence[str]) -> Any:
        """Reorder a value's ranges as ``dims`` (a superset), size 1 where it has none."""
        arr, own = value
        n = len(own)
        order = [own.index(d) for d in dims if d in own] + list(range(n, arr.ndim))
        if order != list(range(len(order))):
            arr = self.xp.transpose(arr, order)
        shape = (*[self._size(d) if d in own else 1 for d in dims], *arr.shape[n:])
        return self.xp.reshape(arr, shape) if tuple(arr.shape) != shape else arr

    def full(self, value: Value, dims: Sequence[str]) -> Any:
        """Broadcast a value to the whole of ``dims`` (its own ranges must be among them)."""
        extra = [d for d in value[1] if d not in dims]
        if extra:
            raise ModelError(f"an expression over {extra} assigned to a variable over "
                             f"{list(dims)}")
        arr = self.align(value, dims)
        return self.xp.broadcast_to(arr, (*[self._size(d) for d in dims],
                                          *arr.shape[len(dims):]))

    def _union(self, values: Sequence[Value]) -> tuple[str, ...]:
        dims: list[str] = []
        for _, own in values:
            dims.extend(d for d in own if d not in dims)
        return tuple(dims)

    def apply(self, fn: Callable[[Any, Any, Any], Any], a: Value, b: Value) -> Value:
        """Apply a binary operation to two values aligned by range name."""
        dims = self._union([a, b])
        return fn(self.xp, self.align(a, dims), self.align(b, dims)), dims

    def truth(self, arr: Any) -> Any:
        """Return a condition as booleans (numbers: non-zero is true)."""
        return arr if arr.dtype == bool else arr != 0

    def call(self, function: str, values: Sequence[Value]) -> Value:
        """Apply a Vensim function (other than ``SUM``) to aligned values."""
        xp = self.xp
        dims = self._union(values)
        args = [self.align(v, dims) for v in values]
        if function == "if_then_else":
            return xp.where(self.truth(args[0]), args[1], args[2]), dims
        if function in ("zidz", "xidz"):
            zero = args[1] == 0
            fallback = 0.0 if function == "zidz" else args[2]
            return xp.where(zero, fallback, args[0] / xp.where(zero, 1.0, args[1])), dims
        unary = {"exp": xp.exp, "ln": xp.log, "abs": xp.abs, "sqrt": xp.sqrt,
                 "integer": xp.trunc}
        if function in unary:
            return unary[function](args[0]), dims
        binary = {"min": xp.minimum, "max": xp.maximum}
        return binary[function](args[0], args[1]), dims

    # -- simulation pieces -----------------------------------------------------------
    def control(self, grid: Grid) -> dict[str, float]:
        """Return the control values equations may read."""
        return {"initial_time": grid.initial_time, "final_time": grid.final_time,
                "time_step": grid.time_step, "saveper": grid.saveper}

    def initialise(self, consts: Mapping[str, Any], grid: Grid, runs: int
                   ) -> tuple[dict[str, Any], dict[str, Value]]:
        """Return the stocks at the initial time (``runs`` each) and the values fixed then."""
        frame = _Frame(self, consts, self.xp.full((1,), grid.initial_time, dtype=float),
                       self.control(grid))
        state = {}
        for s in self.stocks:
            arr = frame.var(s)[0]
            state[s] = self.xp.broadcast_to(arr, (*arr.shape[:-1], runs)) + 0.0
        for name in sorted(self.static):
            if self.ir.variables[name]["kind"] != "lookup":
                frame.var(name)
        statics = {k: v for k, v in frame.memo.items()
                   if k in self.static or k in self.ir.initials}
        return state, statics

    def timeline(self, consts: Mapping[str, Any], grid: Grid, statics: Mapping[str, Value],
                 steps: int) -> dict[str, Any]:
        """Evaluate the time-only auxiliaries that all runs share, at every step at once.

        Those that differ between runs (they read a constant given per run) are left
        to the loop: precomputed, they cost ``steps x runs x elements`` of memory and
        measured slower (633 against 1,430 runs/s at batch 128) than evaluating them at
        each step.

        Parameters
        ----------
        consts : mapping
            The constants, each ``(*ranges, runs or 1)``.
        grid : Grid
            The time grid.
        statics : mapping
            The values fixed at the initial time (from :meth:`initialise`).
        steps : int
            Number of times, ``initial_time + time_step * k`` for ``k < steps``.

        Returns
        -------
        dict
            Name -> array ``(steps, *ranges, 1)``, for the shared ones among
            :attr:`timed`.
        """
        xp = self.xp
        times = grid.initial_time + grid.time_step * xp.arange(steps, dtype=float)
        frame = _Frame(self, {k: xp.expand_dims(v, -2) for k, v in consts.items()},
                       xp.reshape(times, (steps, 1)), self.control(grid), None,
                       {k: (xp.expand_dims(a, -2), d) for k, (a, d) in statics.items()})
        out = {}
        for name in self.timed:
            arr = frame.var(name)[0]
            if arr.shape[-1] == 1:
                arr = xp.broadcast_to(arr, (*arr.shape[:-2], steps, 1))
                out[name] = xp.moveaxis(arr, -2, 0)
        return out

    def step_frame(self, consts: Mapping[str, Any], grid: Grid, state: Mapping[str, Any],
                   statics: Mapping[str, Value], time: Any,
                   timed: Mapping[str, Any] | None = None) -> _Frame:
        """Return a frame evaluating auxiliaries from the stocks at ``time``.

        ``timed`` gives values of time-only auxiliaries at this step (name -> array,
        from :meth:`timeline`); they are not evaluated again.
        """
        known = dict(statics)
        for name, arr in (timed or {}).items():
            known[name] = (arr, tuple(self.ir.variables[name]["dims"]))
        return _Frame(self, consts, self.xp.reshape(time, (1,)), self.control(grid), state, known)

    def flows(self, frame: _Frame) -> dict[str, Any]:
        """Return each stock's net flow in this frame, broadcast to the stock's shape."""
        out = {}
        for s in self.stocks:
            dims = tuple(self.ir.variables[s]["dims"])
            flow = self.full(frame.eval(self.ir.variables[s]["flow"]), dims)
            out[s] = self.xp.broadcast_to(flow, frame.state[s].shape)
        return out

    def euler(self, state: Mapping[str, Any], flows: Mapping[str, Any],
              dt: float) -> dict[str, Any]:
        """Return the stocks one step on."""
        return {s: state[s] + dt * flows[s] for s in self.stocks}

    def outputs(self, frame: _Frame, names: Sequence[str], runs: int) -> list[Any]:
        """Return the named variables in this frame, each of shape ``(*ranges, runs)``."""
        out = []
        for name in names:
            arr, dims = frame.var(name)
            out.append(self.xp.broadcast_to(arr, (*arr.shape[:-1], runs)))
        return out
