"""Fetching problems for staff: another tenant's problem and one that does not exist are the
same 404."""

from __future__ import annotations

from django.http import Http404

from supportdesk.http import TenantRequest

from ..models import Problem


def get_problem_for_staff(request: TenantRequest, problem_id: int) -> Problem:
    """A problem of the request's tenant (the caller checked the role)."""
    if request.membership is None:
        raise Http404
    problem = (
        Problem.objects.select_related("organisation", "assignee")
        .filter(tenant=request.tenant, pk=problem_id)
        .first()
    )
    if problem is None:
        raise Http404
    return problem
