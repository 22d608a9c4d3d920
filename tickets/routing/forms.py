"""The routing rule form: it parses input and nothing else; ``routing_rule_save`` checks
that what it names belongs to the tenant."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from contracts.models import Organisation, SupportPlan
from sla.models import Priority
from supportdesk.models import User
from tickets.forms import agents
from tickets.models import NotifyRole, RoutingRule


class RoutingRuleForm(forms.ModelForm):  # type: ignore[type-arg]
    # Declared here: the model's own fields would query the tables at import, outside any
    # tenant's scope; __init__ narrows each to the tenant in scope.
    organisation = forms.ModelChoiceField(
        label=_("Organisation"), queryset=Organisation.objects.none(), required=False
    )
    plan = forms.ModelChoiceField(
        label=_("Plan"), queryset=SupportPlan.objects.none(), required=False
    )
    priority = forms.ModelChoiceField(
        label=_("Priority"), queryset=Priority.objects.none(), required=False
    )
    assignee = forms.ModelChoiceField(
        label=_("Assign to"), queryset=User.objects.none(), required=False
    )
    notify_roles = forms.MultipleChoiceField(
        label=_("Notify"),
        choices=NotifyRole.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("People on the organisation's account to tell about the new ticket."),
    )

    class Meta:
        model = RoutingRule
        fields = [
            "name",
            "is_active",
            "organisation",
            "plan",
            "category",
            "channel",
            "priority",
            "assignee",
            "support_line",
            "notify_roles",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        anything = _("(any)")
        fields: Any = self.fields
        fields["organisation"].queryset = Organisation.objects.all()
        fields["plan"].queryset = SupportPlan.objects.all()
        fields["priority"].queryset = Priority.objects.all()
        for name in ("organisation", "plan", "priority"):
            fields[name].empty_label = anything
        for name in ("category", "channel"):
            fields[name].choices = [("", anything), *list(fields[name].choices)[1:]]
        fields["assignee"].queryset = agents()
        fields["assignee"].empty_label = _("(nobody)")
        fields["support_line"].choices = [
            ("", _("(unchanged)")),
            *list(fields["support_line"].choices)[1:],
        ]


class RoutingRuleMoveForm(forms.Form):
    position = forms.IntegerField(label=_("Position"), min_value=1)
