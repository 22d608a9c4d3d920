"""The one way a page saves a form through a service, shared by every app's views."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

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
