"""OAuth 2.0 mailboxes (#11 item 12): IMAP and SMTP log in with SASL XOAUTH2 and access
tokens from the refresh-token grant, as Microsoft 365 and Google Workspace require.

Against real servers: Dovecot with an ``oauth2`` passdb asking the test's introspection
endpoint about each token, aiosmtpd checking ``AUTH XOAUTH2`` tokens at the same endpoint,
and the same local HTTP server as the token endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_scopes import scope

from tests.conftest import Cast, client_for
from tests.mail.conftest import SUPPORT_ADDRESS, corpus
from tests.mail.servers import ImapServer, OAuthServer, SmtpCapture
from tickets.mail import services
from tickets.mail.models import MailAuth, Mailbox, OutboundKind, OutboundStatus, SmtpSecurity
from tickets.models import Ticket

pytestmark = pytest.mark.mail

CARLA = "carla@orga.example.test"
SCOPE = "https://outlook.office365.com/IMAP.AccessAsUser.All offline_access"


def _oauth_mailbox(
    cast: Cast, imap: ImapServer, oauth: OAuthServer, *, access_valid_for: timedelta, **extra: Any
) -> tuple[Mailbox, str]:
    """Tenant A's mailbox on Dovecot with OAuth 2.0; returns it and its refresh token."""
    access, refresh = oauth.issue()
    with scope(tenant=cast.tenant_a):
        mailbox = Mailbox.objects.create(
            tenant=cast.tenant_a, name="Support", email_address=SUPPORT_ADDRESS,
            imap_host=imap.host, imap_port=imap.port, imap_use_ssl=False,
            imap_username=imap.username, auth_method=MailAuth.OAUTH2,
            oauth_token_url=oauth.token_url, oauth_client_id=oauth.client_id,
            oauth_client_secret=oauth.client_secret, oauth_scope=SCOPE,
            oauth_refresh_token=refresh, oauth_access_token=access,
            oauth_access_token_expires_at=timezone.now() + access_valid_for, **extra,
        )  # fmt: skip
    return mailbox, refresh


def _poll(cast: Cast, mailbox: Mailbox, capture: Any) -> int:
    with capture(execute=True), scope(tenant=cast.tenant_a):
        stored = services.mailbox_poll(mailbox=mailbox)
        mailbox.refresh_from_db()
    return stored


