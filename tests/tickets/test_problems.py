"""Problem management (issue #15 item 1): a problem with its root cause and workaround, the
incidents linked to it, resolving it for all of them, publishing a known error as an
article, and the problems recurring incidents suggest (the tenant admin's rule)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
import time_machine
import yaml
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from contracts.models import Contact, Organisation
from knowledgebase.models import Article, ArticleKind
from knowledgebase.services import article_from_problem
from notifications.channels.email import notify_by_mail
from supportdesk.demo import demo_file
from supportdesk.models import AuditEvent, Tenant
from tests.conftest import Cast, api_client_for, client_for
from tickets.choices import Category, Channel, Status
from tickets.mail.models import OutboundEmail
from tickets.models import EventKind, Message, Problem, ProblemStatus, Ticket, TicketEvent
from tickets.problems.services import (
    problem_link,
    problem_resolve,
    problem_save,
    problem_suggestions,
    problem_unlink,
    subject_words,
    subjects_similar,
)
from tickets.services import ticket_create

from .conftest import Desk

pytestmark = pytest.mark.django_db


def _ticket(cast: Cast, subject: str, *, requester: Contact | None = None) -> Ticket:
    with scope(tenant=cast.tenant_a):
        return ticket_create(
            tenant=cast.tenant_a, requester=requester or cast.customer_contact, subject=subject,
            description=f"{subject}: the description.", channel=Channel.EMAIL,
            enforce_entitlement=False,
        )  # fmt: skip


def _problem(cast: Cast, **fields: Any) -> Problem:
    values: dict[str, Any] = {"title": "Login fails after the password change"} | fields
    with scope(tenant=cast.tenant_a):
        return problem_save(problem=Problem(tenant=cast.tenant_a, **values), actor=cast.agent)


def _other_org_contact(cast: Cast) -> Contact:
    with scope(tenant=cast.tenant_a):
        org = Organisation.objects.create(tenant=cast.tenant_a, name="Other Org")
        return Contact.objects.create(
            tenant=cast.tenant_a, organisation=org, name="Olle Other", email="olle@other.test"
        )


def _refused(call: Any, match: str) -> None:
    with pytest.raises(ValidationError) as refused:
        call()
    assert match in " ".join(refused.value.messages)


# --- the record ---------------------------------------------------------------------------


def test_problems_are_numbered_per_tenant_and_each_save_is_audited(cast: Cast) -> None:
    first = _problem(cast)
    second = _problem(cast, title="Reports time out")
    assert (first.reference, second.reference) == ("PRB-1", "PRB-2")
    with scope(tenant=cast.tenant_a):
        second.status = ProblemStatus.KNOWN_ERROR
        second.workaround = "Run the report for one month at a time."
        problem_save(problem=second, actor=cast.agent)
        audits = AuditEvent.objects.filter(object_type="tickets.problem", object_id=second.pk)
        assert [a.action for a in audits] == ["changed", "created"]
        assert audits[0].changes["status"] == ["open", "known_error"]


def test_a_problem_cannot_be_resolved_by_editing_nor_edited_once_resolved(cast: Cast) -> None:
    problem = _problem(cast)
    with scope(tenant=cast.tenant_a):
        problem.status = ProblemStatus.RESOLVED
        _refused(lambda: problem_save(problem=problem, actor=cast.agent), "Resolve button")
        fresh = Problem.objects.get(pk=problem.pk)
        problem_resolve(problem=fresh, actor=cast.agent)
        fresh.title = "Renamed"
        fresh.status = ProblemStatus.OPEN
        _refused(lambda: problem_save(problem=fresh, actor=cast.agent), "PRB-1 is resolved.")
        assert Problem.objects.get(pk=problem.pk).title != "Renamed"


def test_only_agents_write_problems(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        new = Problem(tenant=cast.tenant_a, title="X")
        _refused(lambda: problem_save(problem=new, actor=cast.manager), "Only agents")
        assert not Problem.objects.exists()


# --- linking ------------------------------------------------------------------------------


def test_linking_an_incident_writes_an_internal_event_and_unlinking_another(cast: Cast) -> None:
    problem = _problem(cast)
    ticket = _ticket(cast, "Cannot log in")
    with scope(tenant=cast.tenant_a):
        problem_link(problem=problem, ticket=ticket, actor=cast.agent)
        assert Ticket.objects.get(pk=ticket.pk).problem_id == problem.pk
        problem_unlink(problem=problem, ticket=ticket, actor=cast.agent)
        assert Ticket.objects.get(pk=ticket.pk).problem_id is None
        events = TicketEvent.objects.filter(ticket=ticket, kind__startswith="problem_")
        assert [(e.kind, e.is_public) for e in events] == [
            (EventKind.PROBLEM_LINKED, False),
            (EventKind.PROBLEM_UNLINKED, False),
        ]
        assert events[0].new_value == "PRB-1" and events[1].old_value == "PRB-1"


def test_linking_twice_or_to_a_second_problem_is_refused_with_a_clear_message(
    cast: Cast,
) -> None:
    problem, other = _problem(cast), _problem(cast, title="Another")
    ticket = _ticket(cast, "Cannot log in")
    with scope(tenant=cast.tenant_a):
        problem_link(problem=problem, ticket=ticket, actor=cast.agent)
        _refused(
            lambda: problem_link(problem=problem, ticket=ticket, actor=cast.agent),
            "is already linked to PRB-1",
        )
        _refused(
            lambda: problem_link(problem=other, ticket=ticket, actor=cast.agent),
            "is linked to PRB-1; unlink it there first",
        )
        _refused(
            lambda: problem_unlink(problem=other, ticket=ticket, actor=cast.agent),
            "is not linked to PRB-2",
        )
        assert TicketEvent.objects.filter(ticket=ticket, kind__startswith="problem_").count() == 1


def test_an_incident_of_another_organisation_or_tenant_is_refused(cast: Cast) -> None:
    problem = _problem(cast, organisation=cast.org_a)
    theirs = _ticket(cast, "Olle cannot log in", requester=_other_org_contact(cast))
    with scope(tenant=cast.tenant_b):
        b_ticket = ticket_create(
            tenant=cast.tenant_b, requester=cast.contact_b, subject="B", description="B",
            channel=Channel.EMAIL, enforce_entitlement=False,
        )  # fmt: skip
    with scope(tenant=cast.tenant_a):
        _refused(
            lambda: problem_link(problem=problem, ticket=theirs, actor=cast.agent),
            "belongs to another organisation than PRB-1",
        )
        _refused(
            lambda: problem_link(problem=problem, ticket=b_ticket, actor=cast.agent),
            "Unknown ticket.",
        )
        assert not Ticket.objects.filter(problem=problem).exists()


def test_the_organisation_cannot_be_narrowed_below_the_linked_incidents(cast: Cast) -> None:
    problem = _problem(cast)
    theirs = _ticket(cast, "Olle cannot log in", requester=_other_org_contact(cast))
    with scope(tenant=cast.tenant_a):
        problem_link(problem=problem, ticket=theirs, actor=cast.agent)
        problem.organisation = cast.org_a
        _refused(lambda: problem_save(problem=problem, actor=cast.agent), "other organisations")
        assert Problem.objects.get(pk=problem.pk).organisation_id is None


def test_a_resolved_problem_takes_no_more_incidents(cast: Cast) -> None:
    problem = _problem(cast)
    ticket = _ticket(cast, "Cannot log in")
    with scope(tenant=cast.tenant_a):
        problem_resolve(problem=problem, actor=cast.agent)
        _refused(
            lambda: problem_link(problem=problem, ticket=ticket, actor=cast.agent),
            "PRB-1 is resolved.",
        )


# --- resolving ----------------------------------------------------------------------------


def test_resolving_tells_each_requester_and_solves_each_incident_through_the_ticket_services(
    cast: Cast, desk: Desk
) -> None:
    problem = _problem(cast)
    olle = _other_org_contact(cast)
    mine, theirs = _ticket(cast, "Cannot log in"), _ticket(cast, "Login hangs", requester=olle)
    with scope(tenant=cast.tenant_a):
        for ticket in (mine, theirs):
            problem_link(problem=problem, ticket=ticket, actor=cast.agent)
        OutboundEmail.objects.all().delete()
        outcome = problem_resolve(
            problem=problem, actor=cast.agent, notify=True, solve=True,
            message="The login fault is fixed; please try again.",
        )  # fmt: skip
        assert (
            {t.pk for t in outcome.told} == {t.pk for t in outcome.solved} == {mine.pk, theirs.pk}
        )
        for ticket in (mine, theirs):
            fresh = Ticket.objects.get(pk=ticket.pk)
            assert fresh.status == Status.SOLVED and fresh.first_responded_at is not None
            reply = Message.objects.get(ticket=ticket, is_public=True, author=cast.agent)
            assert "login fault is fixed" in reply.body
            kinds = set(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
            assert {EventKind.REPLIED, EventKind.STATUS_CHANGED} <= kinds
        assert Problem.objects.get(pk=problem.pk).status == ProblemStatus.RESOLVED
        # The mail handler runs after commit from the outbox; here it is run by hand.
        for event in TicketEvent.objects.filter(kind=EventKind.REPLIED):
            notify_by_mail(event)
        recipients = set(OutboundEmail.objects.values_list("to_address", flat=True))
    assert {cast.customer_contact.email, olle.email} <= recipients


def test_resolving_without_the_checkboxes_leaves_the_incidents_alone(cast: Cast) -> None:
    problem = _problem(cast)
    ticket = _ticket(cast, "Cannot log in")
    with scope(tenant=cast.tenant_a):
        problem_link(problem=problem, ticket=ticket, actor=cast.agent)
        outcome = problem_resolve(problem=problem, actor=cast.agent)
        assert outcome.told == outcome.solved == []
        assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW
        assert not Message.objects.filter(ticket=ticket, author=cast.agent).exists()


def test_resolving_twice_or_notifying_without_a_message_is_refused(cast: Cast) -> None:
    problem = _problem(cast)
    with scope(tenant=cast.tenant_a):
        _refused(
            lambda: problem_resolve(problem=problem, actor=cast.agent, notify=True, message=" "),
            "Write the message",
        )
        assert Problem.objects.get(pk=problem.pk).status == ProblemStatus.OPEN
        problem_resolve(problem=problem, actor=cast.agent)
        _refused(
            lambda: problem_resolve(problem=problem, actor=cast.agent), "PRB-1 is resolved already"
        )


# --- suggestions --------------------------------------------------------------------------


def test_subjects_are_similar_when_half_their_words_are_shared() -> None:
    a = subject_words("Kan inte logga in i Hubs")
    assert subjects_similar(a, subject_words("Kan inte logga in på Hubs idag"))
    assert not subjects_similar(a, subject_words("Rapporten visar fel belopp"))


def test_suggestions_are_off_until_the_admin_sets_a_threshold(cast: Cast) -> None:
    for n in range(3):
        _ticket(cast, f"Something different number {n}")
    with scope(tenant=cast.tenant_a):
        assert problem_suggestions(tenant=cast.tenant_a) == []
        cast.tenant_a.problem_suggest_count = 3
        found = problem_suggestions(tenant=cast.tenant_a)
    assert len(found) == 1 and len(found[0].tickets) == 3
    assert "same category and organisation" in found[0].reason


def test_similar_subjects_across_organisations_suggest_a_problem_within_the_window(
    cast: Cast,
) -> None:
    olle = _other_org_contact(cast)
    cast.tenant_a.problem_suggest_count = 2
    cast.tenant_a.problem_suggest_hours = 24
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC), tick=False):
        old = _ticket(cast, "Kan inte logga in i Hubs")
    with time_machine.travel(dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC), tick=False):
        mine = _ticket(cast, "Kan inte logga in i Hubs idag")
        theirs = _ticket(cast, "Kan inte logga in i Hubs", requester=olle)
        with scope(tenant=cast.tenant_a):
            Ticket.objects.filter(pk=theirs.pk).update(category=Category.CHANGE_REQUEST)
            found = problem_suggestions(tenant=cast.tenant_a)
            assert [{t.pk for t in s.tickets} for s in found] == [{mine.pk, theirs.pk}]
            assert old.pk not in {t.pk for s in found for t in s.tickets}
            assert "similar subjects" in found[0].reason
            # Once linked to a problem, they suggest nothing more.
            problem = _problem(cast)
            problem_link(problem=problem, ticket=mine, actor=cast.agent)
            assert problem_suggestions(tenant=cast.tenant_a) == []


def test_on_postgresql_subjects_are_compared_by_their_stems_in_the_tenants_language(
    cast: Cast,
) -> None:
    """Full-text search's lexemes: "Rapporten"/"Rapporterna" and "laddas"/"laddades" are one
    word each, and "inte" and "efter" are Swedish stop words."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's text search stems the subjects; elsewhere words must match")
    olle = _other_org_contact(cast)
    cast.tenant_a.default_language = "sv"
    cast.tenant_a.problem_suggest_count = 2
    first = _ticket(cast, "Rapporten laddas inte efter uppdateringen")
    second = _ticket(cast, "Rapporterna laddades inte efter uppdateringarna", requester=olle)
    # Word for word they share too little: without stemming they would not be suggested.
    assert not subjects_similar(subject_words(first.subject), subject_words(second.subject))
    with scope(tenant=cast.tenant_a):
        found = problem_suggestions(tenant=cast.tenant_a)
    assert [{t.pk for t in s.tickets} for s in found] == [{first.pk, second.pk}]
    assert "similar subjects" in found[0].reason


