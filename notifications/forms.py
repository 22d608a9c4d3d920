"""The tenant admin's webhook form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tickets.models import EventKind

from .models import Webhook


class WebhookForm(forms.ModelForm):
    kinds = forms.MultipleChoiceField(
        label=_("Events"),
        choices=EventKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every event."),
    )

    class Meta:
        model = Webhook
        fields = ["name", "url", "kinds", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["url"].widget.attrs["placeholder"] = "https://hooks.slack.com/services/…"
