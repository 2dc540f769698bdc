"""Translate PySD's abstract model of the ``.mdl`` into a small JSON intermediate form.

The batch engine never reads the model's equations itself: PySD's Vensim parser
(``pysd.translators.vensim``) gives an :class:`AbstractModel` whose expressions are
syntax trees, and this module rewrites each tree as nested lists that
:mod:`transfer_sim.engines.batch.program` evaluates on arrays. The form is plain
JSON, so it is cached on disk per model hash and a second process needs no PySD.

Expression nodes (lists, the head names the node):

``["num", x]``, ``["time"]``, ``["control", name]``, ``["ref", name, subs]`` (``subs``
is ``None`` or a list of range names, ``"Range!"`` for a summed range, or element
names), ``["arith", [op, ...], [arg, ...]]`` (one precedence level, left to right),
``["neg", a]``, ``["logic", [op, ...], [arg, ...]]``, ``["not", a]``,
``["call", function, [arg, ...]]``, ``["lookup", name, arg]``, ``["initial", key, a]``.

Variables (``IR.variables``: Python name -> dict): ``kind`` is ``const`` (``value``,
nested lists), ``lookup`` (``x``, ``y``), ``aux`` (``expr``), ``stock`` (``flow``,
``init``) or ``initial`` (``expr``: the value at the initial time, held); ``dims``
lists its subscript ranges. A ``SMOOTH`` is a stock whose flow is
``(input - stock) / time``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from transfer_sim.errors import ModelError

__all__ = ["IR", "FUNCTIONS", "CONTROL", "translate", "translate_file", "expression", "load_ir"]

#: Vensim functions the array program implements (PySD's names), with their arity.
FUNCTIONS: dict[str, int] = {"if_then_else": 3, "min": 2, "max": 2, "exp": 1, "ln": 1,
                             "zidz": 2, "xidz": 3, "sum": 1, "abs": 1, "sqrt": 1,
                             "integer": 1}
#: Control names an equation may read (PySD's names); their values come from the run.
CONTROL = ("initial_time", "final_time", "time_step", "saveper")
_SKIP = {"INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"}


@dataclass
class IR:
    """The model as JSON-ready data.

    Attributes
    ----------
    subscripts : dict
        Range name -> its elements, in model order.
    variables : dict
        Python name -> variable record (see the module docstring).
    initials : list of str
        Keys of the ``INITIAL(...)`` calls inside expressions.
    """

    subscripts: dict[str, list[str]]
    variables: dict[str, dict[str, Any]]
    initials: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """Return the form as a JSON text."""
        return json.dumps({"subscripts": self.subscripts, "variables": self.variables,
                           "initials": self.initials}, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> IR:
        """Read a form written by :meth:`to_json`."""
        data = json.loads(text)
        return cls(data["subscripts"], data["variables"], data.get("initials", []))


def _number(value: Any) -> float:
    return float(value)


class _Translator:
    """Rewrite PySD syntax trees as nodes; collects inline ``INITIAL`` calls."""

    def __init__(self) -> None:
        self.initials: list[str] = []

    def expr(self, node: Any) -> list:  # noqa: C901 - one branch per syntax class
        from pysd.translators.structures import abstract_expressions as ae

        if isinstance(node, bool | int | float | np.floating | np.integer):
            return ["num", _number(node)]
        if isinstance(node, ae.ReferenceStructure):
            return self._reference(node)
        if isinstance(node, ae.ArithmeticStructure):
            if list(node.operators) == ["negative"]:
                return ["neg", self.expr(node.arguments[0])]
            return ["arith", list(node.operators), [self.expr(a) for a in node.arguments]]
        if isinstance(node, ae.LogicStructure):
            if list(node.operators) == [":NOT:"]:
                return ["not", self.expr(node.arguments[0])]
            return ["logic", list(node.operators), [self.expr(a) for a in node.arguments]]
        if isinstance(node, ae.CallStructure):
            return self._call(node)
        if isinstance(node, ae.InitialStructure):
            key = f"initial_{len(self.initials)}"
            self.initials.append(key)
            return ["initial", key, self.expr(node.initial)]
        raise ModelError(f"the batch engine cannot compile {type(node).__name__} "
                         f"({str(node).split(chr(10))[0]})")

    def _reference(self, node: Any) -> list:
        name = node.reference
        if name == "time":
            return ["time"]
        if name in CONTROL:
            return ["control", name]
        subs = None if node.subscripts is None else list(node.subscripts.subscripts)
        return ["ref", name, subs]

    def _call(self, node: Any) -> list:
        function = node.function.reference
        args = [self.expr(a) for a in node.arguments]
        if function in FUNCTIONS:
            if len(args) != FUNCTIONS[function]:
                raise ModelError(f"{function}: expected {FUNCTIONS[function]} arguments, "
                                 f"got {len(args)}")
            return ["call", function, args]
        if len(args) != 1:
            raise ModelError(f"the batch engine cannot compile the function {function!r}")
        return ["lookup", function, args[0]]


def _component(translator: _Translator, component: Any, dims: list[str]) -> dict[str, Any]:
    """One variable record from an element's single component."""
    from pysd.translators.structures import abstract_expressions as ae

    ast = component.ast
    if isinstance(ast, np.ndarray):
        return {"kind": "const", "dims": dims, "value": ast.astype(float).tolist()}
    if isinstance(ast, bool | int | float | np.floating | np.integer):
        return {"kind": "const", "dims": dims, "value": _number(ast)}
    if isinstance(ast, ae.LookupsStructure):
        if ast.type != "interpolate":
            raise ModelError(f"the batch engine cannot compile a {ast.type!r} lookup")
        return {"kind": "lookup", "dims": dims, "x": [float(v) for v in ast.x],
                "y": [float(v) for v in ast.y]}
    if isinstance(ast, ae.IntegStructure):
        return {"kind": "stock", "dims": dims, "flow": translator.expr(ast.flow),
                "init": translator.expr(ast.initial)}
    if isinstance(ast, ae.SmoothStructure):
        if ast.order != 1:
            raise ModelError(f"the batch engine compiles first-order SMOOTH only, not {ast.order}")
        return {"kind": "smooth", "dims": dims, "input": translator.expr(ast.input),
                "time": translator.expr(ast.smooth_time), "init": translator.expr(ast.initial)}
    if isinstance(ast, ae.InitialStructure):
        return {"kind": "initial", "dims": dims, "expr": translator.expr(ast.initial)}
    return {"kind": "aux", "dims": dims, "expr": translator.expr(ast)}


