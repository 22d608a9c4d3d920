"""API plumbing shared by every app: errors as JSON with a clear message, input limits."""

from __future__ import annotations

import io
import re
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus model validation errors as 400 instead of 500."""
    if isinstance(exc, DjangoValidationError):
        detail: Any = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, IntegrityError):
        return Response(
            {"detail": "This conflicts with existing data."}, status=status.HTTP_409_CONFLICT
        )
    return drf_exception_handler(exc, context)


MAX_JSON_DEPTH = 32
"""Deeper request bodies are refused: no API payload nests more than a few levels, and
Python's recursive JSON decoder would otherwise fail with RecursionError (a 500)."""

_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in ``raw``, strings skipped; one linear scan."""
    depth = deepest = 0
    for token in _JSON_TOKEN.finditer(raw):
        char = token.group()[:1]
        if char in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif char in (b"]", b"}"):
            depth -= 1
    return deepest


class DepthLimitedJSONParser(JSONParser):
    """DRF's JSON parser, refusing bodies nested deeper than :data:`MAX_JSON_DEPTH` with 400."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        if json_depth(raw) > MAX_JSON_DEPTH:
            raise ParseError(
                _("JSON parse error: nested deeper than %(depth)d levels.")
                % {"depth": MAX_JSON_DEPTH}
            )
        return super().parse(io.BytesIO(raw), media_type, parser_context)


MAX_ID = 2**63 - 1
"""The largest id any of our databases stores (a signed 64-bit integer)."""


class IdFilter(django_filters.NumberFilter):
    """A filter on an id: a whole number in the database's range, else 400 naming the field.

    django-filter's NumberFilter takes any decimal, and one beyond 64 bits makes the database
    driver raise (``OverflowError``), a 500.
    """

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", -MAX_ID)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)
