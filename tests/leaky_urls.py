"""A deliberately leaky URLconf: proves the leak test fails when a view ignores the tenant."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django_scopes import scopes_disabled

from contracts.models import Organisation
from supportdesk.urls import urlpatterns as real_urlpatterns


def leaky_organisation(request: HttpRequest, leaky_organisation_id: int) -> HttpResponse:
    with scopes_disabled():  # the bug under test: no tenant filter
        organisation = Organisation.objects.get(pk=leaky_organisation_id)
        if request.method == "POST":
            organisation.notes += " touched"
            organisation.save()
    return HttpResponse(organisation.name)


urlpatterns = [
    *real_urlpatterns,
    path("leaky/<int:leaky_organisation_id>/", leaky_organisation, name="leaky-organisation"),
]
