"""Tenant admins' webhook pages: list and add, edit, send a test, delete."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from supportdesk.access import admin_required, staff_user, tenant_for_admin
from supportdesk.forms import form_save
from supportdesk.http import StaffRequest

from . import services
from .access import get_webhook_for_admin
from .channels.webhook import webhook_ping
from .forms import WebhookForm
from .models import Webhook


@admin_required
def webhook_list(request: StaffRequest) -> HttpResponse:
    """The tenant's webhooks and a form to add one."""
    tenant = tenant_for_admin(request)
    form = WebhookForm(request.POST or None, instance=Webhook(tenant=tenant))
    actor = staff_user(request)
    saved = form_save(
        request, form, lambda: services.webhook_save(webhook=form.instance, actor=actor)
    )
    if saved is not None:
        messages.success(request, _("Webhook added. Its signing secret is on its page."))
        return redirect("notifications:webhook-edit", webhook_id=saved.pk)
    webhooks = Webhook.objects.filter(tenant=tenant)
    return render(request, "notifications/webhook_list.html", {"form": form, "webhooks": webhooks})


@admin_required
def webhook_edit(request: StaffRequest, webhook_id: int) -> HttpResponse:
    webhook = get_webhook_for_admin(request, webhook_id)
    form = WebhookForm(request.POST or None, instance=webhook)
    actor = staff_user(request)
    saved = form_save(
        request, form, lambda: services.webhook_save(webhook=form.instance, actor=actor)
    )
    if saved is not None:
        messages.success(request, _("Webhook saved."))
        return redirect("notifications:webhook-list")
    return render(request, "notifications/webhook_form.html", {"form": form, "webhook": webhook})


@require_POST
@admin_required
def webhook_test(request: StaffRequest, webhook_id: int) -> HttpResponse:
    """Post a test event now and say how it went."""
    webhook = get_webhook_for_admin(request, webhook_id)
    problem = webhook_ping(webhook=webhook)
    if problem:
        messages.error(request, _("The test was not taken: %(problem)s") % {"problem": problem})
    else:
        messages.success(request, _("The test was posted and taken."))
    return redirect("notifications:webhook-edit", webhook_id=webhook.pk)


@require_POST
@admin_required
def webhook_delete(request: StaffRequest, webhook_id: int) -> HttpResponse:
    webhook = get_webhook_for_admin(request, webhook_id)
    services.webhook_delete(webhook=webhook, actor=staff_user(request))
    messages.success(request, _("Webhook deleted."))
    return redirect("notifications:webhook-list")
