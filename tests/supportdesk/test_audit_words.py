"""The audit trail reads as words in the reader's language, generated over every admin form.

Every ``/manage/`` edit page is opened as tenant A's admin and its form submitted once per
field with that field changed to another valid-looking value (a checkbox toggled, another
option chosen, text and numbers altered), so every audited model gets events for every field
its page edits. The audit trail is then rendered in Swedish, Dutch and English, and no line
may show a raw field name, ``True``/``False``, an ISO timestamp, an ``app_label.model``
string, or a "change" whose old and new values read the same.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.apps import apps
from django.urls import reverse
from django_scopes import scope

from supportdesk.models import AuditEvent
from tests.conftest import Cast, client_for
from tests.test_admin_forms import (
    Field,
    Form,
    _FormParser,
    _payload,
    admin_routes,
    tenant_a_objects,
)
from tests.test_leaks import NEUTRAL_KWARGS

pytestmark = pytest.mark.django_db

AUDITED = {
    "contracts.organisation",
    "contracts.contact",
    "contracts.feature",
    "contracts.supportplan",
    "knowledgebase.article",
    "sla.calendar",
    "sla.slapolicy",
    "sla.priority",
    "sla.escalationrule",
}
ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
BOOLEAN = re.compile(r"\b(True|False|true|false)\b")


class _OptionParser(_FormParser):
    """The admin-form walker's parser, also remembering each select's options."""

    def __init__(self) -> None:
        super().__init__()
        self.options: dict[str, list[str]] = {}
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "select":
            self._current = a.get("name")
        elif tag == "option" and self._current:
            self.options.setdefault(self._current, []).append(a.get("value", ""))
        super().handle_starttag(tag, attrs)


def _changed(field: Field, options: list[str]) -> list[str] | None:
    """Another value for ``field``, or None when there is none to try."""
    current = field.values[0] if field.values else ""
    if field.kind == "checkbox":
        return [] if field.values else ["on"]
    if field.kind == "select":
        others = [o for o in options if o != current]
        return others[-1:] or None
    if field.kind == "multiple":
        others = [o for o in options if o not in field.values]
        return field.values + others[:1] if others else field.values[:-1]
    if field.kind == "number":
        try:
            return [str(int(float(current or 0)) + 1)]
        except ValueError:
            return ["1"]
    if field.kind == "date":
        return ["2031-05-17"] if current != "2031-05-17" else ["2031-05-18"]
    if field.kind == "email":
        return [f"changed.{current}" if current else "changed@orga.example.test"]
    if field.kind in ("text", "textarea", "url", "tel"):
        return [f"{current} 2" if current else "2"]
    return None


def _walk_every_edit_form(cast: Cast) -> int:
    objects = {**NEUTRAL_KWARGS, **tenant_a_objects(cast)}
    client = client_for(cast.admin, cast.tenant_a)
    client.raise_request_exception = False
    saved = 0
    for route in admin_routes():
        url = reverse(route.name, kwargs={k: objects[k] for k in route.kwargs})
        page = client.get(url)
        if page.status_code != 200 or "html" not in page.get("Content-Type", ""):
            continue
        parser = _OptionParser()
        parser.feed(page.content.decode())
        for form in parser.forms:
            if form.action not in ("", url) or any(f.kind == "file" for f in form.fields):
                continue
            saved += _submit_each_field_changed(client, url, form, parser.options)
    return saved


def _submit_each_field_changed(client: Any, url: str, form: Form, options: Any) -> int:
    saved = 0
    for field in form.fields:
        if field.kind == "hidden":
            continue
        value = _changed(field, options.get(field.name, []))
        if value is None:
            continue
        response = client.post(url, _payload(form, {field.name: value}))
        if response.status_code == 302:
            saved += 1
            field.values = value  # the next field's save starts from the stored state
    return saved


class _Lines(HTMLParser):
    """The trail's text, and each change line's label, old and new value."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.lines: list[dict[str, str]] = []
        self._part: str | None = None
        self._in_table = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":  # the trail is the page's one table
            self._in_table = True
        cls = a.get("class") or ""
        if cls.startswith("audit-"):
            self._part = cls.removeprefix("audit-")
            if self._part == "field":
                self.lines.append({})

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._part = None
        if tag == "table":
            self._in_table = False

    def handle_data(self, data: str) -> None:
        if self._in_table:
            self.text.append(data)
        if self._part and self.lines:
            self.lines[-1][self._part] = self.lines[-1].get(self._part, "") + data


def _raw_names() -> set[str]:
    names = set()
    for label in AUDITED:
        for f in apps.get_model(label)._meta.concrete_fields:
            names.update({f.name, f.attname})
    return names


@pytest.mark.parametrize("language", ["sv", "nl", "en"])
def test_every_audited_change_reads_as_words_in_the_readers_language(
    cast: Cast, language: str
) -> None:
    saved = _walk_every_edit_form(cast)
    assert saved > 30, "the walker saved too few changes"
    with scope(tenant=cast.tenant_a):
        kinds = set(AuditEvent.objects.values_list("object_type", flat=True))
        assert AuditEvent.objects.count() <= 200, "the page shows only the latest 200"
    assert kinds >= AUDITED, f"no events for {sorted(AUDITED - kinds)}"

    cast.admin.language = language
    cast.admin.save(update_fields=["language"])
    page = client_for(cast.admin, cast.tenant_a).get("/manage/audit/")
    assert page.status_code == 200
    parsed = _Lines()
    parsed.feed(page.content.decode())
    text = " ".join(parsed.text)

    problems = set()
    raw = _raw_names()
    for line in parsed.lines:
        label, old, new = line.get("field", ""), line.get("old", ""), line.get("new", "")
        if label in raw or "_" in label:
            problems.add(f"raw field name: {label}")
        if old == new:
            problems.add(f"not a change: {label}: {old} → {new}")
    for label in AUDITED:
        if label in text:
            problems.add(f"app_label.model shown: {label}")
    if found := BOOLEAN.findall(text):
        problems.add(f"raw booleans: {sorted(set(found))}")
    if found := ISO_MOMENT.findall(text):
        problems.add(f"ISO timestamps: {found[:3]}")
    assert not problems, "\n".join(sorted(problems))
    assert len(parsed.lines) > 30, "the trail shows too few change lines"
