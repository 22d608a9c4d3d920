"""Every form of the tenant admin pages, generated from the URL resolver.

Each ``/manage/`` page is opened as tenant A's admin (its URL kwargs filled with tenant A
objects made by the same ``tests/<app>/leak_targets.py`` modules the leak test uses), every
``<form method="post">`` on it is read from the HTML and submitted:

* unchanged: never a 500; an edit page's unchanged save writes no audit row;
* with each field cleared in turn, and with each field set to garbage in turn: never a
  500, and when the page answers with an error (not a redirect), no row of the tenant
  changed: a form saves all of its change or none of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from django.apps import apps
from django.core import serializers
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from knowledgebase.models import Article
from sla.models import Metric, SLAPolicy, SLATarget, TargetUnit
from supportdesk.models import AuditEvent
from tests.conftest import Cast, client_for
from tests.test_leaks import NEUTRAL_KWARGS, Route, all_routes, b_targets

pytestmark = pytest.mark.django_db

GARBAGE = {
    "number": "-99999999999999999999",
    "date": "2026-02-30",
    "email": "not an address",
    "select": "999999999",
    "text": "zz\x00<script>'\"",
}


@dataclasses.dataclass
class Field:
    name: str
    kind: str  # text, number, date, email, checkbox, select, multiple, file, hidden
    values: list[str]  # submitted values (checkbox: [value] when checked)


@dataclasses.dataclass
class Form:
    action: str
    fields: list[Field] = dataclasses.field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Field | None = None
        self._textarea: Field | None = None
        self._first_option = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = Form(action=a.get("action", "")) if a.get("method") == "post" else None
            if self._form is not None:
                self.forms.append(self._form)
            return
        if tag == "option" and self._select is not None:
            if not self._select.values and not self._first_option:
                self._first_option = a.get("value", "")
            if "selected" in a:
                self._select.values.append(a.get("value", ""))
            return
        form = self._form
        if form is None or "name" not in a:
            return
        name = a["name"]
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "reset") or name == "csrfmiddlewaretoken":
                return
            if kind in ("checkbox", "radio"):
                existing = next((f for f in form.fields if f.name == name), None)
                field = existing or Field(name, "checkbox", [])
                if existing is None:
                    form.fields.append(field)
                if "checked" in a:
                    field.values.append(a.get("value", "on"))
                return
            form.fields.append(Field(name, kind, [a.get("value", "")]))
        elif tag == "textarea":
            self._textarea = Field(name, "text", [""])
            form.fields.append(self._textarea)
        elif tag == "select":
            self._select = Field(name, "multiple" if "multiple" in a else "select", [])
            self._first_option = ""
            form.fields.append(self._select)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.values[0] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            if self._select is not None and self._select.kind == "select":
                # A browser submits the first option when none is selected.
                self._select.values = self._select.values[-1:] or [self._first_option]
            self._select = None
        elif tag == "textarea":
            if self._textarea is not None and self._textarea.values[0].startswith("\n"):
                # Browsers drop the newline right after <textarea>.
                self._textarea.values[0] = self._textarea.values[0][1:]
            self._textarea = None


def forms_of(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def _payload(form: Form, override: dict[str, list[str]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for field in form.fields:
        values = override.get(field.name, field.values)
        if field.kind == "file":
            if values and values[0]:
                data[field.name] = SimpleUploadedFile("garbage.csv", values[0].encode())
            continue
        if values:
            data[field.name] = values if len(values) > 1 else values[0]
    return data


def variants(form: Form) -> Iterator[tuple[str, dict[str, list[str]]]]:
    """(label, overrides): unchanged, then each field cleared, then each field garbage."""
    yield "unchanged", {}
    for field in form.fields:
        if field.kind == "hidden":
            continue
        yield f"{field.name} cleared", {field.name: []}
        garbage = GARBAGE.get(field.kind, GARBAGE["text"])
        if field.kind in ("checkbox", "multiple"):
            garbage = GARBAGE["select"]
        yield f"{field.name} garbage", {field.name: [garbage]}


def tenant_snapshot(cast: Cast) -> str:
    """A digest of every row of tenant A in every tenant-owned table."""
    digest = hashlib.sha256()
    with scopes_disabled():
        for model in sorted(apps.get_models(), key=lambda m: m._meta.label):
            if "tenant" not in {f.name for f in model._meta.get_fields()}:
                continue
            rows = model._base_manager.filter(tenant=cast.tenant_a).order_by("pk")
            digest.update(model._meta.label.encode())
            digest.update(serializers.serialize("json", rows).encode())
    return digest.hexdigest()


def tenant_a_objects(cast: Cast) -> dict[str, object]:
    """Tenant A objects for every URL kwarg: the leak test's makers, aimed at tenant A."""
    mirror = dataclasses.replace(
        cast,
        tenant_b=cast.tenant_a,
        org_b=cast.org_a,
        contact_b=cast.customer_contact,
        agent_b=cast.agent,
        contact_b_user=cast.customer,
    )
    objects = b_targets(mirror)
    with scope(tenant=cast.tenant_a):
        # Written through the pages an article has an author; the first save of one without
        # would (rightly) record who became its author.
        Article.objects.filter(pk=objects["article_id"]).update(author=cast.admin)
        policy = SLAPolicy.objects.get(pk=objects["policy_id"])
        for metric, amount in ((Metric.FIRST_RESPONSE, 4), (Metric.RESOLUTION, 2)):
            unit = TargetUnit.HOURS if metric == Metric.FIRST_RESPONSE else TargetUnit.WORKING_DAYS
            SLATarget.objects.create(
                tenant=cast.tenant_a, policy=policy, metric=metric, amount=amount, unit=unit
            )
    return objects


