"""Issue #17: one organisation's month reads the same in every place it is shown: the
monthly report page, the dashboard, the mail (text and HTML), its PDF, the CSV and the API.

Each surface's figures are read back from what it delivers (the page's HTML, the mail's
body, the PDF's text, the CSV's cells, the API's JSON), not from the objects behind it, and
compared as one tuple, so a surface that counted differently or dropped a figure fails.
"""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
from typing import Any

import pytest
import time_machine
from django.core import mail
from django_scopes import scope
from pypdf import PdfReader

from reports.services import sla_reports_send
from sla.metrics import METRICS
from tests.conftest import Cast, api_client_for, client_for
from tests.reports.test_monthly_report import OCTOBER, eager_celery, entitle  # noqa: F401
from tests.tickets.conftest import Desk, at, build_desk
from tickets.choices import Channel, Rating, Status
from tickets.models import PostIncidentReview, ReviewStatus, SatisfactionRating, Ticket
from tickets.services import ticket_change_status, ticket_create, ticket_reply

NOVEMBER_1 = at(2026, 11, 1, 6)
"""When the worker sends October's reports, and when every other surface is read."""

Figures = tuple[object, ...]


@pytest.fixture
def month(cast: Cast) -> Desk:
    """October for Org A, like the demo's month: a question and incidents answered on
    time, late and not at all, solved on time and late, ratings good and bad, reviews done
    and overdue, and a November ticket that must not count."""
    desk = build_desk(cast)
    tenant = cast.tenant_a

    def ticket(subject: str, category: str, received: Any, reply: Any = None) -> Ticket:
        with time_machine.travel(received, tick=False), scope(tenant=tenant):
            made = ticket_create(
                tenant=tenant,
                requester=cast.customer_contact,
                subject=subject,
                description="x",
                channel=Channel.PORTAL,
                category=category,
                priority=desk.p3,
            )
        if reply is not None:
            with time_machine.travel(reply, tick=False), scope(tenant=tenant):
                ticket_reply(
                    ticket=made, body="Answer", public=True, channel=Channel.PORTAL,
                    author=cast.agent,
                )  # fmt: skip
        return made

    solved = ticket("Solved question", "question", at(2026, 10, 5, 9), at(2026, 10, 5, 10))
    late = ticket("Late incident", "incident", at(2026, 10, 6, 9), at(2026, 10, 7, 9))
    open_ = ticket("Unanswered incident", "incident", at(2026, 10, 20, 9))
    slow = ticket("Slow incident", "incident", at(2026, 10, 12, 9), at(2026, 10, 12, 9, 30))
    ticket("November question", "question", at(2026, 11, 2, 9), at(2026, 11, 2, 9, 30))
    # The question is solved within the hour, the slow incident after four working days.
    for done, when in ((solved, at(2026, 10, 5, 11)), (slow, at(2026, 10, 16, 12))):
        with time_machine.travel(when, tick=False), scope(tenant=tenant):
            ticket_change_status(
                ticket=done, status=Status.SOLVED, actor=cast.agent, channel=Channel.PORTAL
            )
    with scope(tenant=tenant):
        for rated, rating in ((solved, Rating.GOOD), (late, Rating.BAD), (slow, Rating.GOOD)):
            SatisfactionRating.objects.create(tenant=tenant, ticket=rated, rating=rating)
        for reviewed, status, due in (
            (late, ReviewStatus.DONE, at(2026, 10, 9, 12)),
            (slow, ReviewStatus.DONE, at(2026, 10, 21, 12)),
            (open_, ReviewStatus.DRAFT, at(2026, 10, 28, 12)),  # overdue on 1 November
        ):
            PostIncidentReview.objects.create(
                tenant=tenant, ticket=reviewed, status=status, due_at=due, warn_at=due
            )
    entitle(cast, desk)
    return desk


def _figures(
    received: object, questions: object, incidents: object, other: object, solved: object,
    outcomes: list[tuple[int, int]], rated: tuple[int, int], reviews: tuple[int, int],
) -> Figures:  # fmt: skip
    """(received, questions, incidents, other, solved, (met, measured) per metric,
    (good, rated), (reviews done, overdue)), all as integers."""
    counts = tuple(int(str(n)) for n in (received, questions, incidents, other, solved))
    return (*counts, tuple(outcomes), rated, reviews)


def _share(cell: str) -> tuple[int, int]:
    """A cell "33 % (1/3)" as (1, 3); "—" (nothing measured) as (0, 0)."""
    found = re.search(r"\((\d+)/(\d+)\)", cell)
    return (int(found[1]), int(found[2])) if found else (0, 0)


SHARE = r"(?:—|\d+ % \(\d+/\d+\))"
ROW = re.compile(
    r"(?P<counts>(?:\d+ ){5})"
    + rf"(?P<shares>(?:{SHARE} ){{{len(METRICS) + 1}}})"
    + r"(?P<done>\d+) / (?P<overdue>\d+)"
)


def _table_row(text: str, label: str) -> Figures:
    """The figures of ``label``'s row of the report table (templates/reports/_table.html),
    read from the text of a page or a PDF with spaces normalized."""
    found = ROW.search(text, text.index(f"{label} "))
    assert found is not None, text[:3000]
    counts = found["counts"].split()
    shares = [_share(s) for s in re.findall(SHARE, found["shares"])]
    return _figures(*counts, shares[:-1], shares[-1], (int(found["done"]), int(found["overdue"])))


def _plain(markup: str) -> str:
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", markup))
    return re.sub(r"\s+", " ", text)


def _pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    pages = PdfReader(io.BytesIO(content)).pages
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pages))


