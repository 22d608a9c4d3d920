"""The ticket event log's write side and the hook notifications hang off.

Services call :func:`event_record` inside their transaction, then :func:`events_publish`,
still inside it. Handlers are registered here::

    from tickets.events import register_event_handler

    @register_event_handler
    def send_customer_confirmation(event: TicketEvent) -> None: ...

Nothing is handed to Celery fire-and-forget any more (issue 13: with the broker away, those
notifications were lost for good). :func:`events_publish` calls the *event outbox* in the
transaction of the change, and the outbox writes one delivery row per event and handler;
the change and its pending side effects commit together or not at all. The outbox is
:mod:`notifications` (a leaf app above this one), which plugs itself in with
:func:`register_event_outbox` from its ``AppConfig.ready()``: this module names no higher
app, and the delivery table lives with the relay that works it off. Without an outbox
:func:`events_publish` refuses (the change rolls back) instead of dropping the events.

Handlers run after commit, inside the tenant scope, at least once per event (a crash after
a handler ran and before it was recorded runs it again), each retried on its own with
backoff until it succeeds; a failing handler does not stop the others. So a handler must
be idempotent: key what it writes by the event (the mail handlers' outbox key names the
event and the recipient). Register from an ``AppConfig.ready()`` so web processes and Celery
workers know the same handlers; a handler is known by its dotted name
(:func:`event_handler_name`), stored on its delivery rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

# Re-exported: the apps above import it from here too; it lives in the lowest layer.
from supportdesk.services import enqueue_safely as enqueue_safely

from .models import Message, Ticket, TicketEvent

if TYPE_CHECKING:
    from contracts.models import Contact
    from supportdesk.models import User

logger = logging.getLogger(__name__)

EventHandler = Callable[["TicketEvent"], "str | None"]
"""``handler(event)``: None when done; a problem (a non-empty string) when part of the work is
done and must stay done (it commits) while the rest is retried, as a raise retries it all."""
EventFilter = Callable[[list["TicketEvent"]], list["TicketEvent"]]
"""``wants(events)``: the events a handler is owed, decided when they are stored. For a
handler that most events give nothing to do (a webhook channel few tenants configure): it
costs no delivery row and no relay work then. It must be cheap (no query per event) and may
say yes too often (the handler checks again), never no too often (that event is lost to it)."""
EventOutbox = Callable[[dict[str, list["TicketEvent"]]], None]
"""``outbox({handler_name: events})``: store that each handler is owed its events, in the
caller's transaction, and see that the deliveries run after commit."""

_handlers: dict[str, EventHandler] = {}
_wants: dict[str, EventFilter] = {}
_outbox: list[EventOutbox] = []


def event_handler_name(fn: EventHandler) -> str:
    """The name a handler's delivery rows carry: its module and qualified name."""
    return f"{fn.__module__}.{fn.__qualname__}"


def register_event_handler(fn: EventHandler, *, wants: EventFilter | None = None) -> EventHandler:
    """Call ``fn(event)`` after commit for every ticket event, or for those ``wants`` picks
    when the events are stored."""
    name = event_handler_name(fn)
    _handlers.setdefault(name, fn)
    if wants is not None:
        _wants.setdefault(name, wants)
    return fn


def event_handlers() -> list[EventHandler]:
    return list(_handlers.values())


def event_handler_named(name: str) -> EventHandler | None:
    """The registered handler called ``name``; None when no handler has that name (any more)."""
    return _handlers.get(name)


def register_event_outbox(outbox: EventOutbox) -> None:
    """Make ``outbox`` the one place :func:`events_publish` stores events' deliveries."""
    _outbox[:] = [outbox]


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
    """Store that every registered handler is owed the events, in the caller's transaction.

    Caller is inside the transaction of the change: the deliveries commit with it. They run
    after commit (see the module docstring); a broker that is away delays them, never drops
    them.
    """
    events = list(events)
    if not events:
        return
    if not _outbox:
        raise ImproperlyConfigured(
            "no event outbox is registered: add 'notifications' to INSTALLED_APPS"
        )
    owed = {name: _wants[name](events) if name in _wants else events for name in _handlers}
    _outbox[0]({name: wanted for name, wanted in owed.items() if wanted})
