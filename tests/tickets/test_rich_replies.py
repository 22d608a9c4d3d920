"""Rich replies: Markdown in the reply boxes, sanitized on the way in, shown the same on the
agent page, in the portal and in the HTML part of the mail, with a live preview that goes
through the same renderer."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_scopes import scope

from tests.conftest import Cast, client_for
from tests.tickets.conftest import Desk
from tickets.choices import Channel
from tickets.forms import PREVIEW_MAX_CHARS
from tickets.mail.models import OutboundEmail, OutboundKind
from tickets.models import Attachment, Message, Ticket
from tickets.richtext import ALLOWED_TAGS, html_text, markdown_render
from tickets.services import ticket_create

pytestmark = pytest.mark.django_db

MARKDOWN = """Hello **Carla**, try _this_:

- open *Export*
- press `Run`

> the old way

See [the guide](https://docs.example.test/export)."""


@pytest.fixture
def ticket(cast: Cast, desk: Desk) -> Ticket:
    with scope(tenant=cast.tenant_a):
        return ticket_create(
            tenant=cast.tenant_a,
            requester=cast.customer_contact,
            subject="Export stops at 99 rows",
            description="The export stops.",
            channel=Channel.PORTAL,
        )


def _last_message(cast: Cast, ticket: Ticket) -> Message:
    with scope(tenant=cast.tenant_a):
        return Message.objects.filter(ticket=ticket).latest("id")


# --- the renderer ----------------------------------------------------------------------------


def test_markdown_becomes_the_tags_of_the_allow_list() -> None:
    html = markdown_render(MARKDOWN)
    assert "<strong>Carla</strong>" in html
    assert "<em>this</em>" in html
    assert "<li>open <em>Export</em></li>" in html
    assert "<code>Run</code>" in html
    assert "<blockquote>" in html
    assert (
        '<a href="https://docs.example.test/export" rel="noopener noreferrer nofollow">'
        "the guide</a>"
    ) in html


def test_a_single_line_break_is_kept_as_people_type_it() -> None:
    assert markdown_render("line one\nline two") == "<p>line one<br>\nline two</p>"


def test_a_heading_does_not_outshout_the_page() -> None:
    assert markdown_render("# Big") == "<h3>Big</h3>"


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert('x')</script>",
        "<img src=x onerror=alert('x')>",
        "[click](javascript:alert('x'))",
        '<a href="javascript:alert(1)">click</a>',
        '<a href="JaVaScRiPt:alert(1)">click</a>',
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "![pixel](data:image/png;base64,iVBORw0KGgo=)",
        "![tracker](https://tracker.example.test/p.gif)",
        '<iframe src="https://evil.example.test"></iframe>',
        "<svg onload=alert('x')><circle/></svg>",
        '<p style="position:fixed" onclick="alert(1)">x</p>',
        '<a href="vbscript:msgbox(1)">click</a>',
        "<style>body{display:none}</style>",
        '<form action="https://evil.example.test"><input name=a></form>',
    ],
)
def test_scripts_handlers_and_foreign_urls_are_stripped(payload: str) -> None:
    html = markdown_render(f"Before {payload} after")
    elements = _elements(html)
    assert {tag for tag, _attrs in elements} <= ALLOWED_TAGS, html
    for _tag, attributes in elements:
        for name, value in attributes:
            assert not name.startswith("on") and name != "style", html
            if name in ("href", "src"):
                assert value.startswith(("https://docs.", "mailto:", "attachment:")), html
    # What is left of the payload is text: no element carries it, and no script's body.
    assert "Before" in html
    assert "<script" not in html.lower() and "display:none" not in html


