"""Problems: create and edit, link and unlink incidents, resolve, and suggest new ones.

Each incident links to at most one problem (``Ticket.problem``). Linking writes an internal
PROBLEM_LINKED event on the incident, unlinking a PROBLEM_UNLINKED one; a problem's own
changes write an audit event (:func:`supportdesk.services.audit_record`), each in the
transaction of the change. Resolving tells each requester and solves each incident through
the ordinary ticket services (:func:`tickets.services.ticket_reply`,
:func:`tickets.services.ticket_change_status`), so their mail, events and clocks follow the
normal path.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.search import SearchVector
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.models import Organisation
from supportdesk.models import (
    TEXT_SEARCH_CONFIG,
    AuditAction,
    AuditEvent,
    Membership,
    Tenant,
    User,
)
from supportdesk.services import audit_record, audit_snapshot

from ..choices import Channel, Status
from ..events import events_publish
from ..models import ACTIVE_STATUSES, EventKind, Problem, ProblemStatus, Ticket

# The row lock, the agent check, the event helper and the input check every ticket write shares.
from ..services import TRANSITIONS, ticket_change_status, ticket_reply
from ..services.steps import (
    require_agent,
    staff_event,
    ticket_locked,
    ticket_touch,
    validate_choice,
)

MAX_MESSAGE_LENGTH = 10_000
SUGGESTION_SCAN_LIMIT = 500
"""At most this many of the window's newest incidents are compared for suggestions, so the
problem list stays one bounded query however busy the desk."""
SIMILARITY = 0.5
"""Two subjects are similar when half their words are shared: on PostgreSQL their stemmed
words without stop words in the tenant's language (full-text search's lexemes, so "Rapporten
laddas inte" and "Rapporterna laddades inte" are alike), elsewhere their words of three
letters or more."""


def _problem_locked(problem: Problem) -> Problem:
    return Problem.objects.select_for_update().get(pk=problem.pk, tenant_id=problem.tenant_id)


def _check_people(problem: Problem) -> None:
    if (
        problem.organisation_id is not None
        and not Organisation.objects.filter(
            pk=problem.organisation_id, tenant_id=problem.tenant_id
        ).exists()
    ):
        raise ValidationError({"organisation": _("Unknown organisation.")})
    if (
        problem.assignee_id is not None
        and not Membership.objects.agents()
        .filter(tenant_id=problem.tenant_id, user_id=problem.assignee_id)
        .exists()
    ):
        raise ValidationError({"assignee": _("The assignee must be an agent of this desk.")})


def problem_save(*, problem: Problem, actor: User) -> Problem:
    """Validate and store a new or edited problem (its number is taken when it is new).

    Preconditions: ``actor`` is an agent or admin of ``problem``'s tenant, the tenant scope is
    active. The status may be open or known error here; resolving is
    :func:`problem_resolve`, and a resolved problem is not edited. An organisation may be set
    only if every linked incident belongs to it. Raises ``ValidationError`` naming the field;
    nothing is saved then. Writes one audit event.
    """
    agent = require_agent(actor)
    with transaction.atomic():
        before = audit_snapshot(problem)
        if problem.pk is not None:
            stored = _problem_locked(problem)
            if stored.is_resolved:
                raise ValidationError(
                    {"status": _("%(ref)s is resolved.") % {"ref": stored.reference}}
                )
        if problem.status == ProblemStatus.RESOLVED:
            raise ValidationError({"status": _("Resolve a problem with its Resolve button.")})
        validate_choice("status", problem.status, ProblemStatus)
        _check_people(problem)
        if (
            problem.pk is not None
            and problem.organisation_id is not None
            and problem.incidents.exclude(organisation_id=problem.organisation_id).exists()
        ):
            raise ValidationError(
                {
                    "organisation": _(
                        "Incidents of other organisations are linked to this problem; unlink "
                        "them first or leave the organisation empty."
                    )
                }
            )
        if problem.pk is None:
            # The tenant's row lock serialises numbering, as the ticket counter does.
            Tenant.objects.select_for_update().filter(pk=problem.tenant_id).first()
            last = Problem.objects.filter(tenant_id=problem.tenant_id).aggregate(n=Max("number"))
            problem.number = (last["n"] or 0) + 1
            problem.created_by = agent
        problem.updated_at = timezone.now()
        problem.full_clean()
        problem.save()
        audit_record(instance=problem, actor=agent, before=before, ignore=("updated_at",))
    return problem


def problem_link(
    *, problem: Problem, ticket: Ticket, actor: User, channel: str = Channel.PORTAL
) -> Ticket:
    """Link the incident ``ticket`` to ``problem``; returns the ticket.

    Preconditions: ``actor`` is an agent or admin of the tenant in scope. Refused (a
    ``ValidationError``, nothing saved): a ticket of another tenant, of another organisation
    than the problem's, merged into another, already linked to this or another problem, and a
    resolved problem. Writes an internal PROBLEM_LINKED event on the ticket.
    """
    validate_choice("channel", channel, Channel)
    agent = require_agent(actor)
    if ticket.tenant_id != problem.tenant_id:
        raise ValidationError({"ticket": _("Unknown ticket.")})
    with transaction.atomic():
        locked_problem = _problem_locked(problem)
        locked = ticket_locked(ticket)
        if locked_problem.is_resolved:
            raise ValidationError(
                {"problem": _("%(ref)s is resolved.") % {"ref": locked_problem.reference}}
            )
        if locked.merged_into_id is not None:
            raise ValidationError(
                {"ticket": _("%(ref)s is merged into another ticket.") % {"ref": locked.reference}}
            )
        if locked.problem_id == locked_problem.pk:
            raise ValidationError(
                {
                    "ticket": _("%(ref)s is already linked to %(problem)s.")
                    % {"ref": locked.reference, "problem": locked_problem.reference}
                }
            )
        if locked.problem_id is not None:
            other = Problem.objects.get(pk=locked.problem_id)
            raise ValidationError(
                {
                    "ticket": _("%(ref)s is linked to %(problem)s; unlink it there first.")
                    % {"ref": locked.reference, "problem": other.reference}
                }
            )
        if (
            locked_problem.organisation_id is not None
            and locked.organisation_id != locked_problem.organisation_id
        ):
            raise ValidationError(
                {
                    "ticket": _("%(ref)s belongs to another organisation than %(problem)s.")
                    % {"ref": locked.reference, "problem": locked_problem.reference}
                }
            )
        now = timezone.now()
        locked.problem = locked_problem
        event = staff_event(
            locked, EventKind.PROBLEM_LINKED, agent, channel, "", locked_problem.reference,
            is_public=False, at=now, data={"problem_id": locked_problem.pk},
        )  # fmt: skip
        ticket_touch(locked, now)
        events_publish([event])
    return locked


def problem_unlink(
    *, problem: Problem, ticket: Ticket, actor: User, channel: str = Channel.PORTAL
) -> Ticket:
    """Remove the incident ``ticket`` from ``problem``; returns the ticket.

    Preconditions as :func:`problem_link`; refused when the ticket is not linked to it.
    Writes an internal PROBLEM_UNLINKED event on the ticket.
    """
    validate_choice("channel", channel, Channel)
    agent = require_agent(actor)
    if ticket.tenant_id != problem.tenant_id:
        raise ValidationError({"ticket": _("Unknown ticket.")})
    with transaction.atomic():
        locked_problem = _problem_locked(problem)
        locked = ticket_locked(ticket)
        if locked.problem_id != locked_problem.pk:
            raise ValidationError(
                {
                    "ticket": _("%(ref)s is not linked to %(problem)s.")
                    % {"ref": locked.reference, "problem": locked_problem.reference}
                }
            )
        now = timezone.now()
        locked.problem = None
        event = staff_event(
            locked, EventKind.PROBLEM_UNLINKED, agent, channel, locked_problem.reference, "",
            is_public=False, at=now, data={"problem_id": locked_problem.pk},
        )  # fmt: skip
        ticket_touch(locked, now)
        events_publish([event])
    return locked


@dataclass(frozen=True)
class ResolveOutcome:
    problem: Problem
    told: list[Ticket]
    solved: list[Ticket]


def problem_resolve(
    *,
    problem: Problem,
    actor: User,
    notify: bool = False,
    message: str = "",
    solve: bool = False,
    channel: str = Channel.PORTAL,
) -> ResolveOutcome:
    """Mark ``problem`` resolved; with ``notify`` post ``message`` as a public reply on each
    linked incident that is not closed (its requester gets the usual reply mail), with
    ``solve`` set each active linked incident solved.

    Preconditions: ``actor`` is an agent or admin of the tenant in scope. Refused: a resolved
    problem, ``notify`` without a message. All in one transaction, the problem and the
    incidents locked (problem first, incidents in pk order); any refusal saves nothing.
    """
    validate_choice("channel", channel, Channel)
    agent = require_agent(actor)
    if notify and not message.strip():
        raise ValidationError({"message": _("Write the message to the requesters.")})
    if len(message) > MAX_MESSAGE_LENGTH:
        raise ValidationError(
            {
                "message": _("Keep the message under %(max)s characters.")
                % {"max": MAX_MESSAGE_LENGTH}
            }
        )
    with transaction.atomic():
        locked_problem = _problem_locked(problem)
        if locked_problem.is_resolved:
            raise ValidationError(
                {"problem": _("%(ref)s is resolved already.") % {"ref": locked_problem.reference}}
            )
        before = audit_snapshot(locked_problem)
        incidents = list(
            Ticket.objects.select_for_update(of=("self",))
            .filter(tenant_id=locked_problem.tenant_id, problem_id=locked_problem.pk)
            .order_by("pk")
        )
        told: list[Ticket] = []
        solved: list[Ticket] = []
        for incident in incidents:
            if notify and incident.status != Status.CLOSED:
                ticket_reply(
                    ticket=incident, body=message, public=True, channel=channel, author=agent,
                    markdown=True,
                )  # fmt: skip
                told.append(incident)
            current = Ticket.objects.get(pk=incident.pk)
            if (
                solve
                and current.status in ACTIVE_STATUSES
                and (Status.SOLVED in TRANSITIONS[current.status])
            ):
                ticket_change_status(
                    ticket=current, status=Status.SOLVED, actor=agent, channel=channel
                )
                solved.append(current)
        now = timezone.now()
        locked_problem.status = ProblemStatus.RESOLVED
        locked_problem.resolved_at = now
        locked_problem.updated_at = now
        locked_problem.save()
        audit_record(
            instance=locked_problem, actor=agent, before=before, ignore=("updated_at",),
            extra={"told": [t.pk for t in told], "solved": [t.pk for t in solved]},
        )  # fmt: skip
    return ResolveOutcome(problem=locked_problem, told=told, solved=solved)


# --------------------------------------------------------------------------------------------
# Suggestions
# --------------------------------------------------------------------------------------------

_WORD = re.compile(r"\w{3,}")


def subject_words(subject: str) -> frozenset[str]:
    """The words of a subject that count for similarity: three letters or more, lower case."""
    return frozenset(word.casefold() for word in _WORD.findall(subject))


def _with_subject_lexemes(
    tickets: models.QuerySet[Ticket], tenant: Tenant
) -> models.QuerySet[Ticket]:
    """``tickets`` with ``subject_lexemes``: the subject's words as PostgreSQL's full-text
    search in the tenant's language reduces them (stemmed, stop words dropped), in the same
    query."""
    config = TEXT_SEARCH_CONFIG.get(tenant.default_language, "simple")
    return tickets.annotate(
        subject_lexemes=models.Func(
            SearchVector("subject", config=config),
            function="tsvector_to_array",
            output_field=ArrayField(models.TextField()),
        )
    )


def subjects_similar(a: frozenset[str], b: frozenset[str]) -> bool:
    """Word overlap (Jaccard) of at least :data:`SIMILARITY`."""
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= SIMILARITY


@dataclass(frozen=True)
class Suggestion:
    """Incidents that look like one problem: ``reason`` says why, in the reader's language."""

    reason: str
    tickets: list[Ticket]
    organisation: Organisation | None
    category: str

    @property
    def title(self) -> str:
        return self.tickets[0].subject