def test_a_poll_with_a_valid_access_token_logs_in_with_xoauth2(
    cast: Cast, desk: Any, imap: ImapServer, oauth: OAuthServer, smtp: SmtpCapture,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    mailbox, _refresh = _oauth_mailbox(cast, imap, oauth, access_valid_for=timedelta(hours=1))
    imap.deliver(corpus("new_request.eml"))
    assert _poll(cast, mailbox, django_capture_on_commit_callbacks) == 1
    assert mailbox.last_error == ""
    assert oauth.token_requests == []  # the stored token was still good
    assert oauth.introspections >= 1  # Dovecot asked about it
    with scope(tenant=cast.tenant_a):
        assert Ticket.objects.count() == 1


def test_an_expired_access_token_is_refreshed_first_and_kept_encrypted(
    cast: Cast, desk: Any, imap: ImapServer, oauth: OAuthServer, smtp: SmtpCapture,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    mailbox, refresh = _oauth_mailbox(cast, imap, oauth, access_valid_for=timedelta(seconds=30))
    oauth.expire_all_access_tokens()
    imap.deliver(corpus("new_request.eml"))
    assert _poll(cast, mailbox, django_capture_on_commit_callbacks) == 1
    assert mailbox.last_error == ""
    (grant,) = oauth.token_requests
    assert grant["grant_type"] == "refresh_token" and grant["refresh_token"] == refresh
    assert (grant["client_id"], grant["scope"]) == (oauth.client_id, SCOPE)
    assert mailbox.oauth_access_token.endswith("-refreshed")
    expires = mailbox.oauth_access_token_expires_at
    assert expires is not None and expires > timezone.now() + timedelta(minutes=50)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT oauth_access_token, oauth_refresh_token, oauth_client_secret "
            "FROM mail_mailbox WHERE id = %s",
            [mailbox.pk],
        )
        stored = " ".join(cursor.fetchone())
    for secret in (mailbox.oauth_access_token, refresh, oauth.client_secret):
        assert secret not in stored


def test_a_token_the_server_refuses_is_refreshed_once_and_the_poll_succeeds(
    cast: Cast, desk: Any, imap: ImapServer, oauth: OAuthServer, smtp: SmtpCapture,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    mailbox, _refresh = _oauth_mailbox(cast, imap, oauth, access_valid_for=timedelta(hours=1))
    oauth.expire_all_access_tokens()  # revoked early: our clock still calls it valid
    imap.deliver(corpus("new_request.eml"))
    assert _poll(cast, mailbox, django_capture_on_commit_callbacks) == 1
    assert mailbox.last_error == "" and len(oauth.token_requests) == 1
    assert imap.unseen() == 0


def test_a_revoked_refresh_token_is_a_clear_error_on_the_mailbox_pages(
    cast: Cast, imap: ImapServer, oauth: OAuthServer
) -> None:
    mailbox, refresh = _oauth_mailbox(cast, imap, oauth, access_valid_for=timedelta(0))
    oauth.revoke(refresh)
    oauth.expire_all_access_tokens()
    imap.deliver(corpus("new_request.eml"))
    with scope(tenant=cast.tenant_a):
        assert services.mailbox_poll(mailbox=mailbox) == 0
        mailbox.refresh_from_db()
    assert "refused the refresh token" in mailbox.last_error
    assert "invalid_grant" in mailbox.last_error
    assert imap.unseen() == 1  # nothing lost: the next good poll reads it

    admin = client_for(cast.admin, cast.tenant_a)
    for url in ("/manage/mailboxes/", f"/manage/mailboxes/{mailbox.pk}/"):
        page = admin.get(url)
        assert page.status_code == 200
        assert "refused the refresh token" in page.content.decode()
    checked = admin.post(f"/manage/mailboxes/{mailbox.pk}/check/", follow=True)
    assert checked.status_code == 200
    text = checked.content.decode()
    assert "Could not read the mailbox" in text and "refused the refresh token" in text
    for secret in (refresh, oauth.client_secret):
        assert secret not in text


def test_a_wrong_client_secret_and_a_dead_token_endpoint_are_said_not_raised(
    cast: Cast, imap: ImapServer, oauth: OAuthServer
) -> None:
    mailbox, _refresh = _oauth_mailbox(cast, imap, oauth, access_valid_for=timedelta(0))
    with scope(tenant=cast.tenant_a):
        mailbox.oauth_client_secret = "not-the-secret"
        mailbox.save()
        assert "client id or the client secret" in services.mailbox_check(mailbox=mailbox)
        mailbox.oauth_token_url = "http://127.0.0.1:9/token"  # nothing listens
        mailbox.save()
        problem = services.mailbox_check(mailbox=mailbox)
    assert "Could not get an access token" in problem and "not-the-secret" not in problem


@pytest.fixture
def oauth_smtp(oauth: OAuthServer) -> Iterator[SmtpCapture]:
    capture = SmtpCapture(oauth=oauth).start()
    yield capture
    capture.stop()


def _send(cast: Cast, capture: Any, key: str) -> OutboundStatus:
    with capture(execute=True), scope(tenant=cast.tenant_a):
        outbound = services.mail_enqueue(
            tenant=cast.tenant_a, key=key, kind=OutboundKind.LOGIN_LINK, to=CARLA,
            subject="Your login link", body="Log in here: https://tenant-a.example.test/\n",
        )  # fmt: skip
    with scope(tenant=cast.tenant_a):
        outbound.refresh_from_db()
    return OutboundStatus(outbound.status)


def test_mail_goes_out_through_the_mailboxs_smtp_server_with_xoauth2_refreshing_as_needed(
    cast: Cast, imap: ImapServer, oauth: OAuthServer, oauth_smtp: SmtpCapture,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    _oauth_mailbox(
        cast, imap, oauth, access_valid_for=timedelta(hours=1), smtp_host=oauth_smtp.host,
        smtp_port=oauth_smtp.port, smtp_security=SmtpSecurity.NONE,
    )  # fmt: skip
    assert _send(cast, django_capture_on_commit_callbacks, "t:1") == OutboundStatus.SENT
    assert oauth_smtp.logins == [f"XOAUTH2 {imap.username} ok"] and oauth.token_requests == []
    oauth.expire_all_access_tokens()  # the server refuses it; one refresh, then it is sent
    assert _send(cast, django_capture_on_commit_callbacks, "t:2") == OutboundStatus.SENT
    assert oauth_smtp.logins[1:] == [f"XOAUTH2 {imap.username} {r}" for r in ("refused", "ok")]
    assert len(oauth.token_requests) == 1 and len(oauth_smtp.to(CARLA)) == 2


def test_the_test_button_logs_in_to_imap_and_smtp_and_says_how_it_went(
    cast: Cast, imap: ImapServer, oauth: OAuthServer, oauth_smtp: SmtpCapture
) -> None:
    mailbox, refresh = _oauth_mailbox(
        cast, imap, oauth, access_valid_for=timedelta(hours=1), smtp_host=oauth_smtp.host,
        smtp_port=oauth_smtp.port, smtp_security=SmtpSecurity.NONE,
    )  # fmt: skip
    admin = client_for(cast.admin, cast.tenant_a)
    page = admin.post(f"/manage/mailboxes/{mailbox.pk}/check/", follow=True).content.decode()
    assert "The mailbox can be read." in page
    assert "Mail can be sent through the SMTP server." in page
    oauth.expire_all_access_tokens()
    oauth.revoke(refresh)
    page = admin.post(f"/manage/mailboxes/{mailbox.pk}/check/", follow=True).content.decode()
    assert "Could not read the mailbox" in page
    assert "Could not log in to the SMTP server" in page
    assert refresh not in page and oauth.client_secret not in page


def test_the_test_button_checks_a_password_smtp_login_without_showing_it(
    cast: Cast, imap: ImapServer, settings: Any
) -> None:
    # The shared server's login must never be offered to a tenant's server.
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "shared-user", "shared-secret"
    server = SmtpCapture(login=("tenant-user", "tenant-secret-4711")).start()
    try:
        with scope(tenant=cast.tenant_a):
            mailbox = Mailbox.objects.create(
                tenant=cast.tenant_a, name="Support", email_address=SUPPORT_ADDRESS,
                imap_host=imap.host, imap_port=imap.port, imap_use_ssl=False,
                imap_username=imap.username, imap_password=imap.password,
                smtp_host=server.host, smtp_port=server.port, smtp_security=SmtpSecurity.NONE,
            )  # fmt: skip
        admin = client_for(cast.admin, cast.tenant_a)
        url = f"/manage/mailboxes/{mailbox.pk}/check/"
        page = admin.post(url, follow=True).content.decode()
        assert "Could not log in to the SMTP server" in page  # it wants a login we lack
        assert not any("shared-user" in login for login in server.logins)
        with scope(tenant=cast.tenant_a):
            Mailbox.objects.filter(pk=mailbox.pk).update(smtp_username="tenant-user")
            mailbox.refresh_from_db()
            mailbox.smtp_password = "wrong-secret-0815"
            mailbox.save()
        page = admin.post(url, follow=True).content.decode()
        assert "The SMTP server refused the login: 535" in page
        assert "wrong-secret-0815" not in page
        with scope(tenant=cast.tenant_a):
            mailbox.smtp_password = "tenant-secret-4711"
            mailbox.save()
        page = admin.post(url, follow=True).content.decode()
        assert "Mail can be sent through the SMTP server." in page
        assert "The mailbox can be read." in page
        assert server.logins[-1] in ("PLAIN tenant-user ok", "LOGIN tenant-user ok")
    finally:
        server.stop()


def test_the_admin_sets_up_oauth_and_the_secrets_are_kept_and_never_shown(
    cast: Cast, imap: ImapServer, oauth: OAuthServer, settings: Any
) -> None:
    access, refresh = oauth.issue()
    admin = client_for(cast.admin, cast.tenant_a)
    form = {
        "name": "Support", "email_address": SUPPORT_ADDRESS, "imap_host": imap.host,
        "imap_port": imap.port, "imap_username": imap.username, "imap_folder": "INBOX",
        "is_active": "on", "auth_method": MailAuth.OAUTH2, "smtp_port": 587,
        "smtp_security": SmtpSecurity.STARTTLS,
    }  # fmt: skip
    refused = admin.post("/manage/mailboxes/", form)
    assert refused.status_code == 200 and "Needed for OAuth 2.0." in refused.content.decode()
    form |= {
        "oauth_token_url": oauth.token_url, "oauth_client_id": oauth.client_id,
        "oauth_client_secret": oauth.client_secret, "oauth_scope": SCOPE,
        "oauth_refresh_token": refresh,
    }  # fmt: skip
    assert admin.post("/manage/mailboxes/", form).status_code == 302
    with scope(tenant=cast.tenant_a):
        mailbox = Mailbox.objects.get()
    assert mailbox.uses_oauth and mailbox.oauth_refresh_token == refresh
    page = admin.get(f"/manage/mailboxes/{mailbox.pk}/").content.decode()
    assert refresh not in page and oauth.client_secret not in page
    edited = form | {"oauth_client_secret": "", "oauth_refresh_token": "", "name": "Help"}
    assert admin.post(f"/manage/mailboxes/{mailbox.pk}/", edited).status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.name, mailbox.oauth_client_secret, mailbox.oauth_refresh_token) == (
        "Help", oauth.client_secret, refresh,
    )  # fmt: skip
    checked = admin.post(f"/manage/mailboxes/{mailbox.pk}/check/", follow=True)
    assert "The mailbox can be read." in checked.content.decode()
    # In production the token endpoint must be https:// on the public internet.
    settings.MAIL_ALLOW_INTERNAL_SERVERS = False
    form |= {"imap_host": "imap.example.com", "imap_port": 993}
    page = admin.post(f"/manage/mailboxes/{mailbox.pk}/", form).content.decode()
    assert "The token endpoint must be an https:// address." in page


def test_a_tenant_server_without_a_user_name_is_never_offered_the_shared_servers_login(
    cast: Cast, settings: Any
) -> None:
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "shared-user", "shared-secret"
    server = SmtpCapture(login=("tenant-user", "tenant-secret-4711")).start()
    try:
        with scope(tenant=cast.tenant_a):
            Mailbox.objects.create(
                tenant=cast.tenant_a, name="Support", email_address=SUPPORT_ADDRESS,
                imap_host="127.0.0.1", imap_username="x", imap_password="x",
                smtp_host=server.host, smtp_port=server.port, smtp_security=SmtpSecurity.NONE,
            )  # fmt: skip
            outbound = services.mail_enqueue(
                tenant=cast.tenant_a, key="t:shared", kind=OutboundKind.LOGIN_LINK, to=CARLA,
                subject="Link", body="https://tenant-a.example.test/\n",
            )  # fmt: skip
            with pytest.raises(services.MailDeliveryError):
                services.mail_send(outbound_id=outbound.pk)
        assert server.logins == [] and server.messages == []
    finally:
        server.stop()
