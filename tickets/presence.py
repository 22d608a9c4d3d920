"""Who is on a ticket's page right now, and who is typing a reply: collision detection.

Each open agent page sends a heartbeat every few seconds (``static/js/presence.js``); a
person is listed until :data:`PRESENCE_TTL` seconds pass without one. The entries live in
Django's cache (Redis when ``REDIS_URL`` is set, the process's memory otherwise), never in
the database: presence is worth nothing a minute later, and a heartbeat must not write a row.

One cache key per ticket, namespaced by the tenant's id and the ticket's id, holds a small
dict ``{user id: [name, typing, last heartbeat]}``. Two heartbeats landing in the same
millisecond may overwrite each other (read, change, write); the one lost comes back with that
person's next heartbeat, a few seconds later, which is all presence promises.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache

from supportdesk.models import User

from .models import Ticket

PRESENCE_TTL = 30
"""Seconds after the last heartbeat that a person still counts as on the page."""

HEARTBEAT_EVERY = 5
"""Seconds between two heartbeats of an open page (read by the page's script)."""


@dataclass(frozen=True)
class Presence:
    user_id: int
    name: str
    typing: bool
    seen_at: float


def presence_key(ticket: Ticket) -> str:
    """The cache key of a ticket's presence: another tenant's ticket never shares it."""
    return f"presence:tenant-{ticket.tenant_id}:ticket-{ticket.pk}"


def _fresh(entries: dict[int, list[object]], now: float) -> dict[int, list[object]]:
    return {
        user_id: entry
        for user_id, entry in entries.items()
        if now - float(entry[2]) < PRESENCE_TTL  # type: ignore[arg-type]
    }


def presence_touch(*, ticket: Ticket, user: User, typing: bool) -> None:
    """Record a heartbeat of ``user`` on ``ticket``'s page, typing a reply or not.

    The caller checked that ``user`` is staff of the ticket's tenant, and that only agents
    and admins (who may reply) pass ``typing=True``. Expired entries are dropped on the way.
    """
    now = time.time()
    key = presence_key(ticket)
    entries = _fresh(cache.get(key) or {}, now)
    entries[user.pk] = [str(user), bool(typing), now]
    # The cache's own expiry only collects tickets nobody looks at any more; the listed
    # heartbeat times decide who is present (they follow a frozen clock in tests, too).
    cache.set(key, entries, timeout=PRESENCE_TTL * 2)


def presence_list(*, ticket: Ticket) -> list[Presence]:
    """Those on ``ticket``'s page within the last :data:`PRESENCE_TTL` seconds, by name."""
    entries = _fresh(cache.get(presence_key(ticket)) or {}, time.time())
    return sorted(
        (
            Presence(user_id=user_id, name=str(name), typing=bool(typing), seen_at=float(seen))  # type: ignore[arg-type]
            for user_id, (name, typing, seen) in entries.items()
        ),
        key=lambda p: (p.name.casefold(), p.user_id),
    )
