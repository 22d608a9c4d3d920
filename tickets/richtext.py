"""Rich replies: the one place a message's body becomes HTML and plain text.

Replies written in the agent page and the portal are Markdown (markdown-it-py, CommonMark with
single line breaks kept, as people type in a text box). :func:`markdown_render` turns the
source into HTML and sanitizes it with nh3 against :data:`ALLOWED_TAGS`; that HTML is what
the message stores. The agent page, the portal and the HTML part of outgoing mail all show
the stored HTML (``Message.body_html``), and the preview beside the reply box asks the server
for :func:`markdown_render` of what is typed, so what is previewed, shown and mailed is the
same markup. The mail's text part is :func:`html_text` of that HTML.

Raw HTML typed into the Markdown passes markdown-it (so a pasted ``<b>`` still works as it did
when the reply box took HTML) and is then cut down by the same allow-list: no scripts, no
event handlers, no styles, links only to http(s) and mailto.

Images are only the ticket's own attachments. An image pasted or dropped into the reply box
travels with the reply as one of its attachments and is written ``![name](attachment:name)``;
:func:`markdown_render` keeps such placeholders (and drops every other image: no remote
tracking pixels, no ``data:`` URLs), and once the reply's files are stored
:func:`images_resolve` points them at ``tickets:attachment-inline`` (one URL for staff and
contacts, each through their own access check). In mail an image becomes a link to that URL
(:func:`images_as_links`): the recipient signs in to see it, as with any attachment.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Mapping
from urllib.parse import unquote

import nh3
from django.urls import reverse
from markdown_it import MarkdownIt

from .mail.inbound.base import html_to_text

__all__ = [
    "ALLOWED_TAGS",
    "PLACEHOLDER_SCHEME",
    "html_sanitize",
    "has_placeholders",
    "html_text",
    "images_as_links",
    "images_resolve",
    "markdown_render",
]

ALLOWED_TAGS = {
    "p", "br", "a", "strong", "em", "b", "i", "u", "ul", "ol", "li", "blockquote", "code",
    "pre", "h3", "h4", "hr", "img",
}  # fmt: skip
"""Tags a stored message body may hold. Headings are cut to h3/h4 in :func:`markdown_render`
so a "# Title" does not outshout the page's own headings."""

URL_SCHEMES = {"http", "https", "mailto"}
"""Link targets kept: no ``javascript:``, no ``data:``, no ``vbscript:``."""

PLACEHOLDER_SCHEME = "attachment"
"""``![name](attachment:name)``: an image among the files sent with the same reply."""


@functools.cache
def inline_src() -> re.Pattern[str]:
    """The only image source a stored message keeps: ``tickets:attachment-inline`` of any
    id (from the resolver, so a moved URL moves here too)."""
    example = reverse("tickets:attachment-inline", args=[1])
    head, _one, tail = example.rpartition("/1/")
    return re.compile(f"^{re.escape(head)}/[0-9]{{1,18}}/{re.escape(tail)}$")


_PLACEHOLDER_SRC = re.compile(rf"^{PLACEHOLDER_SCHEME}:[^\s\"'<>]{{1,255}}$")
_IMG = re.compile(r"<img\b[^>]*>")
_ATTRIBUTE = re.compile(r'\b(src|alt)="([^"]*)"')

_markdown = MarkdownIt("commonmark", {"html": True, "breaks": True, "linkify": False})

_HEADINGS = {f"h{n}": ("h3" if n <= 3 else "h4") for n in range(1, 7)}


def _headings_demote(tokens_html: str) -> str:
    for source, target in _HEADINGS.items():
        if source != target:
            tokens_html = tokens_html.replace(f"<{source}>", f"<{target}>").replace(
                f"</{source}>", f"</{target}>"
            )
    return tokens_html


def _image_filter(allowed: re.Pattern[str]) -> Callable[[str, str, str], str | None]:
    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            return value if allowed.match(value) else None
        return value

    return keep


def _sourceless_images_drop(markup: str) -> str:
    """An image whose source the allow-list took is its alt text (escaped as it was)."""

    def text(match: re.Match[str]) -> str:
        attributes = dict(_ATTRIBUTE.findall(match.group(0)))
        return match.group(0) if "src" in attributes else attributes.get("alt", "")

    return _IMG.sub(text, markup)


def html_sanitize(markup: str, *, placeholders: bool = False) -> str:
    """The HTML we store: :data:`ALLOWED_TAGS`, no scripts or styles (nor their text), links
    to :data:`URL_SCHEMES` only, opened without the opener and not followed; images only
    from the ticket's attachments (:func:`inline_src`), or with ``placeholders`` (a reply
    whose files are not stored yet, its preview) only ``attachment:<name>``."""
    cleaned = nh3.clean(
        markup,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style", "noscript", "template", "title"},
        attributes={"a": {"href", "title"}, "img": {"src", "alt", "title"}},
        attribute_filter=_image_filter(_PLACEHOLDER_SRC if placeholders else inline_src()),
        url_schemes=URL_SCHEMES | ({PLACEHOLDER_SCHEME} if placeholders else set()),
        link_rel="noopener noreferrer nofollow",
    )
    return _sourceless_images_drop(cleaned).strip()


def markdown_render(source: str) -> str:
    """Sanitized HTML of Markdown ``source`` (empty for blank source). Images stay only as
    ``attachment:<name>`` placeholders, for :func:`images_resolve` to point at stored files."""
    if not source.strip():
        return ""
    return html_sanitize(_headings_demote(_markdown.render(source)), placeholders=True)


def has_placeholders(markup: str) -> bool:
    return f'src="{PLACEHOLDER_SCHEME}:' in markup


def images_resolve(markup: str, urls: Mapping[str, str]) -> str:
    """``markup`` (from :func:`markdown_render`) with each ``attachment:<name>`` image
    pointing at ``urls[name]`` (the reply's stored files by name); an image naming no file
    of the reply is left as its alt text. The result is sanitized for storing."""

    def resolve(match: re.Match[str]) -> str:
        tag = match.group(0)
        attributes = dict(_ATTRIBUTE.findall(tag))
        src = html.unescape(attributes.get("src", ""))
        name = unquote(src.removeprefix(f"{PLACEHOLDER_SCHEME}:"))
        if not src.startswith(f"{PLACEHOLDER_SCHEME}:") or name not in urls:
            return attributes.get("alt", "")
        alt = attributes.get("alt", "")
        return f'<img src="{html.escape(urls[name])}" alt="{alt}">'

    return html_sanitize(_IMG.sub(resolve, markup))


def images_as_links(markup: str, base_url: str) -> str:
    """Stored HTML for a mail: each image a link to it on ``base_url`` (the tenant's site),
    named by its alt text, since a mail client has no session to load it with."""

    def link(match: re.Match[str]) -> str:
        attributes = dict(_ATTRIBUTE.findall(match.group(0)))
        src, alt = attributes.get("src", ""), attributes.get("alt", "")
        return f'<a href="{html.escape(base_url)}{src}">[{alt or "&#128247;"}]</a>'

    return _IMG.sub(link, markup)


def html_text(markup: str) -> str:
    """The plain-text alternative of sanitized HTML: paragraphs, ``- `` list items, ``> ``
    quotes (the same conversion as the history download and the mail's text part)."""
    return html_to_text(markup)
