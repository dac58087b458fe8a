"""Raw message bytes to a ``ParsedMessage``: pure, no I/O, nothing but the standard
library and ``mailbox.text``.

It parses with the ``compat32`` policy and decodes the few headers it needs itself.
``policy.default`` builds a full parse tree for every header it is asked for, which
is where most of its time goes, and it raises on some malformed headers; here every
field is read defensively, a field that cannot be read becomes a defect note, and
only a message with no header section at all is refused (``ParseError``), because
there is nothing in it to link, thread or search.
"""

from __future__ import annotations

import email.header
import email.parser
import email.utils
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import Message

from mailbox.errors import MailboxError
from mailbox.text import decode_bytes, html_to_text
from mailbox.tokens import TokenFinder

# A body, or a header, beyond this many characters is cut for storage and indexing;
# the raw bytes keep all of it. Headers are otherwise kept whole: real mail has To
# headers of 20,000 characters, and every address in them must stay searchable.
MAX_TEXT_CHARS = 1_000_000
MAX_ID_CHARS = 995
_MSGID = re.compile(r"<([^<>\s]+)>")
_WS = re.compile(r"\s+")
_OBS_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]+:", re.M)
# An attachment that begins like a message (an optional mbox "From " line, then a header
# field) is read as one when looking for link tokens: a forward or a bounce as a file.
_MESSAGE_START = re.compile(rb"(?:From [^\n]*\n)?[!-9;-~]+:")
_NESTED_MESSAGES = 3


class ParseError(MailboxError):
    """The bytes cannot be read as a mail message at all; the reason says why."""


@dataclass(frozen=True)
class AttachmentInfo:
    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass
class ParsedMessage:
    subject: str = ""
    from_addr: str = ""
    from_name: str = ""
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    date_utc: datetime | None = None
    date_offset_minutes: int | None = None
    message_id: str | None = None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    text: str = ""
    html: str | None = None
    attachments: list[AttachmentInfo] = field(default_factory=list)
    auto_reason: str | None = None
    # The Content-Language the sender's mail program declared (RFC 3282), as written.
    content_language: str | None = None
    # Message-IDs named inside a delivery report: the mail that bounced.
    report_refs: tuple[str, ...] = ()
    defects: list[str] = field(default_factory=list)
    # Every string of the message that could be a customer link's token (mailbox.tokens),
    # when asked for.
    token_candidates: set[str] = field(default_factory=set)

    @property
    def sender_domain(self) -> str:
        return self.from_addr.rpartition("@")[2]


def parse_message(raw: bytes, *, find_tokens: bool = False) -> ParsedMessage:
    """Parse raw RFC 5322 bytes; raise ``ParseError`` only when there is no message to read.

    With ``find_tokens``, also collect ``token_candidates`` (what archiving needs, and
    showing a message does not).
    """
    msg = _message_tree(raw)
    parsed = ParsedMessage()
    _read_headers(msg, parsed)
    _read_body(msg, parsed)
    parsed.auto_reason = _auto_reason(msg)
    if parsed.auto_reason:
        _read_returned_message(msg, parsed)
    parsed.defects.extend(sorted({type(d).__name__ for part in msg.walk() for d in part.defects}))
    if find_tokens:
        parsed.token_candidates = _tokens_in_tree(raw, msg, 0)
    return parsed


def token_candidates(raw: bytes) -> set[str]:
    """Return every string of a message that could be a link token, readable as mail or not."""
    try:
        return _tokens_in_tree(raw, _message_tree(raw), 0)
    except Exception:  # not readable as mail (a quarantined message): its bytes as they stand
        finder = TokenFinder()
        finder.add_bytes(raw)
        finder.add_text(raw.decode("latin-1"))
        return finder.candidates


