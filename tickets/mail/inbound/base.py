"""Reading one received e-mail: everything the e-mail channel needs to know about it.

Pure parsing, no database: :func:`parse_message` turns raw RFC 5322 bytes into a
:class:`ParsedEmail` with decoded headers, the new text of a reply (quoted history cut off),
sanitized HTML, attachments under the size limit, and whether a machine sent it. Sources
that fetch raw messages (``imap.py`` and its future siblings) implement :class:`MailSource`.
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
import re
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.header import decode_header
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Protocol

import nh3
import tnefparse
import webencodings
from django.db import models
from django.utils.translation import gettext_lazy as _

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
"""Attachments above this size are not kept; the ticket gets a note instead."""

REPLY_MARKER = "##-"
"""Our outgoing mails carry a line starting with this above the quoted text, so a reply
can be cut exactly there whatever the mail client does to the rest."""

LOOP_HEADER = "X-Supportdesk-Loop"
"""Set on every mail we send; a message carrying it is our own mail coming back."""

_NO_REPLY_LOCALPARTS = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|noreply[-.+].*|bounces?([-+].*)?)$", re.I
)
_BOUNCE_LOCALPARTS = re.compile(r"^(mailer-daemon|postmaster)$", re.I)
_AUTO_RESPONSE_SUPPRESS = {"all", "oof", "autoreply"}


class Automation(models.TextChoices):
    """Why a message was written by a machine; such mail never gets an automatic answer."""

    BOUNCE = "bounce", _("Delivery failure report")
    AUTO_REPLY = "auto_reply", _("Automatic reply")
    BULK = "bulk", _("Bulk or mailing-list mail")
    NO_REPLY_SENDER = "no_reply_sender", _("Sent from a no-reply address")
    OWN_MAIL = "own_mail", _("Our own mail")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True)
class SkippedAttachment:
    filename: str
    size: int


@dataclass(frozen=True)
class Bounce:
    """A delivery-status report: which of our recipients failed, and why."""

    recipients: tuple[str, ...]
    status: str
    diagnostic: str
    original_message_id: str


@dataclass
class ParsedEmail:
    message_id: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_address: str
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    date: datetime | None
    text: str
    reply_text: str
    html: str
    attachments: list[Attachment] = field(default_factory=list)
    skipped_attachments: list[SkippedAttachment] = field(default_factory=list)
    unreadable_attachments: list[str] = field(default_factory=list)
    """Names of containers (Outlook's ``winmail.dat``) whose files could not be taken out."""
    automation: Automation | None = None
    suppress_auto_reply: bool = False
    bounce: Bounce | None = None
    message_id_derived: bool = False

    def thread_ids(self) -> list[str]:
        """Message-IDs this one answers, the most direct first."""
        ids = list(self.in_reply_to) + list(reversed(self.references))
        return list(dict.fromkeys(ids))

    @property
    def may_auto_reply(self) -> bool:
        return self.automation is None and not self.suppress_auto_reply


class MailSource(Protocol):
    """Where raw messages come from. Each source module offers one implementation."""

    def fetch(self) -> Iterator[tuple[str, bytes]]:
        """Yield ``(source_id, raw bytes)`` of messages not yet acknowledged."""
        ...

    def acknowledge(self, source_ids: Iterable[str]) -> None:
        """Mark messages as taken, after they are stored; not before."""
        ...


# --- Headers ---------------------------------------------------------------------------------


def _decode_as(data: bytes, label: str) -> str:
    """Decode with a charset label as browsers read it (WHATWG Encoding): ``iso-8859-1``
    and ``us-ascii`` mean windows-1252, which is what Outlook really sends under them (its
    dashes and quotes are 0x80-0x9F, control characters in true Latin-1). Labels the WHATWG
    table does not know, or maps to "replacement", go to Python's codec of that name."""
    encoding = webencodings.lookup(label)
    if encoding is None or encoding.name == "replacement":
        return data.decode(label)
    text, _length = encoding.codec_info.decode(data)
    return text


def _decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Decode text whose charset may be missing, wrong or unknown to Python."""
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return _decode_as(data, candidate)
        except (LookupError, ValueError):  # unknown, wrong or malformed (NUL) charset
            continue
    # Windows-1252 is what unlabelled 8-bit mail almost always is in practice.
    return data.decode("cp1252", errors="replace")


def clean_text(value: str) -> str:
    """Text that any database stores: raw 8-bit bytes (which the parser keeps as surrogate
    escapes) decoded as UTF-8, else Windows-1252; no NUL (PostgreSQL refuses it in text)."""
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raw = value.encode("utf-8", "surrogateescape") if _only_escapes(value) else b""
        value = _decode_bytes(raw) if raw else value.encode("utf-8", "replace").decode()
    return value.replace("\x00", "")


def _only_escapes(value: str) -> bool:
    """Whether every surrogate in ``value`` stands for one raw byte (U+DC80-U+DCFF)."""
    return all(not "\ud800" <= ch <= "\udfff" or "\udc80" <= ch <= "\udcff" for ch in value)


def _header(msg: Message, name: str) -> str:
    """A header as text, also when a client put raw 8-bit bytes into it."""
    raw = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
    if raw is None:
        return ""
    if any("\udc80" <= ch <= "\udcff" for ch in raw):
        return " ".join(clean_text(raw).split())
    if "=?" in raw:
        value = _decode_words(raw)
    else:
        try:
            value = str(msg[name])
        except Exception:  # a malformed header the policy cannot parse: keep its raw text
            value = raw
    return " ".join(clean_text(value).split())


_C1 = re.compile("[\x80-\x9f]")


def _c1_as_cp1252(match: re.Match[str]) -> str:
    """A C1 control character in a display name is an ``iso-8859-1`` encoded word that
    meant windows-1252 (the header parser decodes those labels as true Latin-1)."""
    return match.group().encode("latin-1").decode("cp1252", errors="replace")


def _decode_words(raw: str) -> str:
    """RFC 2047 encoded words, each decoded with its label read the WHATWG way."""
    try:
        pieces = decode_header(raw)
    except Exception:  # malformed encoded words: the raw text is the best we have
        return raw
    return "".join(
        _decode_bytes(part, charset) if isinstance(part, bytes) else part
        for part, charset in pieces
    )


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """``[(display name, lower-case address)]`` of an address header."""
    out: list[tuple[str, str]] = []
    try:
        header = msg[name]
        parsed: Iterable[Address] = getattr(header, "addresses", ()) if header else ()
        for addr in parsed:
            if addr.addr_spec and "@" in addr.addr_spec:
                name = _C1.sub(_c1_as_cp1252, clean_text(addr.display_name))
                out.append((name, clean_text(addr.addr_spec).lower()))
    except Exception:  # malformed header: fall back to the lenient parser
        out = []
    if not out:
        value = _header(msg, name)
        for display, address in getaddresses([value]) if value else []:
            if "@" in address:
                out.append((display, address.lower()))
    return out


_MSGID_RE = re.compile(r"<([^<>\s]+)>")


def normalize_message_id(value: str) -> str:
    """A Message-ID without angle brackets or spaces; very long ones are hashed to fit."""
    value = value.strip().strip("<>").strip()
    if len(value) > 250:
        value = "sha256-" + hashlib.sha256(value.encode()).hexdigest() + "@long.invalid"
    return value


def _message_ids(value: str) -> tuple[str, ...]:
    found = _MSGID_RE.findall(value)
    if not found and value.strip():
        found = value.split()
    return tuple(dict.fromkeys(normalize_message_id(v) for v in found if v.strip("<> ")))


def derived_message_id(raw: bytes) -> str:
    """A stable id for a message that has none: the same bytes always give the same id."""
    return "sha256-" + hashlib.sha256(raw).hexdigest()[:40] + "@derived.invalid"


def content_hash(raw: bytes) -> str:
    """SHA-256 of what a message says rather than how it travelled: its body (line endings
    and trailing blank lines normalised) with its Date, From and Subject. Two deliveries of
    one message differ only in ``Received``/``Delivered-To`` and hash the same; two scans a
    scanner sends under one fixed Message-ID differ in their content and do not."""
    data = raw.replace(b"\r\n", b"\n")
    _head, _sep, body = data.partition(b"\n\n")
    msg = BytesParser(policy=policy.compat32).parsebytes(data, headersonly=True)
    digest = hashlib.sha256()
    for name in ("Date", "From", "Subject"):
        digest.update(" ".join(str(msg.get(name, "")).split()).encode("utf-8", "replace"))
        digest.update(b"\n")
    digest.update(body.rstrip(b"\n"))
    return digest.hexdigest()


# --- Bodies ----------------------------------------------------------------------------------


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return _decode_bytes(payload, part.get_content_charset()).replace("\r\n", "\n")


def _inline_texts(msg: Message, body: Message) -> list[Message]:
    """The plain-text parts a reader sees, in order: ``body`` and, when a client put text
    after an attachment or an attached message (Apple Mail does), that text too."""
    found: list[Message] = []

    def visit(part: Message) -> None:
        if part.get_content_maintype() == "message":
            return  # an attached message keeps its own text
        if part.is_multipart():
            subs = [p for p in part.get_payload() if isinstance(p, Message)]  # type: ignore[union-attr]
            if part.get_content_subtype() == "alternative":
                subs = [p for p in subs if p.get_content_type() == "text/plain"][:1]
            for sub in subs:
                visit(sub)
        elif (
            part.get_content_type() == "text/plain"
            and part.get_content_disposition() != "attachment"
            and not part.get_filename()
        ):
            found.append(part)

    if msg.get_content_type() == "multipart/mixed":
        visit(msg)
    return found if any(p is body for p in found) else [body]


_SAFE_TAGS = {
    "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr", "i", "li",
    "ol", "p", "pre", "span", "strong", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
_QUOTE_CLASSES = {"gmail_quote", "moz-cite-prefix", "yahoo_quoted"}
_QUOTE_IDS = {"divRplyFwdMsg", "appendonsend", "mail-editor-reference-message-container"}


def sanitize_html(markup: str) -> str:
    """HTML safe to show: no scripts, styles, event handlers or remote-loading tags."""
    return nh3.clean(
        markup,
        tags=_SAFE_TAGS,
        clean_content_tags={"script", "style", "head", "title", "noscript", "template"},
        attributes={"a": {"href", "title"}, "div": {"id"}, "td": {"colspan"}},
        allowed_classes={"div": _QUOTE_CLASSES},
        url_schemes={"http", "https", "mailto"},
    )


class _TextFromHtml(HTMLParser):
    """Plain text of sanitized HTML; blockquotes and mail-client quote blocks become '> '."""

    _LINES = {"br", "li", "tr"}
    _PARAGRAPHS = {"p", "div", "h1", "h2", "h3", "h4", "hr", "table", "pre", "ul", "ol"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.quote_depth = 0
        self.stack: list[bool] = []

    def _break(self, tag: str) -> None:
        if tag in self._LINES and self.lines[-1].strip():
            self.lines.append("")
        elif tag in self._PARAGRAPHS:
            if self.lines[-1].strip():
                self.lines.append("")
            if len(self.lines) > 1 and self.lines[-2].strip():
                self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        quoting = tag == "blockquote" or (
            tag == "div"
            and (
                bool(set((values.get("class") or "").split()) & _QUOTE_CLASSES)
                or values.get("id") in _QUOTE_IDS
            )
        )
        self._break(tag)
        if tag == "li":
            self.lines[-1] += "- "
        if tag != "br":
            self.stack.append(quoting)
        if quoting:
            self.quote_depth += 1

    def handle_endtag(self, tag: str) -> None:
        self._break(tag)
        if tag != "br" and self.stack:
            if self.stack.pop():
                self.quote_depth -= 1

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if not text:
            return
        if not self.lines[-1] and self.quote_depth:
            self.lines[-1] = "> " * self.quote_depth
        elif self.lines[-1] and not self.lines[-1].endswith((" ", "> ")):
            self.lines[-1] += " "
        self.lines[-1] += text

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.lines).strip()


def html_to_text(markup: str) -> str:
    """Readable text of (already sanitized) HTML."""
    parser = _TextFromHtml()
    parser.feed(markup)
    parser.close()
    return html.unescape(parser.text())


# Lines that introduce quoted history, in the languages our customers write in.
_ATTRIBUTION = [
    re.compile(r"^On\b.{0,200}\bwrote:?$", re.I),
    re.compile(r"^Den\b.{0,200}\bskrev\b.{0,200}:$", re.I),
    re.compile(r"^.{0,200}\bskrev:$", re.I),
    re.compile(r"^Op\b.{0,200}\bschreef\b.{0,200}:$", re.I),
    re.compile(r"^.{0,200}\bschreef:$", re.I),
    re.compile(r"^Am\b.{0,200}\bschrieb\b.{0,200}:$", re.I),
    re.compile(
        r"^-{2,}\s*(Original Message|Ursprungligt meddelande|Originalmeddelande|"
        r"Oorspronkelijk bericht|Forwarded message|Vidarebefordrat meddelande)\s*-{2,}$",
        re.I,
    ),
    re.compile(r"^_{10,}$"),
]
_OUTLOOK_FROM = re.compile(r"^\*?(From|Från|Van|Von):\*?\s", re.I)
_OUTLOOK_NEXT = re.compile(
    r"^\*?(Sent|Skickat|Verzonden|Gesendet|Date|Datum|To|Till|Aan):\*?\s", re.I
)


def strip_quoted_history(text: str) -> str:
    """The new part of a reply: everything above the quoted earlier messages.

    Cuts at our reply marker, an attribution line ("On ... wrote:", "Den ... skrev:",
    "Op ... schreef:"), an Outlook header block, or a trailing block of "> " lines. If that
    would leave nothing (someone answered inline, below the quote), the text stays whole.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        stripped = line.strip().lstrip("> ").strip()
        if stripped.startswith(REPLY_MARKER):
            cut = i
            break
        joined = " ".join(part.strip() for part in lines[i : i + 2])
        if any(p.match(stripped) for p in _ATTRIBUTION):
            cut = i
            break
        if (
            i + 1 < len(lines)
            and not line.startswith(">")
            and any(p.match(joined) for p in _ATTRIBUTION[:6])
        ):
            cut = i  # an attribution wrapped over two lines by the mail client
            break
        if _OUTLOOK_FROM.match(stripped) and any(
            _OUTLOOK_NEXT.match(nxt.strip()) for nxt in lines[i + 1 : i + 4]
        ):
            cut = i
            break
    head = lines[:cut]
    # A run of quoted lines at the end, with no new text after it, is history too.
    end = len(head)
    while end and (not head[end - 1].strip() or head[end - 1].lstrip().startswith(">")):
        end -= 1
    result = "\n".join(head[:end]).strip()
    return result or text.strip()


# --- Attachments -----------------------------------------------------------------------------

_FILENAME_BAD = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def _safe_filename(name: str | None, content_type: str, index: int) -> str:
    name = clean_text(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _FILENAME_BAD.sub("_", name).strip(" .")[:200]
    if not name:
        ext = mimetypes.guess_extension(content_type) or ".bin"
        name = f"attachment-{index}{ext}"
    return name


def _collect(
    part: Message,
    body_parts: set[int],
    max_bytes: int,
    kept: list[Attachment],
    skipped: list[SkippedAttachment],
    unreadable: list[str],
) -> None:
    content_type = part.get_content_type()
    disposition = (part.get_content_disposition() or "").lower()
    if content_type == "message/rfc822" and disposition == "attachment":
        inner = part.get_payload()
        inner_msg = inner[0] if isinstance(inner, list) and inner else None
        data = inner_msg.as_bytes() if isinstance(inner_msg, Message) else b""
        filename = _safe_filename(part.get_filename() or "forwarded.eml", content_type, 0)
        _keep(filename, "message/rfc822", data, max_bytes, kept, skipped)
        return
    if part.is_multipart():
        for sub in part.get_payload():  # type: ignore[union-attr]
            if isinstance(sub, Message):
                _collect(sub, body_parts, max_bytes, kept, skipped, unreadable)
        return
    if id(part) in body_parts:
        return
    if content_type in ("message/delivery-status", "text/rfc822-headers"):
        return
    if disposition != "attachment" and not part.get_filename():
        return
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return
    filename = _safe_filename(part.get_filename(), content_type, len(kept) + len(skipped) + 1)
    if content_type == "application/ms-tnef" or filename.lower() == "winmail.dat":
        files = _tnef_files(payload)
        if files is None:
            unreadable.append(filename)
        for name, data in files or []:
            _keep(name, _guess_type(name), data, max_bytes, kept, skipped)
        return
    _keep(filename, content_type, payload, max_bytes, kept, skipped)


def _tnef_files(data: bytes) -> list[tuple[str, bytes]] | None:
    """The files inside Outlook's TNEF ``winmail.dat``, or None when it cannot be read."""
    if not _tnef_complete(data):
        return None
    try:
        tnef = tnefparse.TNEF(data, do_checksum=False)
        files = []
        for index, attachment in enumerate(tnef.attachments, start=1):
            files.append((_safe_filename(_tnef_name(attachment), "", index), attachment.data))
    except Exception:  # tnefparse raises anything (ValueError, IndexError, struct.error...)
        return None
    return files


def _tnef_complete(data: bytes) -> bool:
    """Whether the objects' declared lengths add up to the data: tnefparse silently keeps
    a truncated ``winmail.dat`` (cut by a gateway), losing the files at its end."""
    offset = 6
    while offset + 9 <= len(data):
        (length,) = struct.unpack_from("<I", data, offset + 5)
        offset += 9 + length + 2
    return len(data) > 6 and offset == len(data)


def _tnef_name(attachment: tnefparse.tnef.TNEFAttachment) -> str:
    """The file's name; the short title is in Outlook's code page, which tnefparse reads
    as UTF-8 (and raises on "Löner.txt"), so it is decoded here when needed."""
    try:
        name = attachment.long_filename()
    except UnicodeDecodeError:
        name = attachment._name  # noqa: SLF001 - the raw bytes tnefparse failed to decode
    if isinstance(name, bytes):
        name = _decode_bytes(name.rstrip(b"\x00"))
    return str(name)


def _guess_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _keep(
    filename: str,
    content_type: str,
    data: bytes,
    max_bytes: int,
    kept: list[Attachment],
    skipped: list[SkippedAttachment],
) -> None:
    if len(data) > max_bytes:
        skipped.append(SkippedAttachment(filename=filename, size=len(data)))
    else:
        kept.append(Attachment(filename=filename, content_type=content_type, content=data))


# --- Machine-written mail --------------------------------------------------------------------


def _bounce(msg: Message) -> Bounce | None:
    """Failed recipients of a delivery-status report (RFC 3464), if this is one."""
    if msg.get_content_type() != "multipart/report":
        return None
    recipients: list[str] = []
    status = diagnostic = original = ""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            blocks = part.get_payload()
            for block in blocks if isinstance(blocks, list) else []:
                if not isinstance(block, Message):
                    continue
                recipient = _header(block, "Final-Recipient") or _header(
                    block, "Original-Recipient"
                )
                action = _header(block, "Action").lower()
                if recipient and action in ("failed", ""):
                    address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
                    if "@" in address:
                        recipients.append(address)
                    status = status or _header(block, "Status")
                    diagnostic = diagnostic or _header(block, "Diagnostic-Code")
        elif ctype in ("message/rfc822", "text/rfc822-headers") and not original:
            if ctype == "message/rfc822":
                inner = part.get_payload()
                headers = inner[0] if isinstance(inner, list) and inner else None
            else:
                payload = part.get_payload(decode=True)
                headers = BytesParser(policy=policy.default).parsebytes(
                    payload if isinstance(payload, bytes) else b"", headersonly=True
                )
            if isinstance(headers, Message):
                ids = _message_ids(_header(headers, "Message-ID"))
                original = ids[0] if ids else ""
    return Bounce(
        recipients=tuple(dict.fromkeys(recipients)),
        status=status[:20],
        diagnostic=diagnostic[:500],
        original_message_id=original,
    )


def detect_automation(msg: Message, from_address: str) -> tuple[Automation | None, bool]:
    """``(why a machine sent it or None, whether it asks for no automatic response)``."""

    def value(name: str) -> str:
        return _header(msg, name).strip().lower()

    localpart = from_address.split("@", 1)[0]
    suppress = bool(
        {v.strip() for v in value("X-Auto-Response-Suppress").split(",")} & _AUTO_RESPONSE_SUPPRESS
    )
    if value(LOOP_HEADER):
        return Automation.OWN_MAIL, True
    if msg.get_content_type() == "multipart/report" or _BOUNCE_LOCALPARTS.match(localpart):
        return Automation.BOUNCE, True
    auto_submitted = value("Auto-Submitted")
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return Automation.AUTO_REPLY, True
    if value("X-Autoreply") or value("X-Autorespond") or value("X-Auto-Reply"):
        return Automation.AUTO_REPLY, True
    precedence = value("Precedence")
    if precedence == "auto_reply":
        return Automation.AUTO_REPLY, True
    if precedence in ("bulk", "list", "junk"):
        return Automation.BULK, True
    if any(value(h) for h in ("List-Id", "List-Unsubscribe", "List-Post", "Feedback-ID")):
        return Automation.BULK, True
    if _NO_REPLY_LOCALPARTS.match(localpart):
        return Automation.NO_REPLY_SENDER, True
    if value("Return-Path") == "<>":
        # RFC 3834: automatic responses go out with an empty envelope sender.
        return Automation.AUTO_REPLY, True
    return None, suppress


def parse_envelope(raw: bytes) -> tuple[str, str, str]:
    """``(Message-ID, sender address, subject)`` from the headers alone, to store a message
    before parsing it; the Message-ID is derived from the bytes when there is none."""
    msg = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    ids = _message_ids(_header(msg, "Message-ID"))
    senders = _addresses(msg, "From") or _addresses(msg, "Sender")
    return (
        ids[0] if ids else derived_message_id(raw),
        senders[0][1] if senders else "",
        _header(msg, "Subject")[:500],
    )


# --- Putting it together ---------------------------------------------------------------------


def parse_message(raw: bytes, *, max_attachment_bytes: int = MAX_ATTACHMENT_BYTES) -> ParsedEmail:
    """Everything the e-mail channel uses from one raw message. Never raises on bad mail."""
    msg: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[assignment]

    message_id = _message_ids(_header(msg, "Message-ID"))
    derived = not message_id
    senders = _addresses(msg, "From") or _addresses(msg, "Sender")
    if senders:
        from_name, from_address = senders[0]
    else:
        from_name, from_address = parseaddr(_header(msg, "Return-Path"))
        from_address = from_address.lower()
    try:
        date = parsedate_to_datetime(_header(msg, "Date")) if _header(msg, "Date") else None
        if date is not None and date.tzinfo is None:
            date = None
    except (TypeError, ValueError, IndexError):
        date = None

    try:
        plain = msg.get_body(preferencelist=("plain",))
        rich = msg.get_body(preferencelist=("html",))
    except Exception:  # a structure the policy cannot walk: treat the whole as text
        plain, rich = msg, None
    if msg.get_content_type() == "multipart/report":
        plain = next((p for p in msg.walk() if p.get_content_type() == "text/plain"), plain)
    clean_html = sanitize_html(_part_text(rich)) if rich is not None else ""
    texts = _inline_texts(msg, plain) if plain is not None else []
    if texts:
        text = "\n\n".join(t for t in (_part_text(p).strip() for p in texts) if t)
    else:
        text = html_to_text(clean_html)
    text = clean_text(text).strip()

    kept: list[Attachment] = []
    skipped: list[SkippedAttachment] = []
    unreadable: list[str] = []
    body_ids = {id(p) for p in (*texts, rich) if p is not None}
    _collect(msg, body_ids, max_attachment_bytes, kept, skipped, unreadable)

    automation, suppress = detect_automation(msg, from_address)
    return ParsedEmail(
        message_id=message_id[0] if message_id else derived_message_id(raw),
        message_id_derived=derived,
        in_reply_to=_message_ids(_header(msg, "In-Reply-To")),
        references=_message_ids(_header(msg, "References")),
        from_address=from_address,
        from_name=from_name.strip(),
        to=tuple(a for _n, a in _addresses(msg, "To")),
        cc=tuple(a for _n, a in _addresses(msg, "Cc")),
        subject=_header(msg, "Subject")[:500],
        date=date,
        text=text,
        reply_text=strip_quoted_history(text),
        html=clean_html,
        attachments=kept,
        skipped_attachments=skipped,
        unreadable_attachments=unreadable,
        automation=automation,
        suppress_auto_reply=suppress or automation is not None,
        bounce=_bounce(msg) if automation == Automation.BOUNCE else None,
    )


_REPLY_PREFIX = re.compile(
    r"^\s*((re|sv|aw|antw|fw|fwd|vs|vb|doorst|wg)\s*(\[\d+\])?\s*:\s*)+", re.I
)


def clean_subject(subject: str) -> str:
    """A subject without "Re:"/"SV:"/"Fwd:" prefixes, for a new ticket's title."""
    return _REPLY_PREFIX.sub("", subject).strip()


def references_in(subject: str, prefix: str) -> list[str]:
    """Ticket references such as ``SO-1042`` in a subject, for a tenant's prefix."""
    pattern = re.compile(rf"(?<![A-Za-z0-9]){re.escape(prefix)}-(\d+)(?![A-Za-z0-9])", re.I)
    return [f"{prefix}-{number}" for number in pattern.findall(subject)]
