"""Guessing passwords, reset links and API keys is throttled (django-axes, DRF throttles).

Web logins lock per user name and client address after ``AXES_FAILURE_LIMIT`` failures;
password-reset requests are limited per address and per e-mail; failed API keys per client
address. Every refusal is a 429 with ``Retry-After`` and a message in the reader's language.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from supportdesk.models import ApiToken
from tests.conftest import PASSWORD, Cast, client_for, host_of

LIMIT = settings.AXES_FAILURE_LIMIT
COOL_OFF = int(settings.AXES_COOLOFF_TIME.total_seconds())
LOCKED = {
    "en": f"Too many attempts. Try again in {COOL_OFF // 60} minutes.",
    "sv": f"För många försök. Försök igen om {COOL_OFF // 60} minuter.",
    "nl": f"Te veel pogingen. Probeer het over {COOL_OFF // 60} minuten opnieuw.",
}


def _login(client: Client, username: str, password: str, ip: str = "10.1.1.1") -> Any:
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _fail(client: Client, username: str, times: int, ip: str = "10.1.1.1") -> list[int]:
    return [_login(client, username, "wrong", ip).status_code for _ in range(times)]


def test_the_limit_th_failure_locks_and_then_even_the_right_password_is_refused(
    cast: Cast,
) -> None:
    client = client_for(None, cast.tenant_a)
    assert _fail(client, cast.agent.username, LIMIT) == [200] * (LIMIT - 1) + [429]
    response = _login(client, cast.agent.username, PASSWORD)
    assert response.status_code == 429
    assert response["Retry-After"] == str(COOL_OFF)
    assert LOCKED["en"] in response.content.decode()
    assert not _logged_in(client)


@pytest.mark.parametrize("language", sorted(LOCKED))
def test_the_lockout_message_is_in_the_readers_language(cast: Cast, language: str) -> None:
    cast.tenant_a.default_language = language
    cast.tenant_a.save()
    client = client_for(None, cast.tenant_a)
    response = _login(client, cast.agent.username, "wrong")
    for _ in range(LIMIT - 1):
        response = _login(client, cast.agent.username, "wrong")
    assert response.status_code == 429
    assert LOCKED[language] in response.content.decode()


def test_the_lock_is_per_user_name_and_address(cast: Cast) -> None:
    client = client_for(None, cast.tenant_a)
    _fail(client, cast.agent.username, LIMIT, ip="10.1.1.1")
    other_user = client_for(None, cast.tenant_a)
    assert _login(other_user, cast.admin.username, PASSWORD, ip="10.1.1.1").status_code == 302
    other_address = client_for(None, cast.tenant_a)
    assert _login(other_address, cast.agent.username, PASSWORD, ip="10.2.2.2").status_code == 302
    assert _logged_in(other_user) and _logged_in(other_address)


def test_spelling_the_user_name_differently_does_not_reset_the_count(cast: Cast) -> None:
    client = client_for(None, cast.tenant_a)
    name = cast.agent.username
    spellings = [name, name.upper(), f" {name} ", name.title(), f"{name} "]
    statuses = [_login(client, spellings[i % 5], "wrong").status_code for i in range(LIMIT)]
    assert statuses[-1] == 429


def test_a_successful_login_resets_the_count(cast: Cast) -> None:
    client = client_for(None, cast.tenant_a)
    assert _fail(client, cast.agent.username, LIMIT - 1) == [200] * (LIMIT - 1)
    assert _login(client, cast.agent.username, PASSWORD).status_code == 302
    client.logout()
    assert _fail(client, cast.agent.username, LIMIT - 1) == [200] * (LIMIT - 1)
    assert _login(client, cast.agent.username, PASSWORD).status_code == 302


def test_the_lock_ends_after_the_cool_off(cast: Cast) -> None:
    client = client_for(None, cast.tenant_a)
    _fail(client, cast.agent.username, LIMIT)
    with time_machine.travel(timezone.now() + timedelta(seconds=COOL_OFF + 60)):
        assert _login(client, cast.agent.username, PASSWORD).status_code == 302


@pytest.mark.parametrize("role", ["admin", "agent", "manager", "customer", "named"])
def test_every_role_still_logs_in_on_its_tenants_host(cast: Cast, role: str) -> None:
    user = cast.users_a()[role]
    client = Client(HTTP_HOST=host_of(cast.tenant_a))
    assert _login(client, user.username, PASSWORD).status_code == 302
    assert _logged_in(client)


# --- Password reset ---------------------------------------------------------------------------


def _reset(client: Client, email: str, ip: str = "10.1.1.1") -> Any:
    return client.post("/accounts/password-reset/", {"email": email}, REMOTE_ADDR=ip)


def test_reset_requests_per_address_are_limited(cast: Cast) -> None:
    client = client_for(None, cast.tenant_a)
    statuses = [_reset(client, cast.agent.email, ip=f"10.0.0.{i}").status_code for i in range(4)]
    assert statuses == [302, 302, 302, 429]
    assert len(mail.outbox) == 3
    refused = _reset(client, cast.agent.email.upper(), ip="10.0.0.9")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many attempts. Try again in" in refused.content.decode()
    assert len(mail.outbox) == 3
    assert _reset(client, cast.admin.email).status_code == 302


def test_reset_requests_per_client_are_limited(cast: Cast) -> None:
    client = client_for(None, cast.tenant_a)
    addresses = [f"nobody{i}@example.test" for i in range(11)]
    statuses = [_reset(client, address).status_code for address in addresses]
    assert statuses == [302] * 10 + [429]
    assert _reset(client, cast.agent.email, ip="10.9.9.9").status_code == 302
    assert len(mail.outbox) == 1


def test_the_reset_refusal_is_in_the_readers_language(cast: Cast) -> None:
    cast.tenant_a.default_language = "sv"
    cast.tenant_a.save()
    client = client_for(None, cast.tenant_a)
    for _ in range(3):
        _reset(client, cast.agent.email)
    assert "För många försök." in _reset(client, cast.agent.email).content.decode()


# --- API keys ---------------------------------------------------------------------------------

API_LIMIT = int(settings.THROTTLE_RATES["bad-api-key"].split("/")[0])


def _api(key: str, ip: str = "10.1.1.1") -> Any:
    return Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {key}").get(
        "/api/v1/me/", REMOTE_ADDR=ip
    )


def test_failed_api_keys_from_one_address_answer_429(cast: Cast) -> None:
    _token, key = ApiToken.issue(tenant=cast.tenant_a, user=cast.agent, name="test")
    assert _api(key).status_code == 200  # a good key is not counted
    statuses = [_api(f"guess-{i}").status_code for i in range(API_LIMIT + 1)]
    assert statuses == [401] * API_LIMIT + [429]
    blocked = _api(key)
    assert blocked.status_code == 429
    assert 0 < int(blocked["Retry-After"]) <= 60
    assert "Too many attempts" in blocked.json()["detail"]
    assert _api(key, ip="10.2.2.2").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert _api(key).status_code == 200


def test_a_forwarded_for_header_does_not_escape_the_api_throttle(cast: Cast) -> None:
    for i in range(API_LIMIT):
        Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION="Token bad").get(
            "/api/v1/me/", REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}"
        )
    assert _api("bad").status_code == 429
