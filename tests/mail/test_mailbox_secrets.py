"""Mailbox passwords are encrypted at rest, keys rotate, and no page shows a password."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_scopes import scope

from tests.conftest import Cast, client_for
from tickets.mail.models import Mailbox

PASSWORD = "Pässwörd-4711-clear"  # noqa: S105 - the secret under test
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def _stored(mailbox_id: int) -> str:
    """The column as the database holds it, past every Django field."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT imap_password FROM mail_mailbox WHERE id = %s", [mailbox_id])
        value: str = cursor.fetchone()[0]
    return value


def _mailbox(cast: Cast, password: str = PASSWORD) -> Mailbox:
    with scope(tenant=cast.tenant_a):
        return Mailbox.objects.create(
            tenant=cast.tenant_a,
            name="Support",
            email_address="support@tenant-a.example.test",
            imap_host="93.184.216.34",
            imap_port=993,
            imap_username="support",
            imap_password=password,
        )


def _reread(cast: Cast, mailbox: Mailbox) -> str:
    with scope(tenant=cast.tenant_a):
        return Mailbox.objects.get(pk=mailbox.pk).imap_password


def test_the_column_holds_no_clear_text(cast: Cast, settings: Any) -> None:
    mailbox = _mailbox(cast)
    stored = _stored(mailbox.pk)
    assert PASSWORD not in stored
    assert "4711" not in stored
    assert Fernet(settings.FIELD_ENCRYPTION_KEYS[0]).decrypt(stored.encode()).decode() == PASSWORD
    assert _reread(cast, mailbox) == PASSWORD


def test_a_password_saved_through_the_admin_page_is_encrypted(cast: Cast) -> None:
    admin = client_for(cast.admin, cast.tenant_a)
    response = admin.post("/manage/mailboxes/", _form(imap_password=PASSWORD))
    assert response.status_code == 302
    with scope(tenant=cast.tenant_a):
        mailbox = Mailbox.objects.get()
    assert PASSWORD not in _stored(mailbox.pk)
    assert mailbox.imap_password == PASSWORD


def test_the_same_password_encrypts_differently_each_time(cast: Cast) -> None:
    first = _mailbox(cast)
    with scope(tenant=cast.tenant_a):
        second = Mailbox.objects.create(
            tenant=cast.tenant_a,
            name="Other",
            email_address="other@tenant-a.example.test",
            imap_host="93.184.216.34",
            imap_username="support",
            imap_password=PASSWORD,
        )
    assert _stored(first.pk) != _stored(second.pk)


def test_keys_rotate(cast: Cast, settings: Any) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    mailbox = _mailbox(cast)
    old_token = _stored(mailbox.pk)

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]  # the new key first, the old still read
    assert _reread(cast, mailbox) == PASSWORD
    call_command("secrets_rotate", stdout=open("/dev/null", "w"))  # noqa: SIM115
    new_token = _stored(mailbox.pk)
    assert new_token != old_token
    assert Fernet(NEW_KEY).decrypt(new_token.encode()).decode() == PASSWORD

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # the old key dropped
    assert _reread(cast, mailbox) == PASSWORD


def test_dropping_a_key_before_rotating_says_which_variable(cast: Cast, settings: Any) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    mailbox = _mailbox(cast)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEY"):
        _reread(cast, mailbox)


def _form(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Support",
        "email_address": "support@tenant-a.example.test",
        "imap_host": "93.184.216.34",
        "imap_port": 993,
        "imap_use_ssl": "on",
        "imap_username": "support",
        "imap_password": "",
        "imap_folder": "INBOX",
        "is_active": "on",
    }
    data.update(overrides)
    return data


TYPED = "typed-but-refused-0815"  # noqa: S105


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/manage/mailboxes/", None),
        ("get", "/manage/mailboxes/{id}/", None),
        ("post", "/manage/mailboxes/{id}/", _form(email_address="not an address")),
        ("post", "/manage/mailboxes/{id}/", _form(imap_password=TYPED, email_address="bad")),
        ("post", "/manage/mailboxes/{id}/", _form(imap_password=TYPED, imap_port=6379)),
        ("post", "/manage/mailboxes/", _form(imap_password=TYPED, email_address="bad")),
        ("post", "/manage/mailboxes/", _form(imap_password=TYPED, imap_host="127.0.0.1")),
    ],
)
def test_no_page_contains_a_password(
    cast: Cast, settings: Any, method: str, path: str, data: dict[str, Any] | None
) -> None:
    settings.MAIL_ALLOW_INTERNAL_SERVERS = False
    mailbox = _mailbox(cast)
    admin = client_for(cast.admin, cast.tenant_a)
    url = path.format(id=mailbox.pk)
    response = admin.get(url) if method == "get" else admin.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="imap_password"' in page or method == "get"
    assert PASSWORD not in page
    assert TYPED not in page
    assert _stored(mailbox.pk) not in page
    assert _reread(cast, mailbox) == PASSWORD  # a refused form changed nothing


def test_the_help_text_says_an_empty_field_keeps_the_password(cast: Cast) -> None:
    mailbox = _mailbox(cast)
    page = client_for(cast.admin, cast.tenant_a).get(f"/manage/mailboxes/{mailbox.pk}/")
    assert "Leave empty to keep the stored password." in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_existing_rows_and_reverses(cast: Cast) -> None:
    executor = MigrationExecutor(connection)
    before = [("mail", "0002_alter_outboundemail_kind")]
    after = [("mail", "0003_encrypt_mailbox_passwords")]
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(before)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO mail_mailbox (tenant_id, name, email_address, from_name, imap_host,"
                " imap_port, imap_use_ssl, imap_username, imap_password, imap_folder, is_active,"
                " last_error) VALUES (%s, 'Old', 'old@tenant-a.example.test', '', 'h', 993,"
                " %s, 'u', %s, 'INBOX', %s, '')",
                [cast.tenant_a.pk, True, PASSWORD, True],
            )
            cursor.execute("SELECT id FROM mail_mailbox WHERE name = 'Old'")
            mailbox_id = cursor.fetchone()[0]

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        assert PASSWORD not in _stored(mailbox_id)

        executor = MigrationExecutor(connection)
        executor.migrate(before)
        assert _stored(mailbox_id) == PASSWORD
    finally:
        MigrationExecutor(connection).migrate(leaves)
    with scope(tenant=cast.tenant_a):
        assert Mailbox.objects.get(pk=mailbox_id).imap_password == PASSWORD
