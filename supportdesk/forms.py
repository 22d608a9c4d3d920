"""The one way a page saves a form through a service, shared by every app's views; the
password reset form of a tenant's site."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms import BaseForm
from django.http import HttpRequest

T = TypeVar("T")


def add_service_errors(form: BaseForm, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form; unknown fields become form-wide errors."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields and field != NON_FIELD_ERRORS else None
            for error in errors:
                form.add_error(target, error)
    else:
        form.add_error(None, exc)


def add_service_messages(request: HttpRequest, exc: ValidationError) -> None:
    """Show a service's ValidationError as error messages, one each: for an action that
    redirects back instead of showing its form again."""
    for text in exc.messages:
        messages.error(request, text)


def form_save(request: HttpRequest, form: BaseForm, save: Callable[[], T]) -> T | None:
    """Run ``save`` (one service call) when a POSTed form is valid; return what it saved.

    None means "show the form again": not a POST, invalid input, or the service refused it
    (its message is then on the form, and the service's transaction saved nothing).
    """
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return save()
    except ValidationError as exc:
        add_service_errors(form, exc)
        return None


class TenantPasswordResetForm(PasswordResetForm):
    """Django's reset form, mailing only people who belong to the tenant whose host was asked.

    Otherwise anyone could have tenant B send a B-branded mail with a B link to a user of
    tenant A, a phishing kit with B's name on it. The page answers the same either way.
    """

    _tenant: Any = None

    def save(self, **kwargs: Any) -> None:  # type: ignore[override]  # PasswordResetView passes keywords
        self._tenant = getattr(kwargs.get("request"), "tenant", None)
        super().save(**kwargs)

    def get_users(self, email: str) -> Iterator[Any]:
        if self._tenant is None:
            return
        for user in super().get_users(email):
            if user.belongs_to(self._tenant):
                yield user


def is_plain_number(raw: str) -> bool:
    """Only the ASCII digits 0-9: ``str.isdigit()`` also accepts "³" or "①", which ``int()``
    then refuses with a ValueError (a 500 where a 404 or 400 belongs)."""
    return raw.isascii() and raw.isdigit()
