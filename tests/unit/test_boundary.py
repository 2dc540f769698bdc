"""The boundary chart's pieces that need no model: reachability and the exclusions table."""

from __future__ import annotations

from pathlib import Path

import pytest

from transfer_sim.errors import ModelError
from transfer_sim.model.boundary import EXCLUDED_COLUMNS, downstream, read_excluded

ROOT = Path(__file__).resolve().parents[2]


def test_downstream_follows_links_through_cycles_and_not_upstream():
    links = {"stock": {"flow"}, "flow": {"stock", "aux"}, "lever": {"flow"}, "aux": {"out"}}
    assert downstream(frozenset({"stock"}), links) == {"stock", "flow", "aux", "out"}
    assert downstream(frozenset({"lever"}), links) == {"lever", "flow", "stock", "aux", "out"}
    assert downstream(frozenset(), links) == frozenset()


def test_the_bundled_exclusions_name_what_the_document_leaves_to_others():
    rows = read_excluded(ROOT / "model" / "boundary_excluded.csv")
    text = " ".join(r["item"] + " " + r["document"] for r in rows)
    for named in ("盟市", "附件", "五(三)", "共建", "P8", "企业重组"):
        assert named in text, named


@pytest.mark.parametrize("content, match", [
    ("item,document\nx,y\n", "needs the columns"),
    (",".join(EXCLUDED_COLUMNS) + "\nx,y,,z\n", "line 2: empty why_left_out"),
])
def test_a_bad_exclusions_table_is_refused(tmp_path, content, match):
    path = tmp_path / "b.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ModelError, match=match):
        read_excluded(path)
    with pytest.raises(ModelError, match="cannot read"):
        read_excluded(tmp_path / "missing.csv")
