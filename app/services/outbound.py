"""Replies from the console: built with threading headers, archived in their ticket, sent by SMTP.

A reply answers the ticket's latest message from a person (never a bounce or an
auto-reply, so two robots cannot answer each other). It carries a new Message-ID,
In-Reply-To and References naming the message it answers, and the ticket's subject tag,
so the customer's answer threads back by header or, failing that, by tag. The exact
bytes sent are archived first (in the caller's transaction) and then handed to the
SMTP server; if sending fails the caller rolls back, so the archive never shows a
reply that did not leave.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Agent, Message, Ticket
from app.rawstore import RawStore, sha256_hex
from app.services.errors import ServiceError
from app.services.tickets import record_event
from mailbox.ingest import Archiver, Seen
from mailbox.linking import tagged_ticket_ids, ticket_tag

MAX_REPLY_CHARS = 100_000
_SCHEMES = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "tls"}
_DEFAULT_PORTS = {"plain": 25, "starttls": 587, "tls": 465}


@dataclass(frozen=True)
class PickupFolder:
    """Development's outbound mail: each message is written to a folder as an .eml file."""

    path: Path

    def send(self, raw: bytes, sender: str, recipients: list[str]) -> None:
        """Write the message as the next file of the folder, or say why it cannot be written."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{sha256_hex(raw)[:12]}.eml"
            (self.path / name).write_bytes(raw)
        except OSError as exc:
            raise ServiceError(f"the reply could not be written to {self.path} ({exc.strerror or exc})")


def outbound_transport(url: str | None, timeout: float = 30) -> SmtpServer | PickupFolder:
    """Return where replies go: an SMTP server, or a folder for ``file:///path`` URLs."""
    if url and url.startswith("file://"):
        return PickupFolder(Path(unquote(urlsplit(url).path)))
    return SmtpServer.from_url(url, timeout)


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: str  # plain, starttls or tls
    username: str | None = None
    password: str | None = None
    timeout: float = 30

    @classmethod
    def from_url(cls, url: str | None, timeout: float = 30) -> SmtpServer:
        """Read ``smtp://``, ``smtp+starttls://`` or ``smtps://`` URLs, or say what is wrong."""
        if not url:
            raise ServiceError("outbound mail is not configured: set SMTP_URL (e.g. smtp://mail.example:25)")
        parts = urlsplit(url)
        security = _SCHEMES.get(parts.scheme)
        if security is None or not parts.hostname:
            raise ServiceError("SMTP_URL must look like smtp://host:25, smtp+starttls://user:pw@host:587, "
                               "smtps://user:pw@host:465 or file:///folder")
        try:
            port = parts.port or _DEFAULT_PORTS[security]
        except ValueError:
            raise ServiceError("SMTP_URL names a port that is not a number")
        return cls(parts.hostname, port, security, unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None, timeout)

    def send(self, raw: bytes, sender: str, recipients: list[str]) -> None:
        """Hand the message to the server, or raise ``ServiceError`` saying why it was not sent."""
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.sendmail(sender, recipients, raw)
        except smtplib.SMTPRecipientsRefused as exc:
            raise ServiceError(f"the mail server refused the recipient {', '.join(exc.recipients)}")
        except smtplib.SMTPException as exc:
            raise ServiceError(f"the mail server {self.host}:{self.port} did not accept the reply: {exc}")
        except OSError as exc:
            raise ServiceError(f"the mail server {self.host}:{self.port} cannot be reached "
                               f"({exc.strerror or exc}); the reply was not sent")

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                    context=ssl.create_default_context())
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp


@dataclass(frozen=True)
class ReplySettings:
    server: SmtpServer | PickupFolder
    support_address: str
    tag_prefix: str


def message_to_answer(session: Session, ticket: Ticket) -> Message:
    """Return the ticket's latest inbound message from a person, or say there is none."""
    message = session.scalar(
        select(Message)
        .where(Message.ticket_id == ticket.id, Message.direction == "inbound",
               Message.auto_reason.is_(None), Message.quarantined.is_(False), Message.from_addr != "")
        .order_by(Message.date_utc.desc(), Message.id.desc())
        .limit(1)
    )
    if message is None:
        raise ServiceError("this ticket has no message from a person to answer "
                           "(bounces and auto-replies are never answered)")
    return message


def reply_subject(ticket: Ticket, answering: Message, tag_prefix: str) -> str:
    """Return "Re: <subject> [SD-n]", keeping a Re: and a tag that are there already."""
    subject = " ".join((answering.subject or ticket.subject or "").split())
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}".strip()
    if ticket.id not in tagged_ticket_ids(tag_prefix, subject):
        subject = f"{subject} {ticket_tag(tag_prefix, ticket.id)}"
    return subject


def build_reply(ticket: Ticket, answering: Message, agent: Agent, body: str,
                settings: ReplySettings) -> bytes:
    """Return the reply's bytes, with CRLF line endings as SMTP carries them."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((agent.name, settings.support_address))
    msg["To"] = answering.from_addr
    msg["Subject"] = reply_subject(ticket, answering, settings.tag_prefix)
    msg["Date"] = format_datetime(datetime.now(UTC))
    domain = settings.support_address.rpartition("@")[2] or None
    msg["Message-ID"] = make_msgid(domain=domain)
    if answering.message_id_header:
        parent = f"<{answering.message_id_header}>"
        msg["In-Reply-To"] = parent
        references = [f"<{r}>" for r in answering.references_ids.split()] + [parent]
        msg["References"] = " ".join(references)
    msg.set_content(body)
    return msg.as_bytes()


def send_reply(session: Session, store: RawStore, ticket: Ticket, agent: Agent, body: str,
               settings: ReplySettings) -> Message:
    """Archive a reply in the ticket and send it; the caller commits, or rolls back on error."""
    body = body.strip()
    if not body:
        raise ServiceError("the reply is empty")
    if len(body) > MAX_REPLY_CHARS:
        raise ServiceError(f"the reply is longer than {MAX_REPLY_CHARS} characters")
    answering = message_to_answer(session, ticket)
    raw = build_reply(ticket, answering, agent, body + "\n", settings)
    archiver = Archiver(session, store, tag_prefix=settings.tag_prefix, direction="outbound", ticket=ticket)
    sha = sha256_hex(raw)
    result = archiver.archive([(raw, Seen(source=f"sent:ticket {ticket.id} sha256:{sha}"))])
    sent = session.get(Message, result.new_message_ids[0])
    record_event(session, ticket, agent, "reply", f"reply sent to {answering.from_addr}", message=sent)
    session.flush()
    settings.server.send(raw, settings.support_address, [answering.from_addr])
    return sent
