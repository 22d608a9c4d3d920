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
        from benchmarks.bench_filing import lock_counter_first

        lock_counter_first()
    case other:
        raise SystemExit(f"BENCH_BASELINE: unknown baseline {other!r}")

__all__ = ["application"]
