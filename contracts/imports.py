"""Bulk import of organisations and contacts from CSV, for the upload page and the command.

A file whose encoding or columns are wrong saves nothing and says why. Otherwise every row
is saved in its own savepoint: good rows are kept, bad rows are reported with their line
number and reason. One row is one contact (created or updated by e-mail address) and its
organisation (created or updated by name); a row with only an organisation is allowed,
a row without one is refused.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from supportdesk.models import Language, Tenant, User

from .models import Contact, Organisation
from .services import contact_save, organisation_save

REQUIRED_COLUMNS = ("organisation", "name", "email")
OPTIONAL_COLUMNS = (
    "org_number",
    "email_domains",
    "licence_customer",
    "phone",
    "language",
    "trained_on",
)
MAX_ROWS = 5000
# 5,000 rows of a dozen columns fit in well under 5 MB; a bigger file is refused unread.
MAX_IMPORT_BYTES = 5 * 1024 * 1024


def import_size_check(size: int) -> None:
    """Refuse an import file over :data:`MAX_IMPORT_BYTES` before it is read."""
    if size > MAX_IMPORT_BYTES:
        raise ValidationError(
            _("The file is %(size)s; import at most %(max)s at a time.")
            % {"size": filesizeformat(size), "max": filesizeformat(MAX_IMPORT_BYTES)}
        )


_TRUE = {"1", "yes", "y", "true", "ja", "j", "x"}
_FALSE = {"", "0", "no", "n", "false", "nej", "nee"}


@dataclass
class RowResult:
    line: int
    ok: bool
    message: str


@dataclass
class ImportReport:
    rows: list[RowResult] = field(default_factory=list)
    organisations_created: int = 0
    contacts_created: int = 0
    contacts_updated: int = 0

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def saved(self) -> int:
        return sum(1 for r in self.rows if r.ok)

    @property
    def failed(self) -> list[RowResult]:
        return [r for r in self.rows if not r.ok]


def decode_csv(data: bytes) -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252.

    Windows-1252 is what Excel writes for Swedish and Dutch text when not asked for UTF-8;
    it also reads Latin-1 text. Anything else is refused rather than guessed.
    """
    if not data.strip():
        raise ValidationError(_("The file is empty."))
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ValidationError(_("The file is not valid UTF-16 text.")) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        raise ValidationError(_("This is not a text file; save it as CSV (UTF-8)."))
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            _("The file is neither UTF-8 nor Windows-1252 text; save it as CSV (UTF-8).")
        ) from exc


def _reader(text: str) -> tuple[list[str], csv.DictReader[str]]:
    first_line = text.splitlines()[0] if text.splitlines() else ""
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    return header, reader


def _check_header(header: list[str]) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    duplicated = sorted({c for c in header if header.count(c) > 1})
    problems = []
    if missing:
        problems.append(_("Missing columns: %(columns)s.") % {"columns": ", ".join(missing)})
    if unknown:
        problems.append(
            _("Unknown columns: %(columns)s.") % {"columns": ", ".join(c or '""' for c in unknown)}
        )
    if duplicated:
        problems.append(_("Repeated columns: %(columns)s.") % {"columns": ", ".join(duplicated)})
    if problems:
        expected = ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
        problems.append(
            _("Expected columns (the first three required): %(columns)s.") % {"columns": expected}
        )
        raise ValidationError(" ".join(problems))


def _flag(value: str) -> bool:
    cleaned = value.strip().lower()
    if cleaned in _TRUE:
        return True
    if cleaned in _FALSE:
        return False
    raise ValidationError(
        _("licence_customer must be yes or no, not %(value)r.") % {"value": value}
    )


def _date(value: str) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationError(
            _("trained_on must be a date like 2026-03-31, not %(value)r.") % {"value": value}
        ) from exc


def _language(value: str) -> str:
    cleaned = value.strip().lower()
    if cleaned and cleaned not in Language.values:
        raise ValidationError(
            _("language must be one of %(choices)s, not %(value)r.")
            % {"choices": ", ".join(Language.values), "value": value}
        )
    return cleaned


def _message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(
            f"{name}: {' '.join(messages)}" if name != "__all__" else " ".join(messages)
            for name, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)


