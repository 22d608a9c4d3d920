"""Forward-only recompute: when a running clock's rules change (priority, policy, target,
calendar), the business time it used until then stays as counted under the old rules and
only the rest is counted under the new ones; outcomes reached and past months' reports do
not change. Each case is chosen so that deriving again from receipt would give another
answer (the ticket arrives at 07:00, before the office opens at 08:00)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django_scopes import scope
from hypothesis import assume, given
from hypothesis import strategies as st

from contracts.models import SupportPlan
from contracts.services import contract_save
from reports.services import sla_report_build
from sla import services as sla_services
from sla.calendar import BusinessCalendar
from sla.clocks import (
    STOPPED,
    BulkRow,
    clip,
    clock_figures,
    clock_figures_many,
    to_epoch,
    used_until,
)
from sla.explanations import clock_explain
from sla.metrics import clock_timeline
from sla.models import (
    Clock,
    Metric,
    RecomputeJob,
    RecomputeState,
    SLAPolicy,
    SLATarget,
    TargetUnit,
)
from sla.services import TargetSpec, calendar_update, policy_targets_set
from supportdesk.celery import app as celery_app
from tests.conftest import Cast
from tests.tickets.conftest import OFFICE, Desk, at, build_desk
from tickets.choices import Category, Channel
from tickets.models import Ticket
from tickets.services import (
    ticket_change_priority,
    ticket_change_status,
    ticket_create,
    ticket_reply,
)

from .test_breach_rules import PROPS, scenarios
from .test_calendar import configs, split

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def eager_celery() -> Iterator[None]:
    old = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = old


@pytest.fixture
def desk(cast: Cast) -> Desk:
    return build_desk(cast)


def _file(cast: Cast, desk: Desk, moment: dt.datetime, **kw: Any) -> Ticket:
    with time_machine.travel(moment, tick=False), scope(tenant=cast.tenant_a):
        return ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Invoices do not print",
            description="x",
            channel=Channel.PORTAL,
            priority=kw.pop("priority", desk.p3),
            **kw,
        )


def _clock(ticket: Ticket, metric: str = Metric.FIRST_RESPONSE) -> Clock:
    return Clock.objects.select_related("calendar", "target__policy").get(
        ticket=ticket, metric=metric
    )


# --------------------------------------------------------------------------------------------
# The pure rule, over random calendars, histories and change instants
# --------------------------------------------------------------------------------------------


@PROPS
@given(scenario=scenarios(), other=configs(), more=st.data())
def test_time_used_before_a_change_is_kept_and_the_bulk_path_agrees(
    scenario: Any, other: Any, more: st.DataObject
) -> None:
    engine, start, changes, budget, metric = scenario
    new_engine = BusinessCalendar.from_dict(split(other)[0])
    change = start + dt.timedelta(minutes=15 * more.draw(st.integers(0, 4 * 24 * 8)))
    now = change + dt.timedelta(minutes=15 * more.draw(st.integers(0, 4 * 24 * 4)))
    new_budget = 15 * 60 * more.draw(st.integers(1, 4 * 30))
    timeline = clock_timeline(
        metric=metric,
        received_at=start,
        initial_status="new",
        changes=[c for c in changes if c.at <= now],
    )
    moment = to_epoch(change)
    # A clock that stopped before the change is frozen: never carried (see the service).
    assume(timeline.state != STOPPED or bool(clip(timeline.segments, moment)))
    carried = used_until(
        segments=timeline.segments, carried_seconds=0, carried_at=None, engine=engine, at=moment
    )
    # Under the new rules, the time used up to the change is what the old rules counted.
    assert (
        used_until(
            segments=timeline.segments,
            carried_seconds=carried,
            carried_at=moment,
            engine=new_engine,
            at=moment,
        )
        == carried
    )
    # A "change" to the same rules changes nothing (unless the budget had run out before
    # it: then it is due at the change, as the new rules' budget is unknown before).
    same = clock_figures(
        timeline=timeline,
        budget_seconds=budget,
        engine=engine,
        now=now,
        carried_seconds=carried,
        carried_at=moment,
    )
    plain = clock_figures(timeline=timeline, budget_seconds=budget, engine=engine, now=now)
    if carried < budget:
        assert (same.due_at, same.breached_at, same.met) == (
            plain.due_at,
            plain.breached_at,
            plain.met,
        )
    # The scalar and numpy paths agree on the carried clock under the new rules.
    one = clock_figures(
        timeline=timeline,
        budget_seconds=new_budget,
        engine=new_engine,
        now=now,
        thresholds=[100],
        carried_seconds=carried,
        carried_at=moment,
    )
    bulk = clock_figures_many(
        rows=[BulkRow(timeline.as_json(), new_budget, 100, carried, moment)],
        engine=new_engine,
        now=now,
    )
    if one.state != "paused" and one.due_at is not None:
        assert bulk.due_epoch[0] == one.due_at.timestamp()
    breached = bulk.breached_epoch[0]
    if one.breached_at is None:
        assert math.isnan(breached)
    else:
        assert breached == one.breached_at.timestamp()
    assert bulk.elapsed_seconds[0] == pytest.approx(one.elapsed_seconds)


# --------------------------------------------------------------------------------------------
# Each change kind, end to end
# --------------------------------------------------------------------------------------------


def test_a_priority_raise_keeps_the_time_used_and_counts_the_rest_under_p1(
    cast: Cast, desk: Desk
) -> None:
    ticket = _file(cast, desk, at(2026, 3, 2, 7, 0))  # P3: 4 business hours, office 08-17
    with time_machine.travel(at(2026, 3, 2, 8, 30), tick=False), scope(tenant=cast.tenant_a):
        ticket_change_priority(ticket=ticket, priority=desk.p1, actor=cast.agent)
        clock = _clock(ticket)
        # 30 min used on the office calendar; P1's 60 min around the clock: 30 min left.
        # (Derived again from receipt, 07:00 + 60 min would have been due at 08:00.)
        assert clock.carried_seconds == 30 * 60
        assert clock.due_at == at(2026, 3, 2, 9, 0)
        assert clock.calendar_id == desk.always.pk
        with translation_override("en"):
            words = " ".join(clock_explain(clock))
        assert "Priority raised to P1 at 08:30; 30 min of business time used before" in words, words
        with translation_override("sv"):
            assert "Prioriteten höjdes till P1 kl. 08:30" in " ".join(clock_explain(clock))
        with translation_override("nl"):
            assert "Prioriteit verhoogd naar P1 om 08:30" in " ".join(clock_explain(clock))


def test_a_met_response_stays_met_and_the_resolution_clock_moves_forward_only(
    cast: Cast, desk: Desk
) -> None:
    ticket = _file(cast, desk, at(2026, 3, 2, 7, 0))
    with time_machine.travel(at(2026, 3, 2, 10, 0), tick=False), scope(tenant=cast.tenant_a):
        ticket_reply(
            ticket=ticket, body="On it.", public=True, channel=Channel.PORTAL, author=cast.agent
        )
    with time_machine.travel(at(2026, 3, 2, 11, 0), tick=False), scope(tenant=cast.tenant_a):
        ticket_change_priority(
            ticket=Ticket.objects.get(pk=ticket.pk), priority=desk.p1, actor=cast.agent
        )
        assert _clock(ticket).met is True
        resolution = _clock(ticket, Metric.RESOLUTION)
        # 3 business hours used (08-11); P1 resolution 8 h around the clock: 5 h left.
        assert resolution.carried_seconds == 3 * 3600
        assert resolution.due_at == at(2026, 3, 2, 16, 0)


def test_a_policy_change_by_a_plan_change_keeps_the_time_used(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        round_the_clock = SLAPolicy.objects.create(
            tenant=cast.tenant_a, name="Round", calendar=desk.always
        )
        SLATarget.objects.create(
            tenant=cast.tenant_a,
            policy=round_the_clock,
            metric=Metric.FIRST_RESPONSE,
            amount=2,
            unit=TargetUnit.HOURS,
        )
        plan = SupportPlan.objects.create(
            tenant=cast.tenant_a,
            name="Round",
            sla_policy=round_the_clock,
            included_categories=list(Category.values),
        )
    ticket = _file(cast, desk, at(2026, 3, 2, 7, 0))
    with time_machine.travel(at(2026, 3, 2, 8, 30), tick=False), scope(tenant=cast.tenant_a):
        from django.test.utils import CaptureQueriesContext  # noqa: F401

        desk.contract.plan = plan
        with _on_commit():
            contract_save(contract=desk.contract, actor=None)
        clock = _clock(ticket)
        assert clock.target.policy_id == round_the_clock.pk
        # 30 min used under Standard; 1.5 h left around the clock (from receipt: 09:00).
        assert (clock.carried_seconds, clock.due_at) == (30 * 60, at(2026, 3, 2, 10, 0))
        assert clock.carried_why == {"kind": "policy", "name": "Round"}


def test_a_target_moved_to_another_calendar_keeps_the_time_used(cast: Cast, desk: Desk) -> None:
    ticket = _file(cast, desk, at(2026, 3, 2, 7, 0))
    with time_machine.travel(at(2026, 3, 2, 8, 30), tick=False), scope(tenant=cast.tenant_a):
        policy_targets_set(
            policy=desk.policy,
            targets=[
                TargetSpec(Metric.FIRST_RESPONSE, None, 4, TargetUnit.HOURS, desk.always),
                TargetSpec(Metric.RESOLUTION, None, 2, TargetUnit.WORKING_DAYS),
                TargetSpec(Metric.FIRST_RESPONSE, desk.p1, 60, TargetUnit.MINUTES, desk.always),
                TargetSpec(Metric.RESOLUTION, desk.p1, 8, TargetUnit.HOURS, desk.always),
            ],
            actor=cast.admin,
        )
        # 30 min used on the office calendar, 3.5 h around the clock (from receipt: 11:00).
        assert _clock(ticket).due_at == at(2026, 3, 2, 12, 0)


SHORT_MONDAY = {**OFFICE, "week": {**OFFICE["week"], "mon": ["10:00-17:00"]}}


@pytest.mark.parametrize("in_a_task", [False, True])
def test_a_calendar_edit_does_not_count_again_the_time_already_spent(
    cast: Cast, desk: Desk, in_a_task: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if in_a_task:
        monkeypatch.setattr(sla_services.recompute, "RECOMPUTE_INLINE_MAX", 0)
    ticket = _file(cast, desk, at(2026, 3, 2, 9, 0))
    with time_machine.travel(at(2026, 3, 2, 11, 0), tick=False), scope(tenant=cast.tenant_a):
        with _on_commit() as callbacks:
            count = calendar_update(
                calendar=desk.office,
                name="Office",
                config=SHORT_MONDAY,
                is_default=True,
                actor=cast.admin,
            )
            if in_a_task:  # the request has returned; the queue still shows the old due time
                assert _clock(ticket).due_at == at(2026, 3, 2, 13, 0)
                assert _clock(ticket).carried_at is None
                job = RecomputeJob.objects.get()
                assert (job.state, job.total) == (RecomputeState.QUEUED, count)
        assert count == 2 and len(callbacks) == (1 if in_a_task else 0)
        # 2 h used 09-11 under the old hours; 2 h left from 11:00. (Counted again under the
        # new hours, only 10-11 would have been used and it would be due at 14:00.)
        clock = _clock(ticket)
        assert (clock.carried_seconds, clock.due_at) == (2 * 3600, at(2026, 3, 2, 13, 0))
        ticket.refresh_from_db()
        assert ticket.next_due_at == at(2026, 3, 2, 13, 0)
        if in_a_task:
            job = RecomputeJob.objects.get()
            assert (job.state, job.done) == (RecomputeState.DONE, 2)
            desk.office.refresh_from_db()
            assert desk.office.recompute_from is None


def test_a_ticket_changed_before_the_task_reaches_it_counts_like_the_task(
    cast: Cast, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sla_services.recompute, "RECOMPUTE_INLINE_MAX", 0)
    ticket = _file(cast, desk, at(2026, 3, 2, 9, 0))
    with scope(tenant=cast.tenant_a):
        with time_machine.travel(at(2026, 3, 2, 11, 0), tick=False):
            with _on_commit(execute=False):
                calendar_update(
                    calendar=desk.office,
                    name="Office",
                    config=SHORT_MONDAY,
                    is_default=True,
                    actor=cast.admin,
                )
        # The task has not run; an agent puts the ticket on hold (no pause) at 11:30.
        with time_machine.travel(at(2026, 3, 2, 11, 30), tick=False):
            ticket_change_status(
                ticket=Ticket.objects.get(pk=ticket.pk),
                status="on_hold",
                actor=cast.agent,
                channel=Channel.PORTAL,
            )
        assert _clock(ticket).due_at == at(2026, 3, 2, 13, 0)
        with time_machine.travel(at(2026, 3, 2, 11, 40), tick=False):
            sla_services.recompute_run(job_id=RecomputeJob.objects.get().pk)
        assert _clock(ticket).due_at == at(2026, 3, 2, 13, 0)


def test_last_months_report_is_the_same_after_every_kind_of_change(
    cast: Cast, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sla_services.recompute, "RECOMPUTE_INLINE_MAX", 0)
    met = _file(cast, desk, at(2026, 2, 2, 9, 0))
    late = _file(cast, desk, at(2026, 2, 3, 9, 0))
    unanswered = _file(cast, desk, at(2026, 2, 4, 9, 0))
    running = _file(cast, desk, at(2026, 2, 5, 9, 0))
    with scope(tenant=cast.tenant_a):
        with time_machine.travel(at(2026, 2, 2, 10, 0), tick=False):
            ticket_reply(
                ticket=met, body="A", public=True, channel=Channel.PORTAL, author=cast.agent
            )
        with time_machine.travel(at(2026, 2, 4, 9, 30), tick=False):
            ticket_change_status(
                ticket=unanswered, status="solved", actor=cast.agent, channel=Channel.PORTAL
            )
        with time_machine.travel(at(2026, 2, 6, 9, 0), tick=False):
            ticket_reply(
                ticket=late, body="B", public=True, channel=Channel.PORTAL, author=cast.agent
            )
            sla_services.sla_sweep()  # the running ticket's breach is recorded

    def report() -> str:
        with scope(tenant=cast.tenant_a):
            built = sla_report_build(
                tenant=cast.tenant_a, month=dt.date(2026, 2, 1), now=at(2026, 3, 2, 12, 0)
            )
            return repr((built.total, built.rows))

    before = report()
    changes = [
        lambda: ticket_change_priority(
            ticket=Ticket.objects.get(pk=running.pk), priority=desk.p1, actor=cast.agent
        ),
        lambda: ticket_change_priority(
            ticket=Ticket.objects.get(pk=met.pk), priority=desk.p1, actor=cast.agent
        ),
        lambda: calendar_update(
            calendar=desk.office, name="Office", config=SHORT_MONDAY, is_default=True, actor=None
        ),
        lambda: policy_targets_set(
            policy=desk.policy,
            targets=[
                TargetSpec(Metric.FIRST_RESPONSE, None, 1, TargetUnit.HOURS, desk.always),
                TargetSpec(Metric.RESOLUTION, None, 9, TargetUnit.WORKING_DAYS),
            ],
            actor=None,
        ),
    ]
    with scope(tenant=cast.tenant_a):
        for change in changes:
            with time_machine.travel(at(2026, 3, 2, 11, 0), tick=False), _on_commit():
                change()
            assert report() == before


def test_a_reply_after_a_change_stops_the_carried_clock_with_the_outcome_of_its_due_time(
    cast: Cast, desk: Desk
) -> None:
    ticket = _file(cast, desk, at(2026, 3, 2, 7, 0))
    with scope(tenant=cast.tenant_a):
        with time_machine.travel(at(2026, 3, 2, 8, 30), tick=False):
            ticket_change_priority(ticket=ticket, priority=desk.p1, actor=cast.agent)
        with time_machine.travel(at(2026, 3, 2, 8, 50), tick=False):
            ticket_reply(
                ticket=Ticket.objects.get(pk=ticket.pk),
                body="On it.",
                public=True,
                channel=Channel.PORTAL,
                author=cast.agent,
            )
        clock = _clock(ticket)
        assert (clock.met, clock.due_at) == (True, at(2026, 3, 2, 9, 0))


# --------------------------------------------------------------------------------------------


def _on_commit(execute: bool = True) -> Any:
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=execute)


def translation_override(language: str) -> Any:
    from django.utils import translation

    return translation.override(language)


def test_a_first_response_nobody_needed_is_left_out_of_the_response_rate(
    cast: Cast, desk: Desk
) -> None:
    answered = _file(cast, desk, at(2026, 2, 2, 9, 0))
    solved = _file(cast, desk, at(2026, 2, 3, 9, 0))
    with scope(tenant=cast.tenant_a):
        with time_machine.travel(at(2026, 2, 2, 10, 0), tick=False):
            ticket_reply(
                ticket=answered, body="A", public=True, channel=Channel.PORTAL, author=cast.agent
            )
        with time_machine.travel(at(2026, 2, 3, 9, 30), tick=False):
            ticket_change_status(
                ticket=solved, status="solved", actor=cast.agent, channel=Channel.PORTAL
            )
        assert _clock(solved).met is None  # not needed
        report = sla_report_build(
            tenant=cast.tenant_a, month=dt.date(2026, 2, 1), now=at(2026, 3, 2, 12, 0)
        )
    (row,) = report.rows
    assert (row.outcomes["first_response"].met, row.outcomes["first_response"].missed) == (1, 0)
    assert row.outcomes["first_response"].rate == 100.0


def test_the_calendar_page_shows_the_recompute_progress_and_polls_until_done(
    cast: Cast, desk: Desk
) -> None:
    from django.urls import reverse

    from tests.conftest import client_for

    with scope(tenant=cast.tenant_a):
        job = RecomputeJob.objects.create(
            tenant=cast.tenant_a,
            object_type="sla.calendar",
            object_id=str(desk.office.pk),
            at=at(2026, 3, 2, 11, 0),
            state=RecomputeState.RUNNING,
            total=100_000,
            done=41_000,
        )
    client = client_for(cast.admin, cast.tenant_a)
    url = reverse("sla:calendar", kwargs={"calendar_id": desk.office.pk})
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Recomputing 41,000 of 100,000 due times" in page
    assert 'hx-trigger="every 2s"' in page
    with scope(tenant=cast.tenant_a):
        RecomputeJob.objects.filter(pk=job.pk).update(state=RecomputeState.DONE, done=100_000)
    page = client.get(url).content.decode()
    # Done: the progress box stops polling (the form's live preview has a trigger of its own).
    assert "Recomputed 100,000 due times" in page and 'hx-trigger="every 2s"' not in page


def test_the_dated_expiry_job_moves_open_tickets_off_the_expired_contracts_policy(
    cast: Cast, desk: Desk
) -> None:
    from contracts.services import contracts_expire_due

    with scope(tenant=cast.tenant_a):
        desk.contract.ends_on = dt.date(2026, 3, 1)
        desk.contract.save(update_fields=["ends_on"])
    ticket = _file(cast, desk, at(2026, 2, 27, 9, 0))
    assert ticket.sla_policy_id == desk.policy.pk
    with time_machine.travel(at(2026, 3, 2, 8, 0), tick=False), scope(tenant=cast.tenant_a):
        with _on_commit():
            assert contracts_expire_due(tenant=cast.tenant_a) == [desk.contract.pk]
        ticket.refresh_from_db()
        assert ticket.sla_policy_id is None  # no fallback plan: no promise any more
        assert not Clock.objects.filter(ticket=ticket, state="running").exists()


def test_a_recompute_whose_task_was_lost_is_run_by_the_next_sweep(
    cast: Cast, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broker was away when the edit committed: the job row exists, its task does not.
    A sweep a few minutes later runs it; a younger queued job is left to its own task."""
    monkeypatch.setattr(sla_services.recompute, "RECOMPUTE_INLINE_MAX", 0)
    ticket = _file(cast, desk, at(2026, 3, 2, 9, 0))
    with scope(tenant=cast.tenant_a):
        with time_machine.travel(at(2026, 3, 2, 11, 0), tick=False):
            with _on_commit(execute=False):  # the enqueue after commit is lost
                calendar_update(
                    calendar=desk.office,
                    name="Office",
                    config=SHORT_MONDAY,
                    is_default=True,
                    actor=cast.admin,
                )
        with time_machine.travel(at(2026, 3, 2, 11, 2), tick=False), _on_commit():
            sla_services.sla_sweep()
        assert RecomputeJob.objects.get().state == RecomputeState.QUEUED
        assert _clock(ticket).carried_at is None
        with time_machine.travel(at(2026, 3, 2, 11, 6), tick=False), _on_commit():
            sla_services.sla_sweep()
        job = RecomputeJob.objects.get()
        assert (job.state, job.done) == (RecomputeState.DONE, 2)
        clock = _clock(ticket)
        assert (clock.carried_seconds, clock.due_at) == (2 * 3600, at(2026, 3, 2, 13, 0))
