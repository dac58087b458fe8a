"""Messages sent through the public contact form, archived as mail from the sender.

The form's fields become an RFC 5322 message from the sender to the support address,
archived through ``Archiver.archive`` as the poller archives mail: linked to an account
by the sender's address, threaded (a new ticket, or the ticket whose tag its subject
carries when the sender belongs to that ticket's account), indexed and exported alike.

Each form page carries a one-time nonce. The message's location, and so its identity in
the archive, derives from that nonce and the words sent: the same form posted again (a
double click, a reload, a robot's burst) finds its location recorded and archives
nothing, while a visitor who goes back and changes the text sends a second message.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from hashlib import sha256

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Message, MessageLocation
from app.rawstore import RawStore
from app.services.communications import is_address
from app.services.errors import ServiceError
from mailbox.ingest import Archiver, Provenance, Seen

MAX_NAME_CHARS = 200
MAX_SUBJECT_CHARS = 200
MAX_TEXT_CHARS = 20_000
_NONCE = re.compile(r"[0-9a-f]{32}")
FORM = Provenance(channel="form")


@dataclass(frozen=True)
class ContactMessage:
    name: str
    address: str
    subject: str
    text: str


def new_nonce() -> str:
    """Return a nonce for one contact form page."""
    return secrets.token_hex(16)


def check_message(sent: ContactMessage, nonce: str) -> None:
    """Raise ``ServiceError`` with one sentence saying what is wrong with a contact message."""
    if not _NONCE.fullmatch(nonce):
        raise ServiceError("this form is not one this site gave out; reload the page and send it again")
    if not sent.name.strip() or len(sent.name) > MAX_NAME_CHARS:
        raise ServiceError(f"give your name, in at most {MAX_NAME_CHARS} characters")
    if not is_address(sent.address.strip()):
        raise ServiceError("give an email address we can answer at, such as ann@example.com")
    if not sent.subject.strip() or len(sent.subject) > MAX_SUBJECT_CHARS:
        raise ServiceError(f"give a subject, in at most {MAX_SUBJECT_CHARS} characters")
    if not sent.text.strip() or len(sent.text) > MAX_TEXT_CHARS:
        raise ServiceError(f"write your message, in at most {MAX_TEXT_CHARS} characters")


def form_location(nonce: str, sent: ContactMessage) -> str:
    """Return where a form's message is recorded as seen: its nonce and a hash of its words."""
    fields = (sent.name, sent.address.lower(), sent.subject, sent.text)
    words = "\0".join(text.strip() for text in fields)
    return f"contact form:{nonce} sha256:{sha256(words.encode()).hexdigest()[:16]}"


def build_contact_message(sent: ContactMessage, nonce: str, location: str, support_address: str,
                          now: datetime) -> bytes:
    """Return the contact message as RFC 5322 bytes, from the sender to the support address."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((" ".join(sent.name.split()), sent.address.strip()))
    msg["To"] = support_address
    msg["Subject"] = " ".join(sent.subject.split())
    msg["Date"] = format_datetime(now.replace(tzinfo=UTC))
    domain = support_address.rpartition("@")[2] or "desk.invalid"
    msg["Message-ID"] = f"<contact.{nonce}.{location[-16:]}@{domain}>"
    msg["X-Desk-Channel"] = "form"
    msg.set_content(sent.text.strip() + "\n")
    return msg.as_bytes()


def archive_contact_message(session: Session, store: RawStore, nonce: str, sent: ContactMessage, *,
                            support_address: str, tag_prefix: str, now: datetime) -> Message | None:
    """Archive a contact message once; return it, or None when this form sent it already.

    Two requests with the same form at the same moment both pass the check here; the
    location's unique key lets one commit, and the caller treats the other's
    ``IntegrityError`` as the same message sent twice.
    """
    check_message(sent, nonce)
    location = form_location(nonce, sent)
    raw = build_contact_message(sent, nonce, location, support_address, now)
    archiver = Archiver(session, store, tag_prefix=tag_prefix, provenance=FORM)
    result = archiver.archive([(raw, Seen(source=location))])
    if not result.new_message_ids:
        return None
    return session.get(Message, result.new_message_ids[0])


def was_archived(session: Session, nonce: str, sent: ContactMessage) -> bool:
    """Say whether this form's message is in the archive."""
    location = form_location(nonce, sent)
    return session.scalar(select(MessageLocation.id).where(MessageLocation.source == location)) is not None
