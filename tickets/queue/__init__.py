"""The agent queue: filters (:mod:`.filters`), the tickets they select in each order with
keyset pages (:mod:`.query`), the columns (:mod:`.columns`) and the rows the page prints
(:mod:`.rows`). The names below are the queue's public surface, re-exported so callers
import from ``tickets.queue``."""

from __future__ import annotations

from .columns import (
    COLUMN_SORTS,
    COLUMNS,
    DEFAULT_COLUMNS,
    columns_from_value,
    columns_with_ticket,
)
from .filters import MAX_DUE_WITHIN, QueueFilters, QueueFilterSet
from .query import (
    DEFAULT_SORT,
    MAX_PAGE_SIZE,
    SOON_SECONDS,
    SORTS,
    QueueChoices,
    QueueItem,
    QueuePage,
    decode_cursor,
    decode_sort_cursor,
    queue_attach,
    queue_choices,
    queue_page,
    queue_queryset,
    queue_view_counts,
    sort_from_param,
    urgency,
)
from .rows import QueueRow, queue_rows, queue_rows_context

__all__ = [
    "COLUMNS",
    "COLUMN_SORTS",
    "DEFAULT_COLUMNS",
    "DEFAULT_SORT",
    "MAX_DUE_WITHIN",
    "MAX_PAGE_SIZE",
    "SOON_SECONDS",
    "SORTS",
    "QueueChoices",
    "QueueFilterSet",
    "QueueFilters",
    "QueueItem",
    "QueuePage",
    "QueueRow",
    "columns_from_value",
    "columns_with_ticket",
    "decode_cursor",
    "decode_sort_cursor",
    "queue_attach",
    "queue_choices",
    "queue_page",
    "queue_queryset",
    "queue_rows",
    "queue_rows_context",
    "queue_view_counts",
    "sort_from_param",
    "urgency",
]
