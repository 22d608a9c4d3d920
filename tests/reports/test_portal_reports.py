"""The customer downloads their organisation's monthly SLA report as PDF from the portal
(issue #17): named contacts of an organisation whose plan has monthly reports, closed months
only, their own organisation's figures only; anyone else 404."""

from __future__ import annotations

import io
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope
from pypdf import PdfReader

from contracts.models import NamedContact
from tests.conftest import Cast, client_for
from tests.reports.test_monthly_report import _ticket, desk, entitle, october  # noqa: F401
from tests.tickets.conftest import Desk, at

NOVEMBER_20 = at(2026, 11, 20, 12)
LIST, PDF = reverse("reports:portal"), reverse("reports:portal-pdf")


@pytest.fixture
def entitled(cast: Cast, desk: Desk) -> None:  # noqa: F811
    entitle(cast, desk)


def _get(cast: Cast, who: str, url: str, params: dict[str, Any] | None = None) -> Any:
    with time_machine.travel(NOVEMBER_20, tick=False):
        return client_for(getattr(cast, who), cast.tenant_a).get(url, params or {})


def test_a_named_contact_lists_the_closed_months_and_downloads_one(
    cast: Cast,
    entitled: None,
    october: None,  # noqa: F811
) -> None:
    contract = _get(cast, "named", reverse("portal:contract")).content.decode()
    assert f'href="{LIST}"' in contract
    page = _get(cast, "named", LIST).content.decode()
    assert f"{PDF}?month=2026-10" in page and f"{PDF}?month=2025-11" in page
    assert "month=2026-11" not in page  # the month is not over
    response = _get(cast, "named", PDF, {"month": "2026-10"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    assert "Org A" in text and "Late incident" in text


def test_the_month_still_running_and_a_bad_month_are_refused_with_the_reason(
    cast: Cast, entitled: None
) -> None:
    running = _get(cast, "named", PDF, {"month": "2026-11"})
    assert running.status_code == 400 and b"once the month is over" in running.content
    assert _get(cast, "named", PDF, {"month": "2026-13"}).status_code == 400


@pytest.mark.parametrize("who", ["customer", "agent", "manager"])
def test_anyone_but_a_named_contact_gets_404(cast: Cast, entitled: None, who: str) -> None:
    # Carla (customer) is of the same organisation but not named on its contract.
    assert _get(cast, who, LIST).status_code == 404
    assert _get(cast, who, PDF, {"month": "2026-10"}).status_code == 404
    if who == "customer":
        assert f'href="{LIST}"' not in _get(cast, who, reverse("portal:contract")).content.decode()


def test_without_the_feature_even_a_named_contact_gets_404(cast: Cast, desk: Desk) -> None:  # noqa: F811
    with scope(tenant=cast.tenant_a):
        NamedContact.objects.create(
            tenant=cast.tenant_a, contract=desk.contract, contact=cast.named_contact
        )
    assert _get(cast, "named", LIST).status_code == 404
    assert _get(cast, "named", PDF, {"month": "2026-10"}).status_code == 404
