"""The monthly SLA report as a PDF document customers keep (issue #17), drawn by WeasyPrint.

WeasyPrint lays out HTML and CSS on paper with Pango (system libraries Debian ships; see
``.ci/system-packages`` and the Dockerfile) and draws the charts' SVG as vectors, so the PDF
carries the same figures and the same pygal charts as the page: one template, the report's
partials, no browser. Nothing is fetched while rendering (``url_fetcher`` refuses).
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from .charts import Link, dashboard_charts
from .dashboard import Period, TicketFilters, dashboard_build
from .services import SLAReport


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"the report document fetches nothing ({url})")


def report_pdf(*, report: SLAReport) -> bytes:
    """``report`` as a PDF in the active language: the figures per organisation, the plan's
    promises and each ticket's outcome (one organisation's report), and the charts of the
    dashboard for the same month and organisation. Caller holds the tenant scope."""
    dashboard = dashboard_build(
        tenant=report.tenant,
        period=Period.month(report.month),
        filters=TicketFilters(organisation=report.organisation),
        now=timezone.now(),
    )
    nowhere: Link = lambda **_changes: "#"  # noqa: E731 (paper has no drill-down)
    html = render_to_string(
        "reports/report_document.html",
        {
            "report": report,
            "tenant": report.tenant,
            "figures": [svg for svg, _url in dashboard_charts(dashboard, nowhere)],
        },
    )
    # Imported here: it loads Pango and its fonts, needed only when a PDF is made.
    import weasyprint

    return weasyprint.HTML(string=html, url_fetcher=_no_fetch).write_pdf()  # type: ignore[no-any-return]
