"""Tenant admin pages for SLA configuration under /manage/sla/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "sla"
urlpatterns: list[URLPattern | URLResolver] = [
    path("manage/sla/", views.index, name="index"),
    path("manage/sla/calendars/new/", views.calendar_new, name="calendar-new"),
    path("manage/sla/calendars/<int:calendar_id>/", views.calendar_edit, name="calendar"),
    path("manage/sla/policies/new/", views.policy_new, name="policy-new"),
    path("manage/sla/policies/<int:policy_id>/", views.policy_edit, name="policy"),
    path("manage/sla/priorities/new/", views.priority_new, name="priority-new"),
    path("manage/sla/priorities/<int:priority_id>/", views.priority_edit, name="priority"),
    path("manage/sla/rules/new/", views.rule_new, name="rule-new"),
    path("manage/sla/rules/<int:rule_id>/", views.rule_edit, name="rule"),
]
