"""``{% recompute_progress obj %}``: the progress of the latest recompute of ``obj``'s clocks
(a calendar, a policy, or a contract or plan whose open tickets move to another policy).

A template tag, so a lower app's page (a contract in ``contracts``) shows the progress
without importing this app."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone
from django.utils.formats import number_format

from sla.models import RecomputeJob, RecomputeState

register = template.Library()


def recompute_context(obj: Any) -> dict[str, Any]:
    """The latest recompute of ``obj``'s clocks, if running, failed or just finished."""
    job = RecomputeJob.objects.filter(
        object_type=obj._meta.label_lower, object_id=str(obj.pk)
    ).first()
    recent = timezone.now() - dt.timedelta(minutes=10)
    if job is None or (
        not job.is_active and job.state != RecomputeState.FAILED and job.created_at < recent
    ):
        return {}
    return {
        "recompute": job,
        "recompute_done": number_format(job.done, force_grouping=True),
        "recompute_total": number_format(job.total, force_grouping=True),
    }


@register.inclusion_tag("sla/_recompute.html", takes_context=True)
def recompute_progress(context: template.Context, obj: Any) -> dict[str, Any]:
    return {"request": context.get("request"), **recompute_context(obj)}
