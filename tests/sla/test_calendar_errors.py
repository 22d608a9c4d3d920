"""The calendar engine's refusals reach people in their language.

``sla/calendar.py`` stays pure: it raises ``CalendarError`` with a code and parameters beside
the English text, and ``sla/calendar_errors.py`` words every code with gettext. Generated
over every code of the engine's table.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from django_scopes import scope

from sla import calendar as engine
from sla.calendar_errors import MESSAGES, calendar_error
from sla.forms import CalendarForm
from sla.models import Calendar, EscalationRule, Priority
from sla.services import calendar_create
from tests.conftest import Cast, client_for

CODES = sorted(engine.MESSAGES)
PLACEHOLDER = re.compile(r"%\((\w+)\)([rsd])")


def _params(template: str) -> dict[str, Any]:
    """Made-up values for the template's placeholders, of the kind each one formats."""
    return {
        name: {"r": "x", "s": "week.mon[0]", "d": 7}[kind]
        for name, kind in PLACEHOLDER.findall(template)
    }


def _raised_codes() -> set[str]:
    """The codes of every ``CalendarError(...)`` the engine's source raises."""
    tree = ast.parse(Path(engine.__file__).read_text(encoding="utf-8"))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "CalendarError"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


def test_the_engine_raises_only_codes_of_its_table_and_every_one_of_them() -> None:
    assert _raised_codes() == set(engine.MESSAGES)
    assert len(CODES) >= 40


def test_every_engine_code_is_worded_for_people() -> None:
    assert set(MESSAGES) == set(engine.MESSAGES)


@pytest.mark.parametrize("code", CODES)
def test_the_english_wording_is_the_engines_own(code: str) -> None:
    with translation.override("en"):
        assert str(MESSAGES[code]) == engine.MESSAGES[code]


@pytest.mark.parametrize("language", ["sv", "nl"])
@pytest.mark.parametrize("code", CODES)
def test_the_message_is_translated_and_keeps_its_placeholders(code: str, language: str) -> None:
    english = engine.MESSAGES[code]
    with translation.override(language):
        text = str(MESSAGES[code])
    assert text != english
    assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(english))
    params = _params(english)
    with translation.override(language):
        worded = calendar_error(engine.CalendarError(code, **params)).messages
    assert worded == [text % params]


def test_an_error_from_the_engine_carries_its_code_and_values_beside_the_english() -> None:
    with pytest.raises(engine.CalendarError) as raised:
        engine.BusinessCalendar.from_dict(
            {"timezone": "Europe/Stockholm", "week": {"mon": ["8-12"]}}
        )
    assert raised.value.code == "interval.malformed"
    assert raised.value.params == {"field": "week.mon[0]", "value": "8-12"}
    assert str(raised.value) == "week.mon[0]: malformed interval '8-12', expected 'HH:MM-HH:MM'"
    assert isinstance(raised.value, ValueError)


def test_a_plain_value_error_keeps_its_text() -> None:
    with translation.override("sv"):
        assert calendar_error(ValueError("odd")).messages == ["odd"]


BAD_ZONE = {"timezone": "Europe/Stokholm", "week": {"mon": ["08:00-17:00"]}}


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("sv", "timezone: okänd tidszon 'Europe/Stokholm'"),
        ("nl", "timezone: onbekende tijdzone 'Europe/Stokholm'"),
        ("en", "timezone: unknown time zone 'Europe/Stokholm'"),
    ],
)
def test_the_calendar_form_words_a_bad_time_zone_in_the_readers_language(
    language: str, expected: str
) -> None:
    with translation.override(language):
        form = CalendarForm(data={"name": "Kontor", "config": json.dumps(BAD_ZONE)})
        assert not form.is_valid()
        assert form.errors["config"] == [expected]


@pytest.mark.django_db
def test_a_swedish_admin_page_shows_the_calendar_error_in_swedish(cast: Cast) -> None:
    cast.admin.language = "sv"
    cast.admin.save(update_fields=["language"])
    client = client_for(cast.admin, cast.tenant_a)
    page = client.post(
        reverse("sla:calendar-new"),
        {"name": "Kontor", "config": json.dumps(BAD_ZONE)},
    ).content.decode()
    assert "timezone: okänd tidszon &#x27;Europe/Stokholm&#x27;" in page
    assert "unknown time zone" not in page
    with scope(tenant=cast.tenant_a):
        assert not Calendar.objects.filter(name="Kontor").exists()


@pytest.mark.django_db
def test_the_service_refuses_a_bad_time_zone_in_the_readers_language(cast: Cast) -> None:
    """The API and other callers of the service get the same words as the page."""
    with scope(tenant=cast.tenant_a), translation.override("nl"):
        with pytest.raises(ValidationError) as refused:
            calendar_create(
                tenant=cast.tenant_a, name="Kantoor", config=BAD_ZONE, is_default=False, actor=None
            )
        assert refused.value.message_dict == {
            "config": ["timezone: onbekende tijdzone 'Europe/Stokholm'"]
        }


@pytest.mark.parametrize(
    ("model", "sv", "nl"),
    [
        (Calendar, ("kalender", "kalendrar"), ("kalender", "kalenders")),
        (Priority, ("prioritet", "prioriteter"), ("prioriteit", "prioriteiten")),
        (
            EscalationRule,
            ("eskaleringsregel", "eskaleringsregler"),
            ("escalatieregel", "escalatieregels"),
        ),
    ],
)
def test_the_sla_models_name_themselves_in_the_readers_language(
    model: Any, sv: tuple[str, str], nl: tuple[str, str]
) -> None:
    """The audit trail names an edited object by its model's verbose name."""
    for language, (one, many) in (("sv", sv), ("nl", nl)):
        with translation.override(language):
            assert (str(model._meta.verbose_name), str(model._meta.verbose_name_plural)) == (
                one,
                many,
            )
