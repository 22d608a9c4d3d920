"""Demo articles from the tenant's ``demo/<slug>.yaml``, in the tenant's language, saved
through :func:`knowledgebase.services.article_save` (validated, audited), with their
``translations`` (language, title, summary, body) made by
:func:`knowledgebase.services.article_translate`. Idempotent: an article is looked up by its
title, a translation by its source and language."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from contracts.models import SupportPlan
from supportdesk.demo import Section, tenant_demo
from supportdesk.models import Language, Tenant

from .models import Article, ArticleKind, Visibility
from .services import article_save, article_translate


def _choice(item: Section, key: str, choices: list[str]) -> str:
    value = str(item.str(key))
    if value not in choices:
        raise item.error(key, f"unknown value {value!r}; choose one of {', '.join(choices)}")
    return value


def load(tenant: Tenant, data: Section | None = None) -> list[tuple[str, str]]:
    """Create the tenant's demo articles (inside its scope); no logins are created."""
    data = data if data is not None else tenant_demo(tenant.slug)
    if data is None:
        return []
    plans = {plan.name: plan for plan in SupportPlan.objects.all()}
    for item in data.sections("articles"):
        title = item.str("title")
        article = Article.objects.filter(title=title).first() or Article(tenant=tenant, title=title)
        article.summary = item.str("summary", "")
        article.body = item.str("body")
        article.kind = _choice(item, "kind", ArticleKind.values)
        article.visibility = _choice(item, "visibility", Visibility.values)
        article.language = tenant.default_language
        readers = []
        for i, name in enumerate(item.str_list("plans", [])):
            if name not in plans:
                raise item.error(f"plans[{i}]", f"unknown plan {name!r}")
            readers.append(plans[name])
        try:
            article_save(article=article, plans=readers)
        except ValidationError as exc:
            raise item.refused(exc) from exc
        languages: set[str] = set()
        for i, translated in enumerate(item.sections("translations")):
            language = _choice(translated, "language", Language.values)
            if language in languages or language == article.language:
                raise item.error(f"translations[{i}].language", f"a second article in {language!r}")
            languages.add(language)
            _translation(tenant, article, translated)
    return []


def _translation(tenant: Tenant, source: Article, item: Section) -> None:
    language = _choice(item, "language", Language.values)
    existing = source.translations.filter(language=language).first()
    if existing is None:
        item.saved(
            article_translate,
            tenant=tenant,
            source=source,
            language=language,
            title=item.str("title"),
            summary=item.str("summary", ""),
            body=item.str("body"),
        )
        return
    existing.title = item.str("title")
    existing.summary = item.str("summary", "")
    existing.body = item.str("body")
    item.saved(article_save, article=existing)
