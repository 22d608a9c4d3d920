"""Filing a ticket from a page or an API call: one call, one typed outcome.

The agent's phone log, the portal's form, the agent API and the customer API each file
through :func:`ticket_file` and render its :class:`Filing` in their own words; the rules
(refused with reasons, billable and not yet accepted, bad input) are decided once, by
:func:`tickets.services.ticket_create`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ParamSpec

from django.core.exceptions import ValidationError

from contracts.reasons import Reason, reasons_text

from .models import Ticket
from .services import AcceptanceRequired, TicketRefused, ticket_create

if TYPE_CHECKING:
    from contracts.services import Entitlement

P = ParamSpec("P")


@dataclass(frozen=True)
class Filing:
    """What filing came to: exactly one of ``ticket`` (filed), ``refusal`` (the entitlement
    that refused it; ``requires_acceptance`` when the request is billable and the charge was
    not accepted) or ``errors`` (bad input, per field; nothing was saved)."""

    ticket: Ticket | None = None
    refusal: Entitlement | None = None
    requires_acceptance: bool = False
    errors: ValidationError | None = None

    @property
    def refused(self) -> bool:
        """Refused outright: the plan does not allow the request (accepting cannot help)."""
        return self.refusal is not None and not self.requires_acceptance

    @property
    def reasons(self) -> list[Reason]:
        """Why it was refused or needs acceptance, one reason per rule that decided."""
        return self.refusal.reasons if self.refusal is not None else []

    @property
    def reasons_text(self) -> str:
        """The reasons as one paragraph in the active language."""
        return reasons_text(self.reasons)


def _outcome_of(create: Callable[P, Ticket]) -> Callable[P, Filing]:
    # A wrapper rather than a copy of ticket_create's fourteen parameters: the callers are
    # type-checked against the service's own signature, which stays the only one.
    def ticket_file(*args: P.args, **kwargs: P.kwargs) -> Filing:
        """:func:`~tickets.services.ticket_create` with its refusals and input errors
        returned as a :class:`Filing` instead of raised. Caller holds the tenant's scope."""
        try:
            return Filing(ticket=create(*args, **kwargs))
        except AcceptanceRequired as exc:
            return Filing(refusal=exc.entitlement, requires_acceptance=True)
        except TicketRefused as exc:
            return Filing(refusal=exc.entitlement)
        except ValidationError as exc:
            return Filing(errors=exc)

    return ticket_file


ticket_file = _outcome_of(ticket_create)
