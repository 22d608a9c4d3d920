"""Rendering a macro's text: Django's template engine with nothing in reach but plain strings.

The engine has no loaders and none of Django's built-in tags or filters: only ``{% if %}``
(with ``elif``/``else``) and five text filters are registered, so a macro cannot include a
file, load a library, reverse a URL or dump its context (``{% debug %}``). Its context is a
dict of dicts of strings built here from the ticket, never a model, so ``{{ ticket.requester
.user.password }}`` has nothing to walk. :func:`macro_text_check` refuses, with a message in
the reader's language, any variable not in :data:`VARIABLES`, any other tag or filter and
any syntax error, so a saved macro always renders.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.template import Context, Engine, Library, TemplateSyntaxError
from django.template.base import (
    FilterExpression,
    Lexer,
    TokenType,
    Variable,
    VariableNode,
)
from django.template.defaultfilters import capfirst, default, lower, title, upper
from django.template.defaulttags import IfNode, TemplateLiteral, do_if
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

    from supportdesk.models import User
    from tickets.models import Ticket

register = Library()
register.tag("if", do_if)
for _filter in (capfirst, default, lower, title, upper):
    register.filter(_filter.__name__, _filter)

ALLOWED_TAGS = ("if", "elif", "else", "endif")
ALLOWED_FILTERS = ("capfirst", "default", "lower", "title", "upper")

VARIABLES: dict[str, dict[str, _StrPromise]] = {
    "requester": {
        "first_name": gettext_lazy("the requester's first name"),
        "name": gettext_lazy("the requester's full name"),
        "email": gettext_lazy("the requester's e-mail address"),
    },
    "organisation": {"name": gettext_lazy("the requester's organisation")},
    "ticket": {
        "reference": gettext_lazy("the ticket's reference, e.g. SD-1042"),
        "subject": gettext_lazy("the ticket's subject"),
        "status": gettext_lazy("the ticket's status"),
        "priority": gettext_lazy("the ticket's priority"),
        "due": gettext_lazy("when the ticket is next due (empty when nothing is due)"),
        "resolution_due": gettext_lazy("when the resolution is due (empty when not running)"),
    },
    "agent": {
        "first_name": gettext_lazy("your first name (the agent who uses the macro)"),
        "name": gettext_lazy("your full name"),
    },
    "tenant": {
        "name": gettext_lazy("your organisation's name"),
        "support_email": gettext_lazy("your support e-mail address"),
        "support_phone": gettext_lazy("your support phone number"),
    },
}
"""What a macro may use, ``{{ group.name }}``, with what each one says (for the form's help)."""


class _SandboxEngine(Engine):
    default_builtins: list[str] = []  # noqa: RUF012 - Engine's own attribute, replaced


ENGINE = _SandboxEngine(
    loaders=[], builtins=["tickets.macros.sandbox"], autoescape=False, string_if_invalid=""
)
"""Output is plain text for the reply box (set as a textarea's value, sanitised with nh3
when sent), so nothing is HTML-escaped here."""


def variable_names() -> list[tuple[str, str]]:
    """``("requester.first_name", "the requester's first name")``, for the form's help."""
    return [
        (f"{group}.{name}", str(words))
        for group, names in VARIABLES.items()
        for name, words in names.items()
    ]


def _expressions(nodes: Any) -> Iterator[FilterExpression]:
    for node in nodes:
        if isinstance(node, VariableNode):
            yield node.filter_expression
        elif isinstance(node, IfNode):
            for condition, nodelist in node.conditions_nodelists:
                if condition is not None:
                    yield from _condition_expressions(condition)
                yield from _expressions(nodelist)


def _condition_expressions(condition: Any) -> Iterator[FilterExpression]:
    if isinstance(condition, TemplateLiteral):
        yield condition.value  # type: ignore[misc]  # a FilterExpression, typed loosely in the stubs
        return
    for part in (getattr(condition, "first", None), getattr(condition, "second", None)):
        if part is not None:
            yield from _condition_expressions(part)


def _variables(expression: FilterExpression) -> Iterator[Variable]:
    if isinstance(expression.var, Variable) and expression.var.lookups is not None:
        yield expression.var
    for _func, args in expression.filters:
        for is_variable, arg in args:
            if is_variable and arg.lookups is not None:
                yield arg


def _syntax_message(exc: TemplateSyntaxError) -> str:
    token = getattr(exc, "token", None)
    text = str(exc)
    if text.startswith("Invalid filter:"):
        name = text.partition(":")[2].strip().strip("'")
        message = _("Unknown filter |%(name)s: use one of %(filters)s.") % {
            "name": name,
            "filters": ", ".join(ALLOWED_FILTERS),
        }
    elif text.startswith("Unclosed tag"):
        message = _("An %(if)s is not closed with %(endif)s.") % {
            "if": "{% if %}",
            "endif": "{% endif %}",
        }
    else:
        message = _("The text cannot be read: check its %(variable)s and %(tag)s marks.") % {
            "variable": "{{ }}",
            "tag": "{% %}",
        }
    if token is not None and getattr(token, "lineno", None):
        return _("Line %(line)d: %(message)s") % {"line": token.lineno, "message": message}
    return message


def macro_text_check(text: str, *, field: str) -> None:
    """Raise ``ValidationError`` on ``field`` naming what is wrong with the template text:
    an unknown tag, filter or variable, or bad syntax. Text that passes always renders."""
    for token in Lexer(text).tokenize():
        if token.token_type == TokenType.BLOCK:
            command = token.contents.split()[0] if token.contents.split() else ""
            if command not in ALLOWED_TAGS:
                raise ValidationError(
                    {
                        field: _(
                            "Line %(line)d: %(tag)s is not available in a macro; only "
                            "if, elif, else and endif are."
                        )
                        % {"line": token.lineno, "tag": f"{{% {command} %}}"}
                    }
                )
    try:
        template = ENGINE.from_string(text)
    except TemplateSyntaxError as exc:
        raise ValidationError({field: _syntax_message(exc)}) from exc
    known = {f"{group}.{name}" for group, names in VARIABLES.items() for name in names}
    for expression in _expressions(template.nodelist):
        for variable in _variables(expression):
            path = ".".join(variable.lookups or ())
            if path not in known:
                raise ValidationError(
                    {
                        field: _("Unknown variable %(name)s. Available: %(known)s.")
                        % {"name": f"{{{{ {path} }}}}", "known": ", ".join(sorted(known))}
                    }
                )


def _moment(moment: Any, zone: ZoneInfo) -> str:
    if moment is None:
        return ""
    return str(date_format(timezone.localtime(moment, zone), "l j F Y H:i"))


def macro_context(*, ticket: Ticket, agent: User) -> dict[str, dict[str, str]]:
    """The values a macro sees for ``ticket`` written by ``agent``: strings only, labels and
    dates in the requester's language (the reply is for them) and the tenant's time zone."""
    requester = ticket.requester
    tenant = ticket.tenant
    zone = ZoneInfo(tenant.time_zone)
    language = requester.language or tenant.default_language
    with translation.override(language):
        return {
            "requester": {
                "first_name": requester.name.split()[0] if requester.name.split() else "",
                "name": requester.name,
                "email": requester.email,
            },
            "organisation": {"name": ticket.organisation.name if ticket.organisation else ""},
            "ticket": {
                "reference": ticket.reference or "",
                "subject": ticket.subject,
                "status": str(ticket.get_status_display()),
                "priority": str(ticket.priority) if ticket.priority else "",
                "due": _moment(ticket.next_due_at, zone),
                "resolution_due": _moment(ticket.resolution_due(), zone),
            },
            "agent": {
                "first_name": agent.first_name or str(agent),
                "name": str(agent),
            },
            "tenant": {
                "name": tenant.name,
                "support_email": tenant.support_email,
                "support_phone": tenant.support_phone,
            },
        }


def macro_render(text: str, context: dict[str, dict[str, str]]) -> str:
    """``text`` rendered with ``context`` (from :func:`macro_context`); a text that no longer
    passes :func:`macro_text_check` raises ``ValidationError`` rather than a 500."""
    if not text.strip():
        return ""
    try:
        template = ENGINE.from_string(text)
    except TemplateSyntaxError as exc:
        raise ValidationError({"macro": _syntax_message(exc)}) from exc
    return template.render(Context(context, autoescape=False)).strip()
