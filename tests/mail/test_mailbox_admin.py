"""Tenant admins configure mailboxes and see what came in and what bounced."""

from __future__ import annotations

from typing import Any

import pytest
from django_scopes import scope

from tests.conftest import Cast, client_for
from tests.mail.servers import ImapServer
from tickets.mail.models import Mailbox

pytestmark = pytest.mark.mail


def _form(imap: ImapServer, **overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Support",
        "email_address": "Support@Tenant-A.example.test",
        "from_name": "Tenant A Support",
        "imap_host": imap.host,
        "imap_port": imap.port,
        "imap_username": imap.username,
        "imap_password": imap.password,
        "imap_folder": "INBOX",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_an_admin_adds_a_mailbox_and_checks_the_connection(cast: Cast, dovecot: ImapServer) -> None:
    admin = client_for(cast.admin, cast.tenant_a)
    response = admin.post("/manage/mailboxes/", _form(dovecot))
    assert response.status_code == 302
    with scope(tenant=cast.tenant_a):
        mailbox = Mailbox.objects.get()
    assert mailbox.email_address == "support@tenant-a.example.test"
    checked = admin.post(f"/manage/mailboxes/{mailbox.pk}/check/", follow=True)
    assert "The mailbox can be read." in checked.content.decode()


def test_a_wrong_password_is_reported_without_showing_it(cast: Cast, dovecot: ImapServer) -> None:
    admin = client_for(cast.admin, cast.tenant_a)
    admin.post("/manage/mailboxes/", _form(dovecot, imap_password="not-it-4711"))
    with scope(tenant=cast.tenant_a):
        mailbox = Mailbox.objects.get()
    page = admin.post(f"/manage/mailboxes/{mailbox.pk}/check/", follow=True).content.decode()
    assert "Could not read the mailbox" in page
    assert "not-it-4711" not in page


def test_editing_keeps_the_stored_password_when_left_empty(cast: Cast, dovecot: ImapServer) -> None:
    admin = client_for(cast.admin, cast.tenant_a)
    admin.post("/manage/mailboxes/", _form(dovecot))
    with scope(tenant=cast.tenant_a):
        mailbox = Mailbox.objects.get()
    edit = admin.get(f"/manage/mailboxes/{mailbox.pk}/").content.decode()
    assert dovecot.password not in edit
    admin.post(f"/manage/mailboxes/{mailbox.pk}/", _form(dovecot, imap_password="", name="Help"))
    with scope(tenant=cast.tenant_a):
        mailbox.refresh_from_db()
    assert (mailbox.name, mailbox.imap_password) == ("Help", dovecot.password)


def test_a_second_mailbox_with_the_same_address_is_refused(cast: Cast, dovecot: ImapServer) -> None:
    admin = client_for(cast.admin, cast.tenant_a)
    admin.post("/manage/mailboxes/", _form(dovecot))
    response = admin.post("/manage/mailboxes/", _form(dovecot, name="Copy"))
    assert response.status_code == 200
    with scope(tenant=cast.tenant_a):
        assert Mailbox.objects.count() == 1


def test_only_admins_see_the_mailbox_pages(cast: Cast) -> None:
    for user in (cast.agent, cast.manager, cast.customer):
        assert client_for(user, cast.tenant_a).get("/manage/mailboxes/").status_code == 404
