"""The optional comment on the page a rating link opens."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class RatingCommentForm(forms.Form):
    comment = forms.CharField(
        label=_("Anything you would like to tell us?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
