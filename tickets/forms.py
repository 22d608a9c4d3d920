"""Forms of the agent pages: they parse input and nothing else; services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from contracts.models import Contact, RequestType
from sla.models import Priority
from supportdesk.forms import is_plain_number
from supportdesk.models import Membership, Tenant, User

from .choices import Category, Status, SupportLine, VendorState
from .models import LinkKind


def agents(*, tenant_id: int | None = None) -> QuerySet[User]:
    """Agents and admins of the tenant in scope (and of ``tenant_id`` when it is named, so
    that a form about one ticket lists its tenant's people only: fail-closed)."""
    memberships = Membership.objects.agents()
    if tenant_id is not None:
        memberships = memberships.filter(tenant_id=tenant_id)
    ids = memberships.values("user_id")
    return User.objects.filter(pk__in=ids, is_active=True).order_by("first_name", "username")


PREVIEW_MAX_CHARS = 100_000
"""Characters the reply box's preview renders: any real reply, but not a megabyte per key."""


class PreviewForm(forms.Form):
    """What the reply box's live preview posts: the Markdown typed so far."""

    body = forms.CharField(required=False, strip=False, max_length=PREVIEW_MAX_CHARS)


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 5}))
    public = forms.TypedChoiceField(
        label=_("Visibility"),
        choices=[("1", _("Public reply to the customer")), ("0", _("Internal note"))],
        coerce=lambda v: v == "1",
        initial="1",
    )
    # Set by the reply box when the agent picks a macro (static/js/macros.js): sending
    # applies its actions too.
    macro = forms.IntegerField(
        required=False, min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput
    )
    # The ticket's version the page showed: a reply to a ticket that moved on since is not
    # sent, unless the agent pressed "Send anyway" (its button posts ``send_anyway=1``; not a
    # field here, so the rendered form never carries it). docs/tickets.md, "Collision
    # detection". Left out, as by a script posting the form, nothing is checked.
    version = forms.IntegerField(
        required=False, min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["send_anyway"] = self.data.get("send_anyway") == "1"
        return data


class PresenceForm(forms.Form):
    """A heartbeat of the ticket page (static/js/presence.js)."""

    typing = forms.BooleanField(required=False)
    version = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)


