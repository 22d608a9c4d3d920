"""Every CSV download neutralises spreadsheet formulas (OWASP "CSV injection").

The exports are found, not listed: every page is fetched as an admin and a manager, and each
``text/csv`` answer is parsed; no cell may start with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return (``'`` goes first). Organisation names carry the payloads (the time report
shows them too: each payload ticket has time logged).
"""

from __future__ import annotations

import csv
import io
import re

from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from contracts.models import Contact, Organisation
from supportdesk.exports import FORMULA_STARTS, csv_cell
from tests.conftest import Cast, client_for
from tests.test_leaks import NEUTRAL_KWARGS, all_routes
from tickets.choices import Channel
from tickets.services import ticket_create, time_entry_log

PAYLOADS = [f'{start}HYPERLINK("http://evil.test";"x")' for start in FORMULA_STARTS]


def _seed_payloads(cast: Cast) -> None:
    with scope(tenant=cast.tenant_a):
        for index, name in enumerate(PAYLOADS):
            organisation = Organisation.objects.create(tenant=cast.tenant_a, name=name)
            contact = Contact.objects.create(
                tenant=cast.tenant_a,
                organisation=organisation,
                name=name,
                email=f"c{index}@evil.test",
            )
            ticket = ticket_create(
                tenant=cast.tenant_a,
                requester=contact,
                subject=name,
                description=name,
                channel=Channel.EMAIL,
                enforce_entitlement=False,
            )
            time_entry_log(ticket=ticket, agent=cast.agent, minutes=5, billable=True)


def _exports(cast: Cast) -> dict[str, list[list[str]]]:
    """Every CSV answer of a page without an object in its URL, as an admin and a manager,
    parsed: by "<url> as <role>"."""
    month = timezone.localdate().strftime("%Y-%m")
    routes = [r for r in all_routes() if not set(r.kwargs) - set(NEUTRAL_KWARGS)]
    exports: dict[str, list[list[str]]] = {}
    for role in ("admin", "manager"):
        client = client_for(cast.users_a()[role], cast.tenant_a)
        for route in routes:
            if route.name == "logout":
                continue
            url = reverse(route.name, kwargs={k: NEUTRAL_KWARGS[k] for k in route.kwargs})
            response = client.get(url, {"month": month})
            if not response.get("Content-Type", "").startswith("text/csv"):
                continue
            content = b"".join(response) if response.streaming else response.content
            exports[f"{url} as {role}"] = list(csv.reader(io.StringIO(content.decode())))
    assert any("/reports/export.csv" in where for where in exports), exports.keys()
    assert any("/reports/time/export.csv" in where for where in exports), exports.keys()
    return exports


def test_every_csv_export_escapes_formulas(cast: Cast) -> None:
    _seed_payloads(cast)
    exports = _exports(cast)
    cells = {(where, cell) for where, rows in exports.items() for row in rows for cell in row}
    assert {cell for _where, cell in cells} >= {f"'{p}" for p in PAYLOADS}
    dangerous = sorted((w, c) for w, c in cells if c.startswith(FORMULA_STARTS))
    assert not dangerous


CODE_NAME = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")


def test_every_csv_export_has_its_headers_in_the_readers_language(cast: Cast) -> None:
    english = {where: rows[0] for where, rows in _exports(cast).items()}
    cast.tenant_a.default_language = "sv"
    cast.tenant_a.save()
    swedish = {where: rows[0] for where, rows in _exports(cast).items()}
    assert swedish.keys() == english.keys()
    codes = sorted((w, c) for w, header in english.items() for c in header if CODE_NAME.match(c))
    assert not codes, "a header is a field name, not words"
    untranslated = sorted(w for w in english if swedish[w] == english[w])
    assert not untranslated


def test_numbers_and_plain_text_are_left_alone() -> None:
    assert csv_cell(-3) == -3
    assert csv_cell(1.5) == 1.5
    assert csv_cell("Org A") == "Org A"
    assert csv_cell("") == ""
    assert csv_cell("-1") == "'-1"