def _elements(html: str) -> list[tuple[str, list[tuple[str, str]]]]:
    found: list[tuple[str, list[tuple[str, str]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, [(k, v or "") for k, v in attrs]))

    Collect().feed(html)
    return found


def test_the_text_alternative_keeps_lists_and_quotes() -> None:
    text = html_text(markdown_render(MARKDOWN))
    assert "Hello Carla, try this:" in text
    assert "- open Export" in text
    assert "> the old way" in text


# --- replies, portal and mail ----------------------------------------------------------------


def test_an_agent_reply_is_stored_as_sanitized_html_of_its_markdown(
    cast: Cast, ticket: Ticket
) -> None:
    response = client_for(cast.agent, cast.tenant_a).post(
        f"/agent/tickets/{ticket.pk}/reply/",
        {"body": MARKDOWN + "\n\n<script>alert(1)</script>", "public": "1", "version": ""},
    )
    assert response.status_code == 302
    message = _last_message(cast, ticket)
    assert message.body == markdown_render(MARKDOWN)


def test_the_portal_and_the_mail_show_the_same_html_as_the_agent_page(
    cast: Cast, ticket: Ticket, django_capture_on_commit_callbacks: Any
) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client_for(cast.agent, cast.tenant_a).post(
            f"/agent/tickets/{ticket.pk}/reply/", {"body": MARKDOWN, "public": "1"}
        )
    message = _last_message(cast, ticket)
    html = str(message.body_html())
    assert "<strong>Carla</strong>" in html

    agent_page = client_for(cast.agent, cast.tenant_a).get(f"/agent/tickets/{ticket.pk}/")
    portal_page = client_for(cast.customer, cast.tenant_a).get(f"/portal/tickets/{ticket.pk}/")
    assert html in agent_page.content.decode()
    assert html in portal_page.content.decode()

    with scope(tenant=cast.tenant_a):
        outbound = OutboundEmail.objects.get(
            ticket=ticket, kind=OutboundKind.REPLY, to_address=cast.customer_contact.email
        )
    assert html in outbound.html_body
    assert "- open Export" in outbound.body and "<strong>" not in outbound.body

    (sent,) = [m for m in mail.outbox if m.to == [cast.customer_contact.email]]
    assert sent.body == outbound.body  # the text part
    assert sent.alternatives == [(outbound.html_body, "text/html")]  # type: ignore[attr-defined]


def test_a_reply_that_is_only_a_list_is_shown_as_the_list(cast: Cast, ticket: Ticket) -> None:
    client_for(cast.agent, cast.tenant_a).post(
        f"/agent/tickets/{ticket.pk}/reply/", {"body": "- one\n- two", "public": "1"}
    )
    message = _last_message(cast, ticket)
    assert str(message.body_html()) == message.body == "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"


def test_a_customer_reply_in_the_portal_is_markdown_too(cast: Cast, ticket: Ticket) -> None:
    response = client_for(cast.customer, cast.tenant_a).post(
        f"/portal/tickets/{ticket.pk}/reply/", {"body": "It **still** fails"}
    )
    assert response.status_code == 302
    assert _last_message(cast, ticket).body == "<p>It <strong>still</strong> fails</p>"


# --- the live preview -----------------------------------------------------------------------


def test_the_preview_is_what_the_reply_will_store(cast: Cast, ticket: Ticket) -> None:
    agent = client_for(cast.agent, cast.tenant_a)
    preview = agent.post(f"/agent/tickets/{ticket.pk}/reply/preview/", {"body": MARKDOWN})
    assert preview.status_code == 200
    agent.post(f"/agent/tickets/{ticket.pk}/reply/", {"body": MARKDOWN, "public": "1"})
    assert preview.content.decode().strip() == _last_message(cast, ticket).body


def test_the_portal_preview_sanitizes_like_the_reply(cast: Cast, ticket: Ticket) -> None:
    preview = client_for(cast.customer, cast.tenant_a).post(
        f"/portal/tickets/{ticket.pk}/reply/preview/",
        {"body": "**ok** <img src=x onerror=alert(1)>"},
    )
    assert preview.status_code == 200
    assert preview.content.decode().strip() == "<p><strong>ok</strong> </p>"


AGENT_PREVIEW = "/agent/tickets/{}/reply/preview/"
PREVIEW_LIMIT = int(settings.THROTTLE_RATES["reply-preview"].split("/")[0])


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("agent", AGENT_PREVIEW),
        ("customer", "/portal/tickets/{}/reply/preview/"),
    ],
)
def test_previews_past_the_rate_pause_for_that_user_with_a_message_and_never_the_reply(
    cast: Cast, ticket: Ticket, who: str, path: str
) -> None:
    user = getattr(cast, who)
    client, url = client_for(user, cast.tenant_a), path.format(ticket.pk)
    statuses = {client.post(url, {"body": "*x*"}).status_code for _ in range(PREVIEW_LIMIT)}
    assert statuses == {200}
    paused = client.post(url, {"body": "*x*"})
    assert paused.status_code == 429 and 0 < int(paused["Retry-After"]) <= 60
    assert "the preview resumes in 1 minute" in paused.content.decode()
    reply = {"body": "Sent anyway.", "public": "1"}
    assert client.post(url.removesuffix("preview/"), reply).status_code == 302  # never throttled
    assert _last_message(cast, ticket).body == "<p>Sent anyway.</p>"
    other = client_for(cast.admin, cast.tenant_a)  # another user from the same address
    assert other.post(AGENT_PREVIEW.format(ticket.pk), {"body": "*x*"}).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert client.post(url, {"body": "*x*"}).status_code == 200


def test_an_empty_preview_says_there_is_nothing_yet(cast: Cast, ticket: Ticket) -> None:
    preview = client_for(cast.agent, cast.tenant_a).post(
        f"/agent/tickets/{ticket.pk}/reply/preview/", {"body": "  "}
    )
    assert preview.status_code == 200
    assert "Nothing to preview yet." in preview.content.decode()


def test_a_too_long_preview_is_refused_with_a_message(cast: Cast, ticket: Ticket) -> None:
    preview = client_for(cast.agent, cast.tenant_a).post(
        f"/agent/tickets/{ticket.pk}/reply/preview/", {"body": "x" * (PREVIEW_MAX_CHARS + 1)}
    )
    assert preview.status_code == 400
    assert "field-error" in preview.content.decode()


