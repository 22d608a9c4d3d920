from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django_scopes import scope

from contracts.models import Contract, Feature, PlanFeature, SupportPlan
from knowledgebase.models import Article, Visibility
from tests.conftest import Cast, api_client_for, client_for


@pytest.fixture
def kb(cast: Cast) -> dict[str, Article]:
    """Tenant A: Silver includes the knowledge centre, Free does not; Org A is on Silver."""
    tenant = cast.tenant_a
    with scope(tenant=tenant):
        centre = Feature.objects.create(
            tenant=tenant, key="knowledge_centre", name="Knowledge centre"
        )
        silver = SupportPlan.objects.create(tenant=tenant, name="Silver")
        gold = SupportPlan.objects.create(tenant=tenant, name="Gold")
        PlanFeature.objects.create(tenant=tenant, plan=silver, feature=centre)
        PlanFeature.objects.create(tenant=tenant, plan=gold, feature=centre)
        Contract.objects.create(
            tenant=tenant, organisation=cast.org_a, plan=silver, starts_on=dt.date(2020, 1, 1)
        )

        def article(title: str, visibility: str, plans: list[SupportPlan] = ()) -> Article:  # type: ignore[assignment]
            a = Article.objects.create(
                tenant=tenant, title=title, body=f"{title} body text", visibility=visibility
            )
            a.plans.set(plans)
            return a

        return {
            "public": article("Reset your password", Visibility.PUBLIC),
            "customers": article("Invoice questions", Visibility.CUSTOMERS),
            "silver": article("Advanced triggers for Silver", Visibility.PLANS, [silver]),
            "gold": article("Gold-only webinar recordings", Visibility.PLANS, [gold]),
            "internal": article("Internal escalation checklist", Visibility.INTERNAL),
        }


def _titles(response) -> set[str]:  # type: ignore[no-untyped-def]
    return {
        a
        for a in (
            "Reset your password",
            "Invoice questions",
            "Advanced triggers for Silver",
            "Gold-only webinar recordings",
            "Internal escalation checklist",
        )
        if a in response.content.decode()
    }


def test_an_anonymous_visitor_reads_only_public_articles(
    kb: dict[str, Article], cast: Cast
) -> None:
    response = client_for(None, cast.tenant_a).get("/kb/")
    assert response.status_code == 200
    assert _titles(response) == {"Reset your password"}


def test_a_customer_on_silver_reads_customer_and_silver_articles(
    kb: dict[str, Article], cast: Cast
) -> None:
    response = client_for(cast.customer, cast.tenant_a).get("/kb/")
    assert _titles(response) == {
        "Reset your password",
        "Invoice questions",
        "Advanced triggers for Silver",
    }


def test_a_gold_article_is_404_for_a_silver_customer(kb: dict[str, Article], cast: Cast) -> None:
    client = client_for(cast.customer, cast.tenant_a)
    assert client.get(f"/kb/{kb['gold'].pk}/").status_code == 404
    assert client.get(f"/kb/{kb['internal'].pk}/").status_code == 404
    assert client.get(f"/kb/{kb['silver'].pk}/").status_code == 200


def test_without_the_knowledge_centre_feature_a_customer_reads_public_articles_only(
    kb: dict[str, Article], cast: Cast
) -> None:
    with scope(tenant=cast.tenant_a):
        PlanFeature.objects.filter(plan__name="Silver").delete()
    response = client_for(cast.customer, cast.tenant_a).get("/kb/")
    assert _titles(response) == {"Reset your password"}


def test_staff_read_everything(kb: dict[str, Article], cast: Cast) -> None:
    response = client_for(cast.agent, cast.tenant_a).get("/kb/")
    assert len(_titles(response)) == 5


def test_search_finds_articles_by_words_in_the_title_and_body(
    kb: dict[str, Article], cast: Cast
) -> None:
    response = client_for(cast.customer, cast.tenant_a).get("/kb/", {"q": "password"})
    assert _titles(response) == {"Reset your password"}
    response = client_for(cast.customer, cast.tenant_a).get("/kb/", {"q": "webinar"})
    assert _titles(response) == set()


def test_suggestions_while_filing_respect_visibility(kb: dict[str, Article], cast: Cast) -> None:
    client = client_for(cast.customer, cast.tenant_a)
    data = client.get(
        "/api/v1/kb/suggest/", {"q": "I forgot my password, and triggers fail"}
    ).json()
    assert {a["title"] for a in data} == {"Reset your password", "Advanced triggers for Silver"}
    fragment = client.get("/kb/suggest/", {"q": "gold webinar"}).content.decode()
    assert "Gold-only" not in fragment


