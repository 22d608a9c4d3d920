"""The monthly SLA report as a PDF document customers keep (issue #17), drawn by WeasyPrint.

WeasyPrint lays out HTML and CSS on paper with Pango (system libraries Debian ships; see
``.ci/system-packages`` and the Dockerfile) and draws the charts' SVG as vectors, so the PDF
carries the same figures and the same pygal charts as the page: one template, the report's
partials, no browser. Nothing is fetched while rendering (``url_fetcher`` refuses).
"""

from __future__ import annotations

import html as html_lib
import re
from typing import TYPE_CHECKING, Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString

from .charts import Link, dashboard_charts
from .dashboard import Period, TicketFilters, dashboard_build

if TYPE_CHECKING:  # services attaches the PDF to the monthly mail: it imports this module
    from .services import SLAReport


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"the report document fetches nothing ({url})")


def report_figures(*, report: SLAReport) -> list[SafeString]:
    """The dashboard's charts (SVG, in the active language) for ``report``'s month and
    organisation, without drill-down links: what the PDF and the mail show."""
    dashboard = dashboard_build(
        tenant=report.tenant,
        period=Period.month(report.month),
        filters=TicketFilters(organisation=report.organisation),
        now=timezone.now(),
    )
    nowhere: Link = lambda **_changes: "#"  # noqa: E731 (paper and mail have no drill-down)
    return [svg for svg, _url in dashboard_charts(dashboard, nowhere)]


def report_pdf(*, report: SLAReport, figures: list[SafeString] | None = None) -> bytes:
    """``report`` as a PDF in the active language: the figures per organisation, the plan's
    promises and each ticket's outcome (one organisation's report), and the charts of the
    dashboard for the same month and organisation (``figures``, drawn here when not given).
    Caller holds the tenant scope."""
    html = render_to_string(
        "reports/report_document.html",
        {
            "report": report,
            "tenant": report.tenant,
            "figures": report_figures(report=report) if figures is None else figures,
        },
    )
    # Imported here: it loads Pango and its fonts, needed only when a PDF is made.
    import weasyprint

    return weasyprint.HTML(string=html, url_fetcher=_no_fetch).write_pdf()  # type: ignore[no-any-return]


def chart_png(svg: str) -> bytes:
    """One chart as a PNG for mail clients, most of which show no inline SVG (Gmail and
    Outlook drop it). cairosvg is the converter pygal itself uses for PNG; it draws with
    Cairo (a Debian library, ``.ci/system-packages``), twice the size for sharp screens."""
    # Imported here: it loads Cairo, needed only when a report mail is made.
    import cairosvg

    return cairosvg.svg2png(bytestring=svg.encode(), scale=2)  # type: ignore[no-any-return]


def chart_title(svg: str) -> str:
    """The chart's title as pygal wrote it (its ``<title>``), for the image's alt text."""
    found = re.search(r"<title>(.*?)</title>", svg, re.S)
    return html_lib.unescape(found[1]).strip() if found else ""