def test_the_admin_sets_the_rule_and_bad_values_are_refused(cast: Cast) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    url = reverse("problems:settings")
    bad = client.post(url, {"problem_suggest_count": "-1", "problem_suggest_hours": "0"})
    assert bad.status_code == 200 and "error" in bad.content.decode()
    ok = client.post(url, {"problem_suggest_count": "4", "problem_suggest_hours": "48"})
    assert ok.status_code == 302
    cast.tenant_a.refresh_from_db()
    assert (cast.tenant_a.problem_suggest_count, cast.tenant_a.problem_suggest_hours) == (4, 48)
    with scope(tenant=cast.tenant_a):
        audit = AuditEvent.objects.get(object_type="supportdesk.tenant")
    assert audit.changes["problem_suggest_count"] == [0, 4]


# --- publishing a known error --------------------------------------------------------------


def test_a_known_error_is_published_as_a_known_issue_article_once(cast: Cast) -> None:
    problem = _problem(cast, status=ProblemStatus.KNOWN_ERROR, root_cause="Cache", workaround="")
    with scope(tenant=cast.tenant_a):
        _refused(lambda: article_from_problem(problem=problem, author=cast.agent), "workaround")
        problem.workaround = "Clear the browser's saved password."
        problem_save(problem=problem, actor=cast.agent)
        article = article_from_problem(problem=problem, author=cast.agent)
        assert article.kind == ArticleKind.KNOWN_ISSUE and article.is_published
        assert article.body == problem.workaround and "Cache" not in article.body
        _refused(lambda: article_from_problem(problem=problem, author=cast.agent), "already")
        assert Article.objects.count() == 1


