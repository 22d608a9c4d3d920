"""The mailbox admin form: parsing only; saving and checking live in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Mailbox


class MailboxForm(forms.ModelForm):
    imap_password = forms.CharField(
        label=_("IMAP password"),
        required=False,
        max_length=254,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the stored password."),
    )

    class Meta:
        model = Mailbox
        fields = [
            "name",
            "email_address",
            "from_name",
            "imap_host",
            "imap_port",
            "imap_use_ssl",
            "imap_username",
            "imap_password",
            "imap_folder",
            "is_active",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stored_password = self.instance.imap_password if self.instance.pk else ""

    def clean_imap_password(self) -> str:
        password = self.cleaned_data.get("imap_password") or ""
        if not password and not self._stored_password:
            raise forms.ValidationError(_("Enter the IMAP password."))
        return password or self._stored_password
