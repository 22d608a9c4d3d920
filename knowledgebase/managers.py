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

# The text-search configurations of the stored vectors: the article's language, else "simple".
_VECTOR_CONFIGS = ("swedish", "dutch", "english", "simple")

# The words as a query in every language an article may be stored in (each article's vectors
# are in its own language). A scalar subquery on purpose: PostgreSQL then plans the GIN index
# whatever the words, where a constant query with common words made it read every article of
# the tenant and parse each stored vector (114 ms at 10,000 articles instead of 3-5 ms).
_QUERY_SQL = "(SELECT " + " || ".join(f"to_tsquery('{c}', %s)" for c in _VECTOR_CONFIGS) + ")"


class _StoredSearch(models.Expression):
    """SQL on the article's generated columns (migration ``0002_article_search_vector``):
    ``search_vector`` (title, summary, body) to match through the GIN index and the small
    ``search_head`` (title, summary) to rank the matches by."""

    def __init__(self, template: str, query: str, output_field: models.Field[Any, Any]) -> None:
        super().__init__(output_field=output_field)
        self.template, self.query = template, query

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        table = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        sql = self.template.format(table=table, query=_QUERY_SQL)
        return sql, [self.query] * len(_VECTOR_CONFIGS)


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
                # EXISTS, not a join: a join needs DISTINCT, which sorts every matching
                # article's whole row (its body too) before a search can rank them.
                for_plan = self.model.plans.through.objects.filter(
                    article_id=models.OuterRef("pk"), supportplan=plan
                )
                visible |= models.Q(models.Exists(for_plan), visibility="plans")
        return self.published().filter(visible)

    def in_language(self, language: str, default: str) -> ArticleQuerySet:
        """One article of each translation group among these: the one in ``language``, else
        in ``default`` (the tenant's language), else the group's source, else its oldest.

        A NOT EXISTS per article, not a window function: the candidates of one group are the
        source (``pk``) and its translations (``translation_of``), both indexed, so a search
        filtered on top of this still reads and ranks only its matches; the query count does
        not change. Visibility is decided on the candidates (``self``) first, so a reader who
        may not read the Swedish version is shown the next one.
        """
        preference = models.Case(
            models.When(language=language, then=0),
            models.When(language=default, then=1),
            models.When(translation_of__isnull=True, then=2),
            default=3,
            output_field=models.IntegerField(),
        )
        ranked = self.order_by().annotate(preference=preference)
        outranks = models.Q(preference__lt=models.OuterRef("preference")) | models.Q(
            preference=models.OuterRef("preference"), pk__lt=models.OuterRef("pk")
        )
        # Two probes, not one: a source article (most of them) can only be outranked by its
        # own translations, one index probe on ``translation_of``; a translation by its
        # source or a sibling. One OR-ed probe per article cost a bitmap scan and a heap
        # fetch each, about half of a broad search's time on PostgreSQL (#18).
        by_translation = ranked.filter(translation_of=models.OuterRef("pk")).filter(outranks)
        in_group = ranked.filter(
            models.Q(pk=models.OuterRef("translation_of_id"))
            | models.Q(translation_of=models.OuterRef("translation_of_id"))
        ).filter(outranks)
        return self.annotate(preference=preference).filter(
            models.Q(models.Q(translation_of__isnull=True) & ~models.Exists(by_translation))
            | models.Q(models.Q(translation_of__isnull=False) & ~models.Exists(in_group))
        )

    def search(self, text: str, language: str = "en") -> ArticleQuerySet:
        """Articles matching any of the words, best first.

        PostgreSQL matches the words in the stored vectors of each article, made in the
        article's own language, and ranks hits in the title and summary first (``language``,
        the reader's, no longer matters there); SQLite falls back to matching words in the
        title and body, title hits first.
        """
        terms = search_terms(text)
        if not terms:
            return self.none()
        if connection.vendor == "postgresql":
            # Whole words, and the last one of four letters or more also as the start of a
            # longer word (it may still be being typed); only the matches are read and ranked.
            last = f"{terms[-1]}:*" if len(terms[-1]) >= 4 else terms[-1]
            raw = " | ".join([*terms[:-1], last])
            return (
                self.filter(
                    _StoredSearch(
                        "{table}.search_vector @@ {query}", raw, output_field=models.BooleanField()
                    )
                )
                .annotate(
                    rank=_StoredSearch(
                        "ts_rank({table}.search_head, {query})",
                        raw,
                        output_field=models.FloatField(),
                    )
                )
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
