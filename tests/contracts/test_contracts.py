"""Contracts: dates, one current contract per organisation, suspension, expiry."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction

from contracts import tasks
from contracts.models import Contract, ContractEvent, ContractStatus, SupportPlan
from contracts.services import (
    contract_expire,
    contract_resume,
    contract_save,
    contract_suspend,
    contracts_expire_due,
    entitlement_check,
)
from tests.conftest import Cast

from .conftest import make_contract, make_plan

pytestmark = pytest.mark.usefixtures("in_tenant_a")


def _new(cast: Cast, plan: SupportPlan, **fields: object) -> Contract:
    values: dict[str, object] = {
        "tenant": cast.tenant_a,
        "organisation": cast.org_a,
        "plan": plan,
        "starts_on": dt.date(2026, 1, 1),
        "ends_on": dt.date(2026, 12, 31),
    }
    values.update(fields)
    return Contract(**values)


def test_a_valid_contract_is_saved_with_a_created_event(cast: Cast, plan_a: SupportPlan) -> None:
    contract = contract_save(contract=_new(cast, plan_a), actor=cast.admin)
    assert contract.pk is not None
    assert contract.events.get().kind == "created"
    assert contract.monthly_price == Decimal("2000")  # org A is not a licence customer


def test_an_end_date_before_the_start_date_is_refused(cast: Cast, plan_a: SupportPlan) -> None:
    with pytest.raises(ValidationError) as excinfo:
        contract_save(contract=_new(cast, plan_a, ends_on=dt.date(2025, 12, 31)), actor=None)
    assert "The end date cannot be before the start date." in excinfo.value.messages
    assert not Contract.objects.exists()


def test_a_negative_custom_price_is_refused(cast: Cast, plan_a: SupportPlan) -> None:
    with pytest.raises(ValidationError) as excinfo:
        contract_save(contract=_new(cast, plan_a, custom_price=Decimal("-1")), actor=None)
    assert "custom_price" in excinfo.value.message_dict
    assert not Contract.objects.exists()


def test_the_custom_price_overrides_the_list_price(cast: Cast, plan_a: SupportPlan) -> None:
    contract = contract_save(contract=_new(cast, plan_a, custom_price=Decimal("99")), actor=None)
    assert contract.monthly_price == Decimal("99")


def test_a_second_overlapping_current_contract_is_refused(cast: Cast, contract_a: Contract) -> None:
    other = make_plan(cast.tenant_a, name="Gold")
    with pytest.raises(ValidationError) as excinfo:
        contract_save(
            contract=_new(cast, other, starts_on=dt.date(2026, 6, 1), ends_on=None), actor=None
        )
    assert "already has a current contract" in excinfo.value.messages[0]
    assert Contract.objects.count() == 1


def test_the_database_refuses_two_current_contracts_even_without_the_service(
    cast: Cast, contract_a: Contract
) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make_contract(cast.org_a, contract_a.plan, starts_on=dt.date(2027, 1, 1))


def test_a_renewal_expires_a_current_contract_whose_end_has_passed(
    cast: Cast, contract_a: Contract
) -> None:
    renewal = _new(cast, contract_a.plan, starts_on=dt.date(2027, 1, 1), ends_on=None)
    contract_save(contract=renewal, actor=cast.admin, today=dt.date(2027, 1, 5))
    contract_a.refresh_from_db()
    assert contract_a.status == ContractStatus.EXPIRED
    assert renewal.status == ContractStatus.ACTIVE


def test_a_contract_cannot_use_the_no_contract_rules(cast: Cast) -> None:
    fallback = make_plan(cast.tenant_a, name="No contract", is_fallback=True)
    with pytest.raises(ValidationError) as excinfo:
        contract_save(contract=_new(cast, fallback), actor=None)
    assert "plan" in excinfo.value.message_dict


def test_a_plan_of_another_tenant_is_refused(cast: Cast) -> None:
    from django_scopes import scope

    with scope(tenant=cast.tenant_b):
        plan_b = make_plan(cast.tenant_b, name="B plan")
    with pytest.raises(ValidationError) as excinfo:
        contract_save(contract=_new(cast, plan_b), actor=None)
    assert "plan" in excinfo.value.message_dict


def test_suspension_needs_a_reason(cast: Cast, contract_a: Contract) -> None:
    with pytest.raises(ValidationError):
        contract_suspend(contract=contract_a, reason="  ", actor=cast.admin)
    contract_a.refresh_from_db()
    assert contract_a.status == ContractStatus.ACTIVE


def test_suspend_and_resume_record_who_why_and_when(cast: Cast, contract_a: Contract) -> None:
    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    suspended = contract_suspend(
        contract=contract_a, reason="Invoice 7 overdue", actor=cast.admin, at=at
    )
    assert suspended.status == ContractStatus.SUSPENDED
    assert (suspended.suspended_reason, suspended.suspended_at) == ("Invoice 7 overdue", at)
    assert suspended.suspended_by == cast.admin
    with pytest.raises(ValidationError):
        contract_suspend(contract=contract_a, reason="again", actor=cast.admin)

    resumed = contract_resume(contract=contract_a, actor=cast.admin)
    assert resumed.status == ContractStatus.ACTIVE
    assert resumed.suspended_reason == ""
    kinds = list(ContractEvent.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["suspended", "resumed"]
    with pytest.raises(ValidationError):
        contract_resume(contract=contract_a, actor=cast.admin)


def test_a_suspended_contract_serves_again_once_resumed(cast: Cast, contract_a: Contract) -> None:
    at = dt.datetime(2026, 5, 5, 9, 0, tzinfo=dt.UTC)
    contract_suspend(contract=contract_a, reason="Overdue", actor=None)
    assert not entitlement_check(
        contact=cast.customer_contact, channel="email", category="bug", at=at
    ).allowed
    contract_resume(contract=contract_a, actor=None)
    assert entitlement_check(
        contact=cast.customer_contact, channel="email", category="bug", at=at
    ).allowed


def test_the_expiry_job_flips_only_contracts_past_their_end(
    cast: Cast, plan_a: SupportPlan
) -> None:
    from contracts.models import Organisation

    ended = make_contract(cast.org_a, plan_a, ends_on=dt.date(2026, 3, 31))
    other_org = Organisation.objects.create(tenant=cast.tenant_a, name="Other")
    running = make_contract(other_org, plan_a, ends_on=None)
    expired = contracts_expire_due(
        tenant=cast.tenant_a, at=dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.UTC)
    )
    assert expired == [ended.pk]
    ended.refresh_from_db()
    running.refresh_from_db()
    assert (ended.status, running.status) == (ContractStatus.EXPIRED, ContractStatus.ACTIVE)
    assert (
        contracts_expire_due(tenant=cast.tenant_a, at=dt.datetime(2026, 4, 2, tzinfo=dt.UTC)) == []
    )


def test_the_expiry_task_and_command_use_todays_date(cast: Cast, plan_a: SupportPlan) -> None:
    ended = make_contract(cast.org_a, plan_a, ends_on=dt.date(2026, 3, 31))
    with time_machine.travel(dt.datetime(2026, 4, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        assert tasks.contracts_expire(cast.tenant_a.pk) == [ended.pk]
        assert tasks.contracts_expire(999_999) == []
        call_command(
            "contracts_expire", "--tenant", cast.tenant_a.slug, stdout=open("/dev/null", "w")
        )
    ended.refresh_from_db()
    assert ended.status == ContractStatus.EXPIRED


def test_marking_a_contract_expired_is_idempotent(cast: Cast, contract_a: Contract) -> None:
    contract_expire(contract=contract_a, actor=cast.admin)
    contract_expire(contract=contract_a, actor=cast.admin)
    assert ContractEvent.objects.filter(kind="expired").count() == 1
