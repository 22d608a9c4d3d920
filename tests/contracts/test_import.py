"""CSV import: good rows kept, bad rows reported by line, unreadable files refused whole."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_scopes import scope

from contracts.imports import contacts_import_csv
from contracts.models import Contact, Organisation
from tests.conftest import Cast, client_for

GOOD = (
    "organisation,org_number,licence_customer,name,email,phone,language,trained_on\n"
    "Björkdal AB,556000-1111,ja,Åsa Öberg,asa@bjorkdal.example.se,+46 8 555 000 01,sv,2026-01-15\n"
    "Björkdal AB,,,Per Ek,per@bjorkdal.example.se,,,\n"
    "Kanal NV,,no,Joke Smet,joke@kanal.example.nl,,nl,\n"
)


def test_a_good_file_creates_organisations_and_contacts(cast: Cast, in_tenant_a: object) -> None:
    report = contacts_import_csv(tenant=cast.tenant_a, data=GOOD.encode("utf-8"))
    assert (report.total, report.saved, report.failed) == (3, 3, [])
    assert (report.organisations_created, report.contacts_created) == (2, 3)
    bjorkdal = Organisation.objects.get(name="Björkdal AB")
    assert bjorkdal.is_licence_customer and bjorkdal.org_number == "556000-1111"
    asa = Contact.objects.get(email="asa@bjorkdal.example.se")
    assert (asa.name, asa.organisation, asa.language) == ("Åsa Öberg", bjorkdal, "sv")
    assert str(asa.trained_on) == "2026-01-15"


def test_importing_the_same_file_twice_updates_instead_of_duplicating(
    cast: Cast, in_tenant_a: object
) -> None:
    contacts_import_csv(tenant=cast.tenant_a, data=GOOD.encode())
    again = contacts_import_csv(tenant=cast.tenant_a, data=GOOD.encode())
    assert (again.organisations_created, again.contacts_created, again.contacts_updated) == (
        0,
        0,
        3,
    )
    assert Organisation.objects.filter(name="Björkdal AB").count() == 1


def test_bad_rows_are_reported_by_line_and_good_rows_kept(cast: Cast, in_tenant_a: object) -> None:
    data = (
        b"organisation;name;email;trained_on\n"
        b"Good AB;Gun Good;gun@good.example.se;\n"
        b"Bad AB;No Mail;not-an-address;\n"
        b'Good AB;"Multi\nLine";ml@good.example.se;\n'
        b"Good AB;Ted Date;ted@good.example.se;31/12/2026\n"
        b"Good AB;Half;;\n"
        b"Good AB;Carla;CARLA@orga.example.test;\n"
        b"Good AB;Last One;last@good.example.se;\n"
    )
    report = contacts_import_csv(tenant=cast.tenant_a, data=data)
    failed = {row.line: row.message for row in report.failed}
    assert sorted(failed) == [3, 6, 7]
    assert "email" in failed[3]
    assert "trained_on" in failed[6]
    assert "both a name and an e-mail" in failed[7]
    assert report.saved == 4
    # Bad AB was created in the failing row's savepoint, so it was rolled back with it.
    assert not Organisation.objects.filter(name="Bad AB").exists()
    # An existing contact (matched case-insensitively) is updated, not duplicated.
    assert Contact.objects.filter(email__iexact="carla@orga.example.test").count() == 1


def test_wrong_columns_save_nothing(cast: Cast, in_tenant_a: object) -> None:
    data = b"company,person,mail\nAcme,Ann,ann@acme.test\n"
    with pytest.raises(ValidationError) as excinfo:
        contacts_import_csv(tenant=cast.tenant_a, data=data)
    message = excinfo.value.messages[0]
    assert "Missing columns: organisation, name, email." in message
    assert "Unknown columns: company, person, mail." in message
    assert not Organisation.objects.filter(name="Acme").exists()


def test_windows_1252_files_are_read(cast: Cast, in_tenant_a: object) -> None:
    data = "organisation,name,email\nÅkerö AB,Örjan Ärlig,orjan@akero.example.se\n".encode("cp1252")
    report = contacts_import_csv(tenant=cast.tenant_a, data=data)
    assert report.saved == 1
    assert Contact.objects.get(email="orjan@akero.example.se").name == "Örjan Ärlig"


def test_utf16_with_a_byte_order_mark_is_read(cast: Cast, in_tenant_a: object) -> None:
    data = "organisation\tname\temail\nÅkerö AB\tÖrjan\torjan@akero.example.se\n".encode("utf-16")
    assert contacts_import_csv(tenant=cast.tenant_a, data=data).saved == 1


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"\x00\x01\x02\xff\xfe\x00binary", "not a text file"),
        (b"organisation,name,email\nA,\x81\x8d\x8f,x@y.test\n", "neither UTF-8 nor Windows-1252"),
    ],
)
def test_unreadable_files_are_refused_clearly(
    cast: Cast, in_tenant_a: object, data: bytes, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        contacts_import_csv(tenant=cast.tenant_a, data=data)
    assert Organisation.objects.count() == 1  # only the cast's Org A


def test_the_upload_page_shows_a_report_per_row(cast: Cast) -> None:
    data = GOOD + "Broken,,,Only Name,,,,\n"
    upload = SimpleUploadedFile("contacts.csv", data.encode(), content_type="text/csv")
    response = client_for(cast.admin, cast.tenant_a).post(
        reverse("contracts:contact-import"), {"file": upload}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "3 of 4 rows saved" in page
    assert "<progress" in page
    assert "both a name and an e-mail" in page


def test_the_upload_page_refuses_wrong_columns_and_saves_nothing(cast: Cast) -> None:
    upload = SimpleUploadedFile("x.csv", b"foo,bar\n1,2\n", content_type="text/csv")
    response = client_for(cast.admin, cast.tenant_a).post(
        reverse("contracts:contact-import"), {"file": upload}
    )
    assert response.status_code == 200
    assert "Missing columns" in response.content.decode()
    with scope(tenant=cast.tenant_a):
        assert Organisation.objects.count() == 1


def test_the_command_imports_with_a_progress_bar(cast: Cast, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(GOOD + "X AB,,,Y,bad-address,,,\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    call_command("import_contacts", cast.tenant_a.slug, str(path), stdout=out, stderr=err)
    assert "3 of 4 rows saved" in out.getvalue()
    assert "line 5: email" in err.getvalue()
    assert "row" in err.getvalue()  # tqdm's bar
    with scope(tenant=cast.tenant_a):
        assert Contact.objects.filter(email="per@bjorkdal.example.se").exists()


def test_the_command_stops_with_a_message_on_a_bad_file(cast: Cast, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"foo\n1\n")
    with pytest.raises(CommandError, match="Missing columns"):
        call_command("import_contacts", cast.tenant_a.slug, str(path), "--no-progress")
    with pytest.raises(CommandError, match="No tenant"):
        call_command("import_contacts", "nope", str(path))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_contacts", cast.tenant_a.slug, str(tmp_path / "missing.csv"))


def test_an_oversized_file_is_refused_with_its_size_and_saves_nothing(cast: Cast) -> None:
    from contracts.imports import MAX_IMPORT_BYTES

    data = (GOOD + "Padding AB,,,Pad,pad@pad.example.se,,,\n" * (MAX_IMPORT_BYTES // 30)).encode()
    assert len(data) > MAX_IMPORT_BYTES
    upload = SimpleUploadedFile("big.csv", data, content_type="text/csv")
    response = client_for(cast.admin, cast.tenant_a).post(
        reverse("contracts:contact-import"), {"file": upload}
    )
    assert response.status_code == 200
    assert "import at most 5.0" in response.content.decode()
    with scope(tenant=cast.tenant_a):
        assert Organisation.objects.count() == 1
        with pytest.raises(ValidationError, match="import at most"):
            contacts_import_csv(tenant=cast.tenant_a, data=data)
