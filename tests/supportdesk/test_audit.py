from __future__ import annotations

from django_scopes import scope

from contracts.models import Feature, Organisation, SupportPlan
from supportdesk.models import AuditEvent

from ..conftest import B_MARKER, Cast, api_client_for, client_for


def _events(cast: Cast, **filters: object) -> list[AuditEvent]:
    with scope(tenant=cast.tenant_a):
        return list(AuditEvent.objects.filter(**filters).order_by("id"))


def test_editing_an_organisation_records_who_changed_what(cast: Cast) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    response = client.post(
        f"/manage/organisations/{cast.org_a.pk}/edit/",
        {"name": "Org A Renamed", "email_domains": "orga.example.test", "language": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    [event] = _events(cast, object_type="contracts.organisation")
    assert (event.action, event.actor) == ("changed", cast.admin)
    assert event.changes["name"] == ["Org A", "Org A Renamed"]


def test_a_save_that_changes_nothing_writes_nothing(cast: Cast) -> None:
    from contracts.services import organisation_save

    with scope(tenant=cast.tenant_a):
        organisation_save(organisation=Organisation.objects.get(pk=cast.org_a.pk), actor=cast.admin)
    assert _events(cast) == []


def test_a_plans_feature_matrix_change_is_in_the_trail(cast: Cast) -> None:
    from contracts.services import plan_save

    with scope(tenant=cast.tenant_a):
        Feature.objects.create(tenant=cast.tenant_a, key="knowledge_centre", name="KB")
        plan = SupportPlan(tenant=cast.tenant_a, name="Silver")
        plan_save(plan=plan, features={}, actor=cast.admin)
        plan_save(plan=plan, features={"knowledge_centre": ""}, actor=cast.admin)
    created, changed = _events(cast, object_type="contracts.supportplan")
    assert created.action == "created" and created.changes["name"] == [None, "Silver"]
    assert changed.changes == {"features": [{}, {"knowledge_centre": ""}]}


def test_api_writes_are_audited_with_the_tokens_user(cast: Cast) -> None:
    client = api_client_for(cast.admin, cast.tenant_a)
    response = client.post(
        "/api/v1/features/",
        {"key": "vip_webinars", "name": "VIP webinars"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    [event] = _events(cast, object_type="contracts.feature")
    assert (event.action, event.actor) == ("created", cast.admin)


def test_deleting_an_article_is_recorded(cast: Cast) -> None:
    from knowledgebase.models import Article

    with scope(tenant=cast.tenant_a):
        article = Article.objects.create(tenant=cast.tenant_a, title="Old", body="x")
    client_for(cast.agent, cast.tenant_a).post(f"/manage/kb/{article.pk}/delete/")
    [event] = _events(cast, object_type="knowledgebase.article")
    assert (event.action, event.object_repr, event.actor) == ("deleted", "Old", cast.agent)


def test_admins_read_the_trail_and_nobody_sees_another_tenants(cast: Cast) -> None:
    from contracts.services import organisation_save

    with scope(tenant=cast.tenant_b):
        org = Organisation.objects.get(pk=cast.org_b.pk)
        org.notes = f"changed {B_MARKER}"
        organisation_save(organisation=org, actor=cast.agent_b)
    page = client_for(cast.admin, cast.tenant_a).get("/manage/audit/")
    assert page.status_code == 200 and B_MARKER not in page.content.decode()
    assert client_for(cast.agent, cast.tenant_a).get("/manage/audit/").status_code == 404
