"""The time report's month picker: ``YYYY-MM`` as ``<input type="month">`` sends it."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _


class MonthForm(forms.Form):
    month = forms.CharField(label=_("Month"), required=False)

    def __init__(self, *args: object, today: dt.date, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.today = today

    def clean_month(self) -> dt.date:
        """The first day of the chosen month; the current one (in the tenant) when empty."""
        value = self.cleaned_data["month"].strip()
        if not value:
            return self.today.replace(day=1)
        try:
            month = dt.datetime.strptime(value, "%Y-%m").date()  # noqa: DTZ007 - a date, no time
        except ValueError:
            raise forms.ValidationError(
                _("Choose a month such as %(example)s."),
                params={"example": self.today.strftime("%Y-%m")},
            ) from None
        if not 2000 <= month.year <= 9998:  # the page links to the months either side
            raise forms.ValidationError(_("Choose a month between 2000 and 9998."))
        return month
