from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from contracts.models import SupportPlan

from .models import Article


class ArticleForm(forms.ModelForm[Article]):
    class Meta:
        model = Article
        fields = ["title", "summary", "kind", "language", "visibility", "body", "is_published"]
        widgets = {"body": forms.Textarea(attrs={"rows": 16})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built per request: the plan list depends on the active tenant's scope.
        self.fields["plans"] = forms.ModelMultipleChoiceField(
            queryset=SupportPlan.objects.order_by("position", "name"),
            required=False,
            widget=forms.CheckboxSelectMultiple,
            label=_("Plans"),
            help_text=_("Used when visible to customers on the selected plans."),
            initial=list(self.instance.plans.all()) if self.instance.pk else [],
        )