def _smooth_as_stock(name: str, record: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a first-order SMOOTH as a stock: flow ``(input - stock) / smoothing time``."""
    own = ["ref", name, list(record["dims"]) or None]
    flow = ["arith", ["/"], [["arith", ["-"], [record["input"], own]], record["time"]]]
    return {"kind": "stock", "dims": record["dims"], "flow": flow, "init": record["init"]}


def translate(abstract_model: Any, names: dict[str, str]) -> IR:
    """Translate PySD's abstract model.

    Parameters
    ----------
    abstract_model : pysd.translators.structures.abstract_model.AbstractModel
        The parsed ``.mdl`` (one section: the model has no macros).
    names : dict
        Name in the ``.mdl`` -> Python name (the model facts' ``real_name`` ->
        ``py_name``).

    Returns
    -------
    IR
        The model's constants, lookups, auxiliaries and stocks.

    Raises
    ------
    ModelError
        For a construct the array program does not implement (a macro, a
        multi-part definition, a delay, an unknown function).
    """
    if len(abstract_model.sections) != 1:
        raise ModelError("the batch engine cannot compile macros")
    section = abstract_model.sections[0]
    subscripts = {r.name: list(r.subscripts) for r in section.subscripts}
    translator = _Translator()
    variables: dict[str, dict[str, Any]] = {}
    for element in section.elements:
        if element.name in _SKIP:
            continue
        if len(element.components) != 1:
            raise ModelError(f"{element.name}: the batch engine cannot compile a variable "
                             "defined in parts")
        component = element.components[0]
        dims, excepts = component.subscripts
        if excepts:
            raise ModelError(f"{element.name}: the batch engine cannot compile :EXCEPT:")
        if any(d not in subscripts for d in dims):
            raise ModelError(f"{element.name}: the batch engine needs whole subscript ranges")
        name = names.get(element.name, element.name)
        record = _component(translator, component, list(dims))
        variables[name] = _smooth_as_stock(name, record) if record["kind"] == "smooth" \
            else record
    return IR(subscripts, variables, translator.initials)


def expression(text: str) -> list:
    """Translate one Vensim expression with PySD's parser (for tests and checks).

    Examples
    --------
    >>> expression("IF THEN ELSE(a > 1, b, 0)")[:2]
    ['call', 'if_then_else']
    """
    from pysd.translators.vensim.vensim_element import Component

    component = Component("x", ([], []), text)
    component.parse()
    return _Translator().expr(component.ast)


def translate_file(path: str | os.PathLike[str], names: dict[str, str]) -> IR:
    """Parse a ``.mdl`` with PySD and translate it (see :func:`translate`)."""
    import warnings

    from pysd.translators.vensim.vensim_file import VensimFile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            vensim = VensimFile(str(path))
            vensim.parse()
            abstract = vensim.get_abstract_model()
    except Exception as exc:
        raise ModelError(f"{path}: PySD could not parse the model: {exc}") from exc
    return translate(abstract, names)


def load_ir(path: str | os.PathLike[str], facts: Any) -> IR:
    """Return the form of a model file, translated once per model hash and cached as JSON.

    Parameters
    ----------
    path : path-like
        The ``.mdl``.
    facts : ModelFacts
        Its facts (the hash names the cache file; the Python names come from them).
    """
    from transfer_sim.model.core import cache_dir, write_cache_file

    cached = cache_dir() / f"{facts.sha256[:20]}-batch" / "ir.json"
    if cached.exists():
        try:
            return IR.from_json(cached.read_text(encoding="utf-8"))
        except (ValueError, KeyError):
            pass  # a damaged cache file is translated again
    names = {v.real_name: n for n, v in facts.variables.items()}
    ir = translate_file(path, names)
    write_cache_file(cached, ir.to_json(), replace=True)
    return ir
