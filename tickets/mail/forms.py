"""The mailbox admin form: parsing only; saving and checking live in services."""

from __future__ import annotations

from typing import Any

import dkim.crypto
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Mailbox, SmtpSecurity


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
            "smtp_host",
            "smtp_port",
            "smtp_security",
            "smtp_username",
            "smtp_password",
            "dkim_selector",
            "dkim_private_key",
        ]
        widgets = {"dkim_private_key": forms.Textarea(attrs={"rows": 4, "autocomplete": "off"})}

    smtp_password = forms.CharField(
        label=_("SMTP password"),
        required=False,
        max_length=254,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the stored password."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stored_password = self.instance.imap_password if self.instance.pk else ""
        # Secrets are never shown again; an empty field keeps what is stored.
        self._stored_smtp = (self.instance.smtp_password, self.instance.dkim_private_key)
        self.initial["dkim_private_key"] = ""
        # Only used with an SMTP server; without one the model's defaults stand.
        self.fields["smtp_port"].required = False
        self.fields["smtp_security"].required = False

    def clean_smtp_port(self) -> int:
        return self.cleaned_data.get("smtp_port") or Mailbox.smtp_port.field.default

    def clean_smtp_security(self) -> str:
        return self.cleaned_data.get("smtp_security") or SmtpSecurity.STARTTLS

    def clean_smtp_password(self) -> str:
        return self.cleaned_data.get("smtp_password") or self._stored_smtp[0]

    def clean_dkim_private_key(self) -> str:
        key = (self.cleaned_data.get("dkim_private_key") or "").strip()
        if not key:
            return self._stored_smtp[1]
        try:
            dkim.crypto.parse_pem_private_key(key.encode())
        except (dkim.crypto.UnparsableKeyError, ValueError) as exc:
            raise forms.ValidationError(
                _("This is not a PEM RSA private key (-----BEGIN PRIVATE KEY-----).")
            ) from exc
        return key + "\n"

    def clean_imap_password(self) -> str:
        password = self.cleaned_data.get("imap_password") or ""
        if not password and not self._stored_password:
            raise forms.ValidationError(_("Enter the IMAP password."))
        return password or self._stored_password