def test_markdown_is_rendered_without_passing_scripts_through(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        article = Article.objects.create(
            tenant=cast.tenant_a,
            title="Danger",
            body="**bold** <script>alert(1)</script> [x](javascript:alert(1))",
            visibility=Visibility.PUBLIC,
        )
    html = client_for(None, cast.tenant_a).get(f"/kb/{article.pk}/").content.decode()
    assert "<strong>bold</strong>" in html
    assert "<script>alert" not in html
    assert 'href="javascript:' not in html


def test_an_agent_writes_an_article_for_selected_plans(kb: dict[str, Article], cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        silver = SupportPlan.objects.get(name="Silver")
    response = client_for(cast.agent, cast.tenant_a).post(
        "/manage/kb/new/",
        {
            "title": "New guide",
            "kind": "guide",
            "visibility": "plans",
            "body": "Text",
            "plans": [silver.pk],
            "is_published": "on",
        },
    )
    assert response.status_code == 302
    with scope(tenant=cast.tenant_a):
        assert list(Article.objects.get(title="New guide").plans.all()) == [silver]


def test_a_duplicate_title_is_refused_with_a_message(kb: dict[str, Article], cast: Cast) -> None:
    response = client_for(cast.agent, cast.tenant_a).post(
        "/manage/kb/new/",
        {"title": "Reset your password", "kind": "faq", "visibility": "public", "body": "x"},
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()


def test_a_customer_cannot_reach_the_editor(kb: dict[str, Article], cast: Cast) -> None:
    assert client_for(cast.customer, cast.tenant_a).get("/manage/kb/").status_code == 404


def test_the_article_api_lists_with_a_constant_number_of_queries(
    kb: dict[str, Article], cast: Cast, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client = api_client_for(cast.agent, cast.tenant_a)
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/kb/articles/")
    assert response.status_code == 200
    assert response.json()["count"] == 5


def test_the_api_refuses_a_plan_of_another_tenant(kb: dict[str, Article], cast: Cast) -> None:
    with scope(tenant=cast.tenant_b):
        b_plan = SupportPlan.objects.create(tenant=cast.tenant_b, name="B plan")
    response = api_client_for(cast.agent, cast.tenant_a).post(
        "/api/v1/kb/articles/",
        {"title": "T", "body": "b", "visibility": "plans", "plans": [b_plan.pk]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "plans" in response.json()


def test_the_filing_form_asks_for_suggestions_as_the_subject_is_typed(
    kb: dict[str, Article], cast: Cast
) -> None:
    client = client_for(cast.customer, cast.tenant_a)
    form = client.get("/portal/new/").content.decode()
    assert 'hx-get="/kb/suggest/"' in form and 'id="kb-suggestions"' in form
    fragment = client.get("/kb/suggest/", {"subject": "password reset"}).content.decode()
    assert "Reset your password" in fragment


@pytest.mark.parametrize("who", ["anonymous", "customer", "agent"])
@pytest.mark.parametrize(
    "url", ["/kb/suggest/?q=password+triggers", "/api/v1/kb/suggest/?q=password", "/kb/?q=password"]
)
def test_search_and_suggestions_cost_a_fixed_number_of_queries(
    kb: dict[str, Article], cast: Cast, who: str, url: str, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    if who == "anonymous" and url.startswith("/api/"):
        pytest.skip("the API needs a member of the tenant")
    user = {"anonymous": None, "customer": cast.customer, "agent": cast.agent}[who]
    client = client_for(user, cast.tenant_a)
    client.get(url)  # the session and the tenant's hosts, read once per connection
    for _ in range(3):
        with scope(tenant=cast.tenant_a):
            Article.objects.create(
                tenant=cast.tenant_a,
                title=f"More password help {_}",
                body="password",
                visibility="public",
            )
        # However many articles match: the reader is resolved, then one query for the articles.
        # A customer's contact carries the request's tenant (its plan lookup read it again).
        expected = {"anonymous": 2, "customer": 6, "agent": 3}[who]
        with django_assert_num_queries(expected):
            response = client.get(url)
        assert response.status_code == 200
        assert "More password help" in response.content.decode()


def test_a_word_being_typed_already_finds_its_article(kb: dict[str, Article], cast: Cast) -> None:
    fragment = client_for(None, cast.tenant_a).get("/kb/suggest/", {"q": "passw"}).content.decode()
    assert "Reset your password" in fragment


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="stemming is PostgreSQL's full-text search"
)
@pytest.mark.parametrize("reader", ["en", "sv", "nl"])
def test_an_article_is_found_by_its_own_languages_word_forms_whatever_the_reader(
    cast: Cast, reader: str
) -> None:
    with scope(tenant=cast.tenant_a):
        for language, title, body in (
            ("en", "Printing invoices", "Choose the printer in the settings."),
            ("sv", "Skriva ut fakturor", "Välj skrivaren bland inställningarna."),
        ):
            Article.objects.create(
                tenant=cast.tenant_a,
                title=title,
                body=body,
                language=language,
                visibility=Visibility.PUBLIC,
            )
    client = client_for(None, cast.tenant_a)
    client.cookies["django_language"] = reader
    assert "Printing invoices" in client.get("/kb/", {"q": "printed invoice"}).content.decode()
    assert "Skriva ut fakturor" in client.get("/kb/", {"q": "fakturorna"}).content.decode()
