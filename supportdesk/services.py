"""The audit trail of configuration changes, written by every app's services."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django_scopes import scopes_disabled

from .fields import EncryptedTextField
from .models import AuditAction, AuditEvent

logger = logging.getLogger(__name__)


def _plain(value: Any) -> Any:
    """A JSON-safe form of a field value (dates, decimals and the like become strings)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def audit_snapshot(instance: models.Model) -> dict[str, Any] | None:
    """The stored state of ``instance`` (None when it is new), to diff after a save."""
    if instance.pk is None:
        return None
    stored = type(instance)._base_manager.filter(pk=instance.pk).values().first()
    return None if stored is None else {k: _plain(v) for k, v in stored.items()}


def audit_record(
    *,
    instance: models.Model,
    actor: Any,
    before: dict[str, Any] | None,
    action: str | None = None,
    extra: dict[str, Any] | None = None,
    ignore: tuple[str, ...] = (),
) -> AuditEvent | None:
    """Write one audit event for ``instance`` compared with ``before`` (from
    :func:`audit_snapshot`). A save that changed nothing writes nothing.

    Caller holds the tenant scope and the transaction of the change.
    """
    # Read back what was stored, so both sides have the database's form of each value
    # (Decimal("0") in memory is "0.00" once stored).
    after = audit_snapshot(instance) or {}
    if action is None:
        action = AuditAction.CREATED if before is None else AuditAction.CHANGED
    if action == AuditAction.CREATED:
        changes = {k: [None, v] for k, v in after.items() if v not in (None, "", [], {})}
    elif action == AuditAction.DELETED:
        changes = {}
    else:
        changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}  # type: ignore[union-attr]
    for name in ("id", "tenant_id", *ignore):
        changes.pop(name, None)
    changes.update(extra or {})
    if action == AuditAction.CHANGED and not changes:
        return None
    return AuditEvent.objects.create(
        tenant_id=instance.tenant_id,  # type: ignore[attr-defined]
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=instance._meta.label_lower,
        object_id=str(instance.pk),
        object_repr=str(instance)[:200],
        changes=changes,
    )


def secrets_rotate() -> int:
    """Encrypt every stored secret again with the first ``FIELD_ENCRYPTION_KEY``; returns
    how many values were rewritten. Run it after putting a new key first, then drop the old.

    Crosses tenants (the one caller is a management command), in one transaction.
    """
    rewritten = 0
    with scopes_disabled(), transaction.atomic():
        for model in apps.get_models():
            fields = [f.name for f in model._meta.fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            rows = model._base_manager.select_for_update().values_list("pk", *fields)
            for pk, *values in rows:
                model._base_manager.filter(pk=pk).update(**dict(zip(fields, values, strict=True)))
                rewritten += sum(1 for value in values if value)
    return rewritten


def enqueue_safely(task: Any, *args: Any) -> None:
    """``task.delay(*args)``, logging instead of raising when the broker is unreachable.

    Runs after commit: the change is saved, so failing the request would only hide that.
    Every app's after-commit enqueue goes through it, so it lives in the lowest layer.
    """
    try:
        task.delay(*args)
    except Exception:
        logger.exception("could not enqueue %s%r", getattr(task, "name", task), args)
