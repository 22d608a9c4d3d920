"""The e-mail channel's tables: where mail comes from, what came in, what goes out.

Inbound mail is stored raw before anything else happens (:class:`InboundEmail`), so a crash
while turning it into a ticket loses nothing and a retry starts from the same bytes.
Outbound mail is an outbox (:class:`OutboundEmail`): one row per notification with a unique
key, sent by a Celery task; the Message-ID is stored on the row, so a retried send carries
the same id and mail clients thread it once.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from supportdesk.fields import EncryptedTextField
from supportdesk.models import TenantOwned

from .inbound.base import Automation


class SmtpSecurity(models.TextChoices):
    STARTTLS = "starttls", _("STARTTLS")
    SSL = "ssl", _("SSL/TLS")
    NONE = "none", _("None (a relay on the local network)")


class MailAuth(models.TextChoices):
    PASSWORD = "password", _("Password")
    OAUTH2 = "oauth2", _("OAuth 2.0 (Microsoft 365, Google Workspace)")


class Mailbox(TenantOwned):
    """An IMAP folder a tenant's customers write to; its address is also our sender."""

    name = models.CharField(_("name"), max_length=100)
    email_address = models.EmailField(
        _("e-mail address"), help_text=_("Customers write here; notifications come from it.")
    )
    from_name = models.CharField(_("sender name"), max_length=100, blank=True)
    imap_host = models.CharField(_("IMAP server"), max_length=253)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_use_ssl = models.BooleanField(_("use SSL/TLS"), default=True)
    imap_username = models.CharField(_("IMAP user name"), max_length=254)
    imap_password = EncryptedTextField(_("IMAP password"), blank=True)
    auth_method = models.CharField(
        _("authentication"),
        max_length=10,
        choices=MailAuth.choices,
        default=MailAuth.PASSWORD,
        help_text=_("How the IMAP and the mailbox's own SMTP server are logged in to."),
    )
    # OAuth 2.0 (RFC 6749): the refresh-token grant at the token endpoint gives the access
    # tokens IMAP and SMTP log in with (SASL XOAUTH2). Secrets and tokens are encrypted.
    oauth_token_url = models.URLField(
        _("OAuth token endpoint"),
        max_length=500,
        blank=True,
        help_text=_(
            "Microsoft 365: https://login.microsoftonline.com/TENANT-ID/oauth2/v2.0/token; "
            "Google: https://oauth2.googleapis.com/token"
        ),
    )
    oauth_client_id = models.CharField(_("OAuth client id"), max_length=255, blank=True)
    oauth_client_secret = EncryptedTextField(_("OAuth client secret"), blank=True)
    oauth_scope = models.CharField(
        _("OAuth scope"),
        max_length=500,
        blank=True,
        help_text=_("Space-separated; empty keeps the scope the refresh token was granted."),
    )
    oauth_refresh_token = EncryptedTextField(_("OAuth refresh token"), blank=True)
    oauth_access_token = EncryptedTextField(_("OAuth access token"), blank=True, editable=False)
    oauth_access_token_expires_at = models.DateTimeField(
        _("access token expires"), null=True, blank=True, editable=False
    )
    imap_folder = models.CharField(_("IMAP folder"), max_length=200, default="INBOX")
    is_active = models.BooleanField(_("poll this mailbox"), default=True)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)
    # Outgoing mail from this address: the tenant's own server, else the shared EMAIL_URL.
    smtp_host = models.CharField(
        _("SMTP server"),
        max_length=253,
        blank=True,
        help_text=_("Leave empty to send through the shared server."),
    )
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=587)
    smtp_security = models.CharField(
        _("SMTP security"),
        max_length=10,
        choices=SmtpSecurity.choices,
        default=SmtpSecurity.STARTTLS,
    )
    smtp_username = models.CharField(_("SMTP user name"), max_length=254, blank=True)
    smtp_password = EncryptedTextField(_("SMTP password"), blank=True)
    dkim_selector = models.CharField(
        _("DKIM selector"),
        max_length=63,
        blank=True,
        help_text=_("Publish the public key as the TXT record SELECTOR._domainkey.DOMAIN."),
    )
    dkim_private_key = EncryptedTextField(
        _("DKIM private key"),
        blank=True,
        help_text=_("PEM; mail from this address is signed when a selector and key are set."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = _("mailboxes")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "email_address"], name="mailbox_unique_address"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email_address}>"

    @property
    def uses_oauth(self) -> bool:
        return self.auth_method == MailAuth.OAUTH2

    @property
    def signs_mail(self) -> bool:
        return bool(self.dkim_selector and self.dkim_private_key)


