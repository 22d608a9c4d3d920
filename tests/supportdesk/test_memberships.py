"""Who is an agent: one answer (supportdesk/models.py) for every check and every list."""

from __future__ import annotations

import pytest
from django_scopes import ScopeError, scope

from supportdesk.models import Membership
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def test_the_agents_are_the_agents_and_admins_of_the_tenant_in_scope(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        users = set(Membership.objects.agents().values_list("user__username", flat=True))
    assert users == {cast.admin.username, cast.agent.username}
    with scope(tenant=cast.tenant_b):
        users = set(Membership.objects.agents().values_list("user__username", flat=True))
    assert users == {cast.agent_b.username}


def test_a_membership_says_whether_it_is_an_agents(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        roles = {m.user_id: m.is_agent for m in Membership.objects.all()}
    assert roles == {cast.admin.pk: True, cast.agent.pk: True, cast.manager.pk: False}


def test_the_agents_are_not_listed_outside_a_tenant_scope(cast: Cast) -> None:
    with pytest.raises(ScopeError):
        list(Membership.objects.agents())
