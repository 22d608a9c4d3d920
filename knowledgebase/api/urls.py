from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import ArticleViewSet, article_suggestions

router = SimpleRouter()
router.register("kb/articles", ArticleViewSet, basename="api-article")

urlpatterns = [
    path("kb/suggest/", article_suggestions, name="api-article-suggest"),
    *router.urls,
]
