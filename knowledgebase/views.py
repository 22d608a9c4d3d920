"""Knowledge-base pages: read and search for everyone, write for agents."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from supportdesk.access import agent_required, staff_user
from supportdesk.forms import add_service_messages, form_save
from supportdesk.http import StaffRequest
from tickets.problems.access import get_problem_for_staff

from .access import get_article_for_editor, get_article_for_reader
from .forms import ArticleForm, TranslationForm
from .models import Article
from .services import (
    article_delete,
    article_from_problem,
    article_save,
    article_suggest,
    article_translate,
    articles_for_reader,
    articles_in_reader_language,
)


def _tenant_or_404(request: HttpRequest) -> Any:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        raise Http404
    return tenant


@require_GET
def article_list(request: HttpRequest) -> HttpResponse:
    _tenant_or_404(request)
    query = request.GET.get("q", "").strip()[:200]
    articles = articles_in_reader_language(request=request)
    if query:
        articles = articles.search(query, language=request.LANGUAGE_CODE)
    else:
        articles = articles.order_by("kind", "title")
    return render(
        request, "knowledgebase/article_list.html", {"articles": articles[:100], "query": query}
    )


@require_GET
def article_detail(request: HttpRequest, article_id: int) -> HttpResponse:
    _tenant_or_404(request)
    article = get_article_for_reader(request, article_id)
    # The other languages of its group that this reader may read, for the language links.
    translations = (
        articles_for_reader(request=request)
        .filter(Q(pk=article.group_id) | Q(translation_of=article.group_id))
        .exclude(pk=article.pk)
        .order_by("language")
        .only("pk", "title", "language", "is_published")
    )
    if request.membership is None:  # type: ignore[attr-defined]
        translations = translations.filter(is_published=True)
    return render(
        request,
        "knowledgebase/article_detail.html",
        {"article": article, "translations": translations},
    )


@require_GET
def article_suggestions(request: HttpRequest) -> HttpResponse:
    """An HTML fragment of articles that may answer what is being typed (htmx or fetch)."""
    _tenant_or_404(request)
    # ``subject`` when the portal's subject field asks as the customer types.
    text = (request.GET.get("q") or request.GET.get("subject", ""))[:300]
    articles = article_suggest(
        articles=articles_in_reader_language(request=request),
        text=text,
        language=request.LANGUAGE_CODE,
    )
    return render(request, "knowledgebase/_suggestions.html", {"articles": articles})


@agent_required
@require_GET
def article_manage_list(request: StaffRequest) -> HttpResponse:
    articles = Article.objects.order_by("title").prefetch_related("plans")
    return render(request, "knowledgebase/manage_list.html", {"articles": articles})


@agent_required
@require_http_methods(["GET", "POST"])
def article_edit(request: StaffRequest, article_id: int | None = None) -> HttpResponse:
    article = (
        get_article_for_editor(request, article_id)
        if article_id is not None
        else Article(tenant=request.tenant)
    )
    form = ArticleForm(request.POST or None, instance=article)
    saved = form_save(
        request,
        form,
        lambda: article_save(
            article=form.save(commit=False), plans=form.cleaned_data["plans"], author=request.user
        ),
    )
    if saved is not None:
        messages.success(request, _("Article saved."))
        return redirect("knowledgebase:manage-list")
    return render(request, "knowledgebase/manage_edit.html", {"form": form, "article": article})


@agent_required
@require_http_methods(["POST"])
def article_remove(request: StaffRequest, article_id: int) -> HttpResponse:
    article_delete(article=get_article_for_editor(request, article_id), actor=request.user)
    messages.success(request, _("Article deleted."))
    return redirect("knowledgebase:manage-list")


@agent_required
@require_http_methods(["GET", "POST"])
def article_translation_new(request: StaffRequest, article_id: int) -> HttpResponse:
    """ "Translate into...": a new article in another language, in the source's group."""
    source = get_article_for_editor(request, article_id)
    form = TranslationForm(request.POST or None, source=source)
    saved = form_save(
        request,
        form,
        lambda: article_translate(
            tenant=request.tenant,
            source=source,
            author=request.user,
            **form.cleaned_data,
        ),
    )
    if saved is not None:
        messages.success(request, _("Translation saved."))
        return redirect("knowledgebase:manage-edit", article_id=saved.pk)
    return render(request, "knowledgebase/manage_translate.html", {"form": form, "source": source})


@require_POST
@agent_required
def article_publish_problem(request: StaffRequest, problem_id: int) -> HttpResponse:
    """Publish a known error as a known-issue article (the problem page's button)."""
    problem = get_problem_for_staff(request, problem_id)
    try:
        article = article_from_problem(problem=problem, author=staff_user(request))
    except ValidationError as exc:
        add_service_messages(request, exc)
        return redirect("problems:detail", problem_id=problem.pk)
    messages.success(request, _("Article published; check its wording and visibility."))
    return redirect("knowledgebase:manage-edit", article_id=article.pk)
