"""The problem pages' forms: they parse input and nothing else; the services check that what
they name belongs to the tenant."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from contracts.models import Organisation
from supportdesk.models import Tenant, User

from ..forms import agents
from ..models import Problem, ProblemStatus
from .services import MAX_MESSAGE_LENGTH


class ProblemForm(forms.ModelForm):  # type: ignore[type-arg]
    # Declared here: the model's own fields would query the tables at import, outside any
    # tenant's scope; __init__ narrows each to the tenant in scope.
    organisation = forms.ModelChoiceField(
        label=_("Organisation"),
        queryset=Organisation.objects.none(),
        required=False,
        help_text=_("Empty: incidents of any organisation may be linked."),
    )
    assignee = forms.ModelChoiceField(
        label=_("Assignee"), queryset=User.objects.none(), required=False
    )
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[
            (ProblemStatus.OPEN.value, ProblemStatus.OPEN.label),
            (ProblemStatus.KNOWN_ERROR.value, ProblemStatus.KNOWN_ERROR.label),
        ],
        help_text=_("A known error has a known root cause and workaround."),
    )

    class Meta:
        model = Problem
        fields = ["title", "status", "root_cause", "workaround", "organisation", "assignee"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["organisation"].queryset = Organisation.objects.all()
        fields["organisation"].empty_label = _("(any)")
        fields["assignee"].queryset = agents()
        fields["assignee"].empty_label = _("(nobody)")


class ProblemLinkForm(forms.Form):
    ticket = forms.CharField(
        label=_("Incident"),
        max_length=40,
        help_text=_("Its reference or number."),
    )


class ProblemUnlinkForm(forms.Form):
    ticket = forms.IntegerField(min_value=1, max_value=2**53)


class ProblemResolveForm(forms.Form):
    notify = forms.BooleanField(
        label=_("Tell each linked incident's requester"),
        required=False,
        help_text=_("Posted as a public reply on each linked incident that is not closed."),
    )
    message = forms.CharField(
        label=_("Message to the requesters"),
        max_length=MAX_MESSAGE_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Formatted with Markdown. Each requester reads it on their own ticket."),
    )
    solve = forms.BooleanField(label=_("Solve the linked incidents"), required=False)


class ProblemSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    """The tenant's rule for suggesting a problem from recurring incidents."""

    class Meta:
        model = Tenant
        fields = ["problem_suggest_count", "problem_suggest_hours"]
