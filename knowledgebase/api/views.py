from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, viewsets
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response

from supportdesk.access import IsTenantAgent, method_unsupported

from ..models import Article
from ..services import article_delete, article_save, article_suggest, articles_for_reader
from .serializers import ArticleSerializer, SuggestionSerializer


class ArticlePagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 200


class ArticleViewSet(viewsets.ModelViewSet[Article]):
    """Knowledge-base articles; agents and admins write, all staff read."""

    serializer_class = ArticleSerializer
    permission_classes = [IsTenantAgent]
    pagination_class = ArticlePagination
    lookup_url_kwarg = "article_id"

    def get_queryset(self) -> Any:
        return Article.objects.order_by("title", "id").prefetch_related("plans")

    def perform_create(self, serializer: Any) -> None:
        self._save(serializer)

    def perform_update(self, serializer: Any) -> None:
        self._save(serializer)

    def _save(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        plans = data.pop("plans", None)
        article = serializer.instance or Article(tenant=self.request._request.tenant)  # type: ignore[attr-defined]
        for key, value in data.items():
            setattr(article, key, value)
        with transaction.atomic():
            current = list(article.plans.all()) if article.pk and plans is None else plans or []
            serializer.instance = article_save(
                article=article, plans=current, author=self.request.user
            )

    def perform_destroy(self, instance: Article) -> None:
        article_delete(article=instance, actor=self.request.user)


class IsTenantMember(permissions.BasePermission):
    """Staff or a customer contact of the request's tenant (token or session)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        req = request._request
        if method_unsupported(request, view):
            return True
        if req.tenant is None or not request.user.is_authenticated:
            return False  # DRF answers 401 and asks for credentials
        if req.membership is None and req.contact is None:
            raise NotFound  # someone of another tenant: the same answer as "does not exist"
        return True


@extend_schema(
    parameters=[OpenApiParameter("q", str, description="Text being typed, e.g. a ticket subject")],
    responses=SuggestionSerializer(many=True),
)
@api_view(["GET"])
@permission_classes([IsTenantMember])
def article_suggestions(request: Request) -> Response:
    """Articles that may answer a question before it becomes a ticket."""
    req: Any = request._request
    articles = article_suggest(
        articles=articles_for_reader(request=req),
        text=request.query_params.get("q", "")[:300],
        language=req.LANGUAGE_CODE,
    )
    return Response(SuggestionSerializer(articles, many=True).data)