def _mail_text(body: str) -> Figures:
    """The figures of the mail's text part (templates/reports/mail.txt)."""

    def line(label: str) -> str:
        found = re.search(rf"^\s*{re.escape(label)}: (.*)$", body, re.M)
        assert found is not None, body
        return found[1]

    reviews = re.fullmatch(r"(\d+), overdue: (\d+)", line("Post-incident reviews done"))
    assert reviews is not None
    return _figures(
        line("Tickets received"), line("Questions"), line("Incidents"), line("Other"),
        line("Solved"), [_share(line(str(rule.met_label))) for rule in METRICS.values()],
        _share(line("Rated good")), (int(reviews[1]), int(reviews[2])),
    )  # fmt: skip


def _csv_row(content: bytes, label: str) -> Figures:
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    row = next(r for r in rows if r["Organisation"] == label)

    def share(met: str, missed: str) -> tuple[int, int]:
        return (int(met or 0), int(met or 0) + int(missed or 0))

    return _figures(
        row["Received"], row["Questions"], row["Incidents"], row["Other"], row["Solved"],
        [
            share(row[f"{rule.label}: met"], row[f"{rule.label}: missed"])
            for rule in METRICS.values()
        ],
        share(row["Rated good"], row["Rated bad"]),
        (int(row["Reviews done"]), int(row["Reviews overdue"])),
    )  # fmt: skip


def _api_row(row: dict[str, Any]) -> Figures:
    return _figures(
        row["received"], row["questions"], row["incidents"], row["other"], row["solved"],
        [(o["met"], o["met"] + o["missed"]) for o in row["outcomes"]],
        (row["rated_good"], row["rated_good"] + row["rated_bad"]),
        (row["reviews_done"], row["reviews_overdue"]),
    )  # fmt: skip


def _dashboard(page: str) -> list[tuple[int, int]]:
    """(met, measured) per metric from the dashboard's "Targets met in" table."""
    table = page[page.index('id="totals-heading"') :]
    shares = []
    for rule in METRICS.values():
        found = re.search(
            rf'<th scope="row">{re.escape(str(rule.met_label))}</th><td>(\d+)</td><td>(\d+)</td>',
            table,
        )
        assert found is not None, rule.key
        shares.append((int(found[1]), int(found[1]) + int(found[2])))
    return shares


def test_one_organisations_month_agrees_in_web_mail_pdf_csv_and_api(
    cast: Cast,
    month: Desk,
    django_capture_on_commit_callbacks: Any,
) -> None:
    org, tenant = cast.org_a, cast.tenant_a
    params = {"month": "2026-10", "organisation": org.pk}
    with scope(tenant=tenant), time_machine.travel(NOVEMBER_1, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            sla_reports_send(tenant=tenant, month=OCTOBER)
        manager = client_for(cast.manager, tenant)
        page = manager.get("/reports/monthly/", params)
        pdf = manager.get("/reports/monthly/report.pdf", params)
        sheet = manager.get("/reports/export.csv", params)
        dashboard = manager.get("/reports/", {"period": "month", **params})
        api = api_client_for(cast.manager, tenant).get("/api/v1/reports/sla/", params)
    assert {r.status_code for r in (page, pdf, sheet, dashboard, api)} == {200}
    (message,) = [m for m in mail.outbox if m.to == [cast.named_contact.email]]
    ((html, _type),) = message.alternatives
    ((_name, attached, _mimetype),) = [a for a in message.attachments if isinstance(a, tuple)]
    data = api.json()
    assert data["organisation_id"] == org.pk

    # Every figure differs from the others it could be swapped with.
    decided = {
        # Answered on time: the question and the slow incident; the late incident was
        # answered the next day, the unanswered one is past its 4 business hours.
        "first_response": (2, 4),
        # Solved within 2 working days: the question; the other three are past due.
        "resolution": (1, 4),
    }  # no customer message after a reply (next reply), no update target (periodic)
    expected = _figures(
        4, 1, 3, 0, 2,  # received: a question and three incidents; two solved
        [decided.get(key, (0, 0)) for key in METRICS],  # (met, measured), the registry's order
        (2, 3),  # ratings: two good of three
        (2, 1),  # reviews: two done, one draft past due
    )  # fmt: skip
    surfaces = {
        "web page": _table_row(_plain(page.content.decode()), org.name),
        "mail text": _mail_text(message.body),
        "mail html": _table_row(_plain(html), org.name),
        "mail pdf": _table_row(_pdf_text(attached), org.name),
        "pdf download": _table_row(_pdf_text(pdf.content), org.name),
        "csv": _csv_row(sheet.content, org.name),
        "api": _api_row(data["total"]),
        "api row": _api_row(data["rows"][0]),
    }
    assert surfaces == dict.fromkeys(surfaces, expected)
    # The dashboard for the month and the organisation: the same SLA outcomes, ratings and
    # reviews (its charts are drawn from these).
    assert _dashboard(dashboard.content.decode()) == list(expected[5])  # type: ignore[arg-type]
    feedback = dashboard.context["dashboard"].feedback
    good, rated = expected[6]  # type: ignore[misc]
    assert (feedback["good"], feedback["good"] + feedback["bad"]) == (good, rated)
    assert (feedback["done"], feedback["overdue"]) == expected[7]
    # The same charts in the page, the mail (inline PNGs) and the PDF: the new ones too.
    charts = len(dashboard.context["figures"])
    assert len(re.findall(r'src="cid:', html)) == charts
    pdf_text = _pdf_text(attached)
    for title in ("Customer satisfaction", "Post-incident reviews"):
        assert title in pdf_text
    for rule in (METRICS[key] for key in decided):
        assert f"{rule.label}: business time used of the target" in pdf_text
