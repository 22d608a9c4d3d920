"""The agent's quote form on the ticket page."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _


class QuoteForm(forms.Form):
    hours = forms.DecimalField(
        label=_("Quoted hours"),
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal("9999"),
        decimal_places=2,
        help_text=_("Billable hours the quote adds; empty for a fixed price without a cap."),
    )
    price = forms.DecimalField(
        label=_("Price"), required=False, min_value=Decimal("0"), max_value=Decimal("99999999"),
        decimal_places=2,
    )  # fmt: skip
    text = forms.CharField(
        label=_("What the quote covers"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
