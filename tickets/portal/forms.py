"""Portal forms: parse and validate what a customer typed; deciding happens in services."""

from __future__ import annotations

import os
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from contracts.models import PlanRequestType, RequestType
from sla.models import Priority
from tickets.choices import Category
from tickets.models import (
    ALLOWED_ATTACHMENT_EXTENSIONS,
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS_PER_MESSAGE,
)

# What a customer may call their request; "problem" is ITIL's internal record of a root
# cause, opened by staff, never by a customer.
CUSTOMER_CATEGORIES = [(value, label) for value, label in Category.choices if value != "problem"]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Zero or more files, each checked against the ticket attachment rules."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        items = data if isinstance(data, list | tuple) else ([data] if data else [])
        single = super().clean
        files = [f for f in (single(item, initial) for item in items) if f]
        if len(files) > MAX_ATTACHMENTS_PER_MESSAGE:
            raise forms.ValidationError(
                _("Attach at most %(count)d files."), params={"count": MAX_ATTACHMENTS_PER_MESSAGE}
            )
        for upload in files:
            extension = os.path.splitext(upload.name or "")[1].lower()
            if extension not in ALLOWED_ATTACHMENT_EXTENSIONS:
                raise forms.ValidationError(
                    _("%(name)s: files of this type are not accepted."),
                    params={"name": upload.name},
                )
            if (upload.size or 0) > MAX_ATTACHMENT_BYTES:
                raise forms.ValidationError(
                    _("%(name)s is larger than %(limit)s."),
                    params={"name": upload.name, "limit": filesizeformat(MAX_ATTACHMENT_BYTES)},
                )
        return files


class TicketForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=300)
    category = forms.ChoiceField(
        label=_("What kind of request is it?"), choices=CUSTOMER_CATEGORIES, initial="question"
    )
    request_type = forms.ModelChoiceField(
        label=_("Type of request"),
        queryset=RequestType.objects.none(),
        required=False,
        error_messages={
            "invalid_choice": _("Choose one of the request types of your plan's table.")
        },
    )
    priority = forms.ModelChoiceField(
        label=_("Priority"),
        queryset=Priority.objects.none(),
        required=False,
        empty_label=_("Let support decide"),
        widget=forms.RadioSelect,
    )
    description = forms.CharField(
        label=_("Description"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=20000,
        help_text=_("What happened, what did you expect, and how can we reproduce it?"),
    )
    attachments = AttachmentsField(label=_("Attachments"))
    accept_billable = forms.BooleanField(
        label=_("I accept that this request is billed."), required=False
    )

    def __init__(
        self, *args: Any, scope: list[PlanRequestType] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # Read at form time, inside the request's tenant scope.
        priority: Any = self.fields["priority"]
        priority.queryset = Priority.objects.order_by("rank")
        # The plan's scope table: the type picked decides the category and the cost.
        self.scope = scope or []
        if self.scope:
            request_type: Any = self.fields["request_type"]
            request_type.queryset = RequestType.objects.filter(
                pk__in=[row.request_type_id for row in self.scope]
            )
            request_type.required = True
            self.fields["category"].required = False

    def clean_subject(self) -> str:
        subject = " ".join(self.cleaned_data["subject"].split())
        if not subject:
            raise forms.ValidationError(_("Give the request a subject."))
        return subject

    def clean_description(self) -> str:
        description = self.cleaned_data["description"].strip()
        if not description:
            raise forms.ValidationError(_("Describe the request."))
        return description


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your reply"), widget=forms.Textarea(attrs={"rows": 5}), max_length=20000
    )
    attachments = AttachmentsField(label=_("Attachments"))

    def clean_body(self) -> str:
        body = self.cleaned_data["body"].strip()
        if not body:
            raise forms.ValidationError(_("Write a reply."))
        return body


class LoginLinkForm(forms.Form):
    email = forms.EmailField(label=_("Your e-mail address"), max_length=254)
