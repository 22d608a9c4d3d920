"""Outgoing mail per tenant (#11 item 13): a mailbox may name its own SMTP server, else mail
goes through the shared one; with a DKIM selector and key every mail from it is signed,
and the signature verifies against the published key. Both servers are real aiosmtpd ones."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dkim
import pytest
from django_scopes import scope

from tests.conftest import Cast, client_for
from tests.mail.conftest import SUPPORT_ADDRESS
from tests.mail.servers import SmtpCapture
from tickets.mail import services
from tickets.mail.models import Mailbox, OutboundKind, SmtpSecurity

pytestmark = pytest.mark.mail

CARLA = "carla@orga.example.test"
DOMAIN = "tenant-a.example.test"


def _openssl(*args: str) -> bytes:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is missing: it makes the test's DKIM key")
    run = subprocess.run([openssl, *args], check=True, capture_output=True)  # noqa: S603 - fixed
    return run.stdout


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, bytes]:
    """A fresh RSA key: ``(PEM private key, the TXT record a domain would publish)``."""
    path: Path = tmp_path_factory.mktemp("dkim") / "key.pem"
    _openssl("genrsa", "-out", str(path), "2048")
    public = _openssl("rsa", "-in", str(path), "-pubout", "-outform", "DER")
    return path.read_text(), b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


@pytest.fixture
def own_server() -> Iterator[SmtpCapture]:
    capture = SmtpCapture().start()
    yield capture
    capture.stop()


def _mailbox(cast: Cast, **fields: Any) -> Mailbox:
    with scope(tenant=cast.tenant_a):
        return Mailbox.objects.create(
            tenant=cast.tenant_a, name="Support", email_address=SUPPORT_ADDRESS,
            imap_host="127.0.0.1", imap_username="x", imap_password="x", **fields,
        )  # fmt: skip


def _send(cast: Cast, capture: Any, key: str = "test:own-server") -> None:
    with capture(execute=True), scope(tenant=cast.tenant_a):
        services.mail_enqueue(
            tenant=cast.tenant_a, key=key, kind=OutboundKind.LOGIN_LINK, to=CARLA,
            subject="Your login link – åäö", body="Log in here: https://tenant-a.example.test/\n",
        )  # fmt: skip


def test_a_mailbox_with_its_own_server_sends_through_it_and_others_use_the_shared_one(
    cast: Cast, smtp: SmtpCapture, own_server: SmtpCapture,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    mailbox = _mailbox(
        cast, smtp_host=own_server.host, smtp_port=own_server.port,
        smtp_security=SmtpSecurity.NONE,
    )  # fmt: skip
    _send(cast, django_capture_on_commit_callbacks)
    assert len(own_server.to(CARLA)) == 1 and smtp.to(CARLA) == []
    with scope(tenant=cast.tenant_a):
        Mailbox.objects.filter(pk=mailbox.pk).update(smtp_host="")
    _send(cast, django_capture_on_commit_callbacks, key="test:shared")
    assert len(own_server.to(CARLA)) == 1 and len(smtp.to(CARLA)) == 1


def test_mail_from_a_mailbox_with_a_dkim_key_is_signed_and_verifies(
    cast: Cast, smtp: SmtpCapture, dkim_key: tuple[str, bytes],
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    private, record = dkim_key
    _mailbox(cast, dkim_selector="sd2024", dkim_private_key=private)
    _send(cast, django_capture_on_commit_callbacks)
    (mail,) = smtp.to(CARLA)
    assert b"DKIM-Signature:" in mail.raw
    assert re.search(rb"d=tenant-a\.example\.test;.*s=sd2024;", b" ".join(mail.raw.split()))

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return record if name == b"sd2024._domainkey." + DOMAIN.encode() + b"." else b""

    assert dkim.verify(mail.raw, dnsfunc=dns)
    tampered = mail.raw.replace(b"Log in here", b"Log in there")
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_without_a_key_nothing_is_signed(
    cast: Cast, smtp: SmtpCapture, django_capture_on_commit_callbacks: Any
) -> None:
    _mailbox(cast, dkim_selector="sd2024")
    _send(cast, django_capture_on_commit_callbacks)
    (mail,) = smtp.to(CARLA)
    assert b"DKIM-Signature" not in mail.raw


def test_the_admin_sets_the_server_and_key_and_a_bad_key_is_refused(
    cast: Cast, dkim_key: tuple[str, bytes]
) -> None:
    mailbox = _mailbox(cast)
    admin = client_for(cast.admin, cast.tenant_a)
    form = {
        "name": "Support", "email_address": SUPPORT_ADDRESS, "imap_host": "127.0.0.1",
        "imap_port": 993, "imap_username": "x", "imap_folder": "INBOX", "is_active": "on",
        "smtp_host": "smtp.tenant-a.example.test", "smtp_port": 587,
        "smtp_security": SmtpSecurity.STARTTLS, "smtp_username": "support",
        "smtp_password": "smtp-secret", "dkim_selector": "sd2024",
        "dkim_private_key": "not a key",
    }  # fmt: skip
    refused = admin.post(f"/manage/mailboxes/{mailbox.pk}/", form)
    assert refused.status_code == 200
    assert "This is not a PEM RSA private key" in refused.content.decode()
    saved = admin.post(f"/manage/mailboxes/{mailbox.pk}/", form | {"dkim_private_key": dkim_key[0]})
    assert saved.status_code == 302
    # Secrets are not shown again, and an empty field keeps them.
    page = admin.get(f"/manage/mailboxes/{mailbox.pk}/").content.decode()
    assert "smtp-secret" not in page and "PRIVATE KEY" not in page
    admin.post(
        f"/manage/mailboxes/{mailbox.pk}/", form | {"smtp_password": "", "dkim_private_key": ""}
    )
    mailbox.refresh_from_db()
    assert mailbox.smtp_password == "smtp-secret" and mailbox.signs_mail
    assert mailbox.smtp_host == "smtp.tenant-a.example.test"


def test_files_and_inline_images_reach_the_smtp_server_intact(
    cast: Cast, smtp: SmtpCapture, django_capture_on_commit_callbacks: Any
) -> None:
    """The report mail's shape (#17): text and HTML alternatives, a PDF to download, a PNG
    the HTML shows by Content-ID; the bytes the server receives are the bytes stored."""
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 40
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    with django_capture_on_commit_callbacks(execute=True), scope(tenant=cast.tenant_a):
        services.mail_enqueue(
            tenant=cast.tenant_a, key="test:files", kind=OutboundKind.SLA_REPORT, to=CARLA,
            subject="SLA-rapport 2026-11", body="Rapporten bifogas.\n",
            html_body='<p>Rapport</p><img src="cid:chart-1.sv@supportdesk" alt="Diagram">',
            attachments=[
                services.MailAttachment("sla-report-2026-11-ö.pdf", pdf, "application/pdf"),
                services.MailAttachment(
                    "chart-1.png", png, "image/png", content_id="chart-1.sv@supportdesk"
                ),
            ],
        )  # fmt: skip
    (received,) = smtp.to(CARLA)
    parts = {
        part.get_content_type(): part for part in received.message.walk() if not part.is_multipart()
    }
    assert set(parts) == {"text/plain", "text/html", "application/pdf", "image/png"}
    assert parts["application/pdf"].get_payload(decode=True) == pdf
    assert parts["application/pdf"].get_content_disposition() == "attachment"
    assert parts["application/pdf"].get_filename() == "sla-report-2026-11-ö.pdf"
    assert parts["image/png"].get_payload(decode=True) == png
    assert parts["image/png"].get_content_disposition() == "inline"
    assert parts["image/png"]["Content-ID"] == "<chart-1.sv@supportdesk>"
    assert "cid:chart-1.sv@supportdesk" in parts["text/html"].get_payload(decode=True).decode()
