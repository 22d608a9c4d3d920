"""Every write of the SLA app, one module per concern.

- :mod:`.refresh`: the clocks of one ticket, derived from its history and stored;
- :mod:`.escalation`: thresholds acted on exactly once (an :class:`~sla.models.Alert` row per
  ticket, metric and threshold, written in the transaction that acts); whom a crossing
  notifies is the notifications app's (:mod:`notifications.notices`);
- :mod:`.sweep`: the idempotent sweep beat runs every minute;
- :mod:`.bulk`: set-based recomputation of many clocks after a calendar, target or plan edit;
- :mod:`.recompute`: that recomputation inline when small, else in a Celery task with progress;
- :mod:`.config`: the admins' configuration edits, each audited.

The clock rules themselves are pure functions in :mod:`sla.clocks` and :mod:`sla.metrics`;
shared reads (a ticket's history, the due tickets) are in :mod:`sla.selectors`. Callers import
from this package; the names below are its public surface.
"""

from .bulk import (
    Rebase,
    clocks_policy_moved,
    clocks_recompute_bulk,
)
from .config import (
    CalendarsChanged,
    TargetSpec,
    calendar_create,
    calendar_update,
    calendars_changed_subscribe,
    escalation_rule_save,
    policy_save,
    policy_targets_set,
    policy_update,
    priority_save,
    sla_rebuild,
)
from .escalation import (
    BREACH_PERCENT,
    line_mover_subscribe,
)
from .recompute import (
    clocks_recompute,
    recompute_run,
)
from .refresh import (
    sla_refresh,
    tickets_refresh,
)
from .sweep import sla_sweep

__all__ = [
    "BREACH_PERCENT",
    "CalendarsChanged",
    "Rebase",
    "TargetSpec",
    "calendar_create",
    "calendar_update",
    "calendars_changed_subscribe",
    "clocks_policy_moved",
    "clocks_recompute",
    "clocks_recompute_bulk",
    "escalation_rule_save",
    "line_mover_subscribe",
    "policy_save",
    "policy_targets_set",
    "policy_update",
    "priority_save",
    "recompute_run",
    "sla_rebuild",
    "sla_refresh",
    "sla_sweep",
    "tickets_refresh",
]
