"""Articles in several languages: translation groups, the reader's version, its search."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from contracts.models import Contract, Feature, PlanFeature, SupportPlan
from knowledgebase.models import Article, Visibility
from knowledgebase.services import article_delete, article_save, article_translate
from supportdesk.models import AuditEvent, Tenant, User
from tests.conftest import Cast, api_client_for, client_for


def _article(tenant: Tenant, title: str, language: str, **fields: Any) -> Article:
    with scope(tenant=tenant):
        return article_save(
            article=Article(
                tenant=tenant,
                title=title,
                body=fields.pop("body", f"{title} body text"),
                language=language,
                visibility=fields.pop("visibility", Visibility.PUBLIC),
                **fields,
            )
        )


def _translate(source: Article, language: str, title: str, body: str = "", **kw: Any) -> Article:
    with scope(tenant=source.tenant):
        return article_translate(
            tenant=source.tenant,
            source=source,
            language=language,
            title=title,
            body=body or f"{title} body text",
            **kw,
        )


def _reader(user: User | None, tenant: Tenant, language: str = "") -> Client:
    """A reader whose active language is ``language`` (empty: the tenant's default)."""
    if user is not None and language:
        user.language = language
        user.save(update_fields=["language"])
    client = client_for(user, tenant)
    if user is None and language:
        session = client.session
        session["language"] = language
        session.save()
    return client


@pytest.fixture
def password(cast: Cast) -> dict[str, Article]:
    """Tenant A (default English): an English source with a Swedish translation."""
    en = _article(cast.tenant_a, "Reset your password", "en", body="Use the password link.")
    sv = _translate(en, "sv", "Återställ ditt lösenord", "Använd länken för lösenord.")
    return {"en": en, "sv": sv}


def _shown(client: Client, url: str = "/kb/", **params: str) -> set[str]:
    html = client.get(url, params).content.decode()
    titles = ("Reset your password", "Återställ ditt lösenord", "Wachtwoord herstellen")
    return {title for title in titles if title in html}


# Which version a reader sees


def test_a_reader_sees_the_group_once_in_their_own_language(
    password: dict[str, Article], cast: Cast
) -> None:
    assert _shown(_reader(None, cast.tenant_a, "sv")) == {"Återställ ditt lösenord"}
    assert _shown(_reader(None, cast.tenant_a, "en")) == {"Reset your password"}
    assert _shown(_reader(cast.agent, cast.tenant_a, "sv")) == {"Återställ ditt lösenord"}


def test_without_their_language_a_reader_gets_the_tenants_default_language(
    password: dict[str, Article], cast: Cast
) -> None:
    nl = _translate(password["en"], "nl", "Wachtwoord herstellen")
    cast.tenant_a.default_language = "sv"
    cast.tenant_a.save()
    with scope(tenant=cast.tenant_a):
        nl.delete()
    # No Dutch version: the tenant's Swedish one, not the English source.
    assert _shown(_reader(None, cast.tenant_a, "nl")) == {"Återställ ditt lösenord"}


def test_without_their_language_or_the_default_a_reader_gets_the_source(cast: Cast) -> None:
    sv = _article(cast.tenant_a, "Återställ ditt lösenord", "sv")
    _translate(sv, "nl", "Wachtwoord herstellen")
    # Tenant A's default is English, which the group lacks.
    assert _shown(_reader(None, cast.tenant_a, "en")) == {"Återställ ditt lösenord"}
    assert _shown(_reader(None, cast.tenant_a, "nl")) == {"Wachtwoord herstellen"}


def test_an_unpublished_translation_falls_back_to_the_next_version(
    password: dict[str, Article], cast: Cast
) -> None:
    with scope(tenant=cast.tenant_a):
        password["sv"].is_published = False
        article_save(article=password["sv"])
    assert _shown(_reader(None, cast.tenant_a, "sv")) == {"Reset your password"}
    assert client_for(None, cast.tenant_a).get(f"/kb/{password['sv'].pk}/").status_code == 404


def test_an_article_without_a_language_is_shown_to_every_reader(cast: Cast) -> None:
    _article(cast.tenant_a, "Reset your password", "")
    for language in ("sv", "nl", "en"):
        assert _shown(_reader(None, cast.tenant_a, language)) == {"Reset your password"}


def test_the_article_page_links_the_other_languages_the_reader_may_read(
    password: dict[str, Article], cast: Cast
) -> None:
    nl = _translate(password["en"], "nl", "Wachtwoord herstellen", is_published=False)
    html = client_for(None, cast.tenant_a).get(f"/kb/{password['sv'].pk}/").content.decode()
    assert f'href="/kb/{password["en"].pk}/"' in html and 'hreflang="en"' in html
    assert f'href="/kb/{nl.pk}/"' not in html  # a draft is not for customers
    staff = client_for(cast.agent, cast.tenant_a).get(f"/kb/{password['sv'].pk}/").content
    assert f'href="/kb/{nl.pk}/"' in staff.decode()
    assert f'href="/manage/kb/{password["sv"].pk}/translate/"' in staff.decode()


# Creating translations: the service's preconditions


def test_a_second_translation_into_the_same_language_is_refused_with_a_message(
    password: dict[str, Article], cast: Cast
) -> None:
    with pytest.raises(ValidationError) as refused:
        _translate(password["en"], "sv", "Lösenord igen")
    assert refused.value.message_dict == {
        "language": ["This article already has a translation in that language."]
    }
    # Also from a translation, and into the source's own language.
    with pytest.raises(ValidationError):
        _translate(password["sv"], "en", "Password again")
    with scope(tenant=cast.tenant_a):
        assert Article.objects.count() == 2


def test_the_page_shows_the_refusal_in_the_agents_language_and_saves_nothing(
    password: dict[str, Article], cast: Cast
) -> None:
    client = _reader(cast.agent, cast.tenant_a, "sv")
    url = f"/manage/kb/{password['en'].pk}/translate/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"language": "sv", "title": "Lösenord igen", "body": "x"})
    assert response.status_code == 200
    assert "Artikeln har redan en översättning på det språket." in response.content.decode()
    with scope(tenant=cast.tenant_a):
        assert Article.objects.count() == 2


def test_an_agent_translates_an_article_from_its_page(
    password: dict[str, Article], cast: Cast
) -> None:
    response = client_for(cast.agent, cast.tenant_a).post(
        f"/manage/kb/{password['sv'].pk}/translate/",
        {"language": "nl", "title": "Wachtwoord herstellen", "body": "Gebruik de link."},
    )
    assert response.status_code == 302
    with scope(tenant=cast.tenant_a):
        nl = Article.objects.get(language="nl")
        # A translation of a translation joins the source's group.
        assert nl.translation_of == password["en"]
        assert AuditEvent.objects.filter(object_id=str(nl.pk)).exists()


def test_a_translation_of_another_tenants_article_is_refused(cast: Cast) -> None:
    b_article = _article(cast.tenant_b, "B source", "en")
    with scope(tenant=cast.tenant_a), pytest.raises(ValidationError) as refused:
        article_translate(
            tenant=cast.tenant_a, source=b_article, language="sv", title="Stolen", body="x"
        )
    assert refused.value.code == "other_tenant"
    response = api_client_for(cast.agent, cast.tenant_a).post(
        "/api/v1/kb/articles/",
        {"title": "Stolen", "body": "x", "language": "sv", "translation_of": b_article.pk},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "translation_of" in response.json()
    with scope(tenant=cast.tenant_b):
        assert Article.objects.count() == 1
    with scope(tenant=cast.tenant_a):
        assert not Article.objects.exists()


def test_an_article_without_a_language_cannot_be_translated(cast: Cast) -> None:
    neutral = _article(cast.tenant_a, "Reset your password", "")
    with pytest.raises(ValidationError) as refused:
        _translate(neutral, "sv", "Återställ ditt lösenord")
    assert list(refused.value.message_dict) == ["language"]


def test_the_database_holds_one_article_per_language_in_a_group(
    password: dict[str, Article], cast: Cast
) -> None:
    # An edit that would give the group two Swedish articles is refused by the constraint.
    with scope(tenant=cast.tenant_a):
        password["en"].language = "sv"
        with pytest.raises(ValidationError) as refused:
            article_save(article=password["en"])
    assert "already has a translation in that language" in str(refused.value)


# Visibility is the group's


@pytest.fixture
def plans(cast: Cast) -> dict[str, SupportPlan]:
    tenant = cast.tenant_a
    with scope(tenant=tenant):
        centre = Feature.objects.create(tenant=tenant, key="knowledge_centre", name="KC")
        silver = SupportPlan.objects.create(tenant=tenant, name="Silver")
        gold = SupportPlan.objects.create(tenant=tenant, name="Gold")
        for plan in (silver, gold):
            PlanFeature.objects.create(tenant=tenant, plan=plan, feature=centre)
        Contract.objects.create(
            tenant=tenant, organisation=cast.org_a, plan=silver, starts_on=dt.date(2020, 1, 1)
        )
    return {"silver": silver, "gold": gold}


def test_a_translation_is_read_by_the_plans_of_its_source(
    plans: dict[str, SupportPlan], cast: Cast
) -> None:
    with scope(tenant=cast.tenant_a):
        en = article_save(
            article=Article(
                tenant=cast.tenant_a,
                title="Reset your password",
                body="b",
                language="en",
                visibility=Visibility.PLANS,
            ),
            plans=[plans["gold"]],
        )
    sv = _translate(en, "sv", "Återställ ditt lösenord")
    with scope(tenant=cast.tenant_a):
        assert sv.visibility == Visibility.PLANS and list(sv.plans.all()) == [plans["gold"]]
    customer = _reader(cast.customer, cast.tenant_a, "sv")  # Org A is on Silver
    assert _shown(customer) == set()
    with scope(tenant=cast.tenant_a):
        article_save(article=en, plans=[plans["silver"]])
        sv.refresh_from_db()
        assert list(sv.plans.all()) == [plans["silver"]]
    assert _shown(customer) == {"Återställ ditt lösenord"}


def test_deleting_the_source_deletes_its_translations(
    password: dict[str, Article], cast: Cast
) -> None:
    with scope(tenant=cast.tenant_a):
        article_delete(article=password["en"])
        assert not Article.objects.exists()
        assert AuditEvent.objects.filter(
            object_id=str(password["sv"].pk), action="deleted"
        ).exists()


# Search and suggestions in the reader's language


def test_search_looks_in_the_readers_language_version(
    password: dict[str, Article], cast: Cast
) -> None:
    swedish, english = _reader(None, cast.tenant_a, "sv"), _reader(None, cast.tenant_a, "en")
    assert _shown(swedish, q="lösenord") == {"Återställ ditt lösenord"}
    assert _shown(english, q="lösenord") == set()
    assert _shown(english, q="password") == {"Reset your password"}
    assert _shown(swedish, q="reset your") == set()
    suggested = swedish.get("/api/v1/kb/suggest/", {"q": "lösenord"})
    assert suggested.status_code == 401  # the API needs a member of the tenant
    customer = _reader(cast.customer, cast.tenant_a, "sv")
    data = customer.get("/api/v1/kb/suggest/", {"q": "lösenord password"}).json()
    assert [(a["title"], a["language"]) for a in data] == [("Återställ ditt lösenord", "sv")]
    fragment = customer.get("/kb/suggest/", {"subject": "password"}).content.decode()
    assert "Reset your password" not in fragment


@pytest.mark.parametrize("who", ["anonymous", "customer", "agent"])
@pytest.mark.parametrize("url", ["/kb/", "/kb/?q=password", "/kb/suggest/?q=password"])
def test_list_and_search_cost_the_same_queries_however_many_groups(
    cast: Cast, who: str, url: str
) -> None:
    user = {"anonymous": None, "customer": cast.customer, "agent": cast.agent}[who]
    client = _reader(user, cast.tenant_a, "sv")
    client.get(url)  # the session and the tenant's hosts, read once per connection
    counts = []
    for n in range(3):
        source = _article(cast.tenant_a, f"Password help {n}", "en")
        _translate(source, "sv", f"Lösenordshjälp {n} password")
        _translate(source, "nl", f"Wachtwoordhulp {n}")
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        counts.append(len(captured))
        html = response.content.decode()
        assert html.count("Lösenordshjälp") == n + 1 and "Password help" not in html
    assert counts[0] == counts[1] == counts[2]


def _api_count(client: Client, **params: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/v1/kb/articles/", params).status_code == 200
    return len(captured)


# The API


def test_the_api_shows_the_language_and_the_translations(
    password: dict[str, Article], cast: Cast
) -> None:
    client = api_client_for(cast.agent, cast.tenant_a)
    en, sv = password["en"], password["sv"]
    data = client.get(f"/api/v1/kb/articles/{sv.pk}/").json()
    assert data["language"] == "sv" and data["translation_of"] == en.pk
    assert data["translations"] == [{"id": en.pk, "language": "en"}]
    listed = client.get("/api/v1/kb/articles/", {"language": "sv"}).json()
    assert [(a["id"], a["translations"]) for a in listed["results"]] == [
        (sv.pk, [{"id": en.pk, "language": "en"}])
    ]
    # Without ?language= the reader's language (the agent's, else the tenant's English).
    assert [a["id"] for a in client.get("/api/v1/kb/articles/").json()["results"]] == [en.pk]
    bad = client.get("/api/v1/kb/articles/", {"language": "xx"})
    assert bad.status_code == 400 and "language" in bad.json()


def test_the_api_creates_a_translation_through_the_service(
    password: dict[str, Article], cast: Cast
) -> None:
    client = api_client_for(cast.agent, cast.tenant_a)
    body = {"title": "Wachtwoord herstellen", "body": "x", "language": "nl"}
    created = client.post(
        "/api/v1/kb/articles/",
        {**body, "translation_of": password["sv"].pk, "visibility": "internal"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["translation_of"] == password["en"].pk
    assert created.json()["visibility"] == "public"  # the source's
    again = client.post(
        "/api/v1/kb/articles/",
        {**body, "title": "Nog eens", "translation_of": password["en"].pk},
        content_type="application/json",
    )
    assert again.status_code == 400 and "language" in again.json()


def test_the_api_list_costs_the_same_queries_however_many_groups(cast: Cast) -> None:
    client = api_client_for(cast.agent, cast.tenant_a)
    _api_count(client)  # the tenant's hosts, read once per connection
    counts = []
    for n in range(3):
        source = _article(cast.tenant_a, f"Password help {n}", "en")
        _translate(source, "sv", f"Lösenordshjälp {n}")
        counts.append(_api_count(client, language="sv"))
    assert counts[0] == counts[1] == counts[2]


def test_the_schema_documents_the_language_and_the_translations(cast: Cast) -> None:
    schema = json.loads(
        client_for(None, cast.tenant_a).get("/api/v1/schema/", {"format": "json"}).content
    )
    article = schema["components"]["schemas"]["Article"]["properties"]
    assert article["translations"]["readOnly"] is True
    assert article["translations"]["items"]["$ref"].endswith("/Translation")
    assert "translation_of" in article and "language" in article
    parameters = schema["paths"]["/api/v1/kb/articles/"]["get"]["parameters"]
    language = next(p for p in parameters if p["name"] == "language")
    assert set(language["schema"]["enum"]) == {"en", "sv", "nl"}
