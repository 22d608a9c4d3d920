from __future__ import annotations

from django.urls import path

from . import views

app_name = "knowledgebase"
urlpatterns = [
    path("kb/", views.article_list, name="list"),
    path("kb/suggest/", views.article_suggestions, name="suggest"),
    path("kb/<int:article_id>/", views.article_detail, name="detail"),
    path("manage/kb/", views.article_manage_list, name="manage-list"),
    path("manage/kb/new/", views.article_edit, name="manage-new"),
    path("manage/kb/<int:article_id>/", views.article_edit, name="manage-edit"),
    path(
        "manage/kb/<int:article_id>/translate/",
        views.article_translation_new,
        name="manage-translate",
    ),
    path(
        "manage/kb/from-problem/<int:problem_id>/",
        views.article_publish_problem,
        name="from-problem",
    ),
    path("manage/kb/<int:article_id>/delete/", views.article_remove, name="manage-delete"),
]
