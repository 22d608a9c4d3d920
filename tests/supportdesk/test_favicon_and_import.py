"""Every page names its icon and /favicon.ico answers; the CSV contact import records who
imported and refuses a row without the required organisation (issue #16, item 5)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_scopes import scope

from contracts.models import Contact
from supportdesk.models import AuditEvent
from tests.conftest import Cast, client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("host", ["tenant-a.localhost", "localhost"])
def test_favicon_ico_answers_with_the_icon(cast: Cast, host: str) -> None:
    response = Client(HTTP_HOST=host).get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in response.content


@pytest.mark.parametrize("path", ["/accounts/login/", "/manage/", "/agent/queue/"])
def test_every_page_links_an_icon_that_exists(cast: Cast, path: str) -> None:
    client = client_for(cast.admin, cast.tenant_a)
    html = client.get(path).content.decode()
    link = re.search(r'<link rel="icon" href="([^"]+)"', html)
    assert link is not None, f"{path} links no icon"
    # The test client serves no static files: ask the static finders, as whitenoise would.
    name = link[1].split("?")[0].removeprefix("/").removeprefix(settings.STATIC_URL.lstrip("/"))
    found = finders.find(name)
    assert found, f"{link[1]} is not a static file"
    assert "<svg" in Path(str(found)).read_text()


def _upload(cast: Cast, text: str) -> str:
    client = client_for(cast.admin, cast.tenant_a)
    upload = SimpleUploadedFile("contacts.csv", text.encode(), content_type="text/csv")
    response = client.post("/manage/contacts/import/", {"file": upload})
    assert response.status_code == 200
    return response.content.decode()


def test_the_csv_import_records_the_admin_in_the_audit_trail(cast: Cast) -> None:
    _upload(cast, "organisation,name,email\nOrg New,Nina New,nina@new.example.test\n")
    with scope(tenant=cast.tenant_a):
        events = list(AuditEvent.objects.all())
    assert {e.object_type for e in events} == {"contracts.organisation", "contracts.contact"}
    assert {e.actor for e in events} == {cast.admin}


def test_a_row_without_an_organisation_is_refused_and_nothing_of_it_saved(cast: Cast) -> None:
    page = _upload(
        cast,
        "organisation,name,email\n,Lone Wolf,lone@new.example.test\n"
        "Org New,Nina New,nina@new.example.test\n",
    )
    assert "The organisation is empty; every row needs one." in page
    with scope(tenant=cast.tenant_a):
        assert not Contact.objects.filter(email="lone@new.example.test").exists()
        assert Contact.objects.filter(email="nina@new.example.test").exists()
