"""manage.py backup / restore: a round trip gives back every row and every media file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django_scopes import scope

from contracts.models import Organisation
from supportdesk.models import Tenant
from tests.test_migrations import _snapshot

from ..conftest import Cast


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_every_row_and_media_file(cast: Cast, tmp_path: Path) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the embedded default; PostgreSQL uses pg_dump (docs/operations.md)")
    media = tmp_path / "media"
    (media / "attachments").mkdir(parents=True)
    (media / "attachments" / "report.pdf").write_bytes(b"%PDF-1.7 the original")
    with override_settings(MEDIA_ROOT=media):
        before = _snapshot()
        archive = Path(_run("backup", "--to", str(tmp_path / "backups")))
        assert archive.is_file()

        with scope(tenant=cast.tenant_a):
            Organisation.objects.create(tenant=cast.tenant_a, name="Added after the backup")
        Tenant.objects.filter(pk=cast.tenant_b.pk).update(name="Renamed after the backup")
        (media / "attachments" / "report.pdf").write_bytes(b"overwritten")
        (media / "new.txt").write_text("added after the backup")
        assert _snapshot() != before

        output = _run("restore", str(archive), "--yes")
        assert _snapshot() == before
        assert (media / "attachments" / "report.pdf").read_bytes() == b"%PDF-1.7 the original"
        assert not (media / "new.txt").exists()
        kept = Path(output.rsplit(" ", 1)[-1])
        assert (kept / "new.txt").read_text() == "added after the backup"


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_without_confirmation_or_a_real_backup(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--yes"):
        call_command("restore", str(tmp_path / "x.tar.gz"))
    with pytest.raises(CommandError, match="No such file"):
        call_command("restore", str(tmp_path / "x.tar.gz"), "--yes")
