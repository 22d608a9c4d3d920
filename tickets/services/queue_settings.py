"""The queue's saved views (an agent's own or the tenant's shared ones) and each agent's own
queue settings: the support line they work and the columns they see."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from supportdesk.models import AuditAction, Tenant, User
from supportdesk.services import audit_record, audit_snapshot

from ..choices import SupportLine
from ..models import AgentProfile, QueueView
from ..queue import COLUMNS, SORTS, columns_with_ticket
from .steps import require_agent


def agent_line_set(*, tenant: Tenant, user: User, support_line: int) -> AgentProfile:
    """Record which support line an agent works (for the queue's "my line")."""
    require_agent(user)
    if support_line not in SupportLine.values:
        raise ValidationError({"support_line": _("Choose the 1st, 2nd or 3rd line.")})
    profile, _created = AgentProfile.objects.update_or_create(
        tenant=tenant, user=user, defaults={"support_line": support_line}
    )
    return profile


QUEUE_VIEW_PARAMS = (
    "view", "line", "due_within", "breached", "priority", "organisation", "status", "category",
    "q",
)  # fmt: skip
"""The queue's filter parameters (:class:`tickets.queue.QueueFilters`) a saved view keeps."""


def queue_view_save(
    *,
    tenant: Tenant,
    actor: User,
    name: str,
    params: Any,
    shared: bool,
    sort: str,
    columns: Sequence[str],
) -> QueueView:
    """Save the queue as ``params`` (the queue page's query) select it, under ``name``.

    ``shared``: the tenant's own view, for every agent (caller checked ``actor`` is an
    admin); else ``actor``'s. Only the filters the queue understands are kept, as
    :meth:`QueueFilters.from_params` reads them back; an unknown sort or column is a
    ``ValidationError`` and nothing is saved. Caller holds the tenant's scope.
    """
    require_agent(actor)
    name = " ".join(str(name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the view a name.")})
    if sort not in SORTS:
        raise ValidationError({"sort": _("Unknown sort order.")})
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ValidationError({"columns": _("Unknown column: %(name)s") % {"name": unknown[0]}})
    filters = {
        key: str(params.get(key))
        for key in QUEUE_VIEW_PARAMS
        if str(params.get(key, "") or "").strip()
    }
    view = QueueView(
        tenant=tenant,
        owner=None if shared else actor,
        name=name,
        filters=filters,
        sort=sort,
        columns=columns_with_ticket(columns) if columns else [],
    )
    view.full_clean(exclude=["tenant", "owner"])
    with transaction.atomic():
        view.save()
        audit_record(instance=view, actor=actor, before=None)
    return view


def queue_view_delete(*, view: QueueView, actor: User) -> None:
    """Delete a saved view: one's own, or a shared one (caller checked ``actor`` is an
    admin); audited."""
    if view.owner_id is not None and view.owner_id != actor.pk:
        raise ValidationError(_("Unknown view."))
    with transaction.atomic():
        before = audit_snapshot(view)
        audit_record(instance=view, actor=actor, before=before, action=AuditAction.DELETED)
        view.delete()


def agent_columns_set(*, tenant: Tenant, user: User, columns: Sequence[str]) -> AgentProfile:
    """Record which queue columns an agent wants (empty: the default set)."""
    require_agent(user)
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ValidationError({"columns": _("Unknown column: %(name)s") % {"name": unknown[0]}})
    chosen = columns_with_ticket(columns) if columns else []
    profile, _created = AgentProfile.objects.update_or_create(
        tenant=tenant, user=user, defaults={"queue_columns": chosen}
    )
    return profile
