"""TOML in and out, one way for every file the package reads or writes.

Reading: :func:`read_toml` turns every failure (missing file, not UTF-8, malformed
TOML) into one :class:`~transfer_sim.errors.InputError` with the file, the line and
the key; :func:`located` adds the line of the key to errors raised while a caller
validates the parsed document. Writing: :func:`dumps` and :func:`toml_value` quote
strings, schedules and ``[table]`` sections the same way everywhere.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from transfer_sim.errors import InputError

__all__ = ["read_toml", "located", "key_line", "toml_value", "toml_string", "dumps"]

_POSITION = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)\s*$")
_KEY_LINE = re.compile(r"^\s*([A-Za-z0-9_\-\.\"' ]+?)\s*=")
_TABLE_LINE = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_\-\.\"' ]+?)\s*\]?\]?\s*(?:#.*)?$")


def _dotted(name: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in name.split("."))


def _keys_by_line(text: str) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, dotted key)`` for every table header and key line."""
    table = ""
    in_multiline = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            in_multiline = line.count('"""') % 2 == 0
            continue
        header = _TABLE_LINE.match(line)
        if header and not _KEY_LINE.match(line):
            table = _dotted(header.group(1))
            yield lineno, table
            continue
        key = _KEY_LINE.match(line)
        if key:
            name = _dotted(key.group(1))
            yield lineno, f"{table}.{name}" if table else name
            in_multiline = line.count('"""') % 2 == 1


def key_line(text: str, key: str | None, *, tables: Sequence[str] = ()) -> int | None:
    r"""Return the line that defines ``key`` (a dotted path), or of its nearest parent.

    Parameters
    ----------
    text : str
        The TOML text.
    key : str or None
        Dotted key, e.g. ``uncertainties.cost_elasticity.sd`` or ``special_fund``.
    tables : sequence of str
        Tables to look in when ``key`` is given without one (``levers``).

    Examples
    --------
    >>> key_line('a = 1\n[levers]\nspecial_fund = 3\n', "special_fund", tables=["levers"])
    3
    >>> key_line('[u.x]\nmin = 1\n', "u.x.max")
    1
    """
    if not key:
        return None
    found = dict((k, n) for n, k in reversed(list(_keys_by_line(text))))
    candidates = [key] + [f"{t}.{key}" for t in tables]
    for candidate in candidates:
        parts = candidate.split(".")
        for end in range(len(parts), 0, -1):
            line = found.get(".".join(parts[:end]))
            if line is not None and (end == len(parts) or candidate == key):
                return line
    return None


def _syntax_error(exc: tomllib.TOMLDecodeError, text: str, file: str,
                  example: str) -> InputError:
    """Turn a TOML syntax error into one line with its line number and key."""
    message = str(exc)
    lines = text.splitlines()
    match = _POSITION.search(message)
    detail = _POSITION.sub("", message) if match else message
    if match and match.group(1):
        lineno, column = int(match.group(1)), int(match.group(2))
    else:  # "at end of document": point at the last line with content
        lineno = max((i + 1 for i, line in enumerate(lines) if line.strip()), default=1)
        column = len(lines[lineno - 1]) + 1 if lines else 1
    line = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
    table = ""
    for above in lines[:lineno - 1]:
        header = _TABLE_LINE.match(above)
        if header and not _KEY_LINE.match(above):
            table = _dotted(header.group(1))
    key: str | None = None
    key_match = _KEY_LINE.match(line)
    header = _TABLE_LINE.match(line)
    if key_match:
        name = _dotted(key_match.group(1))
        key = name if table in ("", "levers") else f"{table}.{name}"
    elif header:
        key = _dotted(header.group(1))
    shown = line.strip()
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return InputError(f"malformed TOML at line {lineno}, column {column}: {detail} "
                      f"(the line reads `{shown}`; allowed: TOML such as {example})",
                      file=file, key=key)


def read_toml(path: str | Path, *, what: str, example: str, key: str | None = None,
              missing: Callable[[], str] | None = None) -> tuple[dict[str, Any], bytes, str]:
    """Read a UTF-8 TOML file; every failure is one InputError naming file, line and key.

    Parameters
    ----------
    path : path-like
        The file.
    what : str
        What the file should be, for messages (``a scenario .toml file``).
    example : str
        A line of valid TOML for this kind of file, shown with syntax errors.
    key : str, optional
        The key that named this file (e.g. ``extends`` of another scenario).
    missing : callable, optional
        Returns the message for a file that does not exist.

    Returns
    -------
    tuple
        The parsed document, the file's bytes (for hashing) and its text.
    """
    p = Path(path)
    file = str(p)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        detail = missing() if missing else f"no such file; allowed: {what}"
        raise InputError(detail, file=file, key=key) from None
    except IsADirectoryError:
        raise InputError(f"is a folder; allowed: {what}", file=file, key=key) from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", file=file, key=key) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"is not UTF-8 text (byte {exc.start}); allowed: {what} in UTF-8",
                         file=file, key=key) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(exc, text, file, example) from None
    return doc, data, text


@contextlib.contextmanager
def located(text: str, file: str, *, tables: Sequence[str] = ()) -> Iterator[None]:
    """Add the line of the offending key to InputErrors about ``file`` raised inside.

    Parameters
    ----------
    text : str
        The file's TOML text.
    file : str
        The file's name as the errors give it.
    tables : sequence of str
        Tables whose keys errors name without the table (``levers``).
    """
    try:
        yield
    except InputError as exc:
        if exc.file == file and exc.line is None:
            exc.line = key_line(text, exc.key, tables=tables)
        raise


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n",
            "\f": "\\f", "\r": "\\r"}


def toml_string(text: str) -> str:
    r"""Quote ``text`` as a TOML basic string (escaping quotes and control characters).

    Examples
    --------
    >>> print(toml_string('say "hi"\n'))
    "say \"hi\"\n"
    """
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    """Return ``value`` as TOML: strings quoted, floats exact, mappings as inline tables.

    Examples
    --------
    >>> toml_value({2011: 0.04, 2013: 0.0}), toml_value({"chemicals": 0.3}), toml_value(50.0)
    ('{ 2011 = 0.04, 2013 = 0.0 }', '{ chemicals = 0.3 }', '50.0')
    """
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def dumps(top: Mapping[str, Any], tables: Mapping[str, Mapping[str, Any]] | None = None, *,
          header: Sequence[str] = ()) -> str:
    """Return TOML text: comment lines, top-level keys, then one ``[table]`` each.

    Empty tables are left out.

    Examples
    --------
    >>> print(dumps({"name": "x"}, {"levers": {"special_fund": 50.0}, "run": {}}), end="")
    name = "x"
    <BLANKLINE>
    [levers]
    special_fund = 50.0
    """
    lines = [f"# {h}" if h else "#" for h in header]
    lines += [f"{k} = {toml_value(v)}" for k, v in top.items()]
    for name, table in (tables or {}).items():
        if table:
            lines += ["", f"[{name}]"] + [f"{k} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"
