"""Article queries: who may read what, and search."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.db import connection, models

if TYPE_CHECKING:
    from contracts.models import SupportPlan

_WORD = re.compile(r"\w{3,}", re.UNICODE)
_STOP = {
    # Short function words in our three languages that would match every article.
    "the", "and", "for", "with", "not", "does", "how", "what", "när", "och", "det", "som",
    "att", "för", "med", "inte", "kan", "jag", "har", "het", "een", "van", "niet", "met",
    "voor", "wat", "hoe", "ik", "de", "en", "er",
}  # fmt: skip

_SEARCH_CONFIG = {"sv": "swedish", "nl": "dutch", "en": "english"}


def search_terms(text: str, limit: int = 8) -> list[str]:
    """The words worth searching for in free text (a ticket subject, a query)."""
    seen: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word not in _STOP and word not in seen:
            seen.append(word)
    return seen[:limit]


class ArticleQuerySet(models.QuerySet[Any]):
    def published(self) -> ArticleQuerySet:
        return self.filter(is_published=True)

    def visible_to_public(self) -> ArticleQuerySet:
        return self.published().filter(visibility="public")

    def visible_to_customer(
        self, plan: SupportPlan | None, knowledge_centre: bool
    ) -> ArticleQuerySet:
        """Public articles; with knowledge-centre access also customer and plan articles."""
        visible = models.Q(visibility="public")
        if knowledge_centre:
            visible |= models.Q(visibility="customers")
            if plan is not None:
                visible |= models.Q(visibility="plans", plans=plan)
        return self.published().filter(visible).distinct()

    def search(self, text: str, language: str = "en") -> ArticleQuerySet:
        """Articles matching any of the words, best first.

        PostgreSQL ranks with full-text search in the reader's language; SQLite falls back to
        matching words in the title and body, title hits first.
        """
        terms = search_terms(text)
        if not terms:
            return self.none()
        if connection.vendor == "postgresql":
            from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

            config = _SEARCH_CONFIG.get(language, "simple")
            vector = SearchVector("title", weight="A", config=config) + SearchVector(
                "summary", "body", weight="B", config=config
            )
            query = SearchQuery(" | ".join(terms), search_type="raw", config=config)
            prefix = models.Q()
            for term in terms:
                prefix |= models.Q(title__icontains=term)
            return (
                self.annotate(rank=SearchRank(vector, query))
                .filter(models.Q(rank__gt=0) | prefix)
                .order_by("-rank", "title")
            )
        match = models.Q()
        title_hits: Any = models.Value(0)
        for term in terms:
            match |= models.Q(title__icontains=term) | models.Q(body__icontains=term)
            title_hits = title_hits + models.Case(
                models.When(title__icontains=term, then=2),
                models.When(summary__icontains=term, then=1),
                default=0,
            )
        return self.filter(match).annotate(rank=title_hits).order_by("-rank", "title")


ArticleManager = models.Manager.from_queryset(ArticleQuerySet)
