"""Inbound mail: store first, then process once.

:func:`mailbox_poll` fetches from IMAP and stores each message with :func:`email_ingest`
(raw bytes, de-duplicated on the tenant and Message-ID); a task then calls
:func:`email_process`, which decides: our own mail, a bounce, other automatic mail, a reply
to a ticket (named by our Message-IDs or the reference in the subject, and joined only if
the sender may see that ticket), or a new ticket. Only humans get automatic answers.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from contracts.models import Contact, Organisation
from contracts.reasons import Reason
from contracts.services import contact_save, entitlement_check
from supportdesk.models import Membership, Tenant, User
from tickets.choices import Channel, Status
from tickets.followers.services import ticket_cc_from_mail
from tickets.models import (
    ACTIVE_STATUSES,
    ALLOWED_ATTACHMENT_EXTENSIONS,
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS_PER_MESSAGE,
    Message,
    Ticket,
)
from tickets.portal.services import login_link_url, portal_account_ensure, promise_text
from tickets.services import (
    AcceptanceRequired,
    TicketRefused,
    ticket_create,
    ticket_note_automatic,
    ticket_reply,
)

from ..inbound.base import (
    NOTED_AUTOMATIONS,
    Automation,
    ParsedEmail,
    clean_subject,
    clean_text,
    content_hash,
    derived_message_id,
    parse_envelope,
    parse_message,
    references_in,
)
from ..inbound.imap import (
    ImapSettings,
    ImapSource,
    MailSourceError,
    MailTargetRefused,
    imap_addresses,
)
from ..models import (
    EmailBounce,
    InboundEmail,
    InboundOutcome,
    InboundStatus,
    Mailbox,
    OutboundEmail,
    OutboundKind,
    OutboundStatus,
)
from .mailbox_auth import (
    imap_token_source,
    mailbox_smtp_check,
    oauth_settings_problem,
    smtp_target_refusal,
    token_url_problem,
)
from .outbox import (
    address_domain,
    auto_answer,
    auto_answer_withheld,
    contact_language,
    own_addresses,
    tenant_url,
)

logger = logging.getLogger(__name__)


def email_ingest(
    *, tenant: Tenant, raw: bytes, mailbox: Mailbox | None = None
) -> tuple[InboundEmail, bool]:
    """Store a received message, raw, before doing anything with it.

    Returns ``(row, created)``; a message already stored (same tenant, Message-ID and
    content hash, or the same bytes when it has no Message-ID) is not stored again. The
    headers read here are cleaned of NUL and raw 8-bit bytes; should they still not fit,
    the bytes are stored under an id derived from them, marked failed with the reason, so
    nothing received is ever lost. Processing is enqueued after commit. Caller holds the
    tenant scope.
    """
    # Not at the top: the tasks module imports this one (each task calls its service).
    from .. import tasks

    digest = content_hash(raw)
    try:
        message_id, sender, subject = parse_envelope(raw)
    except Exception:  # headers the parser cannot read: the bytes are still worth keeping
        message_id, sender, subject = derived_message_id(raw), "", ""
    existing = InboundEmail.objects.filter(message_id=message_id, content_hash=digest).first()
    if existing is not None:
        return existing, False
    fields = {"message_id": message_id, "sender": sender[:254], "subject": subject[:500]}
    try:
        inbound = _inbound_store(tenant=tenant, mailbox=mailbox, raw=raw, digest=digest, **fields)
    except IntegrityError:
        # Another poll stored it first (two workers on one mailbox): same message.
        return InboundEmail.objects.get(message_id=message_id, content_hash=digest), False
    except DatabaseError as exc:
        logger.exception("storing inbound mail failed; keeping its bytes under a derived id")
        inbound = _inbound_store(
            tenant=tenant, mailbox=mailbox, raw=raw, digest=digest,
            message_id=derived_message_id(raw), sender="", subject="",
            status=InboundStatus.FAILED, note=_error_note(exc), next_attempt_at=timezone.now(),
        )  # fmt: skip
    tenant_id, inbound_id = tenant.pk, inbound.pk
    # robust: a broker that is down must not undo the poll; mail.requeue_stuck enqueues later.
    transaction.on_commit(lambda: tasks.inbound_process.delay(tenant_id, inbound_id), robust=True)
    return inbound, True


def _inbound_store(
    *, tenant: Tenant, mailbox: Mailbox | None, raw: bytes, digest: str, **fields: Any
) -> InboundEmail:
    with transaction.atomic():
        return InboundEmail.objects.create(
            tenant=tenant, mailbox=mailbox, raw=raw, size=len(raw), content_hash=digest, **fields
        )


def _error_note(exc: BaseException) -> str:
    return clean_text(f"{type(exc).__name__}: {exc}")[:2000]


def mailbox_poll(*, mailbox: Mailbox) -> int:
    """Fetch new mail from the mailbox's IMAP folder and store it; returns how many are new.

    Messages are flagged as seen only after they are stored. A connection problem is kept
    on the mailbox (``last_error``) for the admin to see, not raised. Caller holds the scope.
    """
    stored = 0
    source = _source_for(mailbox)
    error = ""
    try:
        with source:
            taken: list[str] = []
            for uid, raw in source.fetch():
                try:
                    _inbound, created = email_ingest(
                        tenant=mailbox.tenant, raw=raw, mailbox=mailbox
                    )
                except Exception as exc:  # the other messages must still be stored
                    # Left unseen on the server: the next poll fetches it again.
                    logger.exception("storing message %s of mailbox %s failed", uid, mailbox.pk)
                    error = f"message {uid}: {_error_note(exc)}"[:2000]
                    continue
                stored += int(created)
                taken.append(uid)
            source.acknowledge(taken)
    except MailSourceError as exc:
        error = str(exc)[:2000]
        logger.warning("polling mailbox %s failed: %s", mailbox.pk, error)
    Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=timezone.now(), last_error=error)
    return stored


def email_process(*, inbound_id: int) -> InboundEmail | None:
    """Turn one stored message into a ticket, a reply, a bounce record, or nothing; once.

    Everything one message causes happens in one transaction: a failure leaves no half
    ticket, and the row is marked failed with the reason for a retry. A processed row is
    left alone, so calling this twice is harmless. Caller holds the tenant scope.
    """
    try:
        with transaction.atomic():
            inbound = (
                InboundEmail.objects.select_for_update(of=("self",))
                .select_related("tenant", "mailbox")
                .filter(pk=inbound_id)
                .first()
            )
            if inbound is None or inbound.status in DONE:
                return inbound
            _process(inbound)
            return inbound
    except Exception as exc:
        _failure_record(inbound_id=inbound_id, exc=exc)
        raise


DONE = (InboundStatus.PROCESSED, InboundStatus.DISCARDED)
INBOUND_MAX_ATTEMPTS = 6
INBOUND_RETRY_BASE = timedelta(minutes=10)
"""Failed mail is tried again after 10, 20, 40, 80 and 160 minutes (about five hours in
all, enough for a deploy or a database restart), then waits for an administrator."""


def _failure_record(*, inbound_id: int, exc: BaseException) -> None:
    """Mark the row failed with the reason and when the beat task tries it again."""
    row = InboundEmail.objects.filter(pk=inbound_id).values("attempts").first()
    if row is None:
        return
    attempts = row["attempts"] + 1
    retry_at = None
    if attempts < INBOUND_MAX_ATTEMPTS:
        retry_at = timezone.now() + INBOUND_RETRY_BASE * 2 ** (attempts - 1)
    else:
        logger.error("giving up on inbound mail %s after %s attempts", inbound_id, attempts)
    InboundEmail.objects.filter(pk=inbound_id).update(
        status=InboundStatus.FAILED,
        attempts=F("attempts") + 1,
        note=_error_note(exc),
        next_attempt_at=retry_at,
    )


def inbound_retry(*, inbound: InboundEmail) -> InboundEmail:
    """Process a stored message now (an administrator's retry, or the pipe command) and
    return the row as it ended: processed, or failed with the reason and its next attempt.
    Never raises for the message's sake. Caller holds the tenant scope."""
    try:
        email_process(inbound_id=inbound.pk)
    except Exception:  # recorded on the row, which the admin sees
        logger.exception("retrying inbound mail %s failed", inbound.pk)
    inbound.refresh_from_db()
    return inbound


def inbound_discard(*, inbound: InboundEmail) -> InboundEmail:
    """An administrator drops a failed message: no more retries; its bytes stay stored."""
    if inbound.status != InboundStatus.FAILED:
        raise ValidationError(_("Only mail whose processing failed can be discarded."))
    InboundEmail.objects.filter(pk=inbound.pk).update(
        status=InboundStatus.DISCARDED, next_attempt_at=None
    )
    inbound.refresh_from_db()
    return inbound


def _finish(
    inbound: InboundEmail,
    outcome: str,
    *,
    note: str = "",
    ticket: Ticket | None = None,
    message: Message | None = None,
    automation: str = "",
) -> None:
    inbound.status = InboundStatus.PROCESSED
    inbound.outcome = outcome
    inbound.note = note[:2000]
    inbound.ticket = ticket
    inbound.ticket_message = message
    inbound.automation = automation
    inbound.attempts += 1
    inbound.processed_at = timezone.now()
    inbound.save(
        update_fields=[
            "status", "outcome", "note", "ticket", "ticket_message", "automation", "attempts",
            "processed_at",
        ]
    )  # fmt: skip


def _process(inbound: InboundEmail) -> None:
    tenant = inbound.tenant
    parsed = parse_message(bytes(inbound.raw), max_attachment_bytes=MAX_ATTACHMENT_BYTES)
    ours = own_addresses()
    # X-Loop naming one of our addresses: our mail came back through someone's system.
    if (
        parsed.automation == Automation.OWN_MAIL
        or parsed.from_address in ours
        or ours.intersection(parsed.loop_addresses)
    ):
        _finish(inbound, InboundOutcome.OWN_MAIL, automation=Automation.OWN_MAIL)
        return
    if parsed.automation == Automation.BOUNCE:
        note = _bounce_record(inbound=inbound, parsed=parsed)
        _finish(inbound, InboundOutcome.BOUNCE, note=note, automation=Automation.BOUNCE)
        return
    if parsed.automation in NOTED_AUTOMATIONS:
        _automatic_keep(inbound=inbound, parsed=parsed, automation=parsed.automation)
        return
    if parsed.automation is not None:
        _finish(
            inbound,
            InboundOutcome.AUTOMATED,
            note=str(Automation(parsed.automation).label),
            automation=parsed.automation,
        )
        return
    if not parsed.from_address:
        _finish(inbound, InboundOutcome.SENDER_REJECTED, note="no sender address")
        return

    contact = (
        Contact.objects.filter(email__iexact=parsed.from_address)
        .select_related("organisation", "user")
        .first()
    )
    named = _tickets_named(parsed, tenant)
    if contact is None and named:
        agent = _staff_sender(parsed.from_address)
        if agent is not None and _staff_note_add(
            inbound=inbound, parsed=parsed, named=named, agent=agent
        ):
            return

    new_account = False
    if contact is None:
        contact = _contact_for_unknown_sender(tenant=tenant, parsed=parsed)
        if contact is None:
            _sender_reject(inbound=inbound, parsed=parsed)
            return
        new_account = True
    # Naming a ticket is no right to it: it must be one the sender may see in the portal.
    ticket = _ticket_for_sender(named, contact)

    if ticket is not None and ticket.status != Status.CLOSED:
        _reply_add(inbound=inbound, parsed=parsed, ticket=ticket, contact=contact)
    elif _is_repeat(inbound, parsed):
        _automatic_keep(inbound=inbound, parsed=parsed, automation=Automation.REPEAT)
    else:
        # A reply to a closed ticket opens a new one: closed is final (tickets.services).
        follows = ticket.reference if ticket is not None else ""
        _ticket_open(
            inbound=inbound, parsed=parsed, contact=contact, new_account=new_account,
            follows=follows,
        )  # fmt: skip


MAX_THREAD_IDS = 100
"""Message-IDs of In-Reply-To and References looked up, the most direct first. Real mail
clients send a handful; a message listing hundreds is guessing."""


def _tickets_named(parsed: ParsedEmail, tenant: Tenant) -> list[int]:
    """Ids of the tickets a message names, the most direct first: by the Message-IDs it
    answers (ours as stored in the outbox, or a mail already on a ticket), then by ticket
    references in the subject. Only ids stored here count, none is recomputed.

    Naming a ticket grants nothing: :func:`_ticket_for_sender` decides which one, if any,
    the message may join.
    """
    ids = parsed.thread_ids()[:MAX_THREAD_IDS]
    found: dict[str, list[int]] = {}
    if ids:
        # Our outbox first: a sender choosing one of our ids as their own Message-ID must
        # not make it point at their ticket instead of the one we sent it about.
        pairs = [
            *OutboundEmail.objects.filter(message_id__in=ids, ticket__isnull=False).values_list(
                "message_id", "ticket_id"
            ),
            *Message.objects.filter(email_message_id__in=ids).values_list(
                "email_message_id", "ticket_id"
            ),
            *InboundEmail.objects.filter(message_id__in=ids, ticket__isnull=False).values_list(
                "message_id", "ticket_id"
            ),
        ]
        for message_id, ticket_id in pairs:
            found.setdefault(message_id, []).append(ticket_id)
    named = [ticket_id for message_id in ids for ticket_id in found.get(message_id, [])]
    references = references_in(parsed.subject, tenant.ticket_prefix)[:10]
    if references:
        by_reference = Q()
        for reference in references:
            by_reference |= Q(reference__iexact=reference)
        numbered = dict(Ticket.objects.filter(by_reference).values_list("reference", "pk"))
        upper = {key.upper(): pk for key, pk in numbered.items()}
        named += [upper[r.upper()] for r in references if r.upper() in upper]
    return list(dict.fromkeys(named))


def _ticket_for_sender(named: list[int], contact: Contact) -> Ticket | None:
    """The first named ticket the sender may see, by the portal's one rule
    (``Ticket.objects.for_contact``: requester, copied, or a named contact of its
    organisation). Anyone else's message becomes their own new ticket."""
    if not named:
        return None
    visible = {t.pk: t for t in Ticket.objects.for_contact(contact).filter(pk__in=named)}
    ticket = next((visible[pk] for pk in named if pk in visible), None)
    return _merge_followed(ticket, contact) if ticket is not None else None


MAX_MERGE_HOPS = 10
"""Merges followed from a named ticket (A into B, later B into C); more is a data error."""


def _merge_followed(ticket: Ticket, contact: Contact | None) -> Ticket:
    """The ticket a merged duplicate was merged into, as its pages lead there: a reply to
    the old reference joins the target when the sender may see it (``contact`` None: staff,
    who see the tenant's tickets). Otherwise the closed duplicate stays, and the reply opens
    a follow-up ticket like any reply to a closed ticket."""
    for _hop in range(MAX_MERGE_HOPS):
        if ticket.merged_into_id is None:
            break
        tickets = Ticket.objects.filter(pk=ticket.merged_into_id)
        if contact is not None:
            tickets = Ticket.objects.for_contact(contact).filter(pk=ticket.merged_into_id)
        target = tickets.first()
        if target is None:
            break
        ticket = target
    return ticket


def _staff_sender(address: str) -> User | None:
    """The tenant's agent or admin writing from this address, if any."""
    membership = (
        Membership.objects.agents()
        .filter(user__email__iexact=address, user__is_active=True)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return membership.user if membership is not None else None


def _staff_note_add(
    *, inbound: InboundEmail, parsed: ParsedEmail, named: list[int], agent: User
) -> bool:
    """An agent answering one of our mails from their mail client: an internal note on the
    first named ticket still open. Internal, because a From header is easily forged and
    nothing written by mail may reach a customer as staff's word. A merged duplicate counts
    as the ticket it was merged into. False when none is open."""
    found = {t.pk: t for t in Ticket.objects.filter(pk__in=named)}
    named = list(dict.fromkeys(_merge_followed(found[pk], None).pk for pk in named if pk in found))
    open_ids = set(
        Ticket.objects.filter(pk__in=named)
        .exclude(status=Status.CLOSED)
        .values_list("pk", flat=True)
    )
    ticket_id = next((pk for pk in named if pk in open_ids), None)
    if ticket_id is None:
        return False
    _reply_add(inbound=inbound, parsed=parsed, ticket=Ticket.objects.get(pk=ticket_id), agent=agent)
    return True


def _may_follow_by_mail(ticket: Ticket, contact: Contact) -> bool:
    """Whether writing by mail may copy the sender on the ticket: only a contact of the
    ticket's organisation whose plan admits support by mail."""
    if contact.organisation_id is None or contact.organisation_id != ticket.organisation_id:
        return False
    return entitlement_check(
        contact=contact, channel=Channel.EMAIL, category=ticket.category
    ).allowed


def _is_repeat(inbound: InboundEmail, parsed: ParsedEmail) -> bool:
    """Whether the sender sent this same text within the tenant's
    ``auto_reply_repeat_hours`` (a new Message-ID each time, so it is no duplicate: an
    unmarked autoresponder answering every mail)."""
    window = timedelta(hours=inbound.tenant.auto_reply_repeat_hours)

    text = " ".join(parsed.text.split())
    if not text or not parsed.from_address:
        return False
    files = _attachment_digests(parsed)
    earlier = (
        InboundEmail.objects.filter(
            sender__iexact=parsed.from_address,
            received_at__gte=inbound.received_at - window,
            status=InboundStatus.PROCESSED,
        )
        .exclude(pk=inbound.pk)
        .order_by("-received_at")
        .values_list("raw", flat=True)[:20]
    )
    for raw in earlier:
        before = parse_message(bytes(raw), max_attachment_bytes=MAX_ATTACHMENT_BYTES)
        if " ".join(before.text.split()) == text and _attachment_digests(before) == files:
            return True
    return False


def _attachment_digests(parsed: ParsedEmail) -> list[str]:
    """What a mail carries besides its text: a scanner sends the same words with a new scan
    each time, and each scan is a mail of its own, not a repeat."""
    return sorted(
        hashlib.sha256(attachment.content).hexdigest() for attachment in parsed.attachments
    )


def _ticket_for_automatic(parsed: ParsedEmail, tenant: Tenant) -> Ticket | None:
    """The open ticket an automatic mail belongs on, if any: one it names that its sender
    may see, else the sender's newest open ticket; for a robot that is no contact (a
    customer's ticket system), a ticket it names whose people or mail share its domain."""
    named = _tickets_named(parsed, tenant)
    contact = Contact.objects.filter(email__iexact=parsed.from_address).first()
    if contact is not None:
        ticket = _ticket_for_sender(named, contact)
        if ticket is not None and ticket.is_active:
            return ticket
        return (
            Ticket.objects.for_contact(contact)
            .filter(Q(requester=contact) | Q(cc=contact), status__in=ACTIVE_STATUSES)
            .order_by("-received_at", "-pk")
            .first()
        )
    domain = "@" + address_domain(parsed.from_address)
    sharing = set(
        Ticket.objects.filter(pk__in=named, status__in=ACTIVE_STATUSES)
        .filter(
            Q(requester__email__iendswith=domain)
            | Q(cc__email__iendswith=domain)
            | Q(outbound_emails__to_address__iendswith=domain)
        )
        .values_list("pk", flat=True)
    )
    ticket_id = next((pk for pk in named if pk in sharing), None)
    return Ticket.objects.filter(pk=ticket_id).first() if ticket_id else None


def _automatic_keep(*, inbound: InboundEmail, parsed: ParsedEmail, automation: str) -> None:
    """Automatic mail a person would want to see (another ticket system's acknowledgement,
    an out-of-office, a repeat): an internal note on the sender's open ticket, or stored
    only. Never answered, never a contact, a participant, a reply or a reopened ticket."""
    tenant = inbound.tenant
    label = str(Automation(automation).label)
    ticket = _ticket_for_automatic(parsed, tenant)
    if ticket is None:
        _finish(inbound, InboundOutcome.AUTOMATED, note=label, automation=automation)
        return
    with translation.override(tenant.default_language):
        heading = _("Automatic mail from %(sender)s (%(why)s), not answered: %(subject)s") % {
            "sender": parsed.from_address,
            "why": Automation(automation).label,
            "subject": parsed.subject,
        }
    message = ticket_note_automatic(
        ticket=ticket,
        body=heading + "\n\n" + (parsed.reply_text or "")[:4000],
        channel=Channel.EMAIL,
        email_message_id=parsed.message_id,
        at=inbound.received_at,
    )
    _finish(
        inbound, InboundOutcome.AUTOMATIC_NOTE, note=label, ticket=ticket, message=message,
        automation=automation,
    )  # fmt: skip


def _organisation_for_address(address: str) -> Organisation | None:
    domain = address_domain(address)
    for organisation in Organisation.objects.filter(email_domains__icontains=domain):
        if domain in organisation.domain_list():
            return organisation
    return None


def _contact_for_unknown_sender(*, tenant: Tenant, parsed: ParsedEmail) -> Contact | None:
    """A new contact with a portal login for a first-time sender the tenant accepts.

    Accepted are senders whose domain belongs to a known organisation, or anyone when the
    tenant allows unknown senders. Everyone else gets None.
    """
    organisation = _organisation_for_address(parsed.from_address)
    if organisation is None and not tenant.allow_unknown_senders:
        return None
    name = parsed.from_name or parsed.from_address.split("@", 1)[0]
    contact = Contact(
        tenant=tenant,
        organisation=organisation,
        name=name[:200],
        email=parsed.from_address,
        language=organisation.language if organisation is not None else "",
    )
    try:
        contact_save(contact=contact)
    except ValidationError:
        # Registered meanwhile by a concurrent message from the same sender: use that one.
        existing = Contact.objects.filter(email__iexact=parsed.from_address).first()
        if existing is None:
            logger.info("could not register sender %s", parsed.from_address)
        return existing
    portal_account_ensure(contact=contact)
    return contact


def _sender_reject(*, inbound: InboundEmail, parsed: ParsedEmail) -> None:
    tenant = inbound.tenant
    language = tenant.default_language
    if parsed.may_auto_reply:
        auto_answer(
            tenant=tenant,
            key=f"sender-rejected:{inbound.pk}",
            kind=OutboundKind.SENDER_REJECTED,
            to=parsed.from_address,
            template="sender_rejected",
            context={"subject": parsed.subject},
            language=language,
            in_reply_to=parsed.message_id,
            subject=parsed.subject,
        )
    _finish(inbound, InboundOutcome.SENDER_REJECTED, note=parsed.from_address)


def _attachments_and_notes(parsed: ParsedEmail, tenant: Tenant) -> tuple[list[Any], list[str]]:
    """Attachments the ticket accepts, and one note per file that was left out."""
    files: list[Any] = []
    notes: list[str] = []

    def size(value: int) -> str:
        return filesizeformat(value).replace("\xa0", " ")

    with translation.override(tenant.default_language):
        limit = size(MAX_ATTACHMENT_BYTES)
        for skipped in parsed.skipped_attachments:
            notes.append(
                _("Attachment %(name)s (%(size)s) was not kept: it is larger than %(limit)s.")
                % {"name": skipped.filename, "size": size(skipped.size), "limit": limit}
            )
        for container in parsed.unreadable_attachments:
            notes.append(
                _(
                    "Attachment %(name)s (Outlook rich text, TNEF) could not be read; the "
                    "files in it are missing. Ask the sender to send them as ordinary "
                    "attachments."
                )
                % {"name": container}
            )
        for attachment in parsed.attachments:
            extension = "." + attachment.filename.rsplit(".", 1)[-1].lower()
            if "." not in attachment.filename or extension not in ALLOWED_ATTACHMENT_EXTENSIONS:
                notes.append(
                    _("Attachment %(name)s was not kept: files of this type are not accepted.")
                    % {"name": attachment.filename}
                )
            elif len(files) >= MAX_ATTACHMENTS_PER_MESSAGE:
                notes.append(
                    _("Attachment %(name)s was not kept: at most %(count)d files per message.")
                    % {"name": attachment.filename, "count": MAX_ATTACHMENTS_PER_MESSAGE}
                )
            elif attachment.size <= MAX_ATTACHMENT_BYTES:
                files.append(
                    SimpleUploadedFile(
                        attachment.filename, attachment.content, attachment.content_type
                    )
                )
    return files, notes


def _with_notes(text: str, notes: list[str]) -> str:
    if not notes:
        return text
    return (text + "\n\n" + "\n".join(f"[{note}]" for note in notes)).strip()


def _reply_add(
    *,
    inbound: InboundEmail,
    parsed: ParsedEmail,
    ticket: Ticket,
    contact: Contact | None = None,
    agent: User | None = None,
) -> None:
    """A contact's reply (public), or an agent's from their mail client (internal)."""
    files, notes = _attachments_and_notes(parsed, inbound.tenant)
    body = _with_notes(parsed.reply_text or _("(no text)"), notes)
    message = ticket_reply(
        ticket=ticket,
        body=body,
        public=contact is not None,
        channel=Channel.EMAIL,
        author=agent,
        author_contact=contact,
        attachments=files,
        email_message_id=parsed.message_id,
        at=inbound.received_at,
        copy_author=contact is not None
        and (ticket.is_participant(contact) or _may_follow_by_mail(ticket, contact)),
        plain_text=True,  # the parser's text is always plain: HTML mail is converted
    )
    note = _copies_add(ticket=ticket, parsed=parsed, sender=contact) if contact else ""
    _finish(inbound, InboundOutcome.REPLY_ADDED, note=note, ticket=ticket, message=message)


def _copies_add(*, ticket: Ticket, parsed: ParsedEmail, sender: Contact) -> str:
    """Copy the colleagues a customer's mail had in Cc (only contacts of the ticket's own
    organisation: :func:`tickets.followers.services.ticket_cc_from_mail`); the note for the
    stored mail names the addresses left out."""
    if not parsed.cc:
        return ""
    copies = ticket_cc_from_mail(
        ticket=ticket, addresses=parsed.cc, sender=sender, own=own_addresses()
    )
    if not copies.ignored:
        return ""
    return "Cc not copied (unknown or another organisation): " + ", ".join(copies.ignored)


def _ticket_open(
    *,
    inbound: InboundEmail,
    parsed: ParsedEmail,
    contact: Contact,
    new_account: bool,
    follows: str = "",
) -> None:
    tenant = inbound.tenant
    files, notes = _attachments_and_notes(parsed, tenant)
    if follows:
        with translation.override(tenant.default_language):
            note = _("Follow-up to the closed ticket %(reference)s.") % {"reference": follows}
        notes.insert(0, note)
    subject = clean_subject(parsed.subject) or _("(no subject)")
    language = contact_language(contact)
    try:
        with transaction.atomic():
            ticket = ticket_create(
                tenant=tenant,
                requester=contact,
                subject=subject[:300],
                description=_with_notes(parsed.text or _("(no text)"), notes),
                channel=Channel.EMAIL,
                attachments=files,
                received_at=inbound.received_at,
                email_message_id=parsed.message_id,
                plain_text=True,
            )
    except AcceptanceRequired as exc:
        _refusal_answer(
            inbound=inbound, parsed=parsed, contact=contact, kind=OutboundKind.NEEDS_ACCEPTANCE,
            reasons=exc.entitlement.reasons, new_account=new_account,
        )  # fmt: skip
        _finish(inbound, InboundOutcome.NEEDS_ACCEPTANCE, note=str(exc))
        return
    except TicketRefused as exc:
        _refusal_answer(
            inbound=inbound, parsed=parsed, contact=contact, kind=OutboundKind.REFUSED,
            reasons=exc.entitlement.reasons, new_account=new_account,
        )  # fmt: skip
        _finish(inbound, InboundOutcome.REFUSED, note=str(exc))
        return
    if parsed.may_auto_reply:
        _ticket_confirm(
            inbound=inbound, ticket=ticket, contact=contact, language=language,
            new_account=new_account, message_id=parsed.message_id, subject=parsed.subject,
        )  # fmt: skip
    note = _copies_add(ticket=ticket, parsed=parsed, sender=contact)
    _finish(inbound, InboundOutcome.TICKET_CREATED, note=note, ticket=ticket)


def _ticket_confirm(
    *,
    inbound: InboundEmail,
    ticket: Ticket,
    contact: Contact,
    language: str,
    new_account: bool,
    message_id: str,
    subject: str,
) -> None:
    """The automatic confirmation with the ticket number and the promised first response;
    when it is withheld (a repeat), the ticket says so."""
    tenant = inbound.tenant
    withheld = auto_answer_withheld(tenant=tenant, address=contact.email, subject=subject)
    if withheld:
        ticket_note_automatic(
            ticket=ticket, body=withheld, channel=Channel.EMAIL, at=inbound.received_at
        )
        return
    login_url = ""
    if new_account and contact.user_id is not None:
        login_url = login_link_url(tenant=tenant, user=contact.user)  # type: ignore[arg-type]
    with translation.override(language):
        promise = promise_text(due=ticket.first_response_due(), tenant=tenant)
    auto_answer(
        tenant=tenant,
        key=f"auto-reply:{inbound.pk}",
        kind=OutboundKind.AUTO_REPLY,
        to=contact.email,
        template="auto_reply",
        context={
            "ticket": ticket,
            "contact": contact,
            "promise": promise,
            "ticket_url": tenant_url(
                tenant, reverse("portal:ticket-detail", kwargs={"ticket_id": ticket.pk})
            ),
            "login_url": login_url,
        },
        language=language,
        ticket=ticket,
        in_reply_to=message_id,
        subject=subject,
    )


def _refusal_answer(
    *,
    inbound: InboundEmail,
    parsed: ParsedEmail,
    contact: Contact,
    kind: str,
    reasons: list[Reason],
    new_account: bool = False,
) -> None:
    """The answer to a request the contract does not cover; a first-time sender given a
    portal account gets its login link here too (SoftOne: every unknown sender does)."""
    if not parsed.may_auto_reply:
        return
    tenant = inbound.tenant
    login_url = ""
    if new_account and contact.user_id is not None:
        login_url = login_link_url(tenant=tenant, user=contact.user)  # type: ignore[arg-type]
    auto_answer(
        tenant=tenant,
        key=f"{kind}:{inbound.pk}",
        kind=kind,
        to=contact.email,
        template=str(kind),
        context={
            "contact": contact,
            "subject": parsed.subject,
            "reasons": reasons,
            "new_ticket_url": tenant_url(tenant, reverse("portal:ticket-new")),
            "login_url": login_url,
        },
        language=contact_language(contact),
        in_reply_to=parsed.message_id,
        subject=parsed.subject,
    )


def _bounce_record(*, inbound: InboundEmail, parsed: ParsedEmail) -> str:
    """Keep a delivery failure on the contact it was for; returns a note for the log."""
    bounce = parsed.bounce
    if bounce is None or not bounce.recipients:
        return "no failed recipients found in the report"
    outbound = (
        OutboundEmail.objects.filter(message_id=bounce.original_message_id).first()
        if bounce.original_message_id
        else None
    )
    for address in bounce.recipients:
        contact = Contact.objects.filter(email__iexact=address).first()
        EmailBounce.objects.create(
            tenant=inbound.tenant,
            contact=contact,
            address=address,
            status=bounce.status,
            diagnostic=bounce.diagnostic,
            inbound=inbound,
            outbound=outbound,
        )
    if outbound is not None:
        OutboundEmail.objects.filter(pk=outbound.pk).update(status=OutboundStatus.BOUNCED)
    return ", ".join(bounce.recipients)


def inbound_pending(*, older_than: datetime) -> list[int]:
    """Stored messages still waiting for processing (their task was lost), and failed ones
    due for another attempt; caller holds scope."""
    return list(
        InboundEmail.objects.filter(
            Q(status=InboundStatus.RECEIVED, received_at__lt=older_than)
            | Q(status=InboundStatus.FAILED, next_attempt_at__lte=timezone.now())
        ).values_list("pk", flat=True)[:500]
    )


def _source_for(mailbox: Mailbox) -> ImapSource:
    return ImapSource(
        ImapSettings(
            host=mailbox.imap_host,
            port=mailbox.imap_port,
            use_ssl=mailbox.imap_use_ssl,
            username=mailbox.imap_username,
            password=mailbox.imap_password,
            folder=mailbox.imap_folder,
            allow_internal=settings.MAIL_ALLOW_INTERNAL_SERVERS,
            oauth_token=imap_token_source(mailbox),
        )
    )


def mailbox_save(*, mailbox: Mailbox) -> Mailbox:
    """Validate and store a new or changed mailbox (one per address and tenant)."""
    mailbox.email_address = mailbox.email_address.strip().lower()
    mailbox.full_clean()
    try:
        imap_addresses(
            mailbox.imap_host,
            mailbox.imap_port,
            allow_internal=settings.MAIL_ALLOW_INTERNAL_SERVERS,
        )
    except MailTargetRefused as exc:
        raise ValidationError({exc.field: str(exc)}) from exc
    except MailSourceError:
        pass  # a name that does not resolve now may later; the check and the poll say so
    if mailbox.smtp_host:
        refusal = smtp_target_refusal(mailbox.smtp_host, mailbox.smtp_port)
        if refusal is not None:
            raise ValidationError({refusal.field: str(refusal)})
    if mailbox.uses_oauth:
        problem = token_url_problem(mailbox.oauth_token_url)
        if problem:
            raise ValidationError({"oauth_token_url": problem})
        problem = oauth_settings_problem(mailbox)
        if problem:
            raise ValidationError(problem)
    elif not mailbox.imap_password:
        raise ValidationError({"imap_password": _("Enter the IMAP password.")})
    if mailbox.pk is not None:
        stored = Mailbox.objects.filter(pk=mailbox.pk).first()
        if stored is not None and _oauth_client(stored) != _oauth_client(mailbox):
            # Another client or grant: the token we hold may not be what it would give.
            mailbox.oauth_access_token = ""
            mailbox.oauth_access_token_expires_at = None
    try:
        with transaction.atomic():
            mailbox.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"email_address": _("Another mailbox already has this address.")}
        ) from exc
    return mailbox


