"""Confirmations before destructive actions beyond the four of issue 16 item 14 (those are
driven in Chromium in ``tests/browser/test_keyboard.py``): deleting a macro, a routing rule
or a knowledge-base article asks first, naming what goes, in the reader's language. The
question is the form's ``data-confirm`` (``static/js/keyboard.js`` asks it: no inline
script under the Content-Security-Policy)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django_scopes import scope

from knowledgebase.models import Article, Visibility
from tests.conftest import Cast, client_for
from tickets.models import Macro, RoutingRule

pytestmark = pytest.mark.django_db


def _delete_form(html: str, action: str) -> str:
    """The opening tag of the form that posts to ``action``."""
    (tag,) = re.findall(rf'<form[^>]*action="{re.escape(action)}"[^>]*>', html)
    return tag


def _question(cast: Cast, name: str) -> tuple[str, str]:
    """The delete form's question on the edit page, in English and in Swedish."""
    with scope(tenant=cast.tenant_a):
        if name == "macro":
            macro = Macro.objects.create(
                tenant=cast.tenant_a, owner=cast.agent, name="My thanks", body="Tack!"
            )
            user, page = cast.agent, reverse("macros:edit", args=[macro.pk])
            action = reverse("macros:delete", args=[macro.pk])
        elif name == "routing rule":
            rule = RoutingRule.objects.create(
                tenant=cast.tenant_a, name="Org A first", position=1, organisation=cast.org_a
            )
            user, page = cast.admin, reverse("routing:edit", args=[rule.pk])
            action = reverse("routing:delete", args=[rule.pk])
        else:
            article = Article.objects.create(
                tenant=cast.tenant_a, title="Exports", body="Body", visibility=Visibility.PUBLIC
            )
            user, page = cast.admin, reverse("knowledgebase:manage-edit", args=[article.pk])
            action = reverse("knowledgebase:manage-delete", args=[article.pk])
    forms = []
    for language in ("en", "sv"):
        user.language = language
        user.save(update_fields=["language"])
        html = client_for(user, cast.tenant_a).get(page).content.decode()
        forms.append(_delete_form(html, action))
    return forms[0], forms[1]


@pytest.mark.parametrize(
    ("name", "english", "swedish"),
    [
        ("macro", "Delete the macro My thanks?", "Radera makrot My thanks?"),
        ("routing rule", "Delete the routing rule Org A first?", "Radera dirigeringsregeln"),
        ("article", "Delete the article Exports?", "Radera artikeln Exports?"),
    ],
)
def test_deleting_asks_first_naming_what_goes(
    cast: Cast, name: str, english: str, swedish: str
) -> None:
    en_form, sv_form = _question(cast, name)
    assert f'data-confirm="{english}' in en_form
    assert f'data-confirm="{swedish}' in sv_form
