"""Writes to the knowledge base, and what a reader may see."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from contracts.models import Contact, SupportPlan
from contracts.services import plan_for_contact
from supportdesk.models import AuditAction
from supportdesk.services import audit_record, audit_snapshot

from .managers import ArticleQuerySet
from .models import Article, Visibility

KNOWLEDGE_CENTRE = "knowledge_centre"


def articles_for_reader(*, request: Any) -> ArticleQuerySet:
    """The articles the person behind ``request`` may read.

    Staff read everything; a customer reads public articles and, when their plan includes
    the knowledge centre, articles for customers and for their plan; anyone else reads
    public articles only.
    """
    articles: ArticleQuerySet = Article.objects.all()
    if request.membership is not None:
        return articles
    contact: Contact | None = request.contact
    if contact is None:
        return articles.visible_to_public()
    return articles_for_contact(contact=contact)


def articles_for_contact(*, contact: Contact) -> ArticleQuerySet:
    """What one customer contact may read (see :func:`articles_for_reader`)."""
    articles: ArticleQuerySet = Article.objects.all()
    # One contract lookup: the plan answers both "which plan" and "knowledge centre?".
    plan = plan_for_contact(contact=contact)
    return articles.visible_to_customer(
        plan, knowledge_centre=plan is not None and plan.has_feature(KNOWLEDGE_CENTRE)
    )


def article_suggest(
    *, articles: ArticleQuerySet, text: str, language: str, limit: int = 5
) -> list[Article]:
    """Articles that may answer ``text`` (e.g. a ticket subject being typed), best first."""
    return list(articles.search(text, language=language)[:limit])


@transaction.atomic
def article_save(
    *, article: Article, plans: Iterable[SupportPlan] = (), author: Any = None
) -> Article:
    """Validate and save an article with the plans that may read it.

    Plans matter only for :attr:`Visibility.PLANS`; other visibilities clear them so a later
    switch back does not silently reveal the article to old plans.
    """
    article.updated_at = timezone.now()
    if article.author_id is None and author is not None:
        article.author = author
    article.full_clean(exclude=["plans"])
    before = audit_snapshot(article)
    plans_before = sorted(article.plans.values_list("pk", flat=True)) if article.pk else []
    article.save()
    article.plans.set(list(plans) if article.visibility == Visibility.PLANS else [])
    plans_after = sorted(article.plans.values_list("pk", flat=True))
    extra = {"plans": [plans_before, plans_after]} if plans_after != plans_before else {}
    # updated_at moves on every save; it is not a change worth a line of its own.
    audit_record(instance=article, actor=author, before=before, extra=extra, ignore=("updated_at",))
    return article


@transaction.atomic
def article_delete(*, article: Article, actor: Any = None) -> None:
    audit_record(instance=article, actor=actor, before=None, action=AuditAction.DELETED)
    article.delete()