def _oauth_client(mailbox: Mailbox) -> tuple[str, ...]:
    return (
        mailbox.auth_method,
        mailbox.oauth_token_url,
        mailbox.oauth_client_id,
        mailbox.oauth_client_secret,
        mailbox.oauth_scope,
        mailbox.oauth_refresh_token,
    )


def mail_settings_save(*, tenant: Tenant) -> Tenant:
    """Validate and store the tenant's automatic-answer settings (the mailbox page's form)."""
    fields = ["auto_reply_repeat_limit", "auto_reply_repeat_hours", "satisfaction_survey"]
    tenant.full_clean(exclude=[f.name for f in tenant._meta.fields if f.name not in fields])
    tenant.save(update_fields=fields)
    return tenant


def mailbox_check(*, mailbox: Mailbox) -> str:
    """Try to log in and open the folder; returns what went wrong, or "" when it works."""
    try:
        with _source_for(mailbox):
            return ""
    except MailSourceError as exc:
        return str(exc)
    except Exception as exc:  # whatever it is, the admin sees a sentence, not an error page
        logger.exception("checking mailbox %s failed", mailbox.pk)
        return _error_note(exc)


def mailbox_connections_check(*, mailbox: Mailbox) -> dict[str, str]:
    """Log in to IMAP and, when the mailbox has its own, to SMTP: ``{"imap": problem,
    "smtp": problem}`` with "" for a login that works; no SMTP key without a server."""
    results = {"imap": mailbox_check(mailbox=mailbox)}
    if mailbox.smtp_host:
        try:
            results["smtp"] = mailbox_smtp_check(mailbox=mailbox)
        except Exception as exc:  # as above: a sentence, never a 500
            logger.exception("checking the SMTP server of mailbox %s failed", mailbox.pk)
            results["smtp"] = _error_note(exc)
    return results
