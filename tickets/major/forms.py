"""The major incident boxes on the ticket page."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .services import MAX_UPDATE_LENGTH


class MajorUpdateForm(forms.Form):
    body = forms.CharField(
        label=_("Status update"),
        max_length=MAX_UPDATE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Posted as a public reply on this ticket and on every linked ticket; each "
            "requester reads it on their own ticket. Formatted with Markdown."
        ),
    )


class MajorLinkForm(forms.Form):
    other = forms.CharField(
        label=_("Affected ticket"),
        max_length=40,
        help_text=_("Its reference or number; any organisation of this desk."),
    )
