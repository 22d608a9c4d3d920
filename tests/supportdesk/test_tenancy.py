from __future__ import annotations

import pytest
from django_scopes import ScopeError, scope

from contracts.models import Contact, Organisation
from supportdesk.models import Membership

from ..conftest import B_MARKER, Cast, api_client_for, client_for


def test_a_query_on_a_tenant_owned_model_without_a_tenant_raises(cast: Cast) -> None:
    with pytest.raises(ScopeError):
        list(Organisation.objects.all())
    with pytest.raises(ScopeError):
        Contact.objects.count()
    with pytest.raises(ScopeError):
        Membership.objects.filter(user=cast.agent).exists()


def test_the_scope_shows_only_its_own_tenants_rows(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        names = set(Organisation.objects.values_list("name", flat=True))
    assert names == {"Org A"}


def test_the_host_picks_the_tenant_and_the_role(cast: Cast) -> None:
    response = api_client_for(cast.agent, cast.tenant_a).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json() == {"username": "a-agent", "tenant": "tenant-a", "role": "agent"}


def test_a_token_of_tenant_a_on_tenant_bs_host_answers_404(cast: Cast) -> None:
    client = api_client_for(cast.agent, cast.tenant_a)
    response = client.get("/api/v1/me/", HTTP_HOST="tenant-b.localhost")
    assert response.status_code == 404
    assert B_MARKER not in response.content.decode()


def test_an_unknown_token_is_refused(db: None) -> None:
    from django.test import Client

    response = Client(HTTP_AUTHORIZATION="Token nope").get("/api/v1/me/", HTTP_HOST="127.0.0.1")
    assert response.status_code == 401


def test_a_host_that_names_no_tenant_is_404_in_production(cast: Cast) -> None:
    from django.test import Client

    assert Client().get("/", HTTP_HOST="unknown.example").status_code in (400, 404)
    assert Client().get("/", HTTP_HOST="nosuch.localhost").status_code == 404


def test_the_api_without_a_token_on_a_bare_host_asks_for_one(db: None) -> None:
    from django.test import Client

    response = Client().get("/api/v1/tickets/", HTTP_HOST="127.0.0.1")
    assert response.status_code == 401


def test_a_user_of_another_tenant_gets_no_access_page(cast: Cast) -> None:
    response = client_for(cast.agent_b, cast.tenant_a).get("/")
    assert response.status_code == 200
    assert "no role" in response.content.decode()


def test_the_language_follows_the_user_then_the_tenant(cast: Cast) -> None:
    cast.tenant_a.default_language = "nl"
    cast.tenant_a.save()
    response = client_for(None, cast.tenant_a).get("/accounts/login/")
    assert response.headers["Content-Language"] == "nl"
    cast.customer.language = "sv"
    cast.customer.save()
    response = client_for(cast.customer, cast.tenant_a).get("/accounts/login/")
    assert response.headers["Content-Language"] == "sv"


def test_a_user_has_a_different_role_in_each_tenant(cast: Cast) -> None:
    with scope(tenant=cast.tenant_b):
        Membership.objects.create(tenant=cast.tenant_b, user=cast.agent, role="manager")
    a = api_client_for(cast.agent, cast.tenant_a).get("/api/v1/me/").json()
    b = api_client_for(cast.agent, cast.tenant_b).get("/api/v1/me/").json()
    assert (a["tenant"], a["role"]) == ("tenant-a", "agent")
    assert (b["tenant"], b["role"]) == ("tenant-b", "manager")


def test_a_custom_host_name_routes_to_its_tenant(cast: Cast, settings) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "support.example.com"]
    from supportdesk.models import TenantHost

    TenantHost.objects.create(tenant=cast.tenant_a, hostname="Support.Example.COM")
    client = Client(HTTP_HOST="support.example.com")
    client.force_login(cast.agent)
    assert client.get("/api/v1/me/").json()["tenant"] == "tenant-a"


def test_a_custom_host_name_wins_over_the_slug_form(cast: Cast) -> None:
    from supportdesk.models import TenantHost
    from supportdesk.tenancy import tenant_for_host

    assert tenant_for_host("tenant-a.localhost:8000") == cast.tenant_a
    TenantHost.objects.create(tenant=cast.tenant_b, hostname="tenant-a.localhost")
    assert tenant_for_host("tenant-a.localhost:8000") == cast.tenant_b
    assert tenant_for_host("tenant-b.localhost") == cast.tenant_b
    assert tenant_for_host("nobody.localhost") is None
    assert tenant_for_host("a.b.localhost") is None


def test_password_reset_mails_a_link_on_the_tenants_own_host(cast: Cast) -> None:
    from django.core import mail

    response = client_for(None, cast.tenant_a).post(
        "/accounts/password-reset/", {"email": cast.agent.email}
    )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "http://tenant-a.localhost/accounts/reset/" in mail.outbox[0].body
