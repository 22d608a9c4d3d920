"""The calendar editor's preview is live (#16 item 15): typing in a field redraws the week,
the closed days and the deadlines beside the form, nothing saved; a bad value lists its
error there instead of a preview of the saved calendar."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from sla.models import Calendar
from tests.conftest import Cast
from tests.portal.conftest import Desk

pytestmark = pytest.mark.browser


def test_typing_in_a_field_previews_the_edit_without_saving(
    cast: Cast, desk: Desk, open_session: Any
) -> None:
    with scope(tenant=cast.tenant_a):
        saved = Calendar.objects.get(pk=desk.calendar.pk).config
    page = open_session("a-admin").go(f"/manage/sla/calendars/{desk.calendar.pk}/")
    effect = page.locator("#calendar-effect")
    week = effect.get_by_role("region", name="Weekly hours")
    saturday = week.get_by_role("row", name=re.compile(r"^Sat\b"))
    expect(saturday).to_contain_text("closed")
    page.locator("#id_sat").fill("10:00-14:00")
    expect(saturday).to_contain_text("10:00–14:00")  # no button pressed
    expect(effect).to_contain_text("Preview of your edit: nothing is saved yet.")

    page.locator("#id_mon").fill("25:00-26:00")
    expect(effect).to_contain_text("Correct these to see the preview of your edit:")
    expect(effect).not_to_contain_text("nothing is saved yet")  # no preview shown
    expect(effect.locator("#calendar-errors")).to_contain_text("Monday")
    expect(week).to_have_count(0)
    with scope(tenant=cast.tenant_a):
        assert Calendar.objects.get(pk=desk.calendar.pk).config == saved
