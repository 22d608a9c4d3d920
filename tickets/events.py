"""The ticket event log's write side and the hook notifications hang off.

Services call :func:`event_record` inside their transaction, then :func:`events_publish`;
after commit a Celery task hands each event to every handler registered here::

    from tickets.events import register_event_handler

    @register_event_handler
    def send_customer_confirmation(event: TicketEvent) -> None: ...

Handlers run inside the tenant scope, once per event, in registration order; a failing
handler is logged and does not stop the others. Register from an ``AppConfig.ready()`` so web
processes and Celery workers know the same handlers.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

if TYPE_CHECKING:
    from contracts.models import Contact
    from supportdesk.models import User

    from .models import Message, Ticket, TicketEvent

logger = logging.getLogger(__name__)

EventHandler = Callable[["TicketEvent"], None]
_handlers: list[EventHandler] = []


def register_event_handler(fn: EventHandler) -> EventHandler:
    """Call ``fn(event)`` for every ticket event after its transaction commits."""
    if fn not in _handlers:
        _handlers.append(fn)
    return fn


def event_handlers() -> list[EventHandler]:
    return list(_handlers)


def event_record(
    *,
    ticket: Ticket,
    kind: str,
    actor: User | None = None,
    actor_contact: Contact | None = None,
    by_staff: bool = False,
    channel: str = "",
    old: Any = "",
    new: Any = "",
    message: Message | None = None,
    is_public: bool = True,
    data: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> TicketEvent:
    """Append one event to the ticket's log. Caller is inside the transaction of the change."""
    from .models import TicketEvent

    return TicketEvent.objects.create(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        kind=kind,
        at=at or timezone.now(),
        actor=actor,
        actor_contact=actor_contact,
        by_staff=by_staff,
        channel=channel,
        old_value=str(old if old is not None else "")[:300],
        new_value=str(new if new is not None else "")[:300],
        message=message,
        is_public=is_public,
        data=data or {},
    )


def events_publish(events: Iterable[TicketEvent]) -> None:
    """Hand the events to the registered handlers once the transaction commits."""
    events = list(events)
    if not events:
        return
    tenant_id = events[0].tenant_id
    event_ids = [e.pk for e in events]

    def enqueue() -> None:
        from .tasks import ticket_events_dispatch

        enqueue_safely(ticket_events_dispatch, tenant_id, event_ids)

    transaction.on_commit(enqueue)


def enqueue_safely(task: Any, *args: Any) -> None:
    """``task.delay(*args)``, logging instead of raising when the broker is unreachable.

    Runs after commit: the change is saved, so failing the request would only hide that.
    """
    try:
        task.delay(*args)
    except Exception:
        logger.exception("could not enqueue %s%r", getattr(task, "name", task), args)


def events_handle(events: Iterable[TicketEvent]) -> None:
    """Run every handler on every event. Caller holds the tenant scope."""
    for event in events:
        for handler in list(_handlers):
            try:
                handler(event)
            except Exception:
                # One broken notifier must not keep the others (or later events) from running.
                logger.exception("ticket event handler %r failed on event %s", handler, event.pk)