def test_the_problem_keeps_its_article_and_links_to_it(cast: Cast) -> None:
    """The link is a row, not a title: renaming the article does not allow a second one, the
    problem page and both APIs name it, and a manager reads it without an edit link."""
    problem = _problem(cast, status=ProblemStatus.KNOWN_ERROR, workaround="Restart the agent.")
    with scope(tenant=cast.tenant_a):
        article = article_from_problem(problem=problem, author=cast.agent)
        Article.objects.filter(pk=article.pk).update(title="Hubs: restart after the update")
        _refused(
            lambda: article_from_problem(problem=problem, author=cast.agent),
            "is published already, as the article Hubs: restart after the update",
        )
        assert Article.objects.count() == 1
    detail = reverse("problems:detail", args=[problem.pk])
    edit = reverse("knowledgebase:manage-edit", args=[article.pk])
    read = reverse("knowledgebase:detail", args=[article.pk])
    page = client_for(cast.agent, cast.tenant_a).get(detail).content.decode()
    assert read in page and edit in page
    assert reverse("knowledgebase:from-problem", args=[problem.pk]) not in page
    manager_page = client_for(cast.manager, cast.tenant_a).get(detail).content.decode()
    assert read in manager_page and edit not in manager_page
    api = api_client_for(cast.agent, cast.tenant_a)
    assert api.get(f"/api/v1/problems/{problem.pk}/").json()["articles"] == [article.pk]
    assert api.get(f"/api/v1/kb/articles/{article.pk}/").json()["problem"] == problem.pk


