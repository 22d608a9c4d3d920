"""Tenant admins configure the mailboxes their customers write to, and see what came in."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from supportdesk.access import admin_required
from supportdesk.forms import form_save
from supportdesk.http import StaffRequest

from . import services
from .access import get_inbound_for_admin, get_mailbox_for_admin
from .forms import MailboxForm, MailSettingsForm
from .models import InboundEmail, InboundStatus, Mailbox, OutboundEmail, OutboundStatus

RECENT = 20


@admin_required
def mailbox_list(request: StaffRequest) -> HttpResponse:
    """The tenant's mailboxes, a form to add one, and the latest mail in and failed mail out."""
    tenant = request.tenant
    form = MailboxForm(request.POST or None, instance=Mailbox(tenant=tenant))
    if form_save(request, form, lambda: services.mailbox_save(mailbox=form.instance)) is not None:
        messages.success(request, _("Mailbox added."))
        return redirect("mail:mailbox-list")
    return _list_render(request, form, MailSettingsForm(instance=tenant))


@require_POST
@admin_required
def mail_settings(request: StaffRequest) -> HttpResponse:
    """Change the tenant's limits on automatic answers; errors show on the mailbox page."""
    tenant = request.tenant
    settings_form = MailSettingsForm(request.POST, instance=tenant)
    saved = form_save(
        request, settings_form, lambda: services.mail_settings_save(tenant=settings_form.instance)
    )
    if saved is not None:
        messages.success(request, _("Settings saved."))
        return redirect("mail:mailbox-list")
    tenant.refresh_from_db()
    return _list_render(request, MailboxForm(instance=Mailbox(tenant=tenant)), settings_form)


def _list_render(
    request: HttpRequest, form: MailboxForm, settings_form: MailSettingsForm
) -> HttpResponse:
    context = {
        "form": form,
        "settings_form": settings_form,
        "mailboxes": Mailbox.objects.all(),
        "inbound": InboundEmail.objects.select_related("ticket").defer("raw")[:RECENT],
        "unprocessed": InboundEmail.objects.filter(status=InboundStatus.FAILED).defer("raw"),
        "failed": OutboundEmail.objects.filter(
            status__in=(OutboundStatus.FAILED, OutboundStatus.BOUNCED)
        ).select_related("ticket")[:RECENT],
    }
    return render(request, "mail/manage/mailbox_list.html", context)


@admin_required
def mailbox_edit(request: StaffRequest, mailbox_id: int) -> HttpResponse:
    mailbox = get_mailbox_for_admin(request, mailbox_id)
    form = MailboxForm(request.POST or None, instance=mailbox)
    if form_save(request, form, lambda: services.mailbox_save(mailbox=form.instance)) is not None:
        messages.success(request, _("Mailbox saved."))
        return redirect("mail:mailbox-list")
    return render(request, "mail/manage/mailbox_form.html", {"form": form, "mailbox": mailbox})


@require_POST
@admin_required
def mailbox_check(request: StaffRequest, mailbox_id: int) -> HttpResponse:
    """Log in to the IMAP server, and the mailbox's own SMTP server, now; say how it went."""
    mailbox = get_mailbox_for_admin(request, mailbox_id)
    results = services.mailbox_connections_check(mailbox=mailbox)
    if results["imap"]:
        messages.error(
            request, _("Could not read the mailbox: %(problem)s") % {"problem": results["imap"]}
        )
    else:
        messages.success(request, _("The mailbox can be read."))
    if "smtp" in results and results["smtp"]:
        messages.error(
            request,
            _("Could not log in to the SMTP server: %(problem)s") % {"problem": results["smtp"]},
        )
    elif "smtp" in results:
        messages.success(request, _("Mail can be sent through the SMTP server."))
    return redirect("mail:mailbox-edit", mailbox_id=mailbox.pk)


@require_POST
@admin_required
def inbound_retry(request: StaffRequest, inbound_id: int) -> HttpResponse:
    """Process a failed message again now and say how it ended."""
    inbound = services.inbound_retry(inbound=get_inbound_for_admin(request, inbound_id))
    if inbound.status == InboundStatus.FAILED:
        messages.error(request, _("Still failing: %(error)s") % {"error": inbound.note})
    else:
        messages.success(
            request, _("Processed: %(outcome)s") % {"outcome": inbound.get_outcome_display()}
        )
    return redirect("mail:mailbox-list")


@require_POST
@admin_required
def inbound_discard(request: StaffRequest, inbound_id: int) -> HttpResponse:
    """Stop retrying a failed message; it stays stored but leaves the list."""
    inbound = get_inbound_for_admin(request, inbound_id)
    try:
        services.inbound_discard(inbound=inbound)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Discarded; the message stays stored."))
    return redirect("mail:mailbox-list")
