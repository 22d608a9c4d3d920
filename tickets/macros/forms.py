"""The macro form: it parses input and nothing else; ``macro_save`` checks the text."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sla.models import Priority
from supportdesk.models import User
from tickets.choices import Status
from tickets.forms import agents
from tickets.models import Macro

from .services import MACRO_STATUSES


class MacroForm(forms.ModelForm):  # type: ignore[type-arg]
    # Declared here: the model's own fields would query priorities and users at import,
    # outside any tenant's scope.
    set_priority = forms.ModelChoiceField(
        label=_("Set priority"), queryset=Priority.objects.none(), required=False
    )
    set_assignee = forms.ModelChoiceField(
        label=_("Assign to"), queryset=User.objects.none(), required=False
    )

    class Meta:
        model = Macro
        fields = [
            "name",
            "body",
            "set_status",
            "set_priority",
            "set_assignee",
            "assign_to_me",
            "set_support_line",
            "note",
        ]
        widgets = {
            "body": forms.Textarea(attrs={"rows": 8}),
            "note": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "body": _("Filled into the reply box; the agent can still edit it before sending."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["set_status"].choices = [  # type: ignore[attr-defined]
            ("", _("(unchanged)")),
            *[(value, label) for value, label in Status.choices if value in MACRO_STATUSES],
        ]
        self.fields["set_priority"].queryset = Priority.objects.all()  # type: ignore[attr-defined]
        self.fields["set_priority"].empty_label = _("(unchanged)")  # type: ignore[attr-defined]
        self.fields["set_assignee"].queryset = agents()  # type: ignore[attr-defined]
        self.fields["set_assignee"].empty_label = _("(unchanged)")  # type: ignore[attr-defined]
        self.fields["set_support_line"].choices = [  # type: ignore[attr-defined]
            ("", _("(unchanged)")),
            *list(self.fields["set_support_line"].choices)[1:],  # type: ignore[attr-defined]
        ]