def test_an_open_problem_is_not_published(cast: Cast) -> None:
    problem = _problem(cast, workaround="Restart")
    with scope(tenant=cast.tenant_a):
        _refused(lambda: article_from_problem(problem=problem, author=cast.agent), "known error")


# --- pages --------------------------------------------------------------------------------


def test_the_ticket_page_shows_the_problem_and_its_workaround(cast: Cast) -> None:
    problem = _problem(cast, workaround="Clear the browser's saved password.")
    ticket = _ticket(cast, "Cannot log in")
    client = client_for(cast.agent, cast.tenant_a)
    client.post(reverse("problems:link", args=[problem.pk]), {"ticket": ticket.reference})
    page = client.get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    assert "PRB-1" in page and "Clear the browser&#x27;s saved password." in page


def test_the_pages_link_resolve_and_say_why_they_refuse(cast: Cast) -> None:
    problem = _problem(cast)
    ticket = _ticket(cast, "Cannot log in")
    client = client_for(cast.agent, cast.tenant_a)
    link = reverse("problems:link", args=[problem.pk])
    client.post(link, {"ticket": ticket.reference})
    again = client.post(link, {"ticket": ticket.reference}, follow=True).content.decode()
    assert "is already linked to PRB-1" in again
    unknown = client.post(link, {"ticket": "TA-99999"}, follow=True).content.decode()
    assert "There is no ticket TA-99999." in unknown
    resolve = reverse("problems:resolve", args=[problem.pk])
    done = client.post(resolve, {"notify": "on", "message": "Fixed.", "solve": "on"}, follow=True)
    assert "PRB-1 is resolved. Requesters told: 1; incidents solved: 1." in done.content.decode()
    twice = client.post(resolve, {}, follow=True).content.decode()
    assert "PRB-1 is resolved already." in twice


