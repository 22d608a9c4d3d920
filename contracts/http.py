"""The request behind the customer guards, with the contact typed (see ``supportdesk.http``).

The contact is this app's model, so the classes that type it live here rather than in
``supportdesk``, which must not import upward; like those, they are for type checking only.
"""

from __future__ import annotations

from supportdesk.http import MemberApiRequest, MemberRequest

from .models import Contact


class PortalRequest(MemberRequest):
    """Behind ``contact_required``: a signed-in customer contact (never staff)."""

    membership: None
    contact: Contact


class PortalApiRequest(MemberApiRequest):
    """DRF's request behind the portal API's ``IsTenantContact``: a signed-in contact."""

    _request: PortalRequest
