from __future__ import annotations

from django_scopes import scope

from knowledgebase.models import Article, Visibility
from tests.conftest import B_MARKER, Cast


def make_b_objects(cast: Cast) -> dict[str, object]:
    with scope(tenant=cast.tenant_b):
        article = Article.objects.create(
            tenant=cast.tenant_b,
            title=f"B article {B_MARKER}",
            body=B_MARKER,
            language="en",
            visibility=Visibility.PUBLIC,
        )
        # A translation group in tenant B: its other languages must not show either.
        Article.objects.create(
            tenant=cast.tenant_b,
            title=f"B översättning {B_MARKER}",
            body=B_MARKER,
            language="sv",
            translation_of=article,
            visibility=Visibility.PUBLIC,
        )
    return {"article_id": article.pk}


def make_a_objects(cast: Cast) -> dict[str, object]:
    """Tenant A's public article, for the role table (``tests/test_roles.py``)."""
    with scope(tenant=cast.tenant_a):
        article = Article.objects.create(
            tenant=cast.tenant_a, title="A article", body="Body", visibility=Visibility.PUBLIC
        )
    return {"article_id": article.pk}