def test_the_list_shows_suggestions_in_a_bounded_number_of_queries(cast: Cast) -> None:
    cast.tenant_a.problem_suggest_count = 2
    cast.tenant_a.save(update_fields=["problem_suggest_count"])
    client = client_for(cast.agent, cast.tenant_a)
    for n in range(2):
        _problem(cast, title=f"Problem {n}")
    _ticket(cast, "Hubs is slow")
    _ticket(cast, "Hubs is slow again")
    client.get(reverse("problems:list"))  # warm the session and the caches
    with CaptureQueriesContext(connection) as few:
        page = client.get(reverse("problems:list")).content.decode()
    for n in range(3):
        _problem(cast, title=f"More {n}")
        _ticket(cast, f"Another slow Hubs {n}")
    with CaptureQueriesContext(connection) as more:
        client.get(reverse("problems:list"))
    assert "Suggested problems" in page and "Hubs is slow again" in page
    assert len(more.captured_queries) == len(few.captured_queries)


def test_the_pages_render_in_swedish(cast: Cast) -> None:
    problem = _problem(cast, status=ProblemStatus.KNOWN_ERROR, workaround="Starta om.")
    cast.agent.language = "sv"
    cast.agent.save(update_fields=["language"])
    client = client_for(cast.agent, cast.tenant_a)
    listing = client.get(reverse("problems:list")).content.decode()
    detail = client.get(reverse("problems:detail", args=[problem.pk])).content.decode()
    assert "Problem" in listing and "Känt fel" in listing
    assert "Tillfällig lösning" in detail and "Länkade incidenter" in detail
    assert "Publicera som kunskapsbasartikel" in detail
    assert "Linked incidents" not in detail and "Workaround" not in detail


