"""Every migration goes back and forward again over a seeded database and loses nothing.

Generated over every migration of the project's apps: migrate to just before it (taking
along whatever depends on it), then forward to the latest state, and compare every table row
by row. A migration whose reverse must drop a table holding rows (it created that table and
no data operation carries its rows) cannot round-trip by nature; it is reported as skipped
with the table named, so the list stays visible. ``sla_rebuild`` is tested to rebuild the
derived SLA rows from history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import AddField, CreateModel, RunPython, RunSQL
from django_scopes import scope
from django_test_migrations.migrator import Migrator

from notifications.models import Notice, NoticeMail
from supportdesk.notices import NoticeKind
from tests.conftest import build_cast
from tests.tickets.conftest import build_desk
from tickets.choices import Channel
from tickets.services import ticket_create

APPS = ("supportdesk", "contracts", "sla", "tickets", "mail", "knowledgebase", "notifications")
NOW = dt.datetime(2026, 3, 4, 10, 30, tzinfo=dt.UTC)


def _migrations() -> list[tuple[str, str]]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return sorted(
        key
        for key, migration in loader.disk_migrations.items()
        if key[0] in APPS and not migration.initial
    )


def _before(key: tuple[str, str]) -> tuple[str, str]:
    migration = MigrationLoader(None).disk_migrations[key]
    return next(dep for dep in migration.dependencies if dep[0] == key[0])


def _snapshot() -> dict[str, list[str]]:
    """Every row of every table, columns by name so their order may change."""
    tables: dict[str, list[str]] = {}
    introspection = connection.introspection
    with connection.cursor() as cursor:
        for table in sorted(introspection.table_names(cursor)):
            if table == "django_migrations":
                continue
            columns = sorted(c.name for c in introspection.get_table_description(cursor, table))
            names = ", ".join(connection.ops.quote_name(c) for c in columns)
            cursor.execute(f"SELECT {names} FROM {connection.ops.quote_name(table)}")  # noqa: S608
            tables[table] = sorted(repr(dict(zip(columns, row, strict=True))) for row in cursor)
    return tables


def _seed() -> None:
    cast = build_cast()
    build_desk(cast)
    with scope(tenant=cast.tenant_a):
        for n in range(3):
            ticket_create(
                tenant=cast.tenant_a,
                requester=cast.customer_contact,
                subject=f"Ticket {n}",
                description="Seeded for the migration round trip.",
                channel=Channel.PORTAL,
            )
        # Staff notices moved from sla to notifications (sla 0011, notifications 0004): their
        # rows must come through the move both ways.
        mail = NoticeMail.objects.create(
            tenant=cast.tenant_a, recipient=cast.agent, to_email=cast.agent.email,
            subject="Seeded notice", body="Seeded for the migration round trip.",
        )  # fmt: skip
        Notice.objects.create(
            tenant=cast.tenant_a, key="seeded", kind=NoticeKind.WARNING, recipient=cast.agent,
            text="Seeded", mail=mail,
        )  # fmt: skip


def _dropped_with_rows(key: tuple[str, str], rows: dict[str, list[str]]) -> list[str]:
    """Tables and columns the way back drops while they hold data no data operation carries.

    Undoing a CreateModel drops its table; undoing an AddField drops its column (and the way
    forward cannot refill it).
    """
    executor = MigrationExecutor(connection)
    dropped = []
    for migration, _backwards in executor.migration_plan([_before(key)]):
        if any(isinstance(op, RunPython | RunSQL) for op in migration.operations):
            continue
        state = executor.loader.project_state((migration.app_label, migration.name))
        for op in migration.operations:
            if isinstance(op, CreateModel | AddField):
                name = op.name if isinstance(op, CreateModel) else op.model_name
                model = state.apps.get_model(migration.app_label, name)
                if rows.get(model._meta.db_table):
                    what = model._meta.db_table
                    dropped.append(what if isinstance(op, CreateModel) else f"{what}.{op.name}")
    return dropped


@pytest.fixture
def seeded(transactional_db: None) -> Iterator[dict[str, list[str]]]:
    with time_machine.travel(NOW, tick=False):
        _seed()
        yield _snapshot()


@pytest.mark.parametrize("key", _migrations(), ids=lambda key: f"{key[0]}.{key[1]}")
def test_a_migration_goes_back_and_forward_without_losing_data(
    seeded: dict[str, list[str]], key: tuple[str, str]
) -> None:
    dropped = _dropped_with_rows(key, seeded)
    if dropped:
        pytest.skip(f"going back before {key} drops {dropped}, which hold rows")
    migrator = Migrator()
    try:
        migrator.apply_tested_migration(_before(key))
    finally:
        migrator.reset()
    after = _snapshot()
    changed = {t: (seeded.get(t), after.get(t)) for t in set(seeded) | set(after)}
    assert {t: v for t, v in changed.items() if v[0] != v[1]} == {}


def test_sla_rebuild_restores_the_clocks_and_schedules_from_history(
    seeded: dict[str, list[str]],
) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tickets_ticketschedule SET due_at = NULL, alert_at = NULL")
        cursor.execute("UPDATE sla_clock SET due_at = NULL")
    assert _snapshot() != seeded
    call_command("sla_rebuild", "--tenant", "tenant-a", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert _snapshot()["tickets_ticketschedule"] == seeded["tickets_ticketschedule"]
    assert _snapshot()["sla_clock"] == seeded["sla_clock"]
