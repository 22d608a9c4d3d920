"""SLA metrics as rules: when each metric's clock starts, pauses, stops and starts again.

One rule object per :class:`~sla.choices.Metric` value, in :data:`METRICS`. Everything that
handles clocks (the refresh, the bulk recompute, escalation, explanations, the monthly
report, the portal promise, the API) iterates over this registry instead of naming metrics,
so adding a metric is one rule here, its choice, and its tests (docs/sla.md, "Adding a
metric").

A rule turns a ticket's history into the :class:`~sla.clocks.Timeline` of its clock (pure:
no database). Single-shot metrics run once per ticket. A *cycle* metric (next reply) runs
once per cycle: each cycle is judged on its own budget, the clock row follows the current
cycle, and the outcomes of the cycles before it are kept as counts on the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .choices import Metric
from .clocks import DONE_STATUSES, Change, Timeline, run_timeline, to_epoch

Cycle = tuple[dt.datetime, str, list[Change]]
"""One run of a cycle metric's clock: its start, the status then, and the changes that
follow up to and including the one that ends it."""

CycleFinder = Callable[[dt.datetime, str, Sequence[Change]], list[Cycle]]


@dataclass(frozen=True)
class MetricRule:
    """How one metric's clock follows from the history.

    ``stops_on_response``: the clock stops for good at the first public staff reply (or a
    solve or close), as a response target does; otherwise only a solve or close stops it,
    and a reopen resumes it. ``cycles``: for a metric that runs again and again, the function
    that finds its runs in a history (each run is then timed as a response clock);
    ``promise_label``: what the portal calls the due time while the clock runs ("First
    response by"); ``met_label``: the report's heading ("First response met");
    ``started_words``: how the explanation names the start, with ``%(when)s``;
    ``pauses_on_vendor``: the clock pauses while the ticket waits on the vendor, where the
    tenant chose that (the history's ``vendor_wait`` changes say when).
    """

    metric: Metric
    stops_on_response: bool
    promise_label: Promise
    met_label: Promise
    started_words: Promise
    cycles: CycleFinder | None = None
    pauses_on_vendor: bool = False

    @property
    def key(self) -> str:
        return str(self.metric.value)

    @property
    def label(self) -> str:
        return str(self.metric.label)

    def timeline(
        self, *, received_at: dt.datetime, initial_status: str, changes: Sequence[Change]
    ) -> Timeline | None:
        """The clock's timeline, or None while it has not started (a next-reply clock before
        the first customer message that follows a reply)."""
        if self.cycles is None:
            return run_timeline(
                received_at=received_at,
                initial_status=initial_status,
                changes=changes,
                stops_on_response=self.stops_on_response,
                pauses_on_vendor=self.pauses_on_vendor,
            )
        timelines = []
        for start, status, part in self.cycles(received_at, initial_status, changes):
            run = run_timeline(
                received_at=start, initial_status=status, changes=part, stops_on_response=True
            )
            # A message to a pending ticket reopens it in the same second: no pause to explain.
            pauses = tuple(p for p in run.pauses if p.end is None or p.end > p.start)
            timelines.append(replace(run, pauses=pauses, started=to_epoch(start)))
        if not timelines:
            return None
        return replace(timelines[-1], cycle=len(timelines), past=tuple(timelines[:-1]))


def clock_timeline(
    *, metric: str, received_at: dt.datetime, initial_status: str, changes: Sequence[Change]
) -> Timeline:
    """The timeline of ``metric``'s clock on a history in which it has started (its rule's).

    Raises ValueError for a clock that has not started (see :meth:`MetricRule.timeline`)."""
    timeline = METRICS[metric].timeline(
        received_at=received_at, initial_status=initial_status, changes=changes
    )
    if timeline is None:
        raise ValueError(f"the {metric} clock has not started on this history")
    return timeline


def reply_cycles(
    received_at: dt.datetime, initial_status: str, changes: Iterable[Change]
) -> list[Cycle]:
    """The next-reply cycles of a history.

    A cycle starts at a customer message when the ticket has had a public staff reply (or
    was solved without one) and no cycle is open: the opening message is the first
    response's to answer. It ends at the next public staff reply, or when the ticket is
    solved or closed (neither met nor missed then, unless it had breached). A message that
    arrives while the ticket is solved or closed starts the cycle when the ticket is reopened.
    Further messages while a cycle is open change nothing: the oldest unanswered message
    counts (Zendesk and Zammad measure it the same way).
    """
    cycles: list[Cycle] = []
    status = initial_status
    replied = False
    waiting = False  # a customer message came while solved or closed: start on reopen
    current: Cycle | None = None
    for change in changes:
        if current is not None:
            current[2].append(change)
        if change.customer and replied and current is None:
            if status in DONE_STATUSES:
                waiting = True
            else:
                current = (change.at, status, [])
        if change.status:
            status = change.status
            if waiting and status not in DONE_STATUSES and current is None:
                current, waiting = (change.at, status, []), False
        if current is not None and current[2] and _ends_cycle(current[2][-1]):
            cycles.append(current)
            current = None
        if change.responded or change.status in DONE_STATUSES:
            # The first response is given (or was not needed): messages now await a reply.
            replied = True
        if change.responded:
            waiting = False
    if current is not None:
        cycles.append(current)
    return cycles


def update_cycles(
    received_at: dt.datetime, initial_status: str, changes: Iterable[Change]
) -> list[Cycle]:
    """The periodic-update cycles of a history: the customer hears from us every so often
    while the ticket is open, whether or not they wrote (ITSL: "keeps the customer informed
    proactively").

    The first cycle starts at receipt; each public staff reply ends one and starts the next;
    a solve or close ends it (a reopen starts a new one). It pauses while pending.
    """
    cycles: list[Cycle] = []
    status = initial_status
    current: Cycle | None = None if status in DONE_STATUSES else (received_at, status, [])
    for change in changes:
        if current is not None:
            current[2].append(change)
        if change.status:
            status = change.status
        if current is not None and _ends_cycle(change):
            cycles.append(current)
            current = None
            if change.responded and status not in DONE_STATUSES:
                current = (change.at, status, [])
        elif current is None and change.status and status not in DONE_STATUSES:
            current = (change.at, status, [])  # reopened
    if current is not None:
        cycles.append(current)
    return cycles


def _ends_cycle(change: Change) -> bool:
    return change.responded or change.status in DONE_STATUSES


METRICS: dict[str, MetricRule] = {
    rule.key: rule
    for rule in (
        MetricRule(
            Metric.FIRST_RESPONSE,
            stops_on_response=True,
            promise_label=_("First response by"),
            met_label=_("First response met"),
            started_words=_("The clock started when the ticket was received, %(when)s."),
        ),
        MetricRule(
            Metric.RESOLUTION,
            stops_on_response=False,
            promise_label=_("Target resolution"),
            met_label=_("Resolution met"),
            started_words=_("The clock started when the ticket was received, %(when)s."),
            pauses_on_vendor=True,
        ),
        MetricRule(
            Metric.NEXT_REPLY,
            stops_on_response=True,
            cycles=reply_cycles,
            promise_label=_("Next reply by"),
            met_label=_("Next reply met"),
            started_words=_(
                "The clock started at the customer's message of %(when)s, the oldest one "
                "not yet answered."
            ),
        ),
        MetricRule(
            Metric.PERIODIC_UPDATE,
            stops_on_response=True,
            cycles=update_cycles,
            promise_label=_("Next update by"),
            met_label=_("Updates on time"),
            started_words=_(
                "The clock started at %(when)s, when the ticket was received or last answered "
                "in public."
            ),
        ),
    )
}
"""Every metric's rule, in the order reports and pages show them."""


def metric_rule(metric: str) -> MetricRule:
    return METRICS[metric]
