"""Fetching routing rules: another tenant's rule and one that does not exist are the same 404."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from supportdesk.access import tenant_for_admin
from tickets.models import RoutingRule


def get_routing_rule_for_admin(request: HttpRequest, routing_rule_id: int) -> RoutingRule:
    """A routing rule of the admin's tenant."""
    rule = RoutingRule.objects.filter(tenant=tenant_for_admin(request), pk=routing_rule_id).first()
    if rule is None:
        raise Http404
    return rule
