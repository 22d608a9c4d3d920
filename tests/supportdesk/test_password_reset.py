"""A password reset mail comes only from a tenant the person belongs to."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from tests.conftest import Cast, client_for, host_of


def _ask(cast: Cast, tenant: Any, email: str) -> Any:
    return client_for(None, tenant).post("/accounts/password-reset/", {"email": email})


@pytest.mark.parametrize(
    ("user", "tenant", "mailed"),
    [
        ("customer", "tenant_a", True),  # a contact of A, asking on A's host
        ("agent", "tenant_a", True),  # staff of A
        ("agent_b", "tenant_b", True),  # staff of B on B's host
        ("contact_b_user", "tenant_b", True),
        ("customer", "tenant_b", False),  # a contact of A, asking on B's host
        ("agent", "tenant_b", False),  # staff of A, asking on B's host
        ("agent_b", "tenant_a", False),
    ],
)
def test_a_reset_mail_goes_only_to_someone_of_the_hosts_tenant(
    cast: Cast, user: str, tenant: str, mailed: bool
) -> None:
    person = getattr(cast, user)
    host_tenant = getattr(cast, tenant)
    response = _ask(cast, host_tenant, person.email)
    assert response.status_code == 302  # the same answer either way: nothing is revealed
    if not mailed:
        assert mail.outbox == []
        return
    (message,) = mail.outbox
    assert message.to == [person.email]
    assert f"http://{host_of(host_tenant)}/accounts/reset/" in message.body
