"""Every write to macros, and a reply sent with one.

Saving checks the text in the sandbox (:mod:`tickets.macros.sandbox`) and writes an audit
row in the same transaction; using a macro sends the reply and applies its actions through
the ticket services, each writing its usual ticket event, in one transaction with the
usage count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from supportdesk.models import AuditAction, Membership, User
from supportdesk.services import audit_record, audit_snapshot
from tickets import services as ticket_services
from tickets.choices import Channel, Status
from tickets.models import Macro, Message, Ticket

from .sandbox import macro_context, macro_render, macro_text_check

# Closing is final and asks for a confirmation on the ticket page: no macro does it in passing.
MACRO_STATUSES = tuple(value for value in Status.values if value != Status.CLOSED)

_AUDIT_IGNORED = ("usage_count", "last_used_at")


def _is_agent(user: User | None) -> bool:
    return user is not None and Membership.objects.agents().filter(user=user).exists()


def _validated(macro: Macro) -> None:
    macro.full_clean(exclude=["tenant", "owner"])
    macro_text_check(macro.body, field="body")
    macro_text_check(macro.note, field="note")
    if macro.set_status and macro.set_status not in MACRO_STATUSES:
        raise ValidationError(
            {"set_status": _("A macro cannot close a ticket: closing is final and confirmed.")}
        )
    if macro.set_priority is not None and macro.set_priority.tenant_id != macro.tenant_id:
        raise ValidationError({"set_priority": _("Unknown priority.")})
    if macro.set_assignee is not None:
        if macro.assign_to_me:
            raise ValidationError(
                {"set_assignee": _("Choose an agent or the agent who uses it, not both.")}
            )
        if not _is_agent(macro.set_assignee):
            raise ValidationError({"set_assignee": _("Choose an agent of this organisation.")})


def macro_save(*, macro: Macro, actor: User) -> Macro:
    """Check and store a macro (new or changed); audited like every configuration change.

    ``macro.owner`` empty is a shared macro (caller checked ``actor`` is an admin), else it
    must be ``actor``: an agent saves only their own. A text with an unknown variable, tag or
    filter, or bad syntax, raises ``ValidationError`` on its field and nothing is saved.
    Caller holds the tenant's scope.
    """
    if not _is_agent(actor):
        raise ValidationError(_("Only agents can keep macros."))
    if macro.owner_id is not None and macro.owner_id != actor.pk:
        raise ValidationError(_("Unknown macro."))
    macro.name = " ".join(macro.name.split())
    _validated(macro)
    with transaction.atomic():
        before = audit_snapshot(macro)
        macro.save()
        audit_record(instance=macro, actor=actor, before=before, ignore=_AUDIT_IGNORED)
    return macro


def macro_delete(*, macro: Macro, actor: User) -> None:
    """Delete a macro (the same rule as :func:`macro_save` on whose it is); audited."""
    if macro.owner_id is not None and macro.owner_id != actor.pk:
        raise ValidationError(_("Unknown macro."))
    with transaction.atomic():
        before = audit_snapshot(macro)
        audit_record(instance=macro, actor=actor, before=before, action=AuditAction.DELETED)
        macro.delete()


def macro_preview(*, macro: Macro, ticket: Ticket, agent: User) -> str:
    """The macro's reply text for ``ticket`` as ``agent`` would send it."""
    return macro_render(macro.body, macro_context(ticket=ticket, agent=agent))


def _changes(macro: Macro, agent: User) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if macro.set_priority_id is not None:
        changes["priority"] = macro.set_priority
    if macro.assign_to_me:
        changes["assignee"] = agent
    elif macro.set_assignee_id is not None:
        changes["assignee"] = macro.set_assignee
    if macro.set_support_line:
        changes["support_line"] = macro.set_support_line
    if macro.set_status:
        changes["status"] = macro.set_status
    return changes


def ticket_reply_with_macro(
    *,
    ticket: Ticket,
    macro: Macro,
    body: str,
    public: bool,
    actor: User,
    attachments: Sequence[UploadedFile] = (),
    channel: str = Channel.PORTAL,
    expected_version: int | None = None,
    markdown: bool = False,
) -> Message:
    """Send the reply the agent wrote from ``macro`` and apply the macro's actions.

    In one transaction: the reply (:func:`tickets.services.ticket_reply`), the macro's
    internal note, its status, priority, assignee and support line
    (:func:`tickets.services.ticket_update`, one ticket event per change) and the macro's
    usage count. Any refusal (a status the ticket cannot move to, a closed ticket) raises
    ``ValidationError`` and nothing is saved. ``macro`` must be usable by ``actor`` (shared,
    or theirs; the caller fetched it through ``tickets.macros.access``). ``expected_version``
    is checked before anything is written, as in :func:`tickets.services.ticket_reply`
    (``VersionConflict``). Caller holds the tenant's scope.
    """
    if macro.tenant_id != ticket.tenant_id or macro.owner_id not in (None, actor.pk):
        raise ValidationError({"macro": _("Unknown macro.")})
    with transaction.atomic():
        message = ticket_services.ticket_reply(
            ticket=ticket,
            body=body,
            public=public,
            channel=channel,
            author=actor,
            attachments=attachments,
            expected_version=expected_version,
            markdown=markdown,
        )
        current = message.ticket  # the locked copy, at the version the reply left it
        note = macro_render(macro.note, macro_context(ticket=current, agent=actor))
        if note:
            # Before the status: a macro that solves the ticket still leaves its note on it.
            current = ticket_services.ticket_reply(
                ticket=current, body=note, public=False, channel=channel, author=actor
            ).ticket
        changes = _changes(macro, actor)
        if changes:
            ticket_services.ticket_update(
                ticket=current,
                actor=actor,
                channel=channel,
                expected_version=current.version,
                changes=changes,
            )
        Macro.objects.filter(pk=macro.pk).update(
            usage_count=F("usage_count") + 1, last_used_at=timezone.now()
        )
    return message
