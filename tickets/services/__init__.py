"""Every write to tickets, one module per concern. One function per intent; each locks the
ticket row, writes its change and an event in one transaction, re-derives the SLA clocks from
the history, and hands the events to the notification handlers after commit.

- :mod:`.filing`: a new ticket (entitlement, routing, first message, clocks, its number);
- :mod:`.replies`: the conversation: replies, internal notes, automatic notes;
- :mod:`.changes`: one ticket's status, priority, assignee, line, vendor escalation, kind and
  billability, alone or several at once, and the queue's bulk assignment;
- :mod:`.billing`: the customer's answer to a charge a conversion asked for;
- :mod:`.sla_policy`: the SLA policy a ticket is under, moved by hand or after a contract change;
- :mod:`.time_entries`: time logged by agents, capped without an accepted quote;
- :mod:`.queue_settings`: saved queue views and each agent's queue settings;
- :mod:`.steps`: the steps those writes are made of (row lock, version bump, input checks,
  status move, staff event), shared with the ticket sub-apps, which import them from there.

Web views, the API, the portal and the e-mail channel all call these functions. Callers
import from this package; the names below are its public surface.
"""

from .billing import ticket_billing_accept, ticket_billing_decline
from .changes import (
    CONTACT_TRANSITIONS,
    TRANSITIONS,
    TransitionNotAllowed,
    ticket_assign,
    ticket_change_line,
    ticket_change_priority,
    ticket_change_request_type,
    ticket_change_status,
    ticket_convert,
    ticket_set_billable,
    ticket_set_vendor_reference,
    ticket_update,
    ticket_vendor_escalate,
    tickets_assign_bulk,
    vendor_settings_save,
)
from .filing import AcceptanceRequired, TicketRefused, ticket_create
from .queue_settings import (
    QUEUE_VIEW_PARAMS,
    agent_columns_set,
    agent_line_set,
    queue_view_delete,
    queue_view_save,
)
from .replies import ticket_note_automatic, ticket_reply
from .sla_policy import (
    POLICY_MOVE_BATCH,
    ticket_change_sla_policy,
    tickets_sla_policy_recompute,
    tickets_sla_policy_recompute_enqueue,
)
from .steps import VersionConflict, body_sanitize, is_staff
from .time_entries import time_entry_log

__all__ = [
    "CONTACT_TRANSITIONS",
    "POLICY_MOVE_BATCH",
    "QUEUE_VIEW_PARAMS",
    "TRANSITIONS",
    "AcceptanceRequired",
    "TicketRefused",
    "TransitionNotAllowed",
    "VersionConflict",
    "agent_columns_set",
    "agent_line_set",
    "body_sanitize",
    "is_staff",
    "queue_view_delete",
    "queue_view_save",
    "ticket_assign",
    "ticket_billing_accept",
    "ticket_billing_decline",
    "ticket_change_line",
    "ticket_change_priority",
    "ticket_change_sla_policy",
    "ticket_change_status",
    "ticket_change_request_type",
    "ticket_convert",
    "ticket_create",
    "ticket_note_automatic",
    "ticket_reply",
    "ticket_set_billable",
    "ticket_set_vendor_reference",
    "ticket_update",
    "ticket_vendor_escalate",
    "tickets_assign_bulk",
    "tickets_sla_policy_recompute",
    "tickets_sla_policy_recompute_enqueue",
    "time_entry_log",
    "vendor_settings_save",
]