class StatusForm(forms.Form):
    """The agent's status change. Closing is final, so it needs the box ticked: one press
    of "Change" on a select that happened to show "Closed" must not close a ticket."""

    # Empty: the select's first option, the current status, left as it is.
    status = forms.ChoiceField(label=_("Status"), choices=Status.choices, required=False)
    confirm_close = forms.BooleanField(
        label=_("Yes, close it for good: a closed ticket cannot be reopened."), required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("status") == Status.CLOSED and not data.get("confirm_close"):
            raise forms.ValidationError(
                _("Closing is final. Tick the box to confirm that the ticket should be closed."),
                code="confirm_close",
            )
        return data


class PriorityForm(forms.Form):
    priority = forms.ModelChoiceField(
        label=_("Priority"), queryset=Priority.objects.none(), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["priority"].queryset = Priority.objects.all()  # type: ignore[attr-defined]


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Assignee"), queryset=User.objects.none(), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = agents()  # type: ignore[attr-defined]


class BulkAssignForm(AssignForm):
    tickets = forms.TypedMultipleChoiceField(
        coerce=int,
        choices=[],
        label=_("Tickets"),
        error_messages={"required": _("Select at least one ticket.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = self.data.getlist("tickets") if hasattr(self.data, "getlist") else []
        # Any integers are accepted here; the service only finds the tenant's own tickets.
        self.fields["tickets"].choices = [(i, i) for i in ids if is_plain_number(str(i))][:500]  # type: ignore[attr-defined]


class LineForm(forms.Form):
    support_line = forms.TypedChoiceField(
        label=_("Support line"), choices=SupportLine.choices, coerce=int
    )


class VendorForm(forms.Form):
    vendor_state = forms.ChoiceField(
        label=_("Vendor escalation"), choices=VendorState.choices, required=False
    )
    vendor_reference = forms.CharField(label=_("Vendor reference"), max_length=200, required=False)


class VendorSettingsForm(forms.ModelForm):
    """The tenant's rules for tickets waiting on the upstream vendor."""

    class Meta:
        model = Tenant
        fields = ["vendor_wait_pauses_resolution", "vendor_update_days"]


class ConvertForm(forms.Form):
    category = forms.ChoiceField(label=_("Convert to"), choices=Category.choices)


class RequestTypeForm(forms.Form):
    """The tenant's own kind of request for this ticket; empty clears it."""

    request_type = forms.ModelChoiceField(
        label=_("Request type"),
        queryset=RequestType.objects.none(),
        required=False,
        empty_label=_("(none)"),
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["request_type"].queryset = RequestType.objects.filter(  # type: ignore[attr-defined]
            tenant=tenant, is_active=True
        )


class TimeEntryForm(forms.Form):
    minutes = forms.IntegerField(label=_("Minutes"), min_value=1, max_value=24 * 60)
    billable = forms.BooleanField(label=_("Billable"), required=False)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
    work_date = forms.DateField(
        label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class CallLogForm(forms.Form):
    contact = forms.EmailField(
        label=_("Caller's e-mail"),
        help_text=_("A contact of a customer organisation."),
        widget=forms.EmailInput(attrs={"list": "contacts", "autocomplete": "off"}),
    )
    subject = forms.CharField(label=_("Subject"), max_length=300)
    description = forms.CharField(
        label=_("What the caller said"), widget=forms.Textarea(attrs={"rows": 6}), required=False
    )
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    request_type = forms.ModelChoiceField(
        label=_("Request type"),
        queryset=RequestType.objects.none(),
        required=False,
        empty_label=_("(none)"),
        help_text=_("When given, it decides the category, and the plan's scope table billing."),
    )
    priority = forms.ModelChoiceField(
        label=_("Priority"), queryset=Priority.objects.none(), required=False
    )
    accepted_billable = forms.BooleanField(
        label=_("The caller accepted that this work is billed"), required=False
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["priority"].queryset = Priority.objects.all()  # type: ignore[attr-defined]
        types = RequestType.objects.filter(tenant=tenant, is_active=True)
        if types.exists():
            self.fields["request_type"].queryset = types  # type: ignore[attr-defined]
        else:
            del self.fields["request_type"]  # a tenant without its own types files by category

    def clean_contact(self) -> Contact:
        email = self.cleaned_data["contact"]
        contact = Contact.objects.select_related("organisation").filter(email__iexact=email).first()
        if contact is None:
            raise forms.ValidationError(_("No contact has this e-mail address."))
        return contact


class MyLineForm(forms.Form):
    support_line = forms.TypedChoiceField(
        label=_("My line"), choices=SupportLine.choices, coerce=int
    )


MERGE = "merge"
"""The Link / Merge form's choice that leads to the merge confirmation instead of a link."""


class LinkForm(forms.Form):
    """The ticket page's "Link / Merge" box: another ticket's reference and what it is."""

    other = forms.CharField(
        label=_("Other ticket"),
        max_length=40,
        help_text=_("Its reference, e.g. TA-1002, or its number."),
    )
    kind = forms.ChoiceField(
        label=_("This ticket is"),
        choices=[*LinkKind.choices, (MERGE, _("a duplicate: merge it into"))],
    )


class UnlinkForm(forms.Form):
    link = forms.IntegerField(min_value=1, max_value=2**31 - 1)


class MergeForm(forms.Form):
    """The merge confirmation: merging is final, so the box must be ticked."""

    into = forms.CharField(label=_("Merge into"), max_length=40)
    confirm_merge = forms.BooleanField(
        label=_("Yes, merge: the duplicate is closed for good and its messages move."),
        required=False,
    )
