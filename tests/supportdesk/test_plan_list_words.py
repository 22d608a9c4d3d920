"""The plan list names channels and categories in the reader's language, not by their keys."""

from __future__ import annotations

import re

import pytest
from django_scopes import scope

from contracts.models import SupportPlan
from tests.conftest import Cast, client_for
from tickets.choices import Category, Channel

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "words"),
    [("sv", ["E-post", "Telefon", "Fel / bugg"]), ("nl", ["Telefoon"]), ("en", ["E-mail"])],
)
def test_the_plan_list_names_channels_and_categories(
    cast: Cast, language: str, words: list[str]
) -> None:
    with scope(tenant=cast.tenant_a):
        SupportPlan.objects.create(
            tenant=cast.tenant_a,
            name="Silver",
            allowed_channels=list(Channel.values),
            included_categories=list(Category.values),
        )
    cast.admin.language = language
    cast.admin.save(update_fields=["language"])
    html = client_for(cast.admin, cast.tenant_a).get("/manage/plans/").content.decode()
    table = re.sub(r"<[^>]+>", " ", html.split("<tbody>", 1)[1].split("</tbody>", 1)[0])
    for word in words:
        assert word in table
    keys = [*Channel.values, *Category.values]
    assert not [k for k in keys if re.search(rf"(?<![\w-]){k}(?![\w-])", table)]