def test_a_manager_reads_but_cannot_change_problems(cast: Cast) -> None:
    problem = _problem(cast)
    client = client_for(cast.manager, cast.tenant_a)
    page = client.get(reverse("problems:detail", args=[problem.pk])).content.decode()
    assert problem.title in page and reverse("problems:resolve", args=[problem.pk]) not in page
    assert client.post(reverse("problems:resolve", args=[problem.pk])).status_code == 404


# --- API ----------------------------------------------------------------------------------


def test_the_api_creates_links_and_resolves_a_problem(cast: Cast, desk: Desk) -> None:
    ticket = _ticket(cast, "Cannot log in")
    api = api_client_for(cast.agent, cast.tenant_a)
    created = api.post(
        "/api/v1/problems/",
        {"title": "Login fault", "status": "known_error", "workaround": "Clear the cache."},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["reference"] == "PRB-1"
    linked = api.post(
        f"/api/v1/problems/{pk}/link/", {"ticket": ticket.pk}, content_type="application/json"
    )
    assert linked.status_code == 200 and linked.json()["reference"] == ticket.reference
    detail = api.get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert detail["problem"]["workaround"] == "Clear the cache."
    assert api.get(f"/api/v1/problems/{pk}/").json()["incidents"][0]["id"] == ticket.pk
    resolved = api.post(
        f"/api/v1/problems/{pk}/resolve/",
        {"notify": True, "message": "Fixed.", "solve": True},
        content_type="application/json",
    )
    assert resolved.status_code == 200, resolved.content
    body = resolved.json()
    assert body["problem"]["status"] == "resolved" and body["solved"][0]["id"] == ticket.pk


def test_the_api_reads_the_rule_for_staff_and_lets_only_admins_change_it(cast: Cast) -> None:
    url = "/api/v1/problems/settings/"
    json = "application/json"
    agent = api_client_for(cast.agent, cast.tenant_a)
    assert agent.get(url).json() == {"problem_suggest_count": 0, "problem_suggest_hours": 24}
    assert agent.patch(url, {"problem_suggest_count": 3}, content_type=json).status_code == 404
    admin = api_client_for(cast.admin, cast.tenant_a)
    changed = admin.patch(url, {"problem_suggest_count": 3}, content_type=json)
    assert changed.status_code == 200, changed.content
    assert changed.json() == {"problem_suggest_count": 3, "problem_suggest_hours": 24}
    for bad in (
        {"problem_suggest_hours": 0},
        {"problem_suggest_count": 101},
        {"x": "y", "problem_suggest_count": "many"},
    ):
        refused = admin.patch(url, bad, content_type=json)
        assert refused.status_code == 400, (bad, refused.content)
        field = next(name for name in bad if name.startswith("problem_"))
        assert field in refused.json(), refused.json()
    # Nothing of the refused edits was kept, and the one change was audited.
    cast.tenant_a.refresh_from_db()
    assert (cast.tenant_a.problem_suggest_count, cast.tenant_a.problem_suggest_hours) == (3, 24)
    assert agent.get(url).json()["problem_suggest_count"] == 3
    with scope(tenant=cast.tenant_a):
        audit = AuditEvent.objects.get(object_type="supportdesk.tenant")
    assert audit.changes == {"problem_suggest_count": [0, 3]}


def test_the_api_refuses_bad_input_with_400(cast: Cast) -> None:
    problem = _problem(cast)
    ticket = _ticket(cast, "Cannot log in")
    with scope(tenant=cast.tenant_b):
        b_ticket = ticket_create(
            tenant=cast.tenant_b, requester=cast.contact_b, subject="B", description="B",
            channel=Channel.EMAIL, enforce_entitlement=False,
        )  # fmt: skip
    api = api_client_for(cast.agent, cast.tenant_a)
    url = f"/api/v1/problems/{problem.pk}/"
    json = "application/json"
    assert api.post(f"{url}link/", {"ticket": b_ticket.pk}, content_type=json).status_code == 400
    assert api.post(f"{url}link/", {"ticket": ticket.pk}, content_type=json).status_code == 200
    twice = api.post(f"{url}link/", {"ticket": ticket.pk}, content_type=json)
    assert twice.status_code == 400 and "already linked" in twice.content.decode()
    assert api.patch(url, {"status": "resolved"}, content_type=json).status_code == 400
    assert api.post("/api/v1/problems/", {"title": ""}, content_type=json).status_code == 400
    empty = api.post(f"{url}resolve/", {"notify": True}, content_type=json)
    assert empty.status_code == 400
    assert api.post(f"{url}resolve/", {}, content_type=json).status_code == 200
    assert api.post(f"{url}resolve/", {}, content_type=json).status_code == 400


def test_the_api_lists_problems_and_suggestions_in_few_queries(cast: Cast) -> None:
    cast.tenant_a.problem_suggest_count = 2
    cast.tenant_a.save(update_fields=["problem_suggest_count"])
    _ticket(cast, "Hubs is slow")
    _ticket(cast, "Hubs is slow again")
    api = api_client_for(cast.manager, cast.tenant_a)
    _problem(cast)
    api.get("/api/v1/problems/")  # the token's first use is recorded once
    with CaptureQueriesContext(connection) as few:
        api.get("/api/v1/problems/")
    for n in range(4):
        _problem(cast, title=f"P{n}")
    with CaptureQueriesContext(connection) as more:
        listed = api.get("/api/v1/problems/").json()
    assert len(listed) == 5 and len(more.captured_queries) == len(few.captured_queries)
    suggestions = api.get("/api/v1/problems/suggestions/").json()
    assert suggestions["problem_suggest_count"] == 2
    assert len(suggestions["suggestions"]) == 1


# --- the ITSL demo --------------------------------------------------------------------------


def test_the_itsl_demo_has_a_known_error_with_linked_incidents_and_the_rule_on(
    tmp_path: Path,
) -> None:
    data = yaml.safe_load(demo_file("itsl").read_text(encoding="utf-8"))
    (tmp_path / "itsl.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    call_command("seed_demo", demo_dir=tmp_path, stdout=io.StringIO())
    tenant = Tenant.objects.get(slug="itsl")
    assert (tenant.problem_suggest_count, tenant.problem_suggest_hours) == (3, 72)
    with scope(tenant=tenant):
        (problem,) = Problem.objects.all()
        incidents = list(problem.incidents.all())
    assert (
        problem.status == ProblemStatus.KNOWN_ERROR and "sparade lösenordet" in problem.workaround
    )
    assert len(incidents) == 2
    assert all(t.subject == "Kan inte logga in efter lösenordsbyte" for t in incidents)
