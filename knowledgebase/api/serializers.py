from __future__ import annotations

from typing import Any

from rest_framework import serializers

from contracts.models import SupportPlan

from ..models import Article


class TenantPlans(serializers.PrimaryKeyRelatedField):  # type: ignore[type-arg]
    """Plan ids of the active tenant only: another tenant's id is 'does not exist'."""

    def get_queryset(self) -> Any:
        return SupportPlan.objects.all()


class ArticleSerializer(serializers.ModelSerializer[Article]):
    plans = TenantPlans(many=True, required=False)
    body_html = serializers.CharField(read_only=True)

    class Meta:
        model = Article
        fields = [
            "id",
            "title",
            "summary",
            "kind",
            "language",
            "visibility",
            "plans",
            "body",
            "body_html",
            "is_published",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class SuggestionSerializer(serializers.ModelSerializer[Article]):
    class Meta:
        model = Article
        fields = ["id", "title", "summary", "kind"]
