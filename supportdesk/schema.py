"""OpenAPI schema generation for tenant-scoped views."""

from __future__ import annotations

from typing import Any

from django_scopes import scopes_disabled
from drf_spectacular import openapi, plumbing
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import OpenApiParameter

from .idempotency import HEADER, KEEP_FOR, MAX_KEY_LENGTH

IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        f"Any unique string (1 to {MAX_KEY_LENGTH} characters, e.g. a UUID) that makes a retry "
        f"safe: for {KEEP_FOR.total_seconds() / 3600:.0f} hours a repeat with the same key and "
        "the same body returns the first response (status and body, with the header "
        "`Idempotent-Replayed: true`) without doing anything again; the same key with a "
        "different body is answered 422. Kept per tenant and token (or signed-in user)."
    ),
)


class AutoSchema(openapi.AutoSchema):
    """spectacular's schema, with the ``Idempotency-Key`` header on every POST."""

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self.method == "POST":
            parameters.append(IDEMPOTENCY_KEY)
        return parameters


class TenantSchemaGenerator(SchemaGenerator):
    """Generate the schema outside any tenant: it is the same for every tenant.

    Generation builds (never runs) querysets to learn field types, so it lifts the scope
    guard for its duration; views get a mock request from :func:`build_mock_request`.
    """

    def get_schema(self, request: Any = None, public: bool = False) -> Any:
        with scopes_disabled():
            return super().get_schema(request=request, public=public)


def build_mock_request(
    method: str, path: str, view: Any, original_request: Any, **kwargs: Any
) -> Any:
    """spectacular's mock request, with the attributes the tenant middleware would set."""
    request = plumbing.build_mock_request(method, path, view, original_request, **kwargs)
    for target in (request, request._request):
        for attr in ("tenant", "membership", "contact", "api_token"):
            if not hasattr(target, attr):
                setattr(target, attr, None)
    return request


_DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
_INVALID = {
    "type": "object",
    "description": "Messages per field, or a `detail` message.",
    "additionalProperties": True,
}
COMMON_ERRORS: dict[str, tuple[str, dict[str, Any]]] = {
    "400": ("Invalid input, with a message.", _INVALID),
    "401": ("No or an unknown token.", _DETAIL),
    "404": ("Not found, or not yours (never 403: nothing is revealed).", _DETAIL),
}


IDEMPOTENCY_CONFLICT = ("The Idempotency-Key was used before with another request body.", _DETAIL)


URI_TOO_LONG = {
    # gunicorn answers before Django sees the request, with its own HTML page.
    "description": "The URL is longer than the server accepts (gunicorn's request-line limit).",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


def document_common_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: every operation may answer 400, 401 and 404; say so where the view
    did not, so the schema describes every answer the API gives (schemathesis checks it)."""
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            errors = dict(COMMON_ERRORS)
            if method == "post":  # every POST takes an Idempotency-Key (AutoSchema above)
                errors["422"] = IDEMPOTENCY_CONFLICT
            for code, (description, body) in errors.items():
                operation["responses"].setdefault(
                    code,
                    {"description": description, "content": {"application/json": {"schema": body}}},
                )
            operation["responses"].setdefault("414", URI_TOO_LONG)
    return result
