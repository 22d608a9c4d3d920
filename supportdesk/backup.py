"""Backup and restore of the embedded default: the SQLite database and the media files.

The database is copied with SQLite's online backup API, page by page under SQLite's own
locks, so the copy is consistent while the web server and the worker keep writing; a file
copy of a WAL database is not (committed pages may still sit in the -wal file). PostgreSQL
is backed up with its own tools (pg_dump, or base backups with WAL archiving for
point-in-time recovery): see docs/operations.md.

An archive is a .tar.gz holding ``db.sqlite3`` and ``media/``.
"""

from __future__ import annotations

import shutil
import sqlite3
import tarfile
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone

DATABASE_MEMBER = "db.sqlite3"
MEDIA_MEMBER = "media"


def _sqlite_connection() -> sqlite3.Connection:
    if connection.vendor != "sqlite":
        raise ImproperlyConfigured(
            "backup/restore cover the embedded SQLite database; back up PostgreSQL with "
            "pg_dump or point-in-time recovery (docs/operations.md)."
        )
    connection.ensure_connection()
    raw: sqlite3.Connection = connection.connection
    return raw


def backup_create(*, destination: Path) -> Path:
    """Write a consistent archive of the database and media into the folder ``destination``.

    Safe while the site runs. Returns the archive's path.
    """
    source = _sqlite_connection()
    destination.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%fZ")
    archive = destination / f"supportdesk-{stamp}.tar.gz"
    with tempfile.TemporaryDirectory() as work:
        copy_path = Path(work) / DATABASE_MEMBER
        copy = sqlite3.connect(copy_path)
        try:
            source.backup(copy)
        finally:
            copy.close()
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(copy_path, arcname=DATABASE_MEMBER)
            media = Path(settings.MEDIA_ROOT)
            if media.is_dir():
                tar.add(media, arcname=MEDIA_MEMBER)
    return archive


def backup_restore(*, archive: Path) -> Path | None:
    """Replace the database and the media files with the archive's.

    Precondition: the web server, worker and beat are stopped. The archive's database is
    checked (``PRAGMA integrity_check``) before anything is touched; the current media
    folder is kept beside the restored one, and its path returned (None when there was none).
    """
    target = _sqlite_connection()
    with tempfile.TemporaryDirectory() as work, tarfile.open(archive, "r:gz") as tar:
        tar.extractall(work, filter="data")
        copy_path = Path(work) / DATABASE_MEMBER
        if not copy_path.is_file():
            raise ValueError(f"{archive} holds no {DATABASE_MEMBER}: not a supportdesk backup.")
        copy = sqlite3.connect(copy_path)
        try:
            (verdict,) = copy.execute("PRAGMA integrity_check").fetchone()
            if verdict != "ok":
                raise ValueError(f"The database in {archive} is damaged: {verdict}")
            copy.backup(target)
        finally:
            copy.close()
        media = Path(settings.MEDIA_ROOT)
        kept = None
        if media.exists():
            kept = media.with_name(f"{media.name}.before-restore-{timezone.now():%Y%m%dT%H%M%S}")
            media.rename(kept)
        restored = Path(work) / MEDIA_MEMBER
        if restored.is_dir():
            shutil.copytree(restored, media)
        else:
            media.mkdir(parents=True)
    return kept
