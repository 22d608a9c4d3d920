"""GET /api/v1/reports/sla/: the monthly SLA report's figures for managers and admins; bad
input a 400 with the reason, another tenant's organisation a 404. Its figures against every
other surface: ``test_report_agreement.py``."""

from __future__ import annotations

from typing import Any

import time_machine

from sla.metrics import METRICS
from tests.conftest import Cast, api_client_for
from tests.reports.test_monthly_report import desk, october  # noqa: F401
from tests.tickets.conftest import at

URL = "/api/v1/reports/sla/"


def _get(cast: Cast, params: dict[str, Any], user: Any = None) -> Any:
    with time_machine.travel(at(2026, 11, 20, 12), tick=False):
        return api_client_for(user or cast.manager, cast.tenant_a).get(URL, params)


def test_it_gives_the_months_figures_per_organisation_and_in_total(
    cast: Cast,
    october: None,  # noqa: F811
) -> None:
    data = _get(cast, {"month": "2026-10"}).json()
    assert data["month"] == "2026-10" and data["organisation_id"] is None
    assert [o["metric"] for o in data["total"]["outcomes"]] == list(METRICS)
    (org,) = data["rows"]
    assert (org["name"], org["received"], org["incidents"]) == ("Org A", 3, 2)
    first = org["outcomes"][0]
    assert (first["met"], first["missed"], round(first["rate"])) == (1, 2, 33)


def test_bad_input_is_a_400_with_the_reason_and_a_foreign_organisation_a_404(
    cast: Cast,
) -> None:
    response = _get(cast, {"month": "October"})
    assert response.status_code == 400
    assert "2026-10" in response.json()["month"][0]
    assert _get(cast, {"organisation": "x"}).status_code == 404
    assert _get(cast, {"organisation": cast.org_b.pk}).status_code == 404
    assert _get(cast, {}, user=cast.agent).status_code in (403, 404)
