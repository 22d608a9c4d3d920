from __future__ import annotations

from supportdesk.models import ApiToken

from ..conftest import Cast, client_for


def test_the_administration_index_links_every_configuration_task(cast: Cast) -> None:
    html = client_for(cast.admin, cast.tenant_a).get("/manage/").content.decode()
    for link in ("/manage/organisations/", "/manage/plans/", "/manage/contracts/", "/manage/kb/"):
        assert f'href="{link}"' in html


def test_only_admins_reach_the_administration_index(cast: Cast) -> None:
    for user in (cast.agent, cast.manager, cast.customer):
        assert client_for(user, cast.tenant_a).get("/manage/").status_code == 404


def test_an_agent_creates_a_token_that_works_once_shown(cast: Cast) -> None:
    client = client_for(cast.agent, cast.tenant_a)
    html = client.post("/account/tokens/", {"name": "script"}).content.decode()
    key = html.split("<pre><code>")[1].split("</code>")[0]
    from django.test import Client

    api = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/me/").json()["role"] == "agent"
    token = ApiToken.objects.get(user=cast.agent)
    assert key not in (token.key_hash, token.prefix)


def test_a_revoked_token_stops_working(cast: Cast) -> None:
    token, key = ApiToken.issue(tenant=cast.tenant_a, user=cast.agent, name="old")
    client_for(cast.agent, cast.tenant_a).post("/account/tokens/", {"revoke": str(token.pk)})
    from django.test import Client

    api = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/me/").status_code == 401


def test_a_customer_gets_a_token_but_a_stranger_has_no_token_page(cast: Cast) -> None:
    assert client_for(cast.customer, cast.tenant_a).get("/account/tokens/").status_code == 200
    assert client_for(cast.agent_b, cast.tenant_a).get("/account/tokens/").status_code == 404


def test_the_tenant_list_is_hidden_in_production(db: None) -> None:
    from django.test import Client

    assert Client().get("/", HTTP_HOST="localhost").status_code == 404


def test_the_openapi_schema_is_served_without_a_tenant(cast: Cast) -> None:
    from django.test import Client

    response = Client().get("/api/v1/schema/", HTTP_HOST="127.0.0.1")
    assert response.status_code == 200
    for path in (b"/api/v1/kb/articles/", b"/api/v1/portal/tickets/", b"/api/v1/tickets/"):
        assert path in response.content