def admin_routes() -> list[Route]:
    routes = []
    for route in all_routes():
        kwargs = {k: 1 for k in route.kwargs}
        if reverse(route.name, kwargs=kwargs).startswith("/manage/"):
            routes.append(route)
    return routes


def test_every_admin_form_saves_all_or_nothing_and_never_fails(cast: Cast) -> None:
    objects = {**NEUTRAL_KWARGS, **tenant_a_objects(cast)}
    client = client_for(cast.admin, cast.tenant_a)
    client.raise_request_exception = False
    problems: list[str] = []
    submitted = 0
    for route in admin_routes():
        url = reverse(route.name, kwargs={k: objects[k] for k in route.kwargs})
        page = client.get(url)
        if page.status_code != 200 or "html" not in page.get("Content-Type", ""):
            continue
        for form in forms_of(page.content.decode()):
            action = form.action or url
            if not action.startswith("/manage/"):
                continue  # the language switch in the page header
            editing = action == url and not route.name.endswith(("new", "create"))
            for label, override in variants(form):
                where = f"POST {action} ({route.name}, {label})"
                before = tenant_snapshot(cast)
                audit_before = _audit_count(cast)
                with transaction.atomic():
                    response = client.post(action, _payload(form, override))
                    status = response.status_code
                    submitted += 1
                    if status >= 500:
                        problems.append(f"{where}: {status}")
                    elif status != 302 and tenant_snapshot(cast) != before:
                        problems.append(f"{where}: refused ({status}) but rows changed")
                    elif (
                        label == "unchanged"
                        and editing
                        and status == 302
                        and _audit_count(cast) != audit_before
                    ):
                        problems.append(f"{where}: an unchanged save wrote an audit row")
                    transaction.set_rollback(True)
    assert submitted > 100, "the walker found too few forms"
    assert not problems, "\n".join(problems)


def _audit_count(cast: Cast) -> int:
    with scope(tenant=cast.tenant_a):
        return AuditEvent.objects.count()


def test_the_form_walker_finds_the_sla_policy_grid(cast: Cast) -> None:
    """Guard against a walker that silently finds nothing."""
    objects = tenant_a_objects(cast)
    client = client_for(cast.admin, cast.tenant_a)
    page = client.get(reverse("sla:policy", kwargs={"policy_id": objects["policy_id"]}))
    (form,) = [f for f in forms_of(page.content.decode()) if not f.action]
    names = {f.name for f in form.fields}
    assert {"name", "description", "calendar", "first_response-all-amount"} <= names
    amount = next(f for f in form.fields if f.name == "first_response-all-amount")
    assert amount.values == ["4"]
