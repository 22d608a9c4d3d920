"""The mailbox admin form: parsing only; saving and checking live in services."""

from __future__ import annotations

from typing import Any

import dkim.crypto
from django import forms
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from supportdesk.models import Tenant

from .models import MailAuth, Mailbox, SmtpSecurity


class MailSettingsForm(forms.ModelForm):
    """The tenant's limits on automatic answers and repeats, beside its mailboxes."""

    prefix = "settings"

    class Meta:
        model = Tenant
        fields = ["auto_reply_repeat_limit", "auto_reply_repeat_hours", "satisfaction_survey"]


def _secret_field(label: StrOrPromise, *, max_length: int = 254) -> forms.CharField:
    """A secret is never shown again; an empty field keeps what is stored."""
    return forms.CharField(
        label=label,
        required=False,
        max_length=max_length,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the stored value."),
    )


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
            "auth_method",
            "imap_password",
            "oauth_token_url",
            "oauth_client_id",
            "oauth_client_secret",
            "oauth_scope",
            "oauth_refresh_token",
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
        widgets = {
            "dkim_private_key": forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}),
            "auth_method": forms.RadioSelect,
        }

    smtp_password = forms.CharField(
        label=_("SMTP password"),
        required=False,
        max_length=254,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the stored password; not used with OAuth 2.0."),
    )

    oauth_token_url = forms.URLField(
        label=Mailbox._meta.get_field("oauth_token_url").verbose_name,
        help_text=Mailbox._meta.get_field("oauth_token_url").help_text,
        required=False,
        max_length=500,
        assume_scheme="https",
    )
    oauth_client_secret = _secret_field(_("OAuth client secret"), max_length=2000)
    oauth_refresh_token = _secret_field(_("OAuth refresh token"), max_length=8000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stored_password = self.instance.imap_password if self.instance.pk else ""
        self._stored_oauth = (
            self.instance.oauth_client_secret,
            self.instance.oauth_refresh_token,
        )
        # Secrets are never shown again; an empty field keeps what is stored.
        self._stored_smtp = (self.instance.smtp_password, self.instance.dkim_private_key)
        self.initial["dkim_private_key"] = ""
        # Only used with an SMTP server; without one the model's defaults stand.
        self.fields["smtp_port"].required = False
        self.fields["smtp_security"].required = False
        self.fields["auth_method"].required = False  # absent: a password, as before OAuth

    def clean_smtp_port(self) -> int:
        return self.cleaned_data.get("smtp_port") or Mailbox.smtp_port.field.default

    def clean_smtp_security(self) -> str:
        return self.cleaned_data.get("smtp_security") or SmtpSecurity.STARTTLS

    def clean_auth_method(self) -> str:
        return self.cleaned_data.get("auth_method") or MailAuth.PASSWORD

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
        return self.cleaned_data.get("imap_password") or self._stored_password

    def clean_oauth_client_secret(self) -> str:
        return (self.cleaned_data.get("oauth_client_secret") or "").strip() or self._stored_oauth[0]

    def clean_oauth_refresh_token(self) -> str:
        return (self.cleaned_data.get("oauth_refresh_token") or "").strip() or self._stored_oauth[1]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("auth_method") == MailAuth.OAUTH2:
            for name in ("oauth_token_url", "oauth_client_id", "oauth_refresh_token"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, _("Needed for OAuth 2.0."))
        elif not data.get("imap_password") and "imap_password" not in self.errors:
            self.add_error("imap_password", _("Enter the IMAP password."))
        return data
