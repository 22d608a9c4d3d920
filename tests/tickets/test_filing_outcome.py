"""Filing as a value (tickets/filing.py): the ticket, or why not, for every adapter to render."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Cast
from tickets.choices import Category, Channel
from tickets.filing import Filing, ticket_file
from tickets.models import Ticket

from .conftest import Desk

pytestmark = pytest.mark.django_db


def _file(cast: Cast, subject: str = "Printer on fire", **kwargs: Any) -> Filing:
    requester, channel = cast.customer_contact, Channel.PORTAL
    return ticket_file(
        tenant=cast.tenant_a, requester=requester, subject=subject, description="Since then.",
        channel=channel, **kwargs,
    )  # fmt: skip


def test_an_accepted_filing_carries_the_ticket_and_no_reasons(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    filing = _file(cast)
    assert filing.ticket is not None and filing.ticket.reference == "TA-1001"
    assert (filing.refused, filing.requires_acceptance, filing.errors) == (False, False, None)
    assert filing.reasons == [] and filing.reasons_text == ""


def test_a_refused_filing_carries_the_reasons_and_saves_nothing(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    desk.contract.delete()
    filing = _file(cast)
    assert filing.ticket is None and filing.refused and not filing.requires_acceptance
    assert "no support contract" in filing.reasons_text
    assert filing.reasons_text == " ".join(str(r) for r in filing.reasons)
    assert not Ticket.objects.exists()


def test_billable_work_not_yet_accepted_asks_for_acceptance_with_the_reasons(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    filing = _file(cast, category=Category.OUT_OF_SCOPE)
    assert filing.ticket is None and filing.requires_acceptance and not filing.refused
    assert filing.reasons
    assert not Ticket.objects.exists()
    accepted = _file(cast, category=Category.OUT_OF_SCOPE, accepted_billable=True)
    assert accepted.ticket is not None and accepted.ticket.billing_accepted


def test_bad_input_comes_back_as_errors_per_field(
    cast: Cast, desk: Desk, in_tenant_a: object
) -> None:
    filing = _file(cast, subject="   ")
    assert filing.ticket is None and filing.refusal is None
    assert filing.errors is not None and "subject" in filing.errors.message_dict
    assert not Ticket.objects.exists()