def _tokens_in_tree(raw: bytes, msg: Message, depth: int) -> set[str]:
    """Look for link tokens in the headers and every decoded part, nested messages included."""
    finder = TokenFinder()
    finder.add_bytes(_header_section(raw)[0])
    for part in msg.walk():
        try:
            _tokens_in_part(part, part is msg, finder, depth)
        except Exception:  # a part that cannot be read is looked at as it stands
            finder.add_text(str(part.get_payload()))
    return finder.candidates


def _tokens_in_part(part: Message, top: bool, finder: TokenFinder, depth: int) -> None:
    if not top:
        for value in part.values():
            finder.add_text(header_text(value))
    if part.is_multipart():
        return
    payload = part.get_payload(decode=True) or b""
    if part.get_content_maintype() in ("text", "message"):
        finder.add_text(decode_bytes(payload, part.get_content_charset())[0])
        return
    finder.add_bytes(payload)
    if depth < _NESTED_MESSAGES and _MESSAGE_START.match(payload):
        try:
            finder.candidates |= _tokens_in_tree(payload, _message_tree(payload), depth + 1)
        except ParseError:
            pass


def attachment_parts(raw: bytes) -> Iterator[tuple[Message, str]]:
    """Yield each part ``parse_message`` lists as an attachment, with its file name.

    Raise ``ParseError`` when the bytes hold no message to read; a part whose type or
    name cannot be read is skipped, as ``parse_message`` leaves it out of the list.
    """
    for part in _message_tree(raw).walk():
        if part.is_multipart():
            continue
        try:
            filename = _part_filename(part)
            listed = _is_attachment(part, _shown_type(part), filename)
        except Exception:
            continue
        if listed:
            yield part, filename


def attachment_payload(raw: bytes, sha256: str) -> bytes | None:
    """Return the decoded bytes of the attachment ``parse_message`` lists with this SHA-256, or None."""
    wanted = sha256.strip().lower()
    try:
        for part, _ in attachment_parts(raw):
            try:  # as in _read_body: a part that cannot be read is skipped, not fatal
                payload = part.get_payload(decode=True) or b""
            except Exception:
                continue
            if hashlib.sha256(payload).hexdigest() == wanted:
                return payload
    except ParseError:
        return None
    return None


def _message_tree(raw: bytes) -> Message:
    if not raw.strip():
        raise ParseError("the message is empty")
    try:
        msg = email.parser.BytesParser(policy=policy.compat32).parsebytes(raw)
    except Exception as exc:  # the feed parser is lenient; anything it raises is a bug in the mail
        raise ParseError(f"the MIME structure cannot be read: {exc}") from exc
    if not msg.keys() or _has_obsolete_fields(raw):
        msg = _parse_obsolete_fields(raw)
    return msg


def _header_section(raw: bytes) -> tuple[bytes, bytes, bytes]:
    return raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")


def _has_obsolete_fields(raw: bytes) -> bool:
    return _OBS_FIELD.search(_header_section(raw)[0]) is not None


def _parse_obsolete_fields(raw: bytes) -> Message:
    """Reparse a message whose header names are followed by spaces before the colon.

    RFC 5322 section 4.5 (obs-optional) allows "Subject :"; the standard library does
    not read it.  Only the copy handed to the parser changes; the archive keeps the raw bytes.
    """
    head, sep, body = _header_section(raw)
    fixed = _OBS_FIELD.sub(rb"\1:", head) + sep + body
    msg = email.parser.BytesParser(policy=policy.compat32).parsebytes(fixed)
    if not msg.keys():
        raise ParseError(
            "no header fields were found at the start: the data does not look like an email message"
        )
    msg.defects.append(ObsoleteHeaderSyntax())
    return msg


class ObsoleteHeaderSyntax(Exception):
    """Defect note: header names were followed by white space before the colon."""


