"""Forms of the copied-contact and follower boxes of the agent's ticket page: they find
the person a POST names in the ticket's tenant, and nothing else; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from contracts.models import Contact
from supportdesk.models import User

from ..forms import agents
from ..models import Ticket


class CcForm(forms.Form):
    """A contact to copy on the ticket, or to stop copying: their e-mail address, typed or
    picked from the organisation's contacts. Only a contact of the ticket's tenant is found
    (no contact is made for an unknown address, as for a mail's Cc); whether they may be
    copied is the service's to say."""

    contact = forms.EmailField(
        label=_("Copy a contact"),
        help_text=_("The e-mail address of a contact of the ticket's organisation."),
        max_length=254,
    )

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ticket = ticket

    def clean_contact(self) -> Contact:
        address = self.cleaned_data["contact"]
        contact = Contact.objects.filter(
            tenant_id=self.ticket.tenant_id, email__iexact=address
        ).first()
        if contact is None:  # another tenant's contact is as unknown as a made-up address
            raise forms.ValidationError(
                _("No contact has the e-mail address %(address)s."),
                code="unknown",
                params={"address": address},
            )
        return contact


class FollowerForm(forms.Form):
    """An agent or admin of the ticket's tenant to add as an internal follower, or to take
    off; anyone else is not a choice."""

    agent = forms.ModelChoiceField(
        label=_("Add a follower"),
        queryset=User.objects.none(),
        error_messages={"invalid_choice": _("Only agents of this organisation can follow.")},
    )

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = agents(tenant_id=ticket.tenant_id)  # type: ignore[attr-defined]