def _import_row(tenant: Tenant, row: dict[str, str], actor: User | None) -> list[str]:
    """Save one row; returns what was done (keys of ``_DONE``). Raises ValidationError."""
    org_name = row.get("organisation", "").strip()
    name, email = row.get("name", "").strip(), row.get("email", "").strip()
    organisation: Organisation | None = None
    done: list[str] = []
    if not org_name:
        # The page calls the column required: a contact without one is refused, not saved
        # loose (nothing of the row is kept).
        raise ValidationError(_("The organisation is empty; every row needs one."))
    if org_name:
        organisation = Organisation.objects.filter(tenant=tenant, name__iexact=org_name).first()
        created = organisation is None
        if organisation is None:
            organisation = Organisation(tenant=tenant, name=org_name)
        for column in ("org_number", "email_domains"):
            if row.get(column, "").strip():
                setattr(organisation, column, row[column].strip())
        if row.get("licence_customer", "").strip():
            organisation.is_licence_customer = _flag(row["licence_customer"])
        organisation_save(organisation=organisation, actor=actor)
        done.append("organisation_created" if created else "organisation_updated")
    if name or email:
        if not (name and email):
            raise ValidationError(_("A contact needs both a name and an e-mail address."))
        contact = Contact.objects.filter(tenant=tenant, email__iexact=email).first()
        created = contact is None
        if contact is None:
            contact = Contact(tenant=tenant, email=email)
        contact.name = name
        contact.organisation = organisation or contact.organisation
        if row.get("phone", "").strip():
            contact.phone = row["phone"].strip()
        if row.get("language", "").strip():
            contact.language = _language(row["language"])
        if row.get("trained_on", "").strip():
            contact.trained_on = _date(row["trained_on"])
        contact_save(contact=contact, actor=actor)
        done.append("contact_created" if created else "contact_updated")
    if not done:
        raise ValidationError(_("The row names neither an organisation nor a contact."))
    return done


def _describe(done: list[str], report: ImportReport) -> str:
    """Count what a saved row did and say it in words."""
    words = {
        "organisation_created": _("organisation created"),
        "organisation_updated": _("organisation updated"),
        "contact_created": _("contact created"),
        "contact_updated": _("contact updated"),
    }
    report.organisations_created += done.count("organisation_created")
    report.contacts_created += done.count("contact_created")
    report.contacts_updated += done.count("contact_updated")
    return ", ".join(words[d] for d in done)


@transaction.atomic
def contacts_import_csv(
    *,
    tenant: Tenant,
    data: bytes,
    actor: User | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import organisations and contacts from CSV bytes into ``tenant``; every saved row is
    in the audit trail under ``actor`` (the admin who uploaded it).

    Wrong encoding, wrong columns or too many rows raise ``ValidationError`` before anything
    is saved. Each row then runs in its own savepoint. ``progress(done, total)`` is called
    after every row. Caller holds the tenant's scope.
    """
    import_size_check(len(data))
    text = decode_csv(data)
    header, reader = _reader(text)
    _check_header(header)
    rows: list[tuple[int, dict[str | None, str | None]]] = []
    try:
        next_line = 2  # the header is line 1; a quoted cell may span several lines
        for raw in reader:
            rows.append((next_line, raw))  # type: ignore[arg-type]
            next_line = reader.line_num + 1
    except csv.Error as exc:
        raise ValidationError(_("The file is not valid CSV: %(error)s.") % {"error": exc}) from exc
    if len(rows) > MAX_ROWS:
        raise ValidationError(
            _("The file has %(count)d rows; import at most %(max)d at a time.")
            % {"count": len(rows), "max": MAX_ROWS}
        )
    report = ImportReport()
    for index, (line, raw) in enumerate(rows):
        if None in raw:
            report.rows.append(RowResult(line, False, _("The row has more cells than columns.")))
        elif not any((v or "").strip() for v in raw.values()):
            pass  # blank lines are not rows
        else:
            row = {str(k): (v or "") for k, v in raw.items()}
            try:
                with transaction.atomic():
                    done = _import_row(tenant, row, actor)
            except ValidationError as exc:
                report.rows.append(RowResult(line, False, _message(exc)))
            except DatabaseError:
                report.rows.append(
                    RowResult(line, False, _("The row conflicts with existing data."))
                )
            else:
                report.rows.append(RowResult(line, True, _describe(done, report)))
        if progress is not None:
            progress(index + 1, len(rows))
    return report
