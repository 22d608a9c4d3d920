"""The post-incident review's form, its actions' form and the tenant admin's review rule."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sla.models import Priority
from supportdesk.models import User

from ..forms import agents
from ..models import PostIncidentReview, ReviewPolicy


class ReviewForm(forms.ModelForm):
    """What the agent writes: impact, timeline, root cause; whether the customer reads it."""

    assignee = forms.ModelChoiceField(
        label=_("Assignee"), queryset=User.objects.none(), required=False
    )

    class Meta:
        model = PostIncidentReview
        fields = ["assignee", "impact", "timeline", "root_cause", "shared_with_customer"]
        widgets = {
            "impact": forms.Textarea(attrs={"rows": 3}),
            "timeline": forms.Textarea(attrs={"rows": 10}),
            "root_cause": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "impact": _("Who was affected, how, and for how long."),
            "timeline": _("Pre-filled from the ticket's events; edit it into what happened."),
            "root_cause": _("Why it happened."),
            "shared_with_customer": _(
                "The customer reads the review on their ticket in the portal."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = agents()  # type: ignore[attr-defined]


class ReviewActionForm(forms.Form):
    description = forms.CharField(label=_("Action"), max_length=300)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False)
    due_on = forms.DateField(
        label=_("Due date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = agents()  # type: ignore[attr-defined]


class ReviewPolicyForm(forms.ModelForm):
    """The tenant admin's rule: which priorities need a review, within how many days."""

    priorities = forms.ModelMultipleChoiceField(
        label=_("Priorities that need a review"),
        queryset=Priority.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A closed ticket of one of these priorities gets a post-incident review."),
    )

    class Meta:
        model = ReviewPolicy
        fields = ["priorities", "due_working_days"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["priorities"].queryset = Priority.objects.all()  # type: ignore[attr-defined]