def test_the_preview_of_a_ticket_that_is_not_yours_is_a_404(cast: Cast, desk: Desk) -> None:
    with scope(tenant=cast.tenant_a):
        other = ticket_create(
            tenant=cast.tenant_a,
            requester=cast.named_contact,
            subject="Nils's own",
            description="x",
            channel=Channel.PORTAL,
            enforce_entitlement=False,
        )
    customer = client_for(cast.customer, cast.tenant_a)
    answer = customer.post(f"/portal/tickets/{other.pk}/reply/preview/", {"body": "x"})
    assert answer.status_code == 404
    manager = client_for(cast.manager, cast.tenant_a)
    answer = manager.post(f"/agent/tickets/{other.pk}/reply/preview/", {"body": "x"})
    assert answer.status_code == 404


def test_both_reply_boxes_carry_the_editor(cast: Cast, ticket: Ticket) -> None:
    agent_page = client_for(cast.agent, cast.tenant_a).get(f"/agent/tickets/{ticket.pk}/")
    portal_page = client_for(cast.customer, cast.tenant_a).get(f"/portal/tickets/{ticket.pk}/")
    for page, url in (
        (agent_page, f"/agent/tickets/{ticket.pk}/reply/preview/"),
        (portal_page, f"/portal/tickets/{ticket.pk}/reply/preview/"),
    ):
        content = page.content.decode()
        assert f'data-editor-preview="{url}"' in content
        assert "js/editor" in content


# --- inline images ---------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _png(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, "image/png")


def test_a_pasted_image_is_an_attachment_shown_inside_the_reply(
    cast: Cast, ticket: Ticket, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        client_for(cast.agent, cast.tenant_a).post(
            f"/agent/tickets/{ticket.pk}/reply/",
            {
                "body": "Press here:\n\n![the button](attachment:image-k1-1.png)",
                "public": "1",
                "attachments": [_png("image-k1-1.png")],
            },
        )
    message = _last_message(cast, ticket)
    with scope(tenant=cast.tenant_a):
        (image,) = Attachment.objects.filter(message=message)
    src = f"/attachments/{image.pk}/inline/"
    assert f'<img src="{src}" alt="the button">' in message.body

    for user in (cast.customer, cast.agent, cast.manager):
        page = client_for(user, cast.tenant_a).get(src)
        assert page.status_code == 200, user
        assert page["Content-Type"] == "image/png"
        assert page["Content-Disposition"].startswith("inline")
    portal_page = client_for(cast.customer, cast.tenant_a).get(f"/portal/tickets/{ticket.pk}/")
    assert f'<img src="{src}" alt="the button">' in portal_page.content.decode()

    with scope(tenant=cast.tenant_a):
        outbound = OutboundEmail.objects.get(
            ticket=ticket, kind=OutboundKind.REPLY, to_address=cast.customer_contact.email
        )
    assert "<img" not in outbound.html_body
    assert f'<a href="{cast.tenant_a.base_url()}{src}">[the button]</a>' in outbound.html_body
    assert "[the button]" in outbound.body


def test_an_image_naming_no_file_of_the_reply_keeps_only_its_alt_text(
    cast: Cast, ticket: Ticket
) -> None:
    client_for(cast.customer, cast.tenant_a).post(
        f"/portal/tickets/{ticket.pk}/reply/",
        {"body": "See ![my screen](attachment:elsewhere.png) and ![x](/attachments/1/inline/)"},
    )
    assert _last_message(cast, ticket).body == "<p>See my screen and x</p>"


def test_an_image_of_an_internal_note_stays_internal(cast: Cast, ticket: Ticket) -> None:
    client_for(cast.agent, cast.tenant_a).post(
        f"/agent/tickets/{ticket.pk}/reply/",
        {
            "body": "![log](attachment:image-k1-2.png)",
            "public": "0",
            "attachments": [_png("image-k1-2.png")],
        },
    )
    with scope(tenant=cast.tenant_a):
        image = Attachment.objects.get(message=_last_message(cast, ticket))
    src = f"/attachments/{image.pk}/inline/"
    assert client_for(cast.agent, cast.tenant_a).get(src).status_code == 200
    assert client_for(cast.customer, cast.tenant_a).get(src).status_code == 404
    assert client_for(None, cast.tenant_a).get(src).status_code == 302  # to the login page


def test_the_preview_keeps_a_pasted_image_for_the_browser_to_show(
    cast: Cast, ticket: Ticket
) -> None:
    preview = client_for(cast.customer, cast.tenant_a).post(
        f"/portal/tickets/{ticket.pk}/reply/preview/",
        {"body": "![shot](attachment:image-k1-3.png)"},
    )
    assert preview.content.decode().strip() == (
        '<p><img src="attachment:image-k1-3.png" alt="shot"></p>'
    )
