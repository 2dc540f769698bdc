"""The self-contained HTML report."""

from transfer_sim.report.ensemble import ensemble_file_sections, report_sections
from transfer_sim.report.html import (
    DEFAULT_REFERENCE,
    Section,
    attribution_html,
    build_report,
    figure_html,
    kpi_table_html,
    levers_html,
    make_report,
    provenance_html,
    table_html,
    write_report,
)

__all__ = [
    "Section",
    "figure_html",
    "table_html",
    "kpi_table_html",
    "levers_html",
    "attribution_html",
    "provenance_html",
    "build_report",
    "write_report",
    "make_report",
    "DEFAULT_REFERENCE",
    "report_sections",
    "ensemble_file_sections",
]
