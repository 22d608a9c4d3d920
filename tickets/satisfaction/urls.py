"""The page a "How did we do?" link opens, without a login (the link is signed)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "satisfaction"
urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "portal/tickets/<int:ticket_id>/rating/<str:rating_token>/",
        views.rate,
        name="rate",
    ),
]
