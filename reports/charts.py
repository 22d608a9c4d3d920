"""The dashboard's charts as SVG, drawn on the server with pygal.

pygal is pure Python (no system libraries, no browser): the same SVG goes inline into the
page now and into the monthly mail and its PDF later, and nothing is fetched from a CDN.
It adds a ``<script>`` with its tooltip configuration to every chart; the site's CSP allows
no inline script (docs/security.md), so an XML filter takes it out (``js=[]`` already drops
the script pygal would load from its CDN). Styles stay inline: the CSP allows inline styles.

Each bar or point links to the tickets behind it (pygal's ``xlink`` values).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pygal
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from pygal.style import Style

from contracts.choices import Category, Channel
from sla.metrics import METRICS

from .dashboard import Dashboard, Slice
from .selectors import month_following

STYLE = Style(
    background="transparent",
    plot_background="transparent",
    font_family="system-ui, sans-serif",
    colors=("#1d5fa8", "#c2410c", "#15803d", "#7e22ce", "#a16207", "#0e7490"),
    title_font_size=18,
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=13,
    value_font_size=12,
)

HISTOGRAM_STYLE = Style(
    **{
        **STYLE.to_dict(),
        # The target (100 %) is the histogram's one major vertical guide: drawn solid and dark.
        "major_guide_stroke_color": "#111111",
        "major_guide_stroke_dasharray": "0",
        "colors": ("#15803d", "#c2410c"),
    }
)

Link = Callable[..., str]
"""Makes the drill-down URL of a bar or point from its keyword parameters."""


def _without_scripts(root: Any) -> Any:
    """pygal's XML filter: drop every ``<script>`` (the CSP refuses inline script)."""
    for parent in list(root.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return root


def _chart(kind: type[Any], title: str, **config: Any) -> Any:
    config.setdefault("style", STYLE)
    chart = kind(
        js=[],
        disable_xml_declaration=True,
        title=title,
        height=360,
        legend_at_bottom=True,
        print_values=False,
        no_data_text=_("No data"),
        **config,
    )
    chart.add_xml_filter(_without_scripts)
    return chart


def _svg(chart: Any) -> SafeString:
    # pygal writes labels (organisation names included) as XML text: escaped.
    return mark_safe(chart.render(is_unicode=True))  # noqa: S308


def attainment_chart(dashboard: Dashboard, link: Link) -> SafeString:
    """Share of each metric's targets met, month by month (a line per metric)."""
    chart = _chart(
        pygal.Line,
        _("SLA attainment per month"),
        range=(0, 100),
        y_title="%",
        x_label_rotation=30,
        show_x_guides=False,
    )
    chart.x_labels = [date_format(month, "M Y") for month, _o in dashboard.trend]
    for key, rule in METRICS.items():
        points = []
        for month, outcomes in dashboard.trend:
            rate = outcomes[key].rate
            points.append(
                None
                if rate is None
                else {
                    "value": round(rate, 1),
                    "label": f"{outcomes[key].met}/{outcomes[key].measured}",
                    "xlink": {
                        "href": link(period="month", month=f"{month:%Y-%m}", metric=key, missed=1)
                    },
                }
            )
        chart.add(str(rule.met_label), points)
    return _svg(chart)


def breach_chart(slices: list[Slice], title: str, link: Link, key: str) -> SafeString:
    """Breached targets per slice (a priority or an organisation), a bar per metric."""
    chart = _chart(pygal.Bar, title, x_label_rotation=20 if len(slices) > 4 else 0)
    chart.x_labels = [s.label for s in slices]
    for metric, rule in METRICS.items():
        chart.add(
            rule.label,
            [
                {
                    "value": s.outcomes[metric].missed,
                    "xlink": {"href": link(**{key: s.key or "", "metric": metric, "missed": 1})},
                }
                for s in slices
            ],
        )
    return _svg(chart)


def backlog_chart(dashboard: Dashboard, link: Link) -> SafeString:
    """Open tickets by how long ago they were received."""
    chart = _chart(pygal.Bar, _("Open tickets by age"), show_legend=False)
    chart.x_labels = [str(bucket.label) for bucket, _count in dashboard.backlog]
    chart.add(
        _("Open tickets"),
        [
            {"value": count, "xlink": {"href": link(age=bucket.key)}}
            for bucket, count in dashboard.backlog
        ],
    )
    return _svg(chart)


def volume_chart(dashboard: Dashboard, link: Link) -> SafeString:
    """Tickets received in the period by channel (a bar each), stacked by category; each
    part links to its tickets."""
    channels = list(dict.fromkeys(channel for channel, _category, _count in dashboard.volume))
    counts = {(channel, category): n for channel, category, n in dashboard.volume}
    chart = _chart(pygal.StackedBar, _("Tickets received by channel and category"))
    chart.x_labels = [_label(Channel, channel) for channel in channels]
    for category in dict.fromkeys(
        category for _c, category, _n in sorted(dashboard.volume, key=lambda v: v[1])
    ):
        chart.add(
            _label(Category, category),
            [
                {
                    "value": counts.get((channel, category)),
                    "xlink": {"href": link(channel=channel, category=category)},
                }
                if (channel, category) in counts
                else None
                for channel in channels
            ],
        )
    return _svg(chart)


def duration_chart(dashboard: Dashboard, metric: str, link: Link) -> SafeString:
    """How long one metric's reached targets took, in business time as a share of each
    ticket's own target (priorities promise different times: one scale for all), a bar per
    band; the 100 % line, the target, is the solid guide. Bands within the target and past
    it are two series."""
    rule = METRICS[metric]
    bands = dashboard.durations.get(metric, [])
    # The open last band is drawn as wide as the one before it.
    edges = [band.low for band, _n in bands]
    last_width = (edges[-1] - edges[-2]) if len(edges) > 1 else 100
    chart = _chart(
        pygal.Histogram,
        _("%(metric)s: business time used of the target") % {"metric": rule.label},
        x_title=_("Share of the target used, in percent (100 = the target)"),
        show_x_guides=True,
        show_y_guides=True,
        # The open last band ends at "∞"; 100 is the one major guide (y majors: none but 0).
        x_labels=[*edges, {"label": "∞", "value": edges[-1] + last_width}] if edges else [],
        x_labels_major=[100],
        y_labels_major=[0],
        show_minor_x_labels=True,
        style=HISTOGRAM_STYLE,
    )
    series: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    for band, count in bands:
        high = band.high if band.high is not None else band.low + last_width
        series[band.within].append(
            {
                "value": (count, band.low, high),
                "label": band.label,
                "xlink": {"href": link(metric=metric, band=band.key)},
            }
        )
    if not any(count for _band, count in bands):  # pygal then says "No data", no empty grid
        series = {True: [], False: []}
    chart.add(_("Within the target"), series[True])
    chart.add(_("Past the target"), series[False])
    return _svg(chart)


def feedback_chart(
    dashboard: Dashboard, title: str, keys: dict[str, str], link: Link
) -> SafeString:
    """Counts of the period's tickets by rating, or by post-incident review, a bar each."""
    chart = _chart(pygal.Bar, title, show_legend=False)
    chart.x_labels = list(keys.values())
    if not any(dashboard.feedback.get(key, 0) for key in keys):
        return _svg(chart)  # pygal's "No data", not two bars of nothing on a 0-1 scale
    chart.add(
        title,
        [
            {
                "value": dashboard.feedback.get(key, 0),
                "color": STYLE.colors[2] if key in ("good", "done") else STYLE.colors[1],
                "xlink": {"href": link(feedback=key)},
            }
            for key in keys
        ],
    )
    return _svg(chart)


def _label(choices: Any, value: str) -> str:
    """A choice's label in the reader's language; the raw value for one no longer offered."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def dashboard_charts(dashboard: Dashboard, link: Link) -> list[tuple[SafeString, str]]:
    """Every chart of the dashboard, each with the link to all the tickets behind it."""
    months = [month for month, _outcomes in dashboard.trend]
    trend_range = {
        "period": "range",
        "start": months[0].isoformat(),
        "end": (month_following(months[-1]) - dt.timedelta(days=1)).isoformat(),
    }
    by_priority = breach_chart(dashboard.by_priority, _("Breaches by priority"), link, "priority")
    by_organisation = breach_chart(
        dashboard.by_organisation, _("Breaches by organisation"), link, "organisation"
    )
    return [
        (attainment_chart(dashboard, link), link(missed=1, **trend_range)),
        (by_priority, link(missed=1)),
        (by_organisation, link(missed=1)),
        (backlog_chart(dashboard, link), link(age="all")),
        (volume_chart(dashboard, link), link()),
        *(
            (duration_chart(dashboard, metric, link), link(metric=metric, band="all"))
            for metric in dashboard.durations
        ),
        (
            feedback_chart(
                dashboard,
                _("Customer satisfaction"),
                {"good": _("Rated good"), "bad": _("Rated bad")},
                link,
            ),
            link(feedback="rated"),
        ),
        (
            feedback_chart(
                dashboard,
                _("Post-incident reviews"),
                {"done": _("Review done"), "overdue": _("Review overdue")},
                link,
            ),
            link(feedback="reviewed"),
        ),
    ]
