"""Tenant admins edit calendars (JSON with field-named errors and a preview), policies'
target grids, priorities and escalation rules; every edit is logged and recomputes clocks."""

from __future__ import annotations

import json

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope

from sla.models import Calendar, Clock, EscalationRule, Metric, Priority, SLATarget
from supportdesk.celery import app as celery_app
from supportdesk.models import AuditEvent
from tests.conftest import Cast, client_for
from tests.tickets.conftest import OFFICE, Desk, at, build_desk
from tickets.choices import Channel
from tickets.services import ticket_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(cast: Cast) -> Desk:
    celery_app.conf.task_always_eager = True
    return build_desk(cast)


def _calendar_post(config: object, **extra: object) -> dict[str, object]:
    text = config if isinstance(config, str) else json.dumps(config)
    return {"name": "Office", "is_default": "on", "config": text, **extra}


def test_a_bad_calendar_is_refused_with_the_field_named_and_nothing_saved(
    cast: Cast, desk: Desk
) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    url = reverse("sla:calendar", args=[desk.office.pk])
    broken = client.post(url, _calendar_post('{"timezone": "Europe/Stockholm",'))
    assert "Not valid JSON at line 1" in broken.content.decode()
    bad_hours = {**OFFICE, "week": {"mon": ["8-12"]}}
    refused = client.post(url, _calendar_post(bad_hours))
    assert "week.mon[0]: malformed interval" in refused.content.decode()
    with scope(tenant=cast.tenant_a):
        assert Calendar.objects.get(pk=desk.office.pk).config == OFFICE
        assert not AuditEvent.objects.exists()


@time_machine.travel(at(2026, 3, 2, 9, 0), tick=False)
def test_the_preview_shows_when_a_ticket_filed_now_would_be_due_without_saving(
    cast: Cast, desk: Desk
) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    url = reverse("sla:calendar", args=[desk.office.pk])
    shorter = {**OFFICE, "week": {d: ["08:00-10:00"] for d in ("mon", "tue", "wed", "thu", "fri")}}
    page = client.post(url, _calendar_post(shorter, preview="1")).content.decode()
    assert "Preview of your edit" in page
    assert "A ticket filed now" in page
    assert "Wednesday 4 March 2026 09:00" in page  # 4 h: 1 h Monday, 2 h Tuesday, 1 h Wednesday
    assert "Good Friday" in page or "Långfredagen" in page  # upcoming closed days
    with scope(tenant=cast.tenant_a):
        assert Calendar.objects.get(pk=desk.office.pk).config == OFFICE


