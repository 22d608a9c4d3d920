"""The Swedish and Dutch catalogues: complete, compiled, and the ones Django uses.

The .po files under ``locale/`` are the source; the .mo files next to them are committed so
that the app needs no gettext at run time. These tests keep the two in step and keep every
message translated.
"""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.template import Context, Template
from django.utils import translation
from django.utils.translation.template import templatize

LOCALE = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ("sv", "nl")

PLACEHOLDER = re.compile(r"%\(\w+\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrs]|%%|\{\w*\}|<[^<>]+>")
"""Python %-format and str.format placeholders, and HTML tags: all must survive translation."""


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def key(self) -> str:
        """The key under which gettext stores the message in a compiled catalogue."""
        return self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"


def _unquote(text: str) -> str:
    value = ast.literal_eval(text)
    assert isinstance(value, str)
    return value


def parse_po(path: Path) -> list[Entry]:
    """The entries of a .po file, header first; obsolete (#~) entries are left out."""
    entries: list[Entry] = []
    current = Entry()
    field_name: str | None = None
    plural_index = 0

    def finish() -> None:
        nonlocal current, field_name
        if current.msgstr:
            entries.append(current)
        current = Entry()
        field_name = None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#"):
            if current.msgstr:
                finish()
            if line.startswith("#,"):
                current.flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            text = _unquote(line)
        else:
            text = _unquote(rest)
            if keyword in ("msgctxt", "msgid") and current.msgstr:
                finish()
            field_name = keyword
            if keyword == "msgid":
                current.line = number
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if match:
                field_name, plural_index = "msgstr", int(match.group(1))
            elif keyword == "msgstr":
                plural_index = 0
            if field_name == "msgstr":
                current.msgstr[plural_index] = ""
        if field_name == "msgid":
            current.msgid += text
        elif field_name == "msgid_plural":
            current.msgid_plural = (current.msgid_plural or "") + text
        elif field_name == "msgctxt":
            current.msgctxt = (current.msgctxt or "") + text
        elif field_name == "msgstr":
            current.msgstr[plural_index] += text
        else:
            raise AssertionError(f"{path}:{number}: cannot parse {raw!r}")
    finish()
    return entries


def po_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / "django.po"


def mo_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / "django.mo"


def messages(language: str) -> list[Entry]:
    entries = parse_po(po_path(language))
    assert entries and entries[0].msgid == "", f"{po_path(language)} has no header entry"
    return entries[1:]


