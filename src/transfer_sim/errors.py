"""Exception types for user mistakes (reported as one line, never a traceback)."""

from __future__ import annotations


class TransferSimError(Exception):
    """Base class of every error caused by user input or the environment."""


class InputError(TransferSimError, ValueError):
    """A bad value in a scenario, a lever set or an observed-data file.

    Parameters
    ----------
    message : str
        What is wrong and what is allowed.
    file : str, optional
        The file the value came from.
    key : str, optional
        The key (lever, column, field) that holds the bad value.
    line : int, optional
        The line of the file that holds it.

    Examples
    --------
    >>> str(InputError("must be a number", file="s.toml", key="special_fund", line=4))
    "s.toml: key 'special_fund': line 4: must be a number"
    """

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None,
                 line: int | None = None):
        self.file = file
        self.key = key
        self.line = line
        self.detail = message
        super().__init__(message)

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.key:
            parts.append(f"key '{self.key}'")
        if self.line is not None and f"line {self.line}" not in self.detail:
            parts.append(f"line {self.line}")
        prefix = ": ".join(parts)
        return f"{prefix}: {self.detail}" if prefix else self.detail


class OutputError(TransferSimError, OSError):
    """An output path that cannot be written."""


class ModelError(TransferSimError, RuntimeError):
    """The model file cannot be found, translated or run."""
