"""How customers help themselves: articles with per-plan visibility."""

from __future__ import annotations

from collections.abc import Collection

import nh3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from markdown_it import MarkdownIt

from supportdesk.models import Language, TenantOwned, scoped_manager

from .managers import ArticleManager


class Visibility(models.TextChoices):
    PUBLIC = "public", _("Everyone, also without logging in")
    CUSTOMERS = "customers", _("Every logged-in customer")
    PLANS = "plans", _("Customers on the selected plans")
    INTERNAL = "internal", _("Staff only")


class ArticleKind(models.TextChoices):
    FAQ = "faq", _("FAQ")
    GUIDE = "guide", _("Step-by-step guide")
    MANUAL = "manual", _("Manual")
    KNOWN_ISSUE = "known_issue", _("Known issue")


class Article(TenantOwned):
    """A knowledge-base article, written in Markdown. Articles take no comments."""

    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    body = models.TextField(_("body (Markdown)"))
    kind = models.CharField(_("kind"), max_length=16, choices=ArticleKind.choices, default="faq")
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=Language.choices,
        blank=True,
        help_text=_("Empty: shown whatever the reader's language."),
    )
    visibility = models.CharField(
        _("visible to"), max_length=16, choices=Visibility.choices, default=Visibility.CUSTOMERS
    )
    plans = models.ManyToManyField(
        "contracts.SupportPlan",
        blank=True,
        related_name="articles",
        verbose_name=_("plans"),
        help_text=_("Used when visible to customers on the selected plans."),
    )
    translation_of = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="translations",
        verbose_name=_("translation of"),
        help_text=_("The source article; its translations share its visibility and plans."),
    )
    problem = models.ForeignKey(
        "tickets.Problem",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="articles",
        verbose_name=_("known error"),
        help_text=_("The problem this article was published from, if any."),
    )
    is_published = models.BooleanField(_("published"), default=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager(ArticleManager)

    class Meta:
        ordering = ["title"]
        indexes = [models.Index(fields=["tenant", "is_published", "visibility"])]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "title"],
                name="article_unique_title",
                violation_error_message=_("An article with this title already exists."),
            ),
            # One article per language in a translation group: the source (translation_of
            # empty, the group is its own id) and its translations (the group is the source).
            models.UniqueConstraint(
                models.F("tenant"),
                Coalesce("translation_of", "id"),
                models.F("language"),
                name="article_one_per_language",
                violation_error_message=_(
                    "This article already has a translation in that language."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def validate_constraints(self, exclude: Collection[str] | None = None) -> None:
        """Django's check of ``article_one_per_language`` compares the COALESCE over the
        primary key with untyped parameters, which PostgreSQL refuses (bigint = text); the
        same rule is checked here by a query instead, with the constraint's message."""
        super().validate_constraints(exclude={*(exclude or ()), "translation_of"})
        group = self.group_id
        if group is None or (exclude and "language" in exclude):
            return
        siblings = type(self)._default_manager.filter(
            models.Q(pk=group) | models.Q(translation_of=group), language=self.language
        )
        if siblings.exclude(pk=self.pk).exists():
            raise ValidationError(
                {"language": _("This article already has a translation in that language.")},
                code="language_taken",
            )

    @property
    def group_id(self) -> int | None:
        """The id of the source article of this article's translation group."""
        return self.translation_of_id or self.pk

    def translation_group(self) -> list[Article]:
        """Every article of the group, the source first; uses prefetched
        ``translations`` and ``translation_of__translations`` when there are any."""
        source = self.translation_of if self.translation_of_id else self
        if source is None:
            return [self]
        return [source, *sorted(source.translations.all(), key=lambda a: a.language)]

    def other_translations(self) -> list[Article]:
        return [a for a in self.translation_group() if a.pk != self.pk]

    @property
    def body_html(self) -> str:
        """The body rendered from Markdown; raw HTML in the source is not passed through."""
        return render_markdown(self.body)


_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render_markdown(source: str) -> str:
    return nh3.clean(_markdown.render(source))
