"""Plain-text tables for the terminal that line up with Chinese text (CJK is two columns wide)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

__all__ = ["display_width", "format_text_table", "markdown_cell", "verdict_cell"]


def display_width(text: str) -> int:
    """Return the terminal width of ``text``: wide and full-width characters take two columns.

    Examples
    --------
    >>> display_width("T1 集群")
    7
    """
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, align: str) -> str:
    pad = " " * (width - display_width(text))
    return f"{pad}{text}" if align == "r" else f"{text}{pad}"


def format_text_table(header: Sequence[str], rows: Sequence[Sequence[object]], *,
                      align: str | None = None, title: str | None = None,
                      rule: bool = True) -> str:
    """Format rows as aligned columns.

    Parameters
    ----------
    header : sequence of str
        Column titles.
    rows : sequence of sequences
        Cells (converted with ``str``).
    align : str, optional
        One letter per column, ``l`` or ``r``; all left by default.
    title : str, optional
        A line above the table.
    rule : bool
        Draw a line of dashes under the header.

    Examples
    --------
    >>> print(format_text_table(["指标", "value"], [["T1", 42], ["集群数", 7]], align="lr"))
    指标    value
    ------  -----
    T1         42
    集群数      7
    """
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    ncol = len(header)
    if any(len(r) != ncol for r in cells):
        raise ValueError("every row needs one cell per column")
    align = align or "l" * ncol
    widths = [max(display_width(r[i]) for r in cells) for i in range(ncol)]

    def line(r: Sequence[str]) -> str:
        return "  ".join(_pad(c, w, a) for c, w, a in zip(r, widths, align, strict=True)).rstrip()

    out = [title] if title else []
    out.append(line(cells[0]))
    if rule:
        out.append("  ".join("-" * w for w in widths))
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


def markdown_cell(text: object) -> str:
    r"""Return ``text`` as one Markdown table cell: whitespace folded, ``|`` escaped.

    Examples
    --------
    >>> markdown_cell("a |\n b"), markdown_cell("")
    ('a \\| b', '—')
    """
    s = " ".join(str(text).split())
    return s.replace("|", "\\|") if s else "—"


def verdict_cell(value: float, met: bool) -> str:
    """Return a target's value to one decimal, marked ``✗`` when the target is missed.

    Examples
    --------
    >>> verdict_cell(46.0, False), verdict_cell(20000.04, True)
    ('46.0 ✗', '20,000.0')
    """
    return f"{value:,.1f}" + ("" if met else " ✗")
