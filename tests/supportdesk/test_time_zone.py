"""A tenant's time zone is an IANA name; anything else is refused when it is entered, not
when a due time is first computed in it (ZoneInfoNotFoundError)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from supportdesk.models import Tenant, validate_time_zone


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
