"""Help texts are shown as HTML by Django's form templates: a text with ``<word>`` in it loses
those words on the page (the DKIM selector's "TXT record <selector>._domainkey.<domain>"
showed as "TXT record ._domainkey.."). Checked over every model field of every app."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.utils import translation

FIELDS = [
    (f"{model._meta.label}.{field.name}", field)
    for model in apps.get_models()
    for field in model._meta.get_fields()
    if getattr(field, "help_text", "")
]


@pytest.mark.parametrize("language", ["en", "sv", "nl"])
def test_no_help_text_holds_markup_that_a_page_would_swallow(language: str) -> None:
    with translation.override(language):
        swallowed = [name for name, field in FIELDS if "<" in str(field.help_text)]
    assert not swallowed