def _read_headers(msg: Message, parsed: ParsedMessage) -> None:
    parsed.subject = header_text(msg.get("subject", ""))
    senders = _addresses(msg, "from") or _addresses(msg, "sender")
    if senders:
        parsed.from_name, parsed.from_addr = senders[0]
    parsed.to = tuple(addr for _, addr in _addresses(msg, "to"))
    parsed.cc = tuple(addr for _, addr in _addresses(msg, "cc"))
    parsed.date_utc, parsed.date_offset_minutes = _date(msg.get("date"), parsed.defects)
    ids = message_ids(msg.get("message-id", ""))
    parsed.message_id = ids[0] if ids else None
    parsed.in_reply_to = tuple(message_ids(msg.get("in-reply-to", "")))
    parsed.references = tuple(message_ids(" ".join(str(v) for v in msg.get_all("references", []))))
    parsed.content_language = header_text(msg.get("content-language")) or None


def header_text(value: object) -> str:
    """Decode a raw header value (RFC 2047 words, stray 8-bit bytes) to one line of text."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        value = _header_to_raw(value)
    value = str(value)
    if _has_surrogates(value):
        value = decode_bytes(value.encode("ascii", "surrogateescape"))[0]
    if "=?" in value:
        # Unfolded first: the standard library drops the folding white space between an
        # encoded word and the plain word on the next line ("=?utf-8?q?r=C3=A9sum=C3=A9?=
        # CRLF SP power" would read "résumépower").
        value = _decode_words(_WS.sub(" ", value))
    return _WS.sub(" ", value).strip()[:MAX_TEXT_CHARS]


def _header_to_raw(header: email.header.Header) -> str:
    chunks = []
    for chunk, _charset in header._chunks:  # compat32 wraps 8-bit header bytes this way
        if isinstance(chunk, str) and _has_surrogates(chunk):
            chunk = decode_bytes(chunk.encode("ascii", "surrogateescape"))[0]
        chunks.append(str(chunk))
    return "".join(chunks)


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _decode_words(value: str) -> str:
    try:
        parts = email.header.decode_header(value)
    except Exception:  # malformed encoded words: show them as they were sent
        return value
    return "".join(
        chunk if isinstance(chunk, str) else decode_bytes(chunk, charset)[0]
        for chunk, charset in parts
    )


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    found = []
    for value in (header_text(v) for v in msg.get_all(name, [])):
        read = []
        for display, addr in email.utils.getaddresses([value]):
            addr = addr.strip().strip("<>").lower()
            local, at, domain = addr.rpartition("@")
            if local and domain:
                read.append((display.strip(), addr[:320]))
        # Only a header with more "@" than addresses read can hold one the parser missed.
        written = [a.lower()[:320] for a in _ADDRESS.findall(value)] if value.count("@") > len(read) else []
        if len(read) < len(written):
            # A header the address parser misreads ("To: tim@a.example ops@a.example",
            # without commas): every address written in it is kept, so each is found.
            known = {addr for _, addr in read}
            read += [("", addr) for addr in dict.fromkeys(written) if addr not in known]
        found += read
    return found


# What anyone reading a header sees as an address: no spaces, brackets, quotes or commas.
_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"@]+@[^\s<>()\[\],;:\"@]+[^\s<>()\[\],;:\"@.]")


def _date(value: object, defects: list[str]) -> tuple[datetime | None, int | None]:
    if value is None:
        return None, None
    try:
        when = email.utils.parsedate_to_datetime(header_text(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append("unreadable Date header")
        return None, None
    if 100 <= when.year < 1000:  # obs-year: three digits count from 1900 (RFC 5322 4.3)
        when = when.replace(year=when.year + 1900)
    if not 1900 <= when.year <= 2200:
        defects.append(f"implausible Date year {when.year}")
        return None, None
    if when.tzinfo is None:  # "-0000": the offset is unknown (RFC 5322 section 3.3)
        return when, None
    offset = when.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else None
    return when.astimezone(UTC).replace(tzinfo=None), minutes


def message_ids(value: object) -> list[str]:
    """Return the Message-IDs in a header value, in order, without angle brackets."""
    text = header_text(value) if value else ""
    ids = _MSGID.findall(text)
    if not ids and text.strip():
        ids = [text.split()[0].strip("<>")]  # senders omit the brackets; keep the token
    return [i[:MAX_ID_CHARS] for i in ids if i]


def _read_body(msg: Message, parsed: ParsedMessage) -> None:
    texts: list[str] = []
    htmls: list[str] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        try:
            _read_part(part, parsed, texts, htmls)
        except Exception as exc:  # one unreadable part must not cost the rest of the message
            parsed.defects.append(f"unreadable {part.get_content_type()} part: {exc}")
    if htmls:
        parsed.html = "\n".join(htmls)
    text = "\n\n".join(texts) if texts else html_to_text(parsed.html or "")
    if len(text) > MAX_TEXT_CHARS:
        parsed.defects.append(f"text cut to {MAX_TEXT_CHARS} characters for the index")
        text = text[:MAX_TEXT_CHARS]
    parsed.text = text


def _read_part(part: Message, parsed: ParsedMessage, texts: list[str], htmls: list[str]) -> None:
    filename = _part_filename(part)
    payload = part.get_payload(decode=True) or b""
    if part.get_content_type() in ("text/rfc822-headers", "message/delivery-status"):
        _read_report_part(payload, parsed)
    ctype = _shown_type(part)
    if not _is_attachment(part, ctype, filename):
        text, note = decode_bytes(payload, part.get_content_charset())
        if note:
            parsed.defects.append(note)
        if text.strip():
            (texts if ctype == "text/plain" else htmls).append(text)
        return
    parsed.attachments.append(
        AttachmentInfo(
            filename=filename[:1000],
            content_type=ctype,
            size=len(payload),
            sha256=hashlib.sha256(payload).hexdigest(),
        )
    )


def _part_filename(part: Message) -> str:
    return header_text(part.get_filename() or "")


def _shown_type(part: Message) -> str:
    ctype = part.get_content_type()
    if ctype.startswith("multipart/"):
        # The declared boundary never appears, so the parser could not split the
        # parts; the body is still text a person wrote, so read it as plain text.
        return "text/plain"
    return ctype


def _is_attachment(part: Message, ctype: str, filename: str) -> bool:
    """A leaf part is body text only when it is plain or HTML text, not marked as an attachment
    and not named; everything else is listed as an attachment."""
    is_body_text = ctype in ("text/plain", "text/html") and part.get_content_disposition() != "attachment"
    return not (is_body_text and not filename)


def _read_report_part(payload: bytes, parsed: ParsedMessage) -> None:
    headers = email.parser.BytesHeaderParser(policy=policy.compat32).parsebytes(payload)
    original = message_ids(headers.get("message-id", ""))
    if original:
        parsed.report_refs = tuple(dict.fromkeys(parsed.report_refs + tuple(original)))


def _read_returned_message(msg: Message, parsed: ParsedMessage) -> None:
    """Note the Message-ID of a bounced message that a report carries whole."""
    for part in msg.walk():
        if part.get_content_type() == "message/rfc822" and part.is_multipart():
            inner = part.get_payload(0)
            ids = message_ids(inner.get("message-id", ""))
            parsed.report_refs = tuple(dict.fromkeys(parsed.report_refs + tuple(ids)))


def _auto_reason(msg: Message) -> str | None:
    auto = header_text(msg.get("auto-submitted", "")).lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    ctype = msg.get_content_type()
    report = (msg.get_param("report-type") or "").lower() if ctype == "multipart/report" else ""
    if report == "delivery-status":
        return "delivery status report (bounce)"
    if report:
        return f"automatic report ({report})"
    if msg.get("x-failed-recipients"):
        return "delivery failure (X-Failed-Recipients)"
    for name in ("x-autoreply", "x-autorespond"):
        if msg.get(name):
            return f"{name.title()} header"
    precedence = header_text(msg.get("precedence", "")).lower()
    if precedence == "auto_reply":
        return f"Precedence: {precedence}"
    return None
