"""A tenant's time zone is an IANA name; anything else is refused when it is entered, not
when a due time is first computed in it (ZoneInfoNotFoundError). Its pages run in it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.utils import timezone, translation

from supportdesk.models import Tenant, validate_time_zone
from supportdesk.tenancy import TimeZoneMiddleware


@pytest.mark.parametrize("name", ["Europe/Stockholm", "Europe/Brussels", "UTC"])
def test_it_accepts_an_iana_time_zone(name: str) -> None:
    validate_time_zone(name)


@pytest.mark.parametrize("name", ["Europe/Stokholm", "CET+1", "", "../etc/passwd"])
def test_it_refuses_a_name_zoneinfo_does_not_know(name: str) -> None:
    with pytest.raises(ValidationError) as refused:
        validate_time_zone(name)
    assert refused.value.code == "invalid_time_zone"


def test_a_tenant_with_a_misspelt_time_zone_does_not_validate(db: None) -> None:
    tenant = Tenant(slug="misspelt", name="Misspelt", time_zone="Europe/Stokholm")
    with pytest.raises(ValidationError) as refused:
        tenant.full_clean()
    assert list(refused.value.message_dict) == ["time_zone"]


@pytest.mark.parametrize(
    ("language", "words"), [("sv", "Okänd tidszon"), ("nl", "Onbekende tijdzone")]
)
def test_the_refusal_is_translated(language: str, words: str) -> None:
    with translation.override(language):
        with pytest.raises(ValidationError) as refused:
            validate_time_zone("Mars/Olympus")
        assert refused.value.messages[0].startswith(f"{words} Mars/Olympus;")


@pytest.mark.parametrize(
    ("path", "zone"),
    [
        ("/agent/queue/", "Asia/Tokyo"),
        ("/portal/", "Asia/Tokyo"),
        ("/reports/monthly/", "Asia/Tokyo"),
        ("/api/v1/tickets/", "UTC"),  # the API speaks UTC ("Z"), whatever the tenant's zone
    ],
)
def test_a_tenants_pages_run_in_its_time_zone_and_its_api_in_utc(
    path: str, zone: str, db: None
) -> None:
    """Every page, not only those whose template remembered a ``{% timezone %}`` block: a
    review's due time read in UTC on its page was an hour off in Stockholm."""
    seen: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(timezone.get_current_timezone_name())
        return HttpResponse()

    request = RequestFactory().get(path)
    request.tenant = Tenant(slug="tokyo", name="Tokyo", time_zone="Asia/Tokyo")  # type: ignore[attr-defined]
    TimeZoneMiddleware(view)(request)  # type: ignore[arg-type]
    request.tenant = None  # type: ignore[attr-defined]
    TimeZoneMiddleware(view)(request)  # type: ignore[arg-type]
    assert seen == [zone, "UTC"]
    assert timezone.get_current_timezone_name() == "UTC"  # restored after the request
