"""The calendar as fields (#16 item 15): a week grid, holidays from a list of countries,
closures and other days as rows, the JSON under "Advanced"; errors on the field, and no
preview of the saved calendar after an invalid edit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse
from django_scopes import scope

from sla.forms import CalendarForm
from sla.models import Calendar
from supportdesk.models import AuditEvent
from tests.conftest import Cast, client_for
from tests.tickets.conftest import OFFICE, Desk, build_desk

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(cast: Cast) -> Desk:
    return build_desk(cast)


def _fields(config: dict[str, Any], **changes: str) -> dict[str, Any]:
    """What the page posts: the fields drawn from ``config``, the JSON as it was drawn."""
    text = json.dumps(config, indent=2)
    values = {k: v for k, v in CalendarForm.visual_initial(config).items() if v not in ("", False)}
    return {"name": "Office", "config": text, "config_original": text, **values, **changes}


def _saved(cast: Cast, desk: Desk) -> dict[str, Any]:
    with scope(tenant=cast.tenant_a):
        return Calendar.objects.get(pk=desk.office.pk).config  # type: ignore[no-any-return]


def test_the_page_draws_the_calendar_as_fields(cast: Cast, desk: Desk) -> None:
    page = client_for(cast.admin, cast.tenant_a).get(reverse("sla:calendar", args=[desk.office.pk]))
    form = page.context["form"]
    assert form["mon"].value() == ", ".join(OFFICE["week"]["mon"])
    assert form["holiday_country"].value() == OFFICE["holidays"]["country"]
    assert 'name="config_original"' in page.content.decode()


@pytest.mark.parametrize(
    ("language", "sweden", "netherlands"),
    [
        ("en", "Sweden", "Netherlands"),
        ("sv", "Sverige", "Nederländerna"),
        ("nl", "Zweden", "Nederland"),
    ],
)
def test_the_countries_are_named_in_the_readers_language(
    cast: Cast, desk: Desk, language: str, sweden: str, netherlands: str
) -> None:
    cast.tenant_a.default_language = language
    cast.tenant_a.save()
    page = client_for(cast.admin, cast.tenant_a).get(reverse("sla:calendar", args=[desk.office.pk]))
    choices = dict(page.context["form"].fields["holiday_country"].choices)
    assert (choices["SE"], choices["NL"]) == (f"{sweden} (SE)", f"{netherlands} (NL)")
    names = [name for code, name in choices.items() if code]
    assert names == sorted(names, key=str.casefold)  # by name, in that language


def test_an_edit_in_the_fields_is_saved_over_the_json_keeping_what_the_fields_do_not_show(
    cast: Cast, desk: Desk
) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    url = reverse("sla:calendar", args=[desk.office.pk])
    response = client.post(
        url,
        _fields(
            OFFICE,
            fri="08:00-12:00, 13:00-15:00",
            closures="07-01 07-31 Summer closure",
            overrides="2026-12-30: 09:00-12:00\n2026-12-31: closed",
        ),
    )
    assert response.status_code == 302
    saved = _saved(cast, desk)
    assert saved["week"]["fri"] == ["08:00-12:00", "13:00-15:00"]
    assert saved["week"]["mon"] == OFFICE["week"]["mon"]
    assert saved["closures"] == [{"from": "07-01", "to": "07-31", "name": "Summer closure"}]
    assert saved["overrides"] == {"2026-12-30": ["09:00-12:00"], "2026-12-31": []}
    assert saved["holidays"] == OFFICE["holidays"]  # categories and the rest kept


def test_an_unchanged_form_saves_the_same_configuration(cast: Cast, desk: Desk) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    client.post(reverse("sla:calendar", args=[desk.office.pk]), _fields(OFFICE))
    assert _saved(cast, desk) == OFFICE


def test_an_edit_of_the_json_wins_over_the_fields(cast: Cast, desk: Desk) -> None:
    edited = {**OFFICE, "week": {"mon": ["10:00-11:00"]}}
    post = {**_fields(OFFICE, mon="07:00-08:00"), "config": json.dumps(edited)}
    client_for(cast.admin, cast.tenant_a).post(reverse("sla:calendar", args=[desk.office.pk]), post)
    assert _saved(cast, desk)["week"] == {"mon": ["10:00-11:00"]}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"mon": "8-12"}, "mon", "malformed interval"),
        ({"eve_hours": "13:00-09:00"}, "eve_hours", "end must be after start"),
        ({"closures": "2026-07-31 2026-07-01"}, "closures", "is before"),
        ({"overrides": "2026-13-01: 09:00-10:00"}, "overrides", "bad date"),
        ({"overrides": "tomorrow"}, "overrides", "expected a date, a colon"),
        ({"holiday_country": "XX"}, "holiday_country", "Select a valid choice"),
        ({"timezone": "Mars/Olympus"}, "timezone", "Select a valid choice"),
    ],
)
def test_a_bad_field_gets_its_message_and_no_preview_of_the_saved_calendar(
    cast: Cast, desk: Desk, change: dict[str, str], field: str, message: str
) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    response = client.post(
        reverse("sla:calendar", args=[desk.office.pk]), _fields(OFFICE, **change)
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field])
    assert response.context.get("preview_withheld") is True
    assert "Weekly hours</h2>" not in response.content.decode()  # the saved calendar's preview
    assert _saved(cast, desk) == OFFICE
    with scope(tenant=cast.tenant_a):
        assert not AuditEvent.objects.exists()
