from __future__ import annotations

from typing import Any

from rest_framework import serializers

from contracts.models import SupportPlan

from ..models import Article


class TenantPlans(serializers.PrimaryKeyRelatedField):  # type: ignore[type-arg]
    """Plan ids of the active tenant only: another tenant's id is 'does not exist'."""

    def get_queryset(self) -> Any:
        return SupportPlan.objects.all()


class TenantArticles(serializers.PrimaryKeyRelatedField):  # type: ignore[type-arg]
    """Article ids of the active tenant only."""

    def get_queryset(self) -> Any:
        return Article.objects.all()


class TranslationSerializer(serializers.ModelSerializer[Article]):
    class Meta:
        model = Article
        fields = ["id", "language"]


class ArticleSerializer(serializers.ModelSerializer[Article]):
    plans = TenantPlans(many=True, required=False)
    body_html = serializers.CharField(read_only=True)
    translation_of = TenantArticles(
        required=False,
        allow_null=True,
        help_text=(
            "The source article of this translation; empty for a source. Set on creation to"
            " create a translation (its visibility and plans are the source's); not changed"
            " afterwards."
        ),
    )
    translations = TranslationSerializer(
        source="other_translations",
        many=True,
        read_only=True,
        help_text="The other articles of its translation group (the source among them).",
    )

    class Meta:
        model = Article
        fields = [
            "id",
            "title",
            "summary",
            "kind",
            "language",
            "translation_of",
            "translations",
            "visibility",
            "plans",
            "body",
            "body_html",
            "is_published",
            "problem",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["problem", "created_at", "updated_at"]


class SuggestionSerializer(serializers.ModelSerializer[Article]):
    class Meta:
        model = Article
        fields = ["id", "title", "summary", "kind", "language"]
