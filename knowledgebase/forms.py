from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from contracts.models import SupportPlan
from supportdesk.models import Language

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
        if self.instance.translation_of_id is not None:
            # The source article decides who reads its translations (article_save).
            self.fields["visibility"].disabled = True
            self.fields["plans"].disabled = True


class TranslationForm(forms.Form):
    """A translation of ``source``, its fields prefilled with the source's text."""

    # Every language is a choice: one already in the group reaches the service, which
    # refuses it with its message (also when it was taken meanwhile).
    language = forms.ChoiceField(
        label=_("Language"), choices=[("", "---------"), *Language.choices]
    )
    title = forms.CharField(label=_("title"), max_length=200)
    summary = forms.CharField(label=_("summary"), max_length=300, required=False)
    body = forms.CharField(label=_("body (Markdown)"), widget=forms.Textarea(attrs={"rows": 16}))
    is_published = forms.BooleanField(label=_("published"), required=False, initial=True)

    def __init__(self, *args: Any, source: Article, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.update(title=source.title, summary=source.summary, body=source.body)
