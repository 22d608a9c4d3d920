"""Fetch articles by role; anything not readable is a 404."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from .models import Article
from .services import articles_for_reader


def get_article_for_reader(request: Any, article_id: int) -> Article:
    article = articles_for_reader(request=request).filter(pk=article_id).first()
    if article is None or (request.membership is None and not article.is_published):
        raise Http404
    return article


def get_article_for_editor(request: Any, article_id: int) -> Article:
    article = Article.objects.filter(pk=article_id).first()
    if article is None:
        raise Http404
    return article
