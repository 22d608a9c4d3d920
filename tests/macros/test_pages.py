"""The macro pages: a bad text is an error on the form and saves nothing; agents keep their
own, admins the shared ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation
from django_scopes import scope

from supportdesk.demo import demo_files
from supportdesk.models import AuditEvent
from tests.conftest import Cast, client_for
from tickets.demo import macro_bodies
from tickets.macros.sandbox import macro_text_check
from tickets.models import Macro

pytestmark = pytest.mark.django_db


def _count(cast: Cast) -> tuple[int, int]:
    with scope(tenant=cast.tenant_a):
        return Macro.objects.count(), AuditEvent.objects.count()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("Hej {{ requester.password }}", "Unknown variable {{ requester.password }}"),
        ("Hej {% if ticket.due %}snart", "Line 1: An {% if %} is not closed with {% endif %}."),
        ("{% load static %}", "Line 1: {% load %} is not available in a macro"),
        ("{% debug %}", "Line 1: {% debug %} is not available in a macro"),
        ("{{ requester.name|safe }}", "Unknown filter |safe"),
        ("{{ ticket reference }}", "The text cannot be read"),
    ],
)
def test_a_bad_text_is_an_error_on_the_form_and_saves_nothing(
    cast: Cast, body: str, says: str
) -> None:
    before = _count(cast)
    client = client_for(cast.admin, cast.tenant_a)
    response = client.post(reverse("macros:shared-new"), {"name": "Broken", "body": body})
    assert response.status_code == 200
    assert says in response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    assert _count(cast) == before


def test_the_error_is_in_the_readers_language(cast: Cast) -> None:
    cast.agent.language = "sv"
    cast.agent.save()
    client = client_for(cast.agent, cast.tenant_a)
    with translation.override("sv"):
        response = client.post(reverse("macros:new"), {"name": "Trasig", "body": "{{ kund.namn }}"})
    assert response.status_code == 200
    assert "Okänd variabel {{ kund.namn }}" in response.content.decode()


def test_an_agent_saves_a_personal_macro_that_only_they_see(cast: Cast) -> None:
    client = client_for(cast.agent, cast.tenant_a)
    response = client.post(
        reverse("macros:new"), {"name": "  My   thanks ", "body": "Tack {{ requester.first_name }}"}
    )
    assert response.status_code == 302
    with scope(tenant=cast.tenant_a):
        macro = Macro.objects.get()
        audit = AuditEvent.objects.get(object_type="tickets.macro")
    assert (macro.name, macro.owner_id, audit.actor_id) == (
        "My thanks",
        cast.agent.pk,
        cast.agent.pk,
    )
    admin = client_for(cast.admin, cast.tenant_a)
    assert admin.get(reverse("macros:edit", args=[macro.pk])).status_code == 404
    assert admin.get(reverse("macros:shared-edit", args=[macro.pk])).status_code == 404
    assert "My thanks" not in admin.get(reverse("macros:list")).content.decode()
    assert "My thanks" in client.get(reverse("macros:list")).content.decode()


def test_an_admin_changes_and_deletes_a_shared_macro_with_an_audit_row_each(cast: Cast) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    client.post(reverse("macros:shared-new"), {"name": "Solved", "body": "Klart!"})
    with scope(tenant=cast.tenant_a):
        macro = Macro.objects.get()
    assert macro.owner_id is None
    edit = reverse("macros:shared-edit", args=[macro.pk])
    assert (
        client.post(
            edit, {"name": "Solved", "body": "Klart, {{ requester.first_name }}!"}
        ).status_code
        == 302
    )
    assert client.post(reverse("macros:shared-delete", args=[macro.pk])).status_code == 302
    with scope(tenant=cast.tenant_a):
        actions = list(
            AuditEvent.objects.filter(object_type="tickets.macro")
            .order_by("id")
            .values_list("action", flat=True)
        )
        assert not Macro.objects.exists()
    assert actions == ["created", "changed", "deleted"]


def test_an_agent_may_not_touch_a_shared_macro(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        macro = Macro.objects.create(tenant=cast.tenant_a, name="Shared", body="Hej")
    client = client_for(cast.agent, cast.tenant_a)
    assert client.get(reverse("macros:shared-edit", args=[macro.pk])).status_code == 404
    assert client.post(reverse("macros:delete", args=[macro.pk])).status_code == 404
    assert (
        client.post(reverse("macros:edit", args=[macro.pk]), {"name": "x", "body": "y"}).status_code
        == 404
    )
    with scope(tenant=cast.tenant_a):
        assert Macro.objects.get().name == "Shared"


@pytest.mark.parametrize("path", demo_files(), ids=lambda path: path.stem)
def test_the_demos_shared_macros_pass_the_check_a_save_makes(path: Path) -> None:
    bodies = macro_bodies(path)
    assert bodies
    for body in bodies:
        macro_text_check(body, field="body")