def problem_suggestions(*, tenant: Tenant, now: dt.datetime | None = None) -> list[Suggestion]:
    """Groups of at least ``tenant.problem_suggest_count`` active incidents without a problem,
    received within the last ``tenant.problem_suggest_hours``, with the same category and
    organisation, or (otherwise) with similar subjects (:func:`subjects_similar`). Empty when
    the count is 0. One query; each incident is in at most one group.

    Computed when the problem list is shown, not stored: a suggestion is gone as soon as its
    incidents are linked to a problem, solved or out of the window.
    """
    threshold = tenant.problem_suggest_count
    if threshold <= 0:
        return []
    since = (now or timezone.now()) - dt.timedelta(hours=tenant.problem_suggest_hours)
    window: models.QuerySet[Ticket] = Ticket.objects.filter(
        tenant=tenant,
        problem__isnull=True,
        merged_into__isnull=True,
        status__in=ACTIVE_STATUSES,
        received_at__gte=since,
    )
    stemmed = connection.vendor == "postgresql"
    if stemmed:
        window = _with_subject_lexemes(window, tenant)
    tickets = list(
        window.select_related("organisation", "requester").order_by("-received_at", "-id")[
            :SUGGESTION_SCAN_LIMIT
        ]
    )
    groups: dict[tuple[str, int | None], list[Ticket]] = defaultdict(list)
    for ticket in tickets:
        groups[(ticket.category, ticket.organisation_id)].append(ticket)
    found: list[Suggestion] = []
    taken: set[int] = set()
    for (category, _org), members in groups.items():
        if len(members) >= threshold:
            found.append(
                Suggestion(
                    reason=_("%(count)s incidents of the same category and organisation")
                    % {"count": len(members)},
                    tickets=members,
                    organisation=members[0].organisation,
                    category=category,
                )
            )
            taken.update(t.pk for t in members)
    rest = [t for t in tickets if t.pk not in taken]
    words = {
        t.pk: frozenset(t.subject_lexemes) if stemmed else subject_words(t.subject)  # type: ignore[attr-defined]
        for t in rest
    }
    for seed in rest:
        if seed.pk in taken:
            continue
        members = [
            t for t in rest if t.pk not in taken and subjects_similar(words[seed.pk], words[t.pk])
        ]
        if len(members) >= threshold:
            found.append(
                Suggestion(
                    reason=_("%(count)s incidents with similar subjects") % {"count": len(members)},
                    tickets=members,
                    organisation=None,
                    category="",
                )
            )
            taken.update(t.pk for t in members)
    return found


def problem_settings_save(*, tenant: Tenant, actor: User) -> Tenant:
    """Validate and store the tenant's problem-suggestion settings (the admin's form), with an
    audit event. Preconditions: ``actor`` is an admin of ``tenant``."""
    fields = ["problem_suggest_count", "problem_suggest_hours"]
    with transaction.atomic():
        before = audit_snapshot(tenant)
        tenant.full_clean(exclude=[f.name for f in tenant._meta.fields if f.name not in fields])
        tenant.save(update_fields=fields)
        if before is not None:
            after = {name: getattr(tenant, name) for name in fields}
            changes = {n: [before.get(n), after[n]] for n in fields if before.get(n) != after[n]}
            if changes:
                _audit_tenant(tenant, actor, changes)
    return tenant


def _audit_tenant(tenant: Tenant, actor: User, changes: dict[str, list[object]]) -> None:
    # Tenant is not TenantOwned, so audit_record (which reads instance.tenant_id) is not used.
    AuditEvent.objects.create(
        tenant_id=tenant.pk,
        actor=actor,
        action=AuditAction.CHANGED,
        object_type=tenant._meta.label_lower,
        object_id=str(tenant.pk),
        object_repr=str(tenant)[:200],
        changes=changes,
    )