def header(language: str) -> dict[str, str]:
    head = parse_po(po_path(language))[0]
    lines = head.msgstr[0].splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_has_a_translation_and_none_is_fuzzy(language: str) -> None:
    entries = messages(language)
    assert len(entries) > 100, f"the {language} catalogue looks truncated"
    untranslated = [e.msgid for e in entries if not all(e.msgstr.values())]
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    assert not untranslated, f"{language}: untranslated msgids: {untranslated}"
    assert not fuzzy, f"{language}: fuzzy msgids: {fuzzy}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_header_names_the_language_charset_and_plural_rule(language: str) -> None:
    head = parse_po(po_path(language))[0]
    fields = header(language)
    assert "fuzzy" not in head.flags
    assert fields["Language"] == language
    assert fields["Content-Type"] == "text/plain; charset=UTF-8"
    assert fields["Plural-Forms"] == "nplurals=2; plural=(n != 1);"


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_messages_have_both_forms(language: str) -> None:
    wrong = [e.msgid for e in messages(language) if e.msgid_plural and sorted(e.msgstr) != [0, 1]]
    assert not wrong, f"{language}: plural msgids without exactly two forms: {wrong}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_every_placeholder_and_tag(language: str) -> None:
    wrong = []
    for entry in messages(language):
        if entry.msgid_plural is None:
            if placeholders(entry.msgstr[0]) != placeholders(entry.msgid):
                wrong.append(entry.msgid)
            continue
        # The singular form may spell out "one" instead of using the count, like the msgid.
        allowed = set(placeholders(entry.msgid)) | set(placeholders(entry.msgid_plural))
        last = entry.msgstr[max(entry.msgstr)]
        if placeholders(last) != placeholders(entry.msgid_plural) or not all(
            set(placeholders(text)) <= allowed for text in entry.msgstr.values()
        ):
            wrong.append(entry.msgid)
    assert not wrong, f"{language}: placeholders or tags differ from the msgid in: {wrong}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_mo_file_holds_exactly_the_po_translations(language: str) -> None:
    assert mo_path(language).exists(), f"run compilemessages: {mo_path(language)} is missing"
    with mo_path(language).open("rb") as handle:
        catalogue = dict(gettext.GNUTranslations(handle)._catalog)
    catalogue.pop("", None)  # the header
    expected: dict[object, str] = {}
    for entry in messages(language):
        if entry.msgid_plural is None:
            expected[entry.key] = entry.msgstr[0]
        else:
            for index, text in entry.msgstr.items():
                expected[(entry.key, index)] = text
    stale = sorted(str(key) for key in expected if catalogue.get(key) != expected[key])
    extra = sorted(str(key) for key in catalogue.keys() - expected.keys())
    assert not stale and not extra, (
        f"{mo_path(language)} is out of date; run compilemessages. "
        f"Differs or missing: {stale}; not in the .po file: {extra}"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_msgfmt_accepts_the_po_file_and_compiles_the_committed_catalogue(
    language: str, tmp_path: Path
) -> None:
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("gettext's msgfmt is not installed")
    fresh = tmp_path / "django.mo"
    result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [msgfmt, "--check", "-o", str(fresh), str(po_path(language))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"msgfmt --check {po_path(language)}:\n{result.stderr}"
    with fresh.open("rb") as new, mo_path(language).open("rb") as committed:
        fresh_catalogue = gettext.GNUTranslations(new)._catalog
        committed_catalogue = gettext.GNUTranslations(committed)._catalog
    assert fresh_catalogue == committed_catalogue, (
        f"{mo_path(language)} differs from its .po file; run compilemessages"
    )


def test_django_uses_the_project_catalogues(settings: Any) -> None:
    assert LOCALE in [Path(path) for path in settings.LOCALE_PATHS]
    assert {code for code, _ in settings.LANGUAGES} >= {"en", *LANGUAGES}


@pytest.mark.parametrize(
    ("language", "log_in", "status", "role"),
    [
        ("sv", "Logga in", "Väntar på kund", "Handläggare"),
        ("nl", "Inloggen", "Wacht op klant", "Medewerker"),
    ],
)
def test_gettext_returns_the_translation_in_the_active_language(
    language: str, log_in: str, status: str, role: str
) -> None:
    with translation.override(language):
        assert translation.gettext("Log in") == log_in
        assert translation.gettext("Waiting on customer") == status
        assert translation.gettext("Agent") == role
    with translation.override("en"):
        assert translation.gettext("Waiting on customer") == "Waiting on customer"


@pytest.mark.parametrize(
    ("language", "one", "three"),
    [("sv", "1 dag", "3 dagar"), ("nl", "1 dag", "3 dagen")],
)
def test_ngettext_picks_the_plural_form(language: str, one: str, three: str) -> None:
    with translation.override(language):
        assert translation.ngettext("%(n)d day", "%(n)d days", 1) % {"n": 1} == one
        assert translation.ngettext("%(n)d day", "%(n)d days", 3) % {"n": 3} == three


@pytest.mark.parametrize(
    ("language", "expected"),
    [("sv", "Logga ut · Mina ärenden"), ("nl", "Uitloggen · Mijn tickets")],
)
def test_templates_render_in_the_active_language(language: str, expected: str) -> None:
    template = Template('{% load i18n %}{% translate "Log out" %} · {% translate "My tickets" %}')
    with translation.override(language):
        assert template.render(Context()) == expected


XGETTEXT_KEYWORDS = (
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext:1,2",
    "ngettext_lazy:1,2",
    "pgettext:1c,2",
    "pgettext_lazy:1c,2",
    "npgettext:1c,2,3",
    "npgettext_lazy:1c,2,3",
)


def marked_messages(tmp_path: Path) -> set[str]:
    """The catalogue keys of every message marked in our apps' code and in the templates.

    This is what ``makemessages`` would extract (Python through xgettext, templates through
    Django's ``templatize``), written to a scratch file so the committed .po files stay ours.
    """

    root = LOCALE.parent
    ours = [Path(c.path) for c in apps.get_app_configs() if Path(c.path).parent == root]
    sources = [
        path
        for app in ours
        for path in app.rglob("*.py")
        if "migrations" not in path.parts and "tests" not in path.parts
    ]
    for number, template in enumerate(
        path for path in sorted((root / "templates").rglob("*")) if path.is_file()
    ):
        scratch = tmp_path / f"template_{number}.py"
        scratch.write_text(templatize(template.read_text(encoding="utf-8"), origin=str(template)))
        sources.append(scratch)
    pot = tmp_path / "marked.pot"
    xgettext = shutil.which("xgettext")
    assert xgettext is not None
    subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [
            xgettext,
            "--language=Python",
            "--from-code=UTF-8",
            "--no-wrap",
            "-o",
            str(pot),
            *(f"--keyword={keyword}" for keyword in XGETTEXT_KEYWORDS),
            *map(str, sources),
        ],
        check=True,
        capture_output=True,
    )
    return {entry.key for entry in parse_po(pot)[1:]}


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext's xgettext is not installed")
def test_every_message_marked_in_the_code_and_templates_is_in_each_catalogue(
    tmp_path: Path,
) -> None:
    """A string marked for translation but missing from a catalogue is shown in English to a
    Swedish or Dutch reader (a model field's name in a form or the API, a mail line)."""
    marked = marked_messages(tmp_path)
    assert len(marked) > 1000, "xgettext found too few messages: is the source list right?"
    for language in LANGUAGES:
        have = {entry.key for entry in messages(language)}
        missing = sorted(marked - have)
        assert not missing, f"{language}: marked but not in {po_path(language)}: {missing}"
