from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, viewsets
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response

from supportdesk.access import IsTenantAgent, method_unsupported
from supportdesk.http import StaffApiRequest
from supportdesk.models import Language

from ..models import Article
from ..services import (
    article_delete,
    article_save,
    article_suggest,
    article_translate,
    articles_in_reader_language,
)
from .serializers import ArticleSerializer, SuggestionSerializer


class ArticlePagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 200


class ArticleViewSet(viewsets.ModelViewSet[Article]):
    """Knowledge-base articles; agents and admins write, all staff read."""

    request: StaffApiRequest  # behind a staff permission (IsTenantStaff or a subclass)

    serializer_class = ArticleSerializer
    permission_classes = [IsTenantAgent]
    pagination_class = ArticlePagination
    lookup_url_kwarg = "article_id"

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the schema generator: no request
            return Article.objects.none()
        members = Article.objects.only("id", "language", "translation_of_id")
        articles = Article.objects.order_by("title", "id").prefetch_related(
            "plans",
            Prefetch("translations", queryset=members),
            Prefetch("translation_of", queryset=members),
            Prefetch("translation_of__translations", queryset=members),
        )
        if self.action != "list":
            return articles
        language = self.request.query_params.get("language", "")
        if language and language not in Language.values:
            message = _("Choose one of: %(languages)s.") % {"languages": ", ".join(Language.values)}
            raise ValidationError({"language": [message]})
        return articles.in_language(
            language or self.request._request.LANGUAGE_CODE,
            self.request._request.tenant.default_language,
        )

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "language",
                str,
                enum=Language.values,
                description=(
                    "Each translation group once, in this language, else in the tenant's"
                    " default language, else its source article. Default: the reader's"
                    " language."
                ),
            )
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer: Any) -> None:
        if serializer.validated_data.get("translation_of") is not None:
            self._translate(serializer)
        else:
            self._save(serializer)

    def perform_update(self, serializer: Any) -> None:
        # The group is chosen once, on creation.
        serializer.validated_data.pop("translation_of", None)
        self._save(serializer)

    def _save(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        plans = data.pop("plans", None)
        article = serializer.instance or Article(tenant=self.request._request.tenant)
        for key, value in data.items():
            setattr(article, key, value)
        with transaction.atomic():
            current = list(article.plans.all()) if article.pk and plans is None else plans or []
            serializer.instance = article_save(
                article=article, plans=current, author=self.request.user
            )

    def _translate(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = article_translate(
            tenant=self.request._request.tenant,
            source=data["translation_of"],
            language=data.get("language", ""),
            title=data["title"],
            summary=data.get("summary", ""),
            body=data["body"],
            is_published=data.get("is_published", True),
            author=self.request.user,
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
    articles = article_suggest(
        articles=articles_in_reader_language(request=request._request),
        text=request.query_params.get("q", "")[:300],
        language=request._request.LANGUAGE_CODE,
    )
    return Response(SuggestionSerializer(articles, many=True).data)
