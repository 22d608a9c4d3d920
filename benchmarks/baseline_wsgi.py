"""The WSGI application with one part put back to its previous shape, for a baseline.

``BENCH_BASELINE=kb``: knowledge-base search parses every article's text per query.
``BENCH_BASELINE=filing``: the tenant's ticket counter is locked as the filing transaction
starts (just before the ticket row is written, where it used to be) and held to the commit.
"""

from __future__ import annotations

import os

from supportdesk.wsgi import application

match os.environ.get("BENCH_BASELINE", ""):
    case "kb":
        from benchmarks.bench_kb import old_search
        from knowledgebase.managers import ArticleQuerySet

        ArticleQuerySet.search = old_search  # type: ignore[assignment,method-assign]
    case "filing":
        from typing import Any

        from tickets.models import Ticket, TicketCounter

        manager: Any = Ticket.objects
        create = manager.create

        def locked_create(**fields: Any) -> Ticket:
            TicketCounter.objects.select_for_update().filter(tenant=fields["tenant"]).first()
            return create(**fields)  # type: ignore[no-any-return]

        manager.create = locked_create
    case other:
        raise SystemExit(f"BENCH_BASELINE: unknown baseline {other!r}")

__all__ = ["application"]
