"""Writes to the knowledge base, and what a reader may see."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.models import Contact, SupportPlan
from contracts.services import plan_for_contact
from supportdesk.models import AuditAction, Language, Tenant, User
from supportdesk.services import audit_record, audit_snapshot
from tickets.models import Problem, ProblemStatus

from .managers import ArticleQuerySet
from .models import Article, ArticleKind, Visibility

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


def articles_in_reader_language(*, request: Any, language: str = "") -> ArticleQuerySet:
    """What :func:`articles_for_reader` may read, each translation group once: in
    ``language`` (default: the reader's active language), else in the tenant's default
    language, else the group's source article."""
    return articles_for_reader(request=request).in_language(
        language or request.LANGUAGE_CODE, request.tenant.default_language
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
    switch back does not silently reveal the article to old plans. A translation takes its
    source's visibility and plans whatever it was given; saving a source passes its own on to
    its translations, so a group is read by the same people in every language.
    """
    article.updated_at = timezone.now()
    if article.author_id is None and author is not None:
        article.author = author
    if article.translation_of_id is not None:
        # A group is read by the same people in every language: the source decides.
        source = Article.objects.get(pk=article.translation_of_id)
        article.visibility = source.visibility
        plans = list(source.plans.all())
        if not article.language:
            raise ValidationError(
                {"language": _("A translation needs its language.")}, code="no_language"
            )
    elif article.pk and not article.language and article.translations.exists():
        raise ValidationError(
            {"language": _("An article with translations needs its language.")},
            code="no_language",
        )
    article.full_clean(exclude=["plans"])
    before = audit_snapshot(article)
    plans_before = sorted(article.plans.values_list("pk", flat=True)) if article.pk else []
    article.save()
    article.plans.set(list(plans) if article.visibility == Visibility.PLANS else [])
    plans_after = sorted(article.plans.values_list("pk", flat=True))
    extra = {"plans": [plans_before, plans_after]} if plans_after != plans_before else {}
    # updated_at moves on every save; it is not a change worth a line of its own.
    audit_record(instance=article, actor=author, before=before, extra=extra, ignore=("updated_at",))
    if article.translation_of_id is None:
        for translation in article.translations.all():
            _follow_source(translation=translation, source=article, plans=plans_after, actor=author)
    return article


def _follow_source(*, translation: Article, source: Article, plans: list[int], actor: Any) -> None:
    """Give ``translation`` its source's visibility and plans (audited when they change)."""
    before = audit_snapshot(translation)
    plans_before = sorted(translation.plans.values_list("pk", flat=True))
    if translation.visibility != source.visibility:
        translation.visibility = source.visibility
        translation.save(update_fields=["visibility"])
    if plans_before != plans:
        translation.plans.set(plans)
    extra = {"plans": [plans_before, plans]} if plans_before != plans else {}
    audit_record(instance=translation, actor=actor, before=before, extra=extra)


@transaction.atomic
def article_translate(
    *,
    tenant: Tenant,
    source: Article,
    language: str,
    title: str,
    body: str,
    summary: str = "",
    is_published: bool = True,
    author: Any = None,
) -> Article:
    """Create the translation of ``source`` into ``language``.

    Preconditions, each refused with a ValidationError and nothing saved: ``source`` belongs
    to ``tenant`` (the active one), has a language of its own, and its group has no article
    in ``language`` yet. A translation of a translation joins the same group, whose source
    stays the original. The source's row is locked, so two translations into the same
    language at once cannot both pass the check; the database's one-per-language constraint
    stands behind it.
    """
    if source.tenant_id != tenant.pk:
        raise ValidationError(
            _("That article belongs to another organisation."), code="other_tenant"
        )
    group_id = source.group_id
    group = Article.objects.select_for_update().filter(pk=group_id).first() if group_id else None
    if group is None:
        raise ValidationError(_("That article no longer exists."), code="gone")
    if not group.language:
        raise ValidationError(
            {"language": _("Give the article a language before translating it.")},
            code="no_language",
        )
    if language not in Language.values:
        raise ValidationError({"language": _("Choose a language.")}, code="no_language")
    if group.language == language or group.translations.filter(language=language).exists():
        raise ValidationError(
            {"language": _("This article already has a translation in that language.")},
            code="language_taken",
        )
    translation = Article(
        tenant=tenant,
        translation_of=group,
        language=language,
        title=title,
        summary=summary,
        body=body,
        kind=group.kind,
        is_published=is_published,
    )
    return article_save(article=translation, author=author)


@transaction.atomic
def article_delete(*, article: Article, actor: Any = None) -> None:
    """Delete ``article``; deleting a source deletes its translations with it."""
    for translation in article.translations.all():
        audit_record(instance=translation, actor=actor, before=None, action=AuditAction.DELETED)
    audit_record(instance=article, actor=actor, before=None, action=AuditAction.DELETED)
    article.delete()


def article_from_problem(*, problem: Problem, author: User) -> Article:
    """Publish the known error ``problem`` as a known-issue article for customers: its title,
    and its workaround as the body (the root cause stays with staff). Returns the article.

    Preconditions: ``author`` is an agent of the problem's tenant, the tenant scope is active.
    Refused (``ValidationError``, nothing saved): a problem that is not a known error, one
    without a workaround, one published already (the article keeps ``problem``, so the problem
    page links to it for good), and a title an article has already. Saved through
    :func:`article_save`, with its audit event.
    """
    if problem.status != ProblemStatus.KNOWN_ERROR:
        raise ValidationError({"problem": _("Only a known error can be published as an article.")})
    if not problem.workaround.strip():
        raise ValidationError({"problem": _("Write the workaround before publishing it.")})
    published = Article.objects.filter(tenant_id=problem.tenant_id, problem=problem).first()
    if published is not None:
        raise ValidationError(
            {
                "problem": _("%(ref)s is published already, as the article %(title)s.")
                % {"ref": problem.reference, "title": published.title}
            }
        )
    article = Article(
        tenant_id=problem.tenant_id,
        title=problem.title,
        summary=_("Known error %(ref)s and its workaround") % {"ref": problem.reference},
        body=problem.workaround,
        kind=ArticleKind.KNOWN_ISSUE,
        visibility=Visibility.CUSTOMERS,
        is_published=True,
        problem=problem,
    )
    return article_save(article=article, author=author)