def test_saving_a_calendar_recomputes_the_clocks_and_logs_the_edit(cast: Cast, desk: Desk) -> None:
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False):
        with scope(tenant=cast.tenant_a):
            ticket = ticket_create(
                tenant=cast.tenant_a,
                requester=cast.customer_contact,
                subject="x",
                description="",
                channel=Channel.EMAIL,
            )
        client = client_for(cast.admin, cast.tenant_a)
        shorter = {
            **OFFICE,
            "week": {d: ["08:00-10:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        }
        response = client.post(
            reverse("sla:calendar", args=[desk.office.pk]), _calendar_post(shorter)
        )
    assert response.status_code == 302
    with scope(tenant=cast.tenant_a):
        clock = Clock.objects.get(ticket=ticket, metric=Metric.FIRST_RESPONSE)
        event = AuditEvent.objects.get()
    assert clock.due_at == at(2026, 3, 4, 9, 0)  # 1 h Mon, 2 h Tue, 1 h Wed
    assert (event.object_type, event.actor, event.changes["clocks_recomputed"]) == (
        "sla.calendar",
        cast.admin,
        [None, 2],
    )


def test_the_policy_grid_sets_targets_per_priority_and_removes_empty_ones(
    cast: Cast, desk: Desk
) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    data = {
        "name": "Standard",
        "description": "",
        "calendar": desk.office.pk,
        "first_response-all-amount": "3",
        "first_response-all-unit": "hours",
        f"first_response-{desk.p1.pk}-amount": "30",
        f"first_response-{desk.p1.pk}-unit": "minutes",
        f"first_response-{desk.p1.pk}-calendar": desk.always.pk,
    }
    response = client.post(reverse("sla:policy", args=[desk.policy.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    with scope(tenant=cast.tenant_a):
        targets = {
            (t.metric, t.priority_id): (t.amount, t.unit, t.calendar_id)
            for t in SLATarget.objects.all()
        }
    assert targets == {
        (Metric.FIRST_RESPONSE, None): (3, "hours", None),
        (Metric.FIRST_RESPONSE, desk.p1.pk): (30, "minutes", desk.always.pk),
    }


def _grid_of(desk: Desk) -> dict[str, object]:
    """The policy page's form as the browser sends it, unchanged."""
    data: dict[str, object] = {"name": "Standard", "description": "", "calendar": desk.office.pk}
    with scope(tenant=desk.policy.tenant):
        for t in SLATarget.objects.all():
            prefix = f"{t.metric}-{t.priority_id or 'all'}"
            data[f"{prefix}-amount"] = str(t.amount)
            data[f"{prefix}-unit"] = t.unit
            data[f"{prefix}-calendar"] = t.calendar_id or ""
    return data


def test_a_policy_saved_unchanged_or_with_a_new_description_or_a_target_cleared_is_saved(
    cast: Cast, desk: Desk
) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    url = reverse("sla:policy", args=[desk.policy.pk])
    with scope(tenant=cast.tenant_a):
        ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Clocks to recompute",
            description="x",
            channel=Channel.PORTAL,
        )
    unchanged = client.post(url, _grid_of(desk))
    assert unchanged.status_code == 302
    with scope(tenant=cast.tenant_a):
        assert not AuditEvent.objects.exists()
    described = client.post(url, {**_grid_of(desk), "description": "Office hours"})
    assert described.status_code == 302
    cleared = client.post(
        url, {**_grid_of(desk), "description": "Office hours", "resolution-all-amount": ""}
    )
    assert cleared.status_code == 302
    with scope(tenant=cast.tenant_a):
        assert not SLATarget.objects.filter(metric=Metric.RESOLUTION, priority=None).exists()
        assert not Clock.objects.filter(metric=Metric.RESOLUTION).exists()
        assert AuditEvent.objects.count() == 2


def test_priorities_and_rules_are_created_with_clear_errors(cast: Cast, desk: Desk) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    duplicate = client.post(reverse("sla:priority-new"), {"key": "P1", "name": "Again", "rank": 9})
    assert "A priority with this key already exists." in duplicate.content.decode()
    created = client.post(
        reverse("sla:priority-new"),
        {"key": "P4", "name": "Low", "rank": 4, "definition": "Can wait", "examples": "Typos"},
    )
    assert created.status_code == 302
    rule = client.post(
        reverse("sla:rule-new"),
        {
            "name": "Warn",
            "metric": Metric.FIRST_RESPONSE,
            "threshold_percent": 80,
            "notify_assignee": "on",
            "notify_users": [cast.agent.pk],
            "is_active": "on",
        },
    )
    assert rule.status_code == 302
    with scope(tenant=cast.tenant_a):
        assert Priority.objects.get(key="P4").definition == "Can wait"
        saved = EscalationRule.objects.get()
        assert list(saved.notify_users.all()) == [cast.agent]
    index = client.get(reverse("sla:index")).content.decode()
    assert "P4 Low" in index and "Warn" in index


@pytest.mark.parametrize("role", ["agent", "manager", "customer"])
def test_only_admins_reach_the_sla_settings(cast: Cast, desk: Desk, role: str) -> None:
    client = client_for(getattr(cast, role), cast.tenant_a)
    assert client.get(reverse("sla:index")).status_code == 404
    assert client.get(reverse("sla:calendar", args=[desk.office.pk])).status_code == 404


def test_the_sla_api_lists_policies_with_targets_in_constant_queries(
    cast: Cast, desk: Desk, django_assert_max_num_queries: object
) -> None:
    from tests.conftest import api_client_for

    client = api_client_for(cast.agent, cast.tenant_a)
    with django_assert_max_num_queries(10):  # type: ignore[operator]
        policies = client.get("/api/v1/sla/policies/").json()
    assert policies[0]["name"] == "Standard"
    assert {t["promise"] for t in policies[0]["targets"]} >= {"within 4 business hours"}
    priorities = client.get("/api/v1/sla/priorities/").json()
    assert [p["key"] for p in priorities] == ["P1", "P2", "P3"]
    denied = client.put(
        f"/api/v1/sla/calendars/{desk.office.pk}/",
        json.dumps({"name": "x", "config": OFFICE}),
        content_type="application/json",
    )
    assert denied.status_code in (403, 404)


def test_an_admin_replaces_a_calendar_through_the_api_with_validation(
    cast: Cast, desk: Desk
) -> None:
    from tests.conftest import api_client_for

    client = api_client_for(cast.admin, cast.tenant_a)
    url = f"/api/v1/sla/calendars/{desk.office.pk}/"
    bad = client.put(
        url,
        json.dumps({"name": "Office", "config": {"timezone": "Mars/Base"}}),
        content_type="application/json",
    )
    assert bad.status_code == 400 and "timezone" in json.dumps(bad.json())
    ok = client.put(
        url,
        json.dumps(
            {
                "name": "Office",
                "config": {**OFFICE, "eve_hours": ["08:00-13:00"]},
                "is_default": True,
            }
        ),
        content_type="application/json",
    )
    assert ok.status_code == 200 and ok.json()["config"]["eve_hours"] == ["08:00-13:00"]
