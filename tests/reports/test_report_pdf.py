"""The monthly SLA report as a PDF (issue #17): WeasyPrint renders the page's figures, the
promises, the per-ticket outcomes and the charts; the numbers are the page's and the CSV's;
the reader's language; managers only; bad input a 400, never a 500."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils.text import slugify
from django_scopes import scope
from pypdf import PdfReader

from contracts.models import Organisation
from supportdesk.models import User
from tests.conftest import Cast, client_for
from tests.reports.test_monthly_report import _ticket, desk, october  # noqa: F401
from tests.tickets.conftest import Desk, at

NOVEMBER_20 = at(2026, 11, 20, 12)
URL = reverse("reports:pdf")


def _get(cast: Cast, params: dict[str, Any], user: User | None = None) -> Any:
    with time_machine.travel(NOVEMBER_20, tick=False):
        return client_for(user or cast.manager, cast.tenant_a).get(URL, params)


def _text(response: Any) -> str:
    assert response["Content-Type"] == "application/pdf", response.content[:200]
    assert response.content.startswith(b"%PDF-")
    pages = PdfReader(io.BytesIO(response.content)).pages
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pages))


def test_one_organisations_pdf_has_its_tickets_and_the_csvs_figures(
    cast: Cast,
    desk: Desk,  # noqa: F811
    october: None,  # noqa: F811
) -> None:
    params = {"month": "2026-10", "organisation": cast.org_a.pk}
    response = _get(cast, params)
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    expected = f"sla-report-2026-10-{slugify(cast.org_a.name)}.pdf"
    assert disposition == f'attachment; filename="{expected}"'
    text = _text(response)
    assert "Monthly SLA report 2026-10" in text and "Org A" in text
    for subject in ("Met question", "Late incident", "Unanswered incident"):
        assert subject in text
    assert "November question" not in text  # received in another month
    with time_machine.travel(NOVEMBER_20, tick=False):
        content = client_for(cast.manager, cast.tenant_a).get(reverse("reports:csv"), params)
    header, org_a, _total = csv.reader(io.StringIO(content.content.decode()))
    row = dict(zip(header, org_a, strict=True))
    assert row["Received"] == "3"
    met, missed = row["First response: met"], row["First response: missed"]
    rate = round(100 * int(met) / (int(met) + int(missed)))
    assert f"{rate} % ({met}/{int(met) + int(missed)})" in text  # the page's cell, on paper
    assert "SLA attainment per month" in text and "Breaches by priority" in text  # the charts


def test_the_pdf_is_in_the_readers_language(
    cast: Cast,
    october: None,  # noqa: F811
) -> None:
    User.objects.filter(pk=cast.manager.pk).update(language="sv")
    text = _text(_get(cast, {"month": "2026-10"}))
    assert "Månatlig SLA-rapport 2026-10" in text
    assert "SLA-uppfyllnad per månad" in text


def test_another_organisations_tickets_are_not_in_the_pdf(
    cast: Cast,
    desk: Desk,  # noqa: F811
    october: None,  # noqa: F811
) -> None:
    with scope(tenant=cast.tenant_a):
        other = Organisation.objects.create(tenant=cast.tenant_a, name="Other Org")
    text = _text(_get(cast, {"month": "2026-10", "organisation": other.pk}))
    assert "Other Org" in text
    assert "Late incident" not in text and "Met question" not in text


@pytest.mark.parametrize(
    ("params", "status"),
    [({"month": "2026-13"}, 400), ({"month": "x"}, 400), ({"organisation": "x"}, 404)],
)
def test_bad_input_is_a_clear_refusal(cast: Cast, params: dict[str, Any], status: int) -> None:
    response = _get(cast, params)
    assert response.status_code == status
    if status == 400:
        assert "month" in response.content.decode().lower()


@pytest.mark.parametrize("who", ["agent", "customer"])
def test_only_managers_and_admins_get_the_pdf(cast: Cast, who: str) -> None:
    assert _get(cast, {"month": "2026-10"}, user=getattr(cast, who)).status_code == 404


def test_the_report_page_links_to_its_pdf(
    cast: Cast,
    october: None,  # noqa: F811
) -> None:
    with time_machine.travel(NOVEMBER_20, tick=False):
        page = client_for(cast.manager, cast.tenant_a).get(
            reverse("reports:show"), {"month": "2026-10"}
        )
    assert f'href="{URL}?month=2026-10"' in page.content.decode()


def test_the_ticket_times_read_in_the_tenants_time_zone_on_the_page_and_on_paper(
    cast: Cast,
    desk: Desk,  # noqa: F811
    october: None,  # noqa: F811
) -> None:
    # "Met question" arrived at 09:00 in Stockholm (07:00 UTC) and was answered at 10:00.
    params = {"month": "2026-10", "organisation": cast.org_a.pk}
    with time_machine.travel(NOVEMBER_20, tick=False):
        page = client_for(cast.manager, cast.tenant_a).get(reverse("reports:show"), params)
    table = page.content.decode().split('id="report-tickets"')[1]
    assert "06/10/2026 09:00" in table and "06/10/2026 07:00" not in table
    text = _text(_get(cast, params))
    assert "06/10/2026 09:00" in text and "06/10/2026 07:00" not in text


def test_a_bad_month_is_refused_in_the_readers_language(cast: Cast) -> None:
    cast.manager.language = "sv"
    cast.manager.save(update_fields=["language"])
    response = _get(cast, {"month": "oktober"})
    assert response.status_code == 400
    assert "Skriv månaden som år och månad, till exempel 2026-10" in response.content.decode()
    assert "oktober" in response.content.decode()
