"""A change of what a customer is entitled to moves its open tickets to the policy now in
force: a contract moving to another plan, a plan's policy replaced, a contract suspended,
resumed or expired. Outcomes already reached stay as they were."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django_scopes import scope

from contracts import services as contract_services
from contracts.models import EntitlementChange, SupportPlan
from contracts.services import (
    contract_expire,
    contract_resume,
    contract_save,
    contract_suspend,
    entitlement_changes_replay,
    plan_save,
)
from sla.models import Clock, Metric, SLAPolicy, SLATarget, TargetUnit
from supportdesk.celery import app as celery_app
from tests.conftest import Cast
from tests.sla.test_frozen_outcomes import file_at
from tests.tickets.conftest import Desk, at, build_desk
from tickets.choices import Category
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(cast: Cast) -> Desk:
    celery_app.conf.task_always_eager = True
    return build_desk(cast)


def _silver(cast: Cast, desk: Desk) -> tuple[SLAPolicy, SupportPlan]:
    basic = SLAPolicy.objects.create(tenant=cast.tenant_a, name="Basic", calendar=desk.office)
    SLATarget.objects.create(
        tenant=cast.tenant_a,
        policy=basic,
        metric=Metric.FIRST_RESPONSE,
        amount=8,
        unit=TargetUnit.HOURS,
    )
    silver = SupportPlan.objects.create(
        tenant=cast.tenant_a,
        name="Silver",
        sla_policy=basic,
        included_categories=list(Category.values),
    )
    return basic, silver


def _budget(ticket: Ticket) -> float | None:
    clock = Clock.objects.filter(ticket=ticket, metric=Metric.FIRST_RESPONSE).first()
    return None if clock is None else clock.budget_seconds


def _move_plan(desk: Desk, silver: SupportPlan) -> Callable[[], Any]:
    def move() -> Any:
        desk.contract.plan = silver
        return contract_save(contract=desk.contract, actor=None)

    return move


def test_contract_and_plan_changes_move_open_tickets_to_the_policy_in_force(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    with scope(tenant=cast.tenant_a):
        basic, silver = _silver(cast, desk)
        ticket = file_at(cast, at(2026, 3, 2, 9, 0))
        assert _budget(ticket) == 4 * 3600
        with django_capture_on_commit_callbacks(execute=True):
            _move_plan(desk, silver)()
        ticket.refresh_from_db()
        assert (ticket.sla_policy_id, _budget(ticket)) == (basic.pk, 8 * 3600)
        with django_capture_on_commit_callbacks(execute=True):
            contract_suspend(contract=desk.contract, reason="Unpaid invoices", actor=None)
        ticket.refresh_from_db()
        assert (ticket.sla_policy_id, _budget(ticket)) == (None, None)  # no fallback plan
        with django_capture_on_commit_callbacks(execute=True):
            contract_resume(contract=desk.contract, actor=None)
        ticket.refresh_from_db()
        assert ticket.sla_policy_id == basic.pk
        with django_capture_on_commit_callbacks(execute=True):
            silver.sla_policy = desk.policy
            plan_save(plan=silver)
        ticket.refresh_from_db()
        assert (ticket.sla_policy_id, _budget(ticket)) == (desk.policy.pk, 4 * 3600)
        with django_capture_on_commit_callbacks(execute=True):
            contract_expire(contract=desk.contract)
        ticket.refresh_from_db()
        assert ticket.sla_policy_id is None


def test_a_plan_change_whose_task_was_lost_moves_the_tickets_at_the_next_replay(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    """The broker was away when the contract moved to Silver: the change was recorded with
    it, so the beat replay moves the tickets later, once, and marks the change done."""
    with scope(tenant=cast.tenant_a):
        basic, silver = _silver(cast, desk)
        ticket = file_at(cast, at(2026, 3, 2, 9, 0))
        with time_machine.travel(at(2026, 3, 2, 10, 0), tick=False):
            with django_capture_on_commit_callbacks(execute=False):  # the enqueue is lost
                _move_plan(desk, silver)()
        change = EntitlementChange.objects.get()
        assert (change.organisation_ids, change.done_at) == ([desk.contract.organisation_id], None)
        ticket.refresh_from_db()
        assert ticket.sla_policy_id == desk.policy.pk
    with time_machine.travel(at(2026, 3, 2, 10, 2), tick=False):
        assert entitlement_changes_replay() == 0  # its own task may still be on its way
    with time_machine.travel(at(2026, 3, 2, 10, 6), tick=False):
        assert entitlement_changes_replay() == 1
        assert entitlement_changes_replay() == 0  # done: not handed out again
    with scope(tenant=cast.tenant_a):
        ticket.refresh_from_db()
        assert (ticket.sla_policy_id, _budget(ticket)) == (basic.pk, 8 * 3600)
        change.refresh_from_db()
        assert (change.done_at, change.attempts) == (at(2026, 3, 2, 10, 6), 1)


def test_an_entitlement_change_that_keeps_failing_is_given_up_after_the_last_attempt(
    cast: Cast, desk: Desk, django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    def broken(tenant_id: int, organisation_ids: list[int], change_id: int) -> None:
        raise RuntimeError("listener down")

    monkeypatch.setattr(contract_services, "_entitlement_listeners", [broken])
    with scope(tenant=cast.tenant_a):
        _basic, silver = _silver(cast, desk)
        with time_machine.travel(at(2026, 3, 2, 10, 0), tick=False):
            with django_capture_on_commit_callbacks(execute=True):
                _move_plan(desk, silver)()
    for minute in range(6, 6 + 2 * contract_services.ENTITLEMENT_CHANGE_MAX_ATTEMPTS, 2):
        with time_machine.travel(at(2026, 3, 2, 10, minute), tick=False):
            entitlement_changes_replay()
    with scope(tenant=cast.tenant_a):
        change = EntitlementChange.objects.get()
    assert (change.done_at, change.attempts) == (None, 10)
    assert "last attempt" in caplog.text and "listener down" in caplog.text