class InboundStatus(models.TextChoices):
    RECEIVED = "received", _("Received, not yet processed")
    PROCESSED = "processed", _("Processed")
    FAILED = "failed", _("Processing failed")
    DISCARDED = "discarded", _("Discarded by an administrator")


class InboundOutcome(models.TextChoices):
    TICKET_CREATED = "ticket_created", _("New ticket")
    REPLY_ADDED = "reply_added", _("Added to a ticket")
    AUTOMATED = "automated", _("Automatic mail, ignored")
    AUTOMATIC_NOTE = "automatic_note", _("Automatic mail, kept as a note on a ticket")
    BOUNCE = "bounce", _("Delivery failure recorded")
    OWN_MAIL = "own_mail", _("Our own mail, ignored")
    SENDER_REJECTED = "sender_rejected", _("Unknown sender, rejected")
    REFUSED = "refused", _("Refused by the contract")
    NEEDS_ACCEPTANCE = "needs_acceptance", _("Billable; waits for the customer to accept")


class InboundEmail(TenantOwned):
    """One received message, raw bytes first; processing fills in the rest exactly once."""

    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound"
    )
    message_id = models.CharField(_("Message-ID"), max_length=255)
    content_hash = models.CharField(_("content hash"), max_length=64, blank=True)
    raw = models.BinaryField(_("raw message"))
    size = models.PositiveIntegerField(_("size in bytes"), default=0)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    sender = models.CharField(_("sender"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=InboundStatus.choices, default=InboundStatus.RECEIVED
    )
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=InboundOutcome.choices, blank=True
    )
    automation = models.CharField(
        _("automatic mail"), max_length=20, choices=Automation.choices, blank=True
    )
    note = models.TextField(_("note"), blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_emails",
    )
    ticket_message = models.ForeignKey(
        "tickets.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # A duplicate has the same Message-ID *and* content: scanners reuse one fixed id.
            models.UniqueConstraint(
                fields=["tenant", "message_id", "content_hash"], name="inboundemail_unique_content"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status"], name="inboundemail_status")]

    def __str__(self) -> str:
        return f"{self.sender}: {self.subject}"

    @property
    def gave_up(self) -> bool:
        """Failed and no automatic retry left: waits for an administrator."""
        return self.status == InboundStatus.FAILED and self.next_attempt_at is None


class OutboundKind(models.TextChoices):
    AUTO_REPLY = "auto_reply", _("Confirmation of a new ticket")
    SENDER_REJECTED = "sender_rejected", _("Unknown sender turned away")
    REFUSED = "refused", _("Request refused")
    NEEDS_ACCEPTANCE = "needs_acceptance", _("Billable request, asks for acceptance")
    REPLY = "reply", _("Reply from support")
    STATUS_CHANGED = "status_changed", _("Status changed")
    SOLVED = "solved", _("Ticket solved")
    AGENT_NEW_TICKET = "agent_new_ticket", _("New ticket (to agents)")
    AGENT_CUSTOMER_REPLY = "agent_customer_reply", _("Customer reply (to agents)")
    RELAYED_REPLY = "relayed_reply", _("Customer reply (to the others copied)")
    LOGIN_LINK = "login_link", _("Portal login link")
    SLA_REPORT = "sla_report", _("Monthly SLA report")
    SATISFACTION = "satisfaction", _("How did we do?")
    ROUTING_NOTICE = "routing_notice", _("New ticket (to the account's people, by a routing rule)")
    AGENT_FOLLOWER = "agent_follower", _("Reply or internal note (to internal followers)")
    STAFF_NOTICE = "staff_notice", _("SLA and out-of-scope notices (to staff)")


# Mail a machine writes in answer to something: RFC 3834 "auto-replied". Everything else we
# send on our own initiative is "auto-generated"; a human agent's reply carries neither.
AUTO_REPLIED_KINDS = {
    OutboundKind.AUTO_REPLY,
    OutboundKind.SENDER_REJECTED,
    OutboundKind.REFUSED,
    OutboundKind.NEEDS_ACCEPTANCE,
}


class OutboundStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    BOUNCED = "bounced", _("Bounced")


class OutboundEmail(TenantOwned):
    """One notification to one address; ``key`` makes enqueueing it twice a no-op."""

    key = models.CharField(_("key"), max_length=200)
    message_id = models.CharField(_("Message-ID"), max_length=255)
    kind = models.CharField(_("kind"), max_length=24, choices=OutboundKind.choices)
    to_address = models.EmailField(_("to"))
    from_address = models.EmailField(_("from"))
    from_name = models.CharField(_("sender name"), max_length=200, blank=True)
    subject = models.CharField(_("subject"), max_length=500)
    body = models.TextField(_("body"))
    # The HTML alternative of ``body`` (a reply's rich text), or empty for text-only mail.
    html_body = models.TextField(_("HTML body"), blank=True, default="")
    in_reply_to = models.CharField(_("In-Reply-To"), max_length=255, blank=True)
    references = models.TextField(_("References"), blank=True)
    auto_submitted = models.CharField(_("Auto-Submitted"), max_length=20, blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="outbound_emails",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=OutboundStatus.choices, default=OutboundStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # The send in progress (status "sending"): which attempt claimed the row, and when. A
    # claim older than the send's time limit belongs to a worker that died.
    attempt_id = models.CharField(_("attempt"), max_length=32, blank=True, editable=False)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True, editable=False)
    # The sweep (``mail.requeue_stuck``) hands a queued mail out again from this time on.
    retry_at = models.DateTimeField(_("next attempt"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="outboundemail_unique_key"),
            models.UniqueConstraint(
                fields=["tenant", "message_id"], name="outboundemail_unique_message_id"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status"], name="outboundemail_status")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to_address}"

    @staticmethod
    def message_id_for(*, tenant_id: int, key: str, domain: str) -> str:
        """The Message-ID of the notification with this key: the same on every retry.

        A keyed MAC of the key with a per-tenant secret derived from ``SECRET_KEY``: keys are
        small sequential numbers anyone can guess, the MAC is not. Threading looks up the id
        stored on the row, never recomputes it, so ids sent under an earlier scheme (or an
        earlier ``SECRET_KEY``) keep working for the people who received them.
        """
        mac = salted_hmac(
            f"supportdesk.mail.message-id:{tenant_id}", key, algorithm="sha256"
        ).hexdigest()[:32]
        return f"sd.{tenant_id}.{mac}@{domain}"


class OutboundAttachment(TenantOwned):
    """A file sent with an outbox mail (the monthly report's PDF). Kept in the database, in
    the same transaction as its mail, so a retry sends the same bytes and a mail never goes
    out without the file it promises."""

    outbound = models.ForeignKey(
        OutboundEmail, on_delete=models.CASCADE, related_name="attachments"
    )
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    content = models.BinaryField(_("content"))
    # Set for an image the HTML part shows (``<img src="cid:...">``); empty for a file.
    content_id = models.CharField(_("Content-ID"), max_length=100, blank=True, default="")

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.filename


class AutoReplyLog(TenantOwned):
    """An automatic answer sent to an address; at most a few per address per hour."""

    address = models.CharField(_("address"), max_length=254)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)
    outbound = models.ForeignKey(
        OutboundEmail, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-sent_at"]
        indexes = [models.Index(fields=["tenant", "address", "sent_at"], name="autoreply_recent")]

    def __str__(self) -> str:
        return f"{self.address} at {self.sent_at:%Y-%m-%d %H:%M}"

    @classmethod
    def recent_count(
        cls, *, address: str, subject: str | None = None, within: timedelta = timedelta(hours=1)
    ) -> int:
        """Answers to ``address`` within the last hour; only those about ``subject`` if given."""
        recent = cls.objects.filter(address=address.lower(), sent_at__gte=timezone.now() - within)
        if subject is not None:
            recent = recent.filter(subject=subject[:500])
        return recent.count()


class EmailBounce(TenantOwned):
    """A delivery failure report for one of our mails, kept on the contact it was for."""

    contact = models.ForeignKey(
        "contracts.Contact",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="email_bounces",
        verbose_name=_("contact"),
    )
    address = models.CharField(_("address"), max_length=254)
    status = models.CharField(_("status code"), max_length=20, blank=True)
    diagnostic = models.CharField(_("diagnostic"), max_length=500, blank=True)
    inbound = models.ForeignKey(
        InboundEmail, on_delete=models.CASCADE, related_name="bounces", verbose_name=_("report")
    )
    outbound = models.ForeignKey(
        OutboundEmail,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="bounces",
        verbose_name=_("bounced mail"),
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.address}: {self.status}"

    @property
    def is_permanent(self) -> bool:
        """5.x.x status codes (RFC 3463) mean the address will not start working by itself."""
        return self.status.startswith("5")
