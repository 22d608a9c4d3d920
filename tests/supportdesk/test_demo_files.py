"""The demo files (demo/<slug>.yaml): each loads through the services, a second load adds
nothing, and a broken copy is refused by ``seed_demo`` with the file and the key named,
keeping nothing of that tenant."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.apps import apps
from django.core.management import CommandError, call_command
from django_scopes import scope, scopes_disabled

from supportdesk.demo import DemoDataError, Section, demo_files, load_demo
from supportdesk.models import Tenant
from tickets.models import Ticket

FILES = demo_files()
DEMO_APPS = ("supportdesk", "sla", "contracts", "tickets", "knowledgebase")


def _counts() -> dict[str, int]:
    """Rows of every model of the apps the demo writes to."""
    with scopes_disabled():
        return {
            model._meta.label: model._base_manager.count()
            for model in apps.get_models()
            if model._meta.app_label in DEMO_APPS
        }


def _seed(directory: Path) -> str:
    out = io.StringIO()
    call_command("seed_demo", demo_dir=directory, stdout=out)
    return out.getvalue()


def _copy(
    path: Path, directory: Path, change: Callable[[dict[str, Any]], None] | None = None
) -> Path:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if change is not None:
        change(data)
    copy = directory / path.name
    copy.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return copy


def test_there_is_a_file_for_each_of_the_five_demo_tenants() -> None:
    assert [path.stem for path in FILES] == ["itsl", "softone", "stratsys", "synerity", "syneton"]


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_every_file_starts_with_a_comment_saying_how_it_is_loaded(path: Path) -> None:
    header = path.read_text(encoding="utf-8").split("\n\n")[0]
    assert header.startswith("# Demo data of the tenant")
    assert "manage.py seed_demo" in header and "through the services" in header


@pytest.mark.django_db
@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_each_file_loads_and_loading_it_again_creates_nothing(path: Path, tmp_path: Path) -> None:
    _copy(path, tmp_path)
    printed = _seed(tmp_path)
    assert f"{path.stem}-customer" in printed and f"{path.stem}-named" in printed
    loaded = _counts()
    tenant = Tenant.objects.get(slug=path.stem)
    spec = load_demo(path).section("tenant")
    assert (tenant.name, tenant.time_zone, tenant.ticket_prefix) == (
        spec.str("name"),
        spec.str("time_zone"),
        spec.str("prefix"),
    )
    with scope(tenant=tenant):
        for label, key in [
            ("sla.Calendar", "calendars"),
            ("sla.Priority", "priorities"),
            ("sla.SLAPolicy", "policies"),
            ("contracts.SupportPlan", "plans"),
            ("contracts.Organisation", "organisations"),
            ("contracts.Contact", "contacts"),
            ("contracts.Contract", "contracts"),
            ("tickets.Macro", "macros"),
            ("tickets.RoutingRule", "routing_rules"),
        ]:
            assert loaded[label] == len(load_demo(path).list(key, [])), label
    articles = load_demo(path).list("articles")
    # Each article and its translations (another article each, in the source's group).
    translations = sum(len(article.get("translations", [])) for article in articles)
    assert loaded["knowledgebase.Article"] == len(articles) + translations
    # A major incident files its own ticket and one per child, each child linked to it.
    majors = load_demo(path).section("tickets").list("major_incidents", [])
    children = sum(len(major.get("children", [])) for major in majors)
    # A post-incident review of the file files its own (closed) ticket.
    reviews = load_demo(path).section("tickets").mapping("post_incident_reviews", {})
    reviewed = len(reviews.get("reviews", []))
    assert (
        loaded["tickets.Ticket"]
        == load_demo(path).section("tickets").int("count") + len(majors) + children + reviewed
    )
    # Each link or merge of the file is one link (a merge's is "duplicate of").
    links = load_demo(path).section("tickets").list("links", [])
    assert loaded["tickets.TicketLink"] == len(links) + children
    with scope(tenant=tenant):
        merged = Ticket.objects.filter(merged_into__isnull=False).count()
    assert merged == sum(1 for link in links if link["kind"] == "merge")
    assert loaded["supportdesk.AuditEvent"] > 0  # written by the services

    _seed(tmp_path)
    assert _counts() == loaded


def _set(*keys: Any, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        for key in keys[:-1]:
            data = data[key]
        data[keys[-1]] = value

    return change


def _delete(*keys: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        for key in keys[:-1]:
            data = data[key]
        del data[keys[-1]]

    return change


# (what is broken, the change, the key path and the start of the message)
BREAKAGES = [
    (
        "unknown-plan",
        _set("contracts", 0, "plan", value="Platina"),
        "contracts[0].plan: unknown plan 'Platina'",
    ),
    ("bad-time-zone", _set("tenant", "time_zone", value="Europe/Stokholm"), "tenant.time_zone: "),
    ("missing-key", _delete("contacts", 1, "email"), "contacts[1].email: missing"),
    (
        "text-for-a-number",
        _set("policies", 0, "targets", 0, "amount", value="eight"),
        "policies[0].targets[0].amount: expected a whole number, got 'eight'",
    ),
    (
        "calendar-the-engine-refuses",
        _set("calendars", 0, "config", "week", value={"mon": ["17:00-08:00"]}),
        "calendars[0].config: ",
    ),
    (
        "ticket-subject-the-service-refuses",
        _set("tickets", "subjects", 0, "subject", value="x" * 301),
        "tickets.subjects[0].subject: ",
    ),
    (
        "link-of-an-unknown-kind",
        _set("tickets", "links", value=[{"ticket": 1, "other": 2, "kind": "friend_of"}]),
        "tickets.links[0].kind: unknown kind 'friend_of'",
    ),
    (
        "merge-of-a-ticket-into-itself",
        _set("tickets", "links", value=[{"ticket": 2, "other": 2, "kind": "merge"}]),
        "tickets.links[0].other: ",
    ),
    (
        "macro-the-sandbox-refuses",
        _set("macros", 0, "body", value="Hej {{ requester.password }}"),
        "macros[0].body: ",
    ),
    (
        "second-translation-into-a-language",
        _set(
            "articles",
            0,
            "translations",
            value=[
                {"language": "en", "title": "Demo translation", "body": "Text"},
                {"language": "en", "title": "Demo translation again", "body": "Text"},
            ],
        ),
        "articles[0].translations[1].language: a second article in 'en'",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "change", "where"), BREAKAGES, ids=[b[0] for b in BREAKAGES])
@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_a_broken_file_is_refused_naming_file_and_key_and_nothing_is_saved(
    path: Path, name: str, change: Callable[[dict[str, Any]], None], where: str, tmp_path: Path
) -> None:
    copy = _copy(path, tmp_path, change)
    before = _counts()
    with pytest.raises(CommandError) as refused:
        _seed(tmp_path)
    assert str(refused.value).startswith(f"{copy}: {where}")
    assert _counts() == before
    assert not Tenant.objects.filter(slug=path.stem).exists()


@pytest.mark.django_db
def test_a_tenant_without_a_demo_file_gets_no_demo_data() -> None:
    tenant = Tenant.objects.create(slug="elsewhere", name="Elsewhere")
    before = _counts()
    with scope(tenant=tenant):
        for app in ("sla", "contracts", "tickets", "knowledgebase"):
            module = __import__(f"{app}.demo", fromlist=["load"])
            assert module.load(tenant) == []
    assert _counts() == before


def test_an_unreadable_file_names_itself(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("tenant: [unclosed\n", encoding="utf-8")
    with pytest.raises(DemoDataError, match=f"^{broken}: not valid YAML"):
        load_demo(broken)
    listed = tmp_path / "listed.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(DemoDataError, match=f"^{listed}: expected a mapping"):
        load_demo(listed)


SECTION = Section(
    file="demo/x.yaml",
    path="plans[1]",
    data={"name": "Guld", "position": 3, "flag": True, "tags": ["a", 2], "price": "1.50"},
)


@pytest.mark.parametrize(
    ("read", "message"),
    [
        (lambda s: s.str("missing"), "demo/x.yaml: plans[1].missing: missing"),
        (
            lambda s: s.int("name"),
            "demo/x.yaml: plans[1].name: expected a whole number, got 'Guld'",
        ),
        (lambda s: s.int("flag"), "demo/x.yaml: plans[1].flag: expected a whole number, got True"),
        (
            lambda s: s.bool("position"),
            "demo/x.yaml: plans[1].position: expected true or false, got 3",
        ),
        (lambda s: s.str_list("tags"), "demo/x.yaml: plans[1].tags[1]: expected text, got 2"),
        (lambda s: s.decimal("name"), "demo/x.yaml: plans[1].name: expected a number, got 'Guld'"),
        (lambda s: s.section("name"), "demo/x.yaml: plans[1].name: expected a mapping, got 'Guld'"),
    ],
)
def test_a_section_refuses_what_it_cannot_return_naming_file_and_key(
    read: Callable[[Section], Any], message: str
) -> None:
    with pytest.raises(DemoDataError) as refused:
        read(SECTION)
    assert str(refused.value) == message


def test_a_section_returns_typed_values_and_defaults() -> None:
    assert SECTION.str("name") == "Guld" and SECTION.int("position") == 3
    assert SECTION.bool("flag") is True and str(SECTION.decimal("price")) == "1.50"
    assert SECTION.int("limit", None) is None and SECTION.str_list("none", []) == []
