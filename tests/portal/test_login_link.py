"""Logging in with a one-time link sent by e-mail."""

from __future__ import annotations

import re
from typing import Any

from django.core import mail
from django.test import Client
from django_scopes import scope

from contracts.models import Contact
from tests.conftest import Cast, client_for, host_of
from tickets.portal.services import login_link_token


def _request_link(cast: Cast, email: str, capture: Any) -> Any:
    with capture(execute=True):
        return client_for(None, cast.tenant_a).post("/portal/login/", {"email": email}, follow=True)


def _link_path(body: str) -> str:
    match = re.search(r"https?://tenant-a\.localhost(?::\d+)?(/portal/login/[^/\s]+/)", body)
    assert match, body
    return match.group(1)


def test_a_contact_gets_a_link_that_logs_in_once(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    response = _request_link(cast, "CARLA@orga.example.test", django_capture_on_commit_callbacks)
    assert "a login link is on its way" in response.content.decode()
    (sent,) = mail.outbox
    assert sent.to == ["carla@orga.example.test"]
    assert sent.extra_headers["Auto-Submitted"] == "auto-generated"
    path = _link_path(sent.body)

    browser = Client(HTTP_HOST=host_of(cast.tenant_a))
    page = browser.get(path)
    assert page.status_code == 200
    assert "Continue as Carla Customer" in page.content.decode()
    assert browser.get("/portal/").status_code == 302  # looking is not logging in

    assert browser.post(path)["Location"] == "/portal/"
    assert browser.get("/portal/").status_code == 200

    again = Client(HTTP_HOST=host_of(cast.tenant_a))
    assert again.get(path).status_code == 404
    assert again.post(path).status_code == 404


def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    response = _request_link(cast, "nobody@nowhere.test", django_capture_on_commit_callbacks)
    assert "a login link is on its way" in response.content.decode()
    assert mail.outbox == []


def test_a_contact_without_a_login_gets_one(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    with scope(tenant=cast.tenant_a):
        Contact.objects.create(
            tenant=cast.tenant_a,
            organisation=cast.org_a,
            name="Pia Portal",
            email="pia@orga.example.test",
        )
    _request_link(cast, "pia@orga.example.test", django_capture_on_commit_callbacks)
    with scope(tenant=cast.tenant_a):
        pia = Contact.objects.select_related("user").get(email="pia@orga.example.test")
    assert pia.user is not None and not pia.user.has_usable_password()
    browser = Client(HTTP_HOST=host_of(cast.tenant_a))
    browser.post(_link_path(mail.outbox[0].body))
    assert browser.get("/portal/").status_code == 200


def test_asking_again_within_minutes_sends_no_second_mail(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    for _ in range(3):
        _request_link(cast, "carla@orga.example.test", django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1


def test_a_link_for_another_tenant_does_not_work_here(cast: Cast) -> None:
    with scope(tenant=cast.tenant_b):
        token = login_link_token(tenant=cast.tenant_b, user=cast.contact_b_user)
    browser = Client(HTTP_HOST=host_of(cast.tenant_a))
    assert browser.post(f"/portal/login/{token}/").status_code == 404
    assert "_auth_user_id" not in browser.session


def test_a_garbled_link_is_a_helpful_404(cast: Cast) -> None:
    browser = Client(HTTP_HOST=host_of(cast.tenant_a))
    response = browser.get("/portal/login/not-a.token/")
    assert response.status_code == 404
    assert "Send me a new link" in response.content.decode()


def test_the_password_login_page_offers_the_link(cast: Cast) -> None:
    content = client_for(None, cast.tenant_a).get("/accounts/login/").content.decode()
    assert 'href="/portal/login/"' in content
