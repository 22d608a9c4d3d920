"""The entitlement check: one test per rule that decides an answer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from contracts.models import Contact, Contract, ContractStatus, NamedContact, SupportPlan
from contracts.services import contact_has_feature, entitlement_check
from supportdesk.models import Tenant
from tests.conftest import Cast

from .conftest import give_feature, make_contract, make_plan

pytestmark = pytest.mark.usefixtures("in_tenant_a")

MID_2026 = dt.datetime(2026, 6, 15, 10, 0, tzinfo=dt.UTC)


def _fallback(tenant: Tenant) -> SupportPlan:
    return make_plan(tenant, name="No contract", is_fallback=True, included_categories=[])


def test_an_included_category_under_a_valid_contract_is_free_with_the_plans_sla(
    cast: Cast, contract_a: Contract
) -> None:
    result = entitlement_check(
        contact=cast.customer_contact, channel="email", category="incident", at=MID_2026
    )
    assert result.allowed
    assert not result.billable
    assert not result.requires_acceptance
    assert result.contract == contract_a
    assert result.plan == contract_a.plan
    assert result.sla_policy is not None
    assert result.sla_policy == contract_a.plan.sla_policy
    assert result.notify == []
    assert any("included" in r for r in map(str, result.reasons))


def test_the_check_defaults_to_now(cast: Cast, contract_a: Contract) -> None:
    with time_machine.travel(dt.datetime(2027, 2, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        result = entitlement_check(
            contact=cast.customer_contact, channel="email", category="incident"
        )
    assert not result.allowed
    assert any("ended on" in r for r in map(str, result.reasons))


def test_a_contact_without_an_organisation_falls_back_and_is_billed(cast: Cast) -> None:
    fallback = _fallback(cast.tenant_a)
    loner = Contact.objects.create(tenant=cast.tenant_a, name="Lone Ranger", email="lone@x.test")
    result = entitlement_check(contact=loner, channel="email", category="question", at=MID_2026)
    assert result.allowed
    assert result.billable
    assert result.requires_acceptance
    assert result.plan == fallback
    assert result.contract is None
    assert any("belongs to no customer organisation" in r for r in map(str, result.reasons))


def test_an_organisation_without_a_contract_falls_back_to_the_no_contract_rules(
    cast: Cast,
) -> None:
    fallback = _fallback(cast.tenant_a)
    result = entitlement_check(
        contact=cast.customer_contact, channel="phone", category="bug", at=MID_2026
    )
    assert result.allowed and result.billable and result.requires_acceptance
    assert result.plan == fallback
    assert result.sla_policy is None
    assert any("has no support contract" in r for r in map(str, result.reasons))
    assert any("without a valid contract apply" in r for r in map(str, result.reasons))


def test_without_a_contract_or_a_fallback_plan_the_request_is_refused(cast: Cast) -> None:
    result = entitlement_check(
        contact=cast.customer_contact, channel="email", category="question", at=MID_2026
    )
    assert not result.allowed
    assert result.plan is None and result.contract is None and result.sla_policy is None
    assert any("requires a valid contract" in r for r in map(str, result.reasons))


def test_a_contract_that_has_not_started_yet_falls_back(cast: Cast, plan_a: SupportPlan) -> None:
    _fallback(cast.tenant_a)
    make_contract(cast.org_a, plan_a, starts_on=dt.date(2026, 7, 1))
    result = entitlement_check(
        contact=cast.customer_contact, channel="email", category="incident", at=MID_2026
    )
    assert result.allowed and result.billable
    assert result.contract is None
    assert result.plan is not None and result.plan.is_fallback
    assert any("starts on" in r for r in map(str, result.reasons))


def test_a_contract_past_its_end_date_counts_as_expired_before_any_job_flips_it(
    cast: Cast, contract_a: Contract
) -> None:
    assert contract_a.status == ContractStatus.ACTIVE
    after = dt.datetime(2027, 1, 2, 10, 0, tzinfo=dt.UTC)
    result = entitlement_check(
        contact=cast.customer_contact, channel="email", category="incident", at=after
    )
    assert not result.allowed
    assert result.contract is None
    assert any("ended on" in r for r in map(str, result.reasons))


def test_the_last_day_is_counted_in_the_tenants_time_zone(cast: Cast, contract_a: Contract) -> None:
    # 23:30 UTC on 31 December is already 1 January in Stockholm.
    late = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    early = dt.datetime(2026, 12, 31, 22, 30, tzinfo=dt.UTC)
    assert entitlement_check(
        contact=cast.customer_contact, channel="email", category="incident", at=early
    ).allowed
    assert not entitlement_check(
        contact=cast.customer_contact, channel="email", category="incident", at=late
    ).allowed


def test_a_contract_marked_expired_falls_back(cast: Cast, contract_a: Contract) -> None:
    _fallback(cast.tenant_a)
    Contract.objects.filter(pk=contract_a.pk).update(status=ContractStatus.EXPIRED)
    result = entitlement_check(
        contact=cast.customer_contact, channel="email", category="incident", at=MID_2026
    )
    assert result.allowed and result.billable
    assert result.plan is not None and result.plan.is_fallback
    assert any("ended on" in r for r in map(str, result.reasons))


def test_a_suspended_contract_falls_back_and_says_why(cast: Cast, contract_a: Contract) -> None:
    _fallback(cast.tenant_a)
    contract_a.status = ContractStatus.SUSPENDED
    contract_a.suspended_reason = "Invoice 1042 is overdue"
    contract_a.save()
    result = entitlement_check(
        contact=cast.customer_contact, channel="email", category="incident", at=MID_2026
    )
    assert result.allowed and result.billable and result.requires_acceptance
    assert result.contract is None
    assert result.plan is not None and result.plan.is_fallback
    assert "The contract is suspended: Invoice 1042 is overdue." in list(map(str, result.reasons))


def test_a_suspended_contract_without_a_fallback_plan_is_refused(
    cast: Cast, contract_a: Contract
) -> None:
    contract_a.status = ContractStatus.SUSPENDED
    contract_a.save()
    result = entitlement_check(
        contact=cast.customer_contact, channel="email", category="incident", at=MID_2026
    )
    assert not result.allowed
    assert "The contract is suspended." in list(map(str, result.reasons))


def test_a_digital_only_plan_refuses_the_phone(cast: Cast) -> None:
    digital = make_plan(cast.tenant_a, name="Meetings", allowed_channels=["email", "portal"])
    make_contract(cast.org_a, digital)
    phone = entitlement_check(
        contact=cast.customer_contact, channel="phone", category="bug", at=MID_2026
    )
    portal = entitlement_check(
        contact=cast.customer_contact, channel="portal", category="bug", at=MID_2026
    )
    assert not phone.allowed
    assert "The Meetings plan does not include support by phone." in list(map(str, phone.reasons))
    assert portal.allowed


def test_a_contact_who_is_not_named_is_refused_when_the_plan_requires_named_contacts(
    cast: Cast,
) -> None:
    plan = make_plan(cast.tenant_a, name="Enterprise", named_contacts_only=True)
    contract = make_contract(cast.org_a, plan)
    NamedContact.objects.create(tenant=cast.tenant_a, contract=contract, contact=cast.named_contact)
    refused = entitlement_check(
        contact=cast.customer_contact, channel="email", category="bug", at=MID_2026
    )
    named = entitlement_check(
        contact=cast.named_contact, channel="email", category="bug", at=MID_2026
    )
    assert not refused.allowed
    assert any(r.startswith("Only named contacts may") for r in map(str, refused.reasons))
    assert named.allowed and not named.billable


def test_a_named_contact_without_training_is_refused_when_the_plan_requires_it(
    cast: Cast,
) -> None:
    plan = make_plan(
        cast.tenant_a, name="Standard", named_contacts_only=True, training_required=True
    )
    contract = make_contract(cast.org_a, plan)
    NamedContact.objects.create(tenant=cast.tenant_a, contract=contract, contact=cast.named_contact)
    untrained = entitlement_check(
        contact=cast.named_contact, channel="email", category="bug", at=MID_2026
    )
    assert not untrained.allowed
    assert any("requires completed training" in r for r in map(str, untrained.reasons))

    cast.named_contact.trained_on = dt.date(2026, 6, 1)
    cast.named_contact.save()
    assert entitlement_check(
        contact=cast.named_contact, channel="email", category="bug", at=MID_2026
    ).allowed
    before_training = dt.datetime(2026, 5, 20, 10, 0, tzinfo=dt.UTC)
    assert not entitlement_check(
        contact=cast.named_contact, channel="email", category="bug", at=before_training
    ).allowed


def test_out_of_scope_work_is_allowed_billed_needs_acceptance_and_notifies_the_account_manager(
    cast: Cast,
) -> None:
    plan = make_plan(
        cast.tenant_a,
        name="Standard",
        included_categories=["bug", "incident"],
        quote_free_hours=Decimal("2.00"),
        notify_account_manager_out_of_scope=True,
    )
    make_contract(cast.org_a, plan)
    cast.org_a.account_manager = cast.agent
    cast.org_a.save()
    result = entitlement_check(
        contact=cast.customer_contact, channel="email", category="change_request", at=MID_2026
    )
    assert result.allowed and result.billable and result.requires_acceptance
    assert result.notify == [cast.agent]
    assert "Work under 2 hours is done without a quote." in list(map(str, result.reasons))
    assert any("outside the scope" in r for r in map(str, result.reasons))
    assert any("account manager" in r for r in map(str, result.reasons))


def test_out_of_scope_work_notifies_nobody_when_the_plan_does_not_ask_for_it(
    cast: Cast, contract_a: Contract
) -> None:
    cast.org_a.account_manager = cast.agent
    cast.org_a.save()
    result = entitlement_check(
        contact=cast.customer_contact, channel="email", category="change_request", at=MID_2026
    )
    assert result.billable
    assert result.notify == []
    assert not any("quote" in r for r in map(str, result.reasons))


def test_every_refusal_is_listed_not_just_the_first(cast: Cast) -> None:
    plan = make_plan(
        cast.tenant_a,
        name="Strict",
        allowed_channels=["portal"],
        named_contacts_only=True,
        training_required=True,
    )
    make_contract(cast.org_a, plan)
    result = entitlement_check(
        contact=cast.customer_contact, channel="phone", category="bug", at=MID_2026
    )
    assert not result.allowed
    assert len(result.reasons) == 2
    assert "The Strict plan does not include support by phone." in list(map(str, result.reasons))
    assert any(r.startswith("Only named contacts may") for r in map(str, result.reasons))


def test_training_is_required_of_anyone_when_the_plan_does_not_name_contacts(cast: Cast) -> None:
    make_contract(cast.org_a, make_plan(cast.tenant_a, name="Trained", training_required=True))
    result = entitlement_check(
        contact=cast.customer_contact, channel="email", category="bug", at=MID_2026
    )
    assert not result.allowed
    assert any("requires completed training" in r for r in map(str, result.reasons))


def test_the_fallback_plans_channels_still_apply(cast: Cast) -> None:
    make_plan(
        cast.tenant_a,
        name="No contract",
        is_fallback=True,
        included_categories=[],
        allowed_channels=["portal", "phone"],
    )
    result = entitlement_check(
        contact=cast.customer_contact, channel="chat", category="question", at=MID_2026
    )
    assert not result.allowed


def test_an_unknown_channel_or_category_is_a_validation_error(cast: Cast) -> None:
    with pytest.raises(ValidationError) as excinfo:
        entitlement_check(contact=cast.customer_contact, channel="fax", category="poem")
    assert set(excinfo.value.message_dict) == {"channel", "category"}


def test_reasons_are_codes_shown_in_the_readers_language(cast: Cast, contract_a: Contract) -> None:
    """Decided while Swedish was active, read by a Dutch and an English reader: each reads
    their own language, the plan name and dates as given."""
    from django.utils import translation

    from contracts.reasons import Reason, reasons_from_json, reasons_text

    with translation.override("sv"):
        result = entitlement_check(
            contact=cast.customer_contact, channel="email", category="incident", at=MID_2026
        )
    assert result.allowed
    assert all(isinstance(r, Reason) for r in result.reasons)
    stored = reasons_from_json([r.as_json() for r in result.reasons])
    assert stored == result.reasons
    texts = {}
    for language in ("sv", "nl", "en"):
        with translation.override(language):
            texts[language] = reasons_text(stored)
    assert len(set(texts.values())) == 3, texts
    assert "is valid" in texts["en"] and "giltigt" in texts["sv"] and "geldig" in texts["nl"]
    assert all(contract_a.plan.name in text for text in texts.values())


def test_every_reason_code_reads_in_every_language(cast: Cast) -> None:
    """Generated over the code table: a sentence per code and language, parameters filled,
    Swedish and Dutch differ from English (a missing translation would not)."""
    from django.utils import translation

    from contracts.reasons import MESSAGES, Reason

    params = {"name": "Ann", "organisation": "Acme", "reason": "Unpaid", "day": "2026-05-04",
              "plan": "Guld", "channel": "phone", "category": "incident", "hours": "2",
              "type": "Training"}  # fmt: skip
    for code in MESSAGES:
        reason = Reason(code, params)
        texts = {}
        for language in ("sv", "nl", "en"):
            with translation.override(language):
                texts[language] = str(reason)
        assert "%(" not in "".join(texts.values()), code
        assert texts["sv"] != texts["en"] and texts["nl"] != texts["en"], (code, texts)


def test_a_reason_of_a_code_no_longer_known_still_reads(cast: Cast) -> None:
    from contracts.reasons import Reason, reasons_from_json

    assert str(Reason("gone", {"plan": "Guld"})) == "gone Guld"
    assert str(Reason("in_scope", {"plan": "Guld"})) == "in_scope Guld"  # a parameter short
    assert reasons_from_json([{"code": 1}, "text", {"code": "x", "params": "y"}]) == []


def test_a_feature_gate_follows_the_valid_contracts_plan(cast: Cast, contract_a: Contract) -> None:
    give_feature(contract_a.plan, "knowledge_centre")
    assert contact_has_feature(contact=cast.customer_contact, key="knowledge_centre", at=MID_2026)
    assert not contact_has_feature(
        contact=cast.customer_contact, key="monthly_reports", at=MID_2026
    )
    after = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
    assert not contact_has_feature(contact=cast.customer_contact, key="knowledge_centre", at=after)


def test_a_feature_gate_without_a_contract_uses_the_fallback_plan(cast: Cast) -> None:
    fallback = _fallback(cast.tenant_a)
    assert not contact_has_feature(contact=cast.customer_contact, key="knowledge_centre")
    give_feature(fallback, "knowledge_centre")
    assert contact_has_feature(contact=cast.customer_contact, key="knowledge_centre")
    assert fallback.has_feature("knowledge_centre")
