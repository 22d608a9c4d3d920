"""One page: opening a rating link records the answer at once and offers a comment."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from supportdesk.http import TenantRequest

from .access import get_ticket_for_rating_link
from .forms import RatingCommentForm
from .services import RatingLinkInvalid, rating_link_read, satisfaction_rate


@require_http_methods(["GET", "POST"])
def rate(request: TenantRequest, ticket_id: int, rating_token: str) -> HttpResponse:
    """GET records the link's answer; POST adds the comment (and the answer again)."""
    ticket = get_ticket_for_rating_link(request, ticket_id)
    form = RatingCommentForm(request.POST or None)
    comment = form.cleaned_data["comment"] if form.is_bound and form.is_valid() else None
    try:
        contact, rating = rating_link_read(ticket=ticket, token=rating_token)
        row = satisfaction_rate(ticket=ticket, contact=contact, rating=rating, comment=comment)
    except RatingLinkInvalid as exc:
        return render(request, "satisfaction/invalid.html", {"reason": str(exc)}, status=400)
    if form.is_bound and comment is not None:
        messages.success(request, _("Thank you for your comment."))
        return redirect(request.path)
    if not form.is_bound:
        form = RatingCommentForm(initial={"comment": row.comment})
    context = {"ticket": ticket, "rating": row, "form": form}
    return render(request, "satisfaction/rate.html", context, status=400 if form.is_bound else 200)
