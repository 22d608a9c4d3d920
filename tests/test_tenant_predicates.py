"""Every tenant-owned table a report, the queue or the knowledge base reads names its tenant.

The tables come from the models that derive ``TenantOwned``, not from a list: a new tenant
table is checked the day it is joined. The statements come from real requests (the SQL that
Django sends, captured), and each FROM or JOIN of a tenant table must carry a
``tenant_id = <the tenant>`` predicate of its own (in the WHERE or in the join's ON), so that
PostgreSQL reaches the rows through an index that leads with the tenant (and a sharded
database routes the query to one shard) instead of reading every tenant's rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from reports.services import sla_report_build
from supportdesk.models import TenantOwned
from tests.conftest import Cast, api_client_for, client_for
from tests.knowledgebase.test_articles import kb  # noqa: F401 - the articles fixture
from tests.reports.test_monthly_report import OCTOBER, october  # noqa: F401 - fixtures
from tests.tickets.conftest import Desk, build_desk
from tickets.models import Ticket

TENANT_TABLES = frozenset(
    model._meta.db_table
    for model in apps.get_models()
    if issubclass(model, TenantOwned) and not model._meta.proxy
)

_STOP = (
    r"(?:ON|WHERE|INNER|LEFT|RIGHT|FULL|CROSS|JOIN|ORDER|GROUP|LIMIT|OFFSET|HAVING|FOR|UNION|AS)\b"
)
_REFERENCE = re.compile(rf'\b(?:FROM|JOIN)\s+"(\w+)"(?:\s+(?!{_STOP})([A-Za-z]\w*))?')


def _named(sql: str, ref: str) -> bool:
    """Whether ``sql`` says ``ref``'s tenant_id equals the tenant (a constant, a parameter,
    or the tenant row a correlated subquery belongs to)."""
    column = re.escape(f'{ref}."tenant_id"')
    return bool(
        re.search(rf'{column}\s*(?:=\s*(?:\d+|%s|\(?"supportdesk_tenant"\."id"\)?)|IN\s*\()', sql)
    )


def _by_key(sql: str, ref: str) -> bool:
    """Whether ``ref`` is joined by its own primary key to a foreign key of another row."""
    key = re.escape(f'{ref}."id"')
    return bool(
        re.search(rf'{key} = [\w"]+\."\w+_id"', sql)
        or re.search(rf'[\w"]+\."\w+_id" = {key}(?!\w)', sql)
    )


def tenants_missing(sql: str) -> list[str]:
    """The tenant tables in ``sql`` (as ``table alias``) read without naming the tenant.

    A table passes when the statement names its tenant_id, or when it is joined by its own
    primary key to a row of the statement (one row through the key index, the queue's shape:
    see its test) and some table of the statement names the tenant.
    """
    references = [
        (table, alias or f'"{table}"')
        for table, alias in _REFERENCE.findall(sql)
        if table in TENANT_TABLES
    ]
    named = [ref for _table, ref in references if _named(sql, ref)]
    return [
        f"{table} {ref}".replace(f'{table} "{table}"', table)
        for table, ref in references
        if ref not in named and not (named and _by_key(sql, ref))
    ]


def _statements(run: Callable[[], object]) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        run()
    return [q["sql"] for q in ctx.captured_queries]


def _assert_named(statements: list[str]) -> None:
    selects = [sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]
    assert selects, "captured nothing: the check would pass vacuously"
    for sql in selects:
        missing = tenants_missing(sql)
        assert not missing, f"{missing} without its tenant in:\n{sql}"


def test_the_check_finds_a_join_without_the_tenant(cast: Cast) -> None:
    """The checker itself: the old report's join of clocks on the ticket alone is caught."""
    with scope(tenant=cast.tenant_a):
        old_shape = Ticket.objects.values("organisation").annotate(n=Count("clocks"))
        sql = str(old_shape.query)
    assert tenants_missing(sql) == ["sla_clock"]
    assert tenants_missing(sql.replace('"tickets_ticket"."tenant_id" = ', "1 = ")) == [
        "tickets_ticket",
        "sla_clock",
    ]
    assert {"tickets_ticket", "sla_clock", "knowledgebase_article"} <= TENANT_TABLES


@pytest.fixture
def desk(cast: Cast) -> Desk:
    return build_desk(cast)


def _report_runs(cast: Cast) -> Iterator[Callable[[], object]]:
    manager = client_for(cast.manager, cast.tenant_a)

    def build(organisation: object = None) -> Callable[[], object]:
        def run() -> object:
            with scope(tenant=cast.tenant_a):
                return sla_report_build(
                    tenant=cast.tenant_a, month=OCTOBER, organisation=organisation
                )  # type: ignore[arg-type]

        return run

    yield build()
    yield build(cast.org_a)
    yield lambda: manager.get("/reports/monthly/", {"month": "2026-10"})
    yield lambda: manager.get(
        "/reports/monthly/", {"month": "2026-10", "organisation": cast.org_a.pk}
    )
    yield lambda: manager.get("/reports/export.csv", {"month": "2026-10"})
    dashboard = {"month": "2026-10", "organisation": cast.org_a.pk, "agent": cast.agent.pk}
    yield lambda: manager.get("/reports/", dashboard)
    yield lambda: manager.get("/reports/tickets/", {**dashboard, "missed": "1"})
    yield lambda: manager.get("/reports/tickets/", {"age": "all"})


def test_the_monthly_report_names_the_tenant_in_every_join(
    cast: Cast,
    october: None,  # noqa: F811
) -> None:
    for run in _report_runs(cast):
        _assert_named(_statements(run))


QUEUE_QUERIES = ["", "status=all", "mine=1", "unassigned=1", "breached=1", "q=Carla", "q=TA-1001"]


@pytest.mark.parametrize("query", QUEUE_QUERIES)
def test_the_queue_names_the_tenant_in_every_join(
    cast: Cast,
    october: None,  # noqa: F811
    query: str,
) -> None:
    """The queue names the tenant once, of the schedule rows whose index it walks, and joins
    each ticket (and its requester) by primary key: naming it of the tickets too makes
    PostgreSQL multiply the two selectivities and sort the whole tenant instead of walking the
    index (see ``tickets.queue.queue_queryset``). A table reached by its own key from a row of
    the statement passes for that reason; everything else must name the tenant."""
    api: Client = api_client_for(cast.agent, cast.tenant_a)
    web = client_for(cast.agent, cast.tenant_a)
    for run in (
        lambda: api.get(f"/api/v1/tickets/?{query}"),
        lambda: web.get(f"/agent/queue/?{query}"),
    ):
        _assert_named(_statements(run))


@pytest.mark.parametrize("who", ["anonymous", "customer", "agent"])
def test_knowledge_base_search_names_the_tenant_in_every_join(
    cast: Cast,
    kb: dict[str, object],  # noqa: F811
    who: str,
) -> None:
    user = {"anonymous": None, "customer": cast.customer, "agent": cast.agent}[who]
    client = client_for(user, cast.tenant_a)
    urls = ["/kb/?q=password", "/kb/suggest/?q=password+triggers", "/kb/"]
    if user is not None:
        urls.append("/api/v1/kb/suggest/?q=password")
    for url in urls:
        _assert_named(_statements(lambda url=url: client.get(url)))
