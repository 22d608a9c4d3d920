"""The reasons of an entitlement decision, as codes with parameters.

A reason is stored and passed around as ``Reason(code, params)`` and becomes a sentence only
when shown, in the language active then: a Dutch agent reads a Swedish customer's ticket in
Dutch, and a refusal mail is written in the recipient's language, not the one of the request
that caused it. Parameters are plain values (names as given, dates in ISO form, channel and
category keys), so they can be stored as JSON with the ticket and rendered years later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from contracts.choices import Category, Channel

MESSAGES: dict[str, Promise] = {
    "no_organisation": _("%(name)s belongs to no customer organisation."),
    "no_contract": _("%(organisation)s has no support contract."),
    "suspended": _("The contract is suspended."),
    "suspended_because": _("The contract is suspended: %(reason)s."),
    "ended_on": _("The contract ended on %(day)s."),
    "expired": _("The contract has expired."),
    "starts_on": _("The contract starts on %(day)s."),
    "contract_required": _("Support requires a valid contract."),
    "fallback_plan": _("The rules for customers without a valid contract apply (%(plan)s)."),
    "channel_excluded": _("The %(plan)s plan does not include support by %(channel)s."),
    "not_named": _(
        "Only named contacts may contact support under this contract; %(name)s is not one."
    ),
    "training_missing": _(
        "The %(plan)s plan requires completed training, and none is recorded for %(name)s."
    ),
    "contract_valid": _("The contract on the %(plan)s plan is valid."),
    "in_scope": _("%(category)s is included in the %(plan)s plan."),
    "out_of_scope": _("%(category)s is outside the scope of the %(plan)s plan and is billed."),
    "type_in_scope": _("%(type)s is included in the %(plan)s plan."),
    "type_out_of_scope": _("%(type)s is not included in the %(plan)s plan and is billed."),
    "quote_free_hours": _("Work under %(hours)s hours is done without a quote."),
    "account_manager_notified": _("The account manager, %(name)s, is notified."),
    "no_account_manager": _("No account manager is set, so nobody is notified."),
}
"""Every reason the entitlement check gives, by code."""


def channel_in_sentence(channel: str) -> str:
    """The channel's name inside a sentence: "by phone", but "by API", not "by api"."""
    if channel not in Channel.values:
        return channel
    label = str(Channel(channel).label)
    return label if label.isupper() else label.lower()


def _category(category: str) -> str:
    return str(Category(category).label) if category in Category.values else category


def _day(value: str) -> str:
    try:
        return date_format(dt.date.fromisoformat(value), "DATE_FORMAT")
    except ValueError:
        return value


_SHOWN = {"day": _day, "channel": channel_in_sentence, "category": _category}
"""Parameters whose stored form is a key or an ISO date, shown in the reader's words."""


@dataclass(frozen=True)
class Reason:
    """One rule that decided the answer; ``str()`` is the sentence in the active language."""

    code: str
    params: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        message = MESSAGES.get(self.code)
        if message is not None:
            try:
                return str(message) % {k: _SHOWN.get(k, str)(v) for k, v in self.params.items()}
            except (KeyError, TypeError, ValueError):
                pass  # parameters of another release's message: say what is known
        return " ".join([self.code, *self.params.values()])

    def __hash__(self) -> int:
        return hash((self.code, tuple(sorted(self.params.items()))))

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "params": dict(self.params)}

    @classmethod
    def from_json(cls, data: Any) -> Reason | None:
        """The reason stored by :meth:`as_json`; None for anything else."""
        if not isinstance(data, dict) or not isinstance(data.get("code"), str):
            return None
        params = data.get("params") or {}
        if not isinstance(params, dict):
            return None
        return cls(code=data["code"], params={str(k): str(v) for k, v in params.items()})


def reasons_text(reasons: Iterable[Reason]) -> str:
    """The reasons as one paragraph in the active language."""
    return " ".join(str(r) for r in reasons)


def reasons_from_json(data: Any) -> list[Reason]:
    """Stored reasons (a list of :meth:`Reason.as_json`), skipping what is not one."""
    if not isinstance(data, list):
        return []
    return [r for r in (Reason.from_json(item) for item in data) if r is not None]
