"""Who may use which URL inside one tenant: the table ``tests/test_roles.py`` checks.

The leak test (``tests/test_leaks.py``) aims tenant A's people at tenant B's objects. This
table is its counterpart inside tenant A: for every URL name, the answer each role of the
fixed cast (``tests/conftest.py``) gets for a GET and for a POST, aimed at tenant A's own
objects (``make_a_objects`` in ``tests/<app>/leak_targets.py``). A URL name the resolver
knows and this table does not fails the test, and so does a stale row.

The answers:

- ``OK``: the view let the role in (2xx, a redirect that is not to the login page, or a 400
  for the empty form or JSON body the test sends);
- ``LOGIN``: a redirect to the login page (an anonymous visitor of a page that needs one);
- ``UNAUTHORIZED``: 401, the API's answer to a request without credentials;
- ``NOT_FOUND``: 404. Inside a tenant, as across tenants, a signed-in person who may not use
  a page gets "not found", never 403: the answer does not tell a customer which staff pages
  exist (``supportdesk/access.py``). 403 is kept for the portal API's entitlement refusal
  of someone who may use the URL, so no row of this table answers 403;
- ``NOT_ALLOWED``: 405, the method is not one the view takes. In the API the method check
  runs first, so everyone gets 405; where a page's role check runs first, roles that may
  not use the URL get 404 for every method.

Rows are written with :func:`allow` (these roles get ``answer``, anonymous gets ``LOGIN`` or
``UNAUTHORIZED``, everyone else 404) and :func:`every` (one answer for all six roles).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Answer = Literal["ok", "login", 401, 403, 404, 405]

OK: Answer = "ok"
LOGIN: Answer = "login"
UNAUTHORIZED: Answer = 401
FORBIDDEN: Answer = 403
NOT_FOUND: Answer = 404
NOT_ALLOWED: Answer = 405

ROLES = ("anonymous", "admin", "agent", "manager", "customer", "named")

ADMINS = ("admin",)
AGENTS = ("admin", "agent")
MANAGERS = ("admin", "manager")
STAFF = ("admin", "agent", "manager")
CONTACTS = ("customer", "named")
MEMBERS = (*STAFF, *CONTACTS)


@dataclass(frozen=True)
class Access:
    get: dict[str, Answer]
    post: dict[str, Answer]


def allow(*roles: str, answer: Answer = OK, anonymous: Answer = LOGIN) -> dict[str, Answer]:
    """``roles`` get ``answer``; anonymous gets ``anonymous``; every other role 404."""
    answers: dict[str, Answer] = {role: NOT_FOUND for role in ROLES}
    answers["anonymous"] = anonymous
    answers.update(dict.fromkeys(roles, answer))
    return answers


def api(*roles: str, answer: Answer = OK) -> dict[str, Answer]:
    """An API route: like :func:`allow`, but anonymous gets 401."""
    return allow(*roles, answer=answer, anonymous=UNAUTHORIZED)


def every(answer: Answer) -> dict[str, Answer]:
    return dict.fromkeys(ROLES, answer)


def page(*roles: str) -> Access:
    """A page with a form: GET shows it, POST submits it, for the same roles."""
    return Access(get=allow(*roles), post=allow(*roles))


def action(*roles: str) -> Access:
    """A POST-only action whose role check runs before the method check."""
    return Access(get=allow(*roles, answer=NOT_ALLOWED), post=allow(*roles))


def button(*roles: str) -> Access:
    """A POST-only action whose method check runs first: GET is 405 for everyone."""
    return Access(get=every(NOT_ALLOWED), post=allow(*roles))


def view(*roles: str) -> Access:
    """A read-only page whose method check runs first: POST is 405 for everyone."""
    return Access(get=allow(*roles), post=every(NOT_ALLOWED))


def api_creates(*readers: str, writers: tuple[str, ...]) -> Access:
    """An API route where ``readers`` GET and ``writers`` POST (create, or an action)."""
    return Access(get=api(*readers), post=api(*writers))


def api_no_post(*readers: str, writers: tuple[str, ...] = ()) -> Access:
    """An API route that takes no POST: 405 for everyone, the method check runs before the
    role check in the API (``writers`` names who may PATCH or DELETE, for the reader)."""
    return Access(get=api(*readers), post=every(NOT_ALLOWED))


PUBLIC = Access(get=every(OK), post=every(OK))
PUBLIC_READ = Access(get=every(OK), post=every(NOT_ALLOWED))

TABLE: dict[str, Access] = {
    # The project's own pages (supportdesk/urls.py).
    "home": Access(get=allow(*MEMBERS), post=allow(*MEMBERS)),
    "manage-index": page(*ADMINS),
    "audit-list": page(*ADMINS),
    "language-set": Access(get=every(NOT_ALLOWED), post=every(OK)),
    "token-list": page(*MEMBERS),
    "login": PUBLIC,
    "favicon": PUBLIC_READ,
    "logout": Access(get=every(NOT_ALLOWED), post=every(LOGIN)),
    "password_reset": PUBLIC,
    "password_reset_done": PUBLIC_READ,
    "password_reset_confirm": PUBLIC,
    "password_reset_complete": PUBLIC_READ,
    "api-me": Access(get=api(*STAFF), post=every(NOT_ALLOWED)),
    "api-schema": PUBLIC_READ,
    # The catch-all under /api/v1/: a JSON 404 for any path no route matches.
    "api-not-found": Access(get=every(NOT_FOUND), post=every(NOT_FOUND)),
    "api-docs": PUBLIC_READ,
    # Contracts: admin pages; the API lets staff read and admins write.
    "contracts:organisation-list": page(*ADMINS),
    "contracts:organisation-create": page(*ADMINS),
    "contracts:organisation-detail": page(*ADMINS),
    "contracts:organisation-edit": page(*ADMINS),
    "contracts:contact-list": page(*ADMINS),
    "contracts:contact-create": page(*ADMINS),
    "contracts:contact-import": page(*ADMINS),
    "contracts:contact-edit": page(*ADMINS),
    "portal:contact-invite": action(*ADMINS),
    "contracts:feature-list": page(*ADMINS),
    "contracts:feature-edit": page(*ADMINS),
    "contracts:request-type-list": page(*ADMINS),
    "contracts:request-type-edit": page(*ADMINS),
    "contracts:plan-list": page(*ADMINS),
    "contracts:plan-create": page(*ADMINS),
    "contracts:plan-edit": page(*ADMINS),
    "contracts:contract-list": page(*ADMINS),
    "contracts:contract-create": page(*ADMINS),
    "contracts:contract-detail": page(*ADMINS),
    "contracts:contract-edit": page(*ADMINS),
    "contracts:contract-suspend": action(*ADMINS),
    "contracts:contract-resume": action(*ADMINS),
    "contracts:contract-expire": action(*ADMINS),
    "contracts:named-contact-add": action(*ADMINS),
    "contracts:named-contact-remove": action(*ADMINS),
    "contracts:entitlement-check": page(*ADMINS),
    "api-organisation-list": api_creates(*STAFF, writers=ADMINS),
    "api-organisation-detail": api_no_post(*STAFF, writers=ADMINS),
    "api-contact-list": api_creates(*STAFF, writers=AGENTS),
    "api-contact-detail": api_no_post(*STAFF, writers=AGENTS),
    "api-feature-list": api_creates(*STAFF, writers=ADMINS),
    "api-feature-detail": api_no_post(*STAFF, writers=ADMINS),
    "api-request-type-list": api_creates(*STAFF, writers=ADMINS),
    "api-request-type-detail": api_no_post(*STAFF, writers=ADMINS),
    "api-plan-list": api_creates(*STAFF, writers=ADMINS),
    "api-plan-detail": api_no_post(*STAFF, writers=ADMINS),
    "api-contract-list": api_creates(*STAFF, writers=ADMINS),
    "api-contract-detail": api_no_post(*STAFF, writers=ADMINS),
    "api-contract-suspend": Access(get=every(NOT_ALLOWED), post=api(*ADMINS)),
    "api-contract-resume": Access(get=every(NOT_ALLOWED), post=api(*ADMINS)),
    "api-named-contact-list": api_creates(*STAFF, writers=ADMINS),
    "api-named-contact-detail": api_no_post(*STAFF, writers=ADMINS),
    "api-entitlement-check": Access(get=every(NOT_ALLOWED), post=api(*STAFF)),
    # SLA configuration: admin pages; the API is read-only for staff.
    "sla:index": page(*ADMINS),
    "sla:calendar-new": page(*ADMINS),
    "sla:calendar": page(*ADMINS),
    "sla:policy-new": page(*ADMINS),
    "sla:policy": page(*ADMINS),
    "sla:priority-new": page(*ADMINS),
    "sla:priority": page(*ADMINS),
    "sla:rule-new": page(*ADMINS),
    "sla:rule": page(*ADMINS),
    "api-sla-calendar-list": api_no_post(*STAFF, writers=ADMINS),
    "api-sla-calendar-detail": api_no_post(*STAFF, writers=ADMINS),
    "api-sla-policy-list": api_no_post(*STAFF, writers=ADMINS),
    "api-sla-policy-detail": api_no_post(*STAFF, writers=ADMINS),
    "api-sla-priority-list": api_no_post(*STAFF, writers=ADMINS),
    "api-sla-priority-detail": api_no_post(*STAFF, writers=ADMINS),
    # Reports: managers and admins.
    "reports:dashboard": Access(get=allow(*MANAGERS), post=allow(*MANAGERS, answer=NOT_ALLOWED)),
    "reports:tickets": Access(get=allow(*MANAGERS), post=allow(*MANAGERS, answer=NOT_ALLOWED)),
    "reports:show": Access(get=allow(*MANAGERS), post=allow(*MANAGERS, answer=NOT_ALLOWED)),
    "reports:csv": Access(get=allow(*MANAGERS), post=allow(*MANAGERS, answer=NOT_ALLOWED)),
    "reports:tickets-csv": Access(get=allow(*MANAGERS), post=allow(*MANAGERS, answer=NOT_ALLOWED)),
    "reports:pdf": Access(get=allow(*MANAGERS), post=allow(*MANAGERS, answer=NOT_ALLOWED)),
    "reports:recompute": action(*MANAGERS),
    # The customer's reports: named contacts of an organisation whose plan has monthly
    # reports (the cast's plan has not: 404 to all; tests/reports/test_portal_reports.py).
    "reports:portal": Access(get=allow(), post=allow(*CONTACTS, answer=NOT_ALLOWED)),
    "reports:portal-pdf": Access(get=allow(), post=allow(*CONTACTS, answer=NOT_ALLOWED)),
    # The time report: managers and admins read everyone's time, an agent their own.
    # The billing export: managers and admins (what customers are billed for).
    "reports:billing": Access(get=allow(*MANAGERS), post=allow(*MANAGERS, answer=NOT_ALLOWED)),
    "reports:billing-csv": Access(get=allow(*MANAGERS), post=allow(*MANAGERS, answer=NOT_ALLOWED)),
    "api-billing-export": api_no_post(*MANAGERS),
    "api-sla-report": api_no_post(*MANAGERS),
    "time_report:show": Access(get=allow(*STAFF), post=allow(*STAFF, answer=NOT_ALLOWED)),
    "time_report:csv": Access(get=allow(*STAFF), post=allow(*STAFF, answer=NOT_ALLOWED)),
    # The agent pages: staff read, agents and admins work tickets.
    "tickets:queue": view(*STAFF),
    "tickets:queue-assign": button(*AGENTS),
    "tickets:queue-my-line": button(*AGENTS),
    "tickets:queue-columns": button(*AGENTS),
    "tickets:queue-view-new": button(*AGENTS),
    # ``view_id`` is the agent's own view: an admin is refused another agent's like anyone.
    "tickets:queue-view-delete": Access(get=every(NOT_ALLOWED), post=allow("agent")),
    "tickets:call-log": page(*AGENTS),
    "tickets:ticket": view(*STAFF),
    "tickets:ticket-history": view(*STAFF),
    "tickets:attachment": view(*STAFF),
    "tickets:attachment-preview": view(*STAFF),
    # A rich reply's inline image: one URL for staff and the contacts who may read it.
    "tickets:attachment-inline": view(*MEMBERS),
    "tickets:ticket-reply": button(*AGENTS),
    # The reply box's live preview: who may reply (POST only, the method check first).
    "tickets:ticket-reply-preview": button(*AGENTS),
    # The ticket page's heartbeat: managers read tickets too, so they are listed as viewing
    # (their "typing" is ignored: they cannot reply); customers get 404 like any staff page.
    "tickets:ticket-presence": button(*STAFF),
    "tickets:ticket-status": button(*AGENTS),
    "tickets:ticket-priority": button(*AGENTS),
    "tickets:ticket-assign": button(*AGENTS),
    "tickets:ticket-line": button(*AGENTS),
    "tickets:ticket-vendor": button(*AGENTS),
    "tickets:vendor-settings": page(*ADMINS),
    "tickets:review-settings": page(*ADMINS),
    "tickets:reviews": view(*STAFF),
    # Managers read a review (GET); agents write it.
    "tickets:ticket-review": Access(get=allow(*STAFF), post=allow(*AGENTS)),
    "tickets:ticket-review-open": button(*AGENTS),
    "tickets:ticket-review-done": button(*AGENTS),
    "tickets:ticket-review-action": button(*AGENTS),
    "tickets:ticket-review-action-remove": button(*AGENTS),
    "tickets:ticket-convert": button(*AGENTS),
    "tickets:ticket-request-type": button(*AGENTS),
    "tickets:ticket-time": button(*AGENTS),
    # Macros: agents keep their own (tenant A's ``macro_id`` is the agent's, so even the
    # admin gets 404) and search them from the reply box; admins manage the shared ones.
    # Customers and managers never see a macro.
    "macros:list": view(*AGENTS),
    "macros:new": page(*AGENTS),
    "macros:edit": page("agent"),
    "macros:delete": Access(get=allow(*AGENTS, answer=NOT_ALLOWED), post=allow("agent")),
    "macros:search": view(*AGENTS),
    # Routing rules: admins only, pages and API alike (they name each account's people).
    "routing:list": page(*ADMINS),
    "routing:new": page(*ADMINS),
    "routing:edit": page(*ADMINS),
    "routing:delete": action(*ADMINS),
    "routing:move": action(*ADMINS),
    "api-routing-rule-list": Access(get=api(*ADMINS), post=api(*ADMINS)),
    "api-routing-rule-detail": Access(get=api(*ADMINS), post=every(NOT_ALLOWED)),
    "macros:shared-list": page(*ADMINS),
    "macros:shared-new": page(*ADMINS),
    "macros:shared-edit": page(*ADMINS),
    "macros:shared-delete": action(*ADMINS),
    "tickets:ticket-link": button(*AGENTS),
    "tickets:ticket-follow": button(*AGENTS),
    "tickets:ticket-cc": button(*AGENTS),
    "tickets:ticket-cc-remove": button(*AGENTS),
    "tickets:ticket-follower-add": button(*AGENTS),
    "tickets:ticket-follower-remove": button(*AGENTS),
    "tickets:ticket-unlink": button(*AGENTS),
    "tickets:ticket-quote": button(*AGENTS),
    "tickets:ticket-major": button(*AGENTS),
    # Problems: staff read, agents write, the suggestion rule is the admin's.
    "problems:list": view(*STAFF),
    "problems:new": page(*AGENTS),
    "problems:detail": view(*STAFF),
    "problems:edit": page(*AGENTS),
    "problems:link": button(*AGENTS),
    "problems:unlink": button(*AGENTS),
    "problems:resolve": button(*AGENTS),
    "problems:settings": page(*ADMINS),
    "knowledgebase:from-problem": button(*AGENTS),
    "api-problem-list": api_creates(*STAFF, writers=AGENTS),
    "api-problem-detail": api_no_post(*STAFF, writers=AGENTS),
    "api-problem-link": Access(get=every(NOT_ALLOWED), post=api(*AGENTS)),
    "api-problem-unlink": Access(get=every(NOT_ALLOWED), post=api(*AGENTS)),
    "api-problem-resolve": Access(get=every(NOT_ALLOWED), post=api(*AGENTS)),
    "api-problem-suggestions": api_no_post(*STAFF),
    "api-problem-suggestion-settings": api_no_post(*STAFF, writers=ADMINS),
    "tickets:ticket-major-link": button(*AGENTS),
    "tickets:ticket-major-update": button(*AGENTS),
    "tickets:ticket-major-end": button(*AGENTS),
    # GET is the confirmation step (without ?into= it leads back to the ticket), POST merges.
    "tickets:ticket-merge": page(*AGENTS),
    "api-ticket-list": api_creates(*STAFF, writers=AGENTS),
    "api-ticket-detail": api_no_post(*STAFF, writers=AGENTS),
    "api-ticket-events": api_no_post(*STAFF, writers=AGENTS),
    "api-ticket-time-entries": api_creates(*STAFF, writers=AGENTS),
    "api-ticket-quotes": api_creates(*STAFF, writers=AGENTS),
    "api-ticket-messages": Access(get=every(NOT_ALLOWED), post=api(*AGENTS)),
    "api-ticket-change-status": Access(get=every(NOT_ALLOWED), post=api(*AGENTS)),
    "api-ticket-bulk-assign": Access(get=every(NOT_ALLOWED), post=api(*AGENTS)),
    "api-ticket-links": api_creates(*STAFF, writers=AGENTS),
    "api-ticket-unlink": Access(get=every(NOT_ALLOWED), post=api(*AGENTS)),
    "api-ticket-merge": Access(get=every(NOT_ALLOWED), post=api(*AGENTS)),
    # Tenant A's ticket is not closed: it has no review to read (404), and opening one is
    # refused with 400 (OK in this table).
    "api-ticket-review": Access(get=api(answer=NOT_FOUND), post=api(*AGENTS)),
    "api-ticket-review-done": Access(get=every(NOT_ALLOWED), post=api(*AGENTS, answer=NOT_FOUND)),
    "api-ticket-review-actions": Access(
        get=every(NOT_ALLOWED), post=api(*AGENTS, answer=NOT_FOUND)
    ),
    # DELETE only (agents; covered in tests/tickets/test_post_incident_reviews.py).
    "api-ticket-review-action": Access(get=every(NOT_ALLOWED), post=every(NOT_ALLOWED)),
    "api-ticket-major-incident": Access(get=every(NOT_ALLOWED), post=api(*AGENTS)),
    "api-ticket-major-incident-updates": Access(get=every(NOT_ALLOWED), post=api(*AGENTS)),
    "api-ticket-major-incident-end": Access(get=every(NOT_ALLOWED), post=api(*AGENTS)),
    "api-ticket-cc": api_creates(*STAFF, writers=AGENTS),
    "api-ticket-cc-remove": Access(get=every(NOT_ALLOWED), post=api(*AGENTS)),
    "api-ticket-followers": api_creates(*STAFF, writers=AGENTS),
    "api-ticket-followers-remove": Access(get=every(NOT_ALLOWED), post=api(*AGENTS)),
    # The customer portal: contacts; the named contact sees the organisation's tickets.
    "portal:list": page(*CONTACTS),
    "portal:ticket-new": page(*CONTACTS),
    "portal:ticket-preview": page(*CONTACTS),
    "portal:ticket-detail": page(*CONTACTS),
    "portal:ticket-history": page(*CONTACTS),
    "portal:ticket-reply": button(*CONTACTS),
    "portal:ticket-reply-preview": button(*CONTACTS),
    "portal:ticket-status": button(*CONTACTS),
    "portal:ticket-billing": button(*CONTACTS),
    "portal:ticket-quote": button(*CONTACTS),
    "portal:ticket-cc-add": button(*CONTACTS),
    "portal:ticket-cc-remove": button(*CONTACTS),
    "portal:follow-organisation": button(*CONTACTS),
    "portal:attachment-download": page(*CONTACTS),
    "portal:attachment-preview": Access(
        get=allow(*CONTACTS), post=allow(*CONTACTS, answer=NOT_ALLOWED)
    ),
    "portal:contract": page(*CONTACTS),
    # Whoever holds a login link may use it (it is the customer's); asking for one is public.
    "portal:login-link-request": PUBLIC,
    "portal:login-link": PUBLIC,
    # "How did we do?": whoever holds the signed link may answer (it was mailed to the
    # requester); the signature is the check, and a bad one is a 400 page.
    "satisfaction:rate": PUBLIC,
    "api-portal-ticket-list": api_creates(*CONTACTS, writers=CONTACTS),
    "api-portal-ticket-detail": api_no_post(*CONTACTS),
    "api-portal-ticket-replies": Access(get=every(NOT_ALLOWED), post=api(*CONTACTS)),
    "api-portal-ticket-cc": api_creates(*CONTACTS, writers=CONTACTS),
    "api-portal-ticket-cc-remove": Access(get=every(NOT_ALLOWED), post=api(*CONTACTS)),
    "api-portal-ticket-quotes": api_creates(*CONTACTS, writers=CONTACTS),
    # Mailboxes: admins.
    "mail:mailbox-list": page(*ADMINS),
    "mail:mailbox-edit": page(*ADMINS),
    "mail:mailbox-check": button(*ADMINS),
    "mail:mail-settings": button(*ADMINS),
    "mail:inbound-retry": button(*ADMINS),
    "mail:inbound-discard": button(*ADMINS),
    # Webhooks: admins.
    "notifications:webhook-list": page(*ADMINS),
    "notifications:webhook-edit": page(*ADMINS),
    "notifications:webhook-test": button(*ADMINS),
    "notifications:webhook-delete": button(*ADMINS),
    # Knowledge base: everyone reads public articles; agents and admins write them.
    "knowledgebase:list": PUBLIC_READ,
    "knowledgebase:suggest": PUBLIC_READ,
    "knowledgebase:detail": PUBLIC_READ,
    "knowledgebase:manage-list": Access(
        get=allow(*AGENTS), post=allow(*AGENTS, answer=NOT_ALLOWED)
    ),
    "knowledgebase:manage-new": page(*AGENTS),
    "knowledgebase:manage-edit": page(*AGENTS),
    "knowledgebase:manage-translate": page(*AGENTS),
    "knowledgebase:manage-delete": action(*AGENTS),
    "api-article-list": api_creates(*STAFF, writers=AGENTS),
    "api-article-detail": api_no_post(*STAFF, writers=AGENTS),
    "api-article-suggest": Access(get=api(*MEMBERS), post=every(NOT_ALLOWED)),
}
