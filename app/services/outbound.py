"""Replies from the console: built with threading headers, archived in their ticket, sent by SMTP.

A reply answers the ticket's latest message from a person (never a bounce or an
auto-reply, so two robots cannot answer each other). It carries a new Message-ID,
In-Reply-To and References naming the message it answers, and the ticket's subject tag,
so the customer's answer threads back by header or, failing that, by tag. The exact
bytes sent are archived first (in the caller's transaction) and then handed to the
SMTP server; if sending fails the caller rolls back, so the archive never shows a
reply that did not leave.

A reply leaves through the mailbox the customer wrote to when that mailbox has an SMTP
server of its own (``Mailbox.smtp_host``): it signs in as the mailbox's account, with its
password or, for OAuth2 mailboxes, an access token over SASL XOAUTH2 or OAUTHBEARER, and
comes from the mailbox's address. Otherwise it leaves through ``SMTP_URL`` from
``SUPPORT_ADDRESS``.

A reply may copy others in: Cc addresses stand in its headers, Bcc addresses only in the
SMTP envelope, so the bytes archived and the bytes every recipient gets are the same and
name no Bcc recipient; the ticket's history says whom it was sent to, Bcc included. Files
go as MIME attachments of their exact bytes, and the agent's signature below the text
(``app.services.compose``).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Agent, Mailbox, MailboxFolder, Message, MessageLocation, Ticket
from app.rawstore import RawStore, sha256_hex
from app.services.communications import Upload
from app.services.compose import check_copies, check_files, content_type, signed
from app.services.errors import ServiceError
from app.services.mail_text import wrap_body
from app.services.tickets import record_event
from mailbox.errors import MailboxError
from mailbox.ingest import Archiver, Seen
from mailbox.linking import tagged_ticket_ids, ticket_tag
from mailbox.source import TokenProvider, sign_in_with_token

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
    password: str | None = field(default=None, repr=False)  # never in a log line or a traceback
    timeout: float = 30
    # For a mailbox's own OAuth2 account, in place of the password.
    tokens: TokenProvider | None = None
    mechanism: str = "XOAUTH2"

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
                if self.tokens is not None:
                    self._sign_in_with_token(smtp)
                elif self.username:
                    smtp.login(self.username, self.password or "")
                smtp.sendmail(sender, recipients, raw)
        except smtplib.SMTPRecipientsRefused as exc:
            raise ServiceError(f"the mail server refused the recipient {', '.join(exc.recipients)}")
        except smtplib.SMTPException as exc:
            raise ServiceError(f"the mail server {self.host}:{self.port} did not accept the reply: {exc}")
        except MailboxError as exc:  # the mailbox's OAuth2 sign-in could not be renewed
            raise ServiceError(f"the reply was not sent: {exc}")
        except OSError as exc:
            raise ServiceError(f"the mail server {self.host}:{self.port} cannot be reached "
                               f"({exc.strerror or exc}); the reply was not sent")

    def _sign_in_with_token(self, smtp: smtplib.SMTP) -> None:
        """SASL XOAUTH2 or OAUTHBEARER (RFC 7628) with the initial response."""
        smtp.ehlo_or_helo_if_needed()

        def sign_in(token: str) -> None:
            if self.mechanism == "OAUTHBEARER":
                answer = f"n,a={self.username},\x01auth=Bearer {token}\x01\x01"
            else:
                answer = f"user={self.username}\x01auth=Bearer {token}\x01\x01"
            # After a refusal the server sends an error as a challenge and wants an empty line.
            smtp.auth(self.mechanism, lambda challenge=None: answer if challenge is None else "")

        sign_in_with_token(self.tokens, sign_in, smtplib.SMTPAuthenticationError)

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                    context=ssl.create_default_context())
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp


def automatic_email(sender: Address, to: str, subject: str, body: str) -> bytes:
    """Return an email the desk writes by itself (a notice, a link, an alert), ready for SMTP.

    It comes from the desk's name and address (``desk_sender``); the header is encoded as
    RFC 2047 asks when the name is not ASCII. The body is wrapped at 78 characters, URLs
    whole. ``Auto-Submitted: auto-generated`` (RFC 3834) keeps out-of-office replies from
    answering it.
    """
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=sender.domain or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(wrap_body(body))
    return msg.as_bytes()


def desk_sender(config: Mapping) -> Address:
    """Return the From of the desk's own emails: ``DESK_NAME <SUPPORT_ADDRESS>``."""
    return Address(display_name=config["DESK_NAME"], addr_spec=config["SUPPORT_ADDRESS"])


@dataclass(frozen=True)
class ReplySettings:
    server: SmtpServer | PickupFolder
    support_address: str
    tag_prefix: str
    # The token provider of an OAuth2 mailbox, for replies through its own account.
    tokens_for: Callable[[Mailbox], TokenProvider] | None = None
    read_password: Callable[[str], str | None] | None = None
    # The most the files of one reply may weigh together (REPLY_ATTACHMENT_MAX_MB).
    attachment_max_bytes: int = 10 * 2 ** 20


_SECURITY = {"ssl": "tls", "starttls": "starttls", "none": "plain"}


def mailbox_written_to(session: Session, ticket: Ticket) -> Mailbox | None:
    """Return the mailbox where the ticket's first inbound message was found, if one was."""
    return session.scalar(
        select(Mailbox).join(MailboxFolder, MailboxFolder.mailbox_id == Mailbox.id)
        .join(MessageLocation, MessageLocation.folder_id == MailboxFolder.id)
        .join(Message, Message.id == MessageLocation.message_id)
        .where(Message.ticket_id == ticket.id, Message.direction == "inbound")
        .order_by(Message.id).limit(1))


def reply_route(session: Session, ticket: Ticket,
                settings: ReplySettings) -> tuple[SmtpServer | PickupFolder, str]:
    """Return the server a reply to the ticket leaves through and the address it comes from."""
    mailbox = mailbox_written_to(session, ticket)
    if mailbox is None or not mailbox.smtp_host:
        return settings.server, settings.support_address
    # The account's own address, where its sign-in name is one (at Microsoft and Google it is).
    sender = mailbox.username if "@" in mailbox.username else settings.support_address
    common = dict(host=mailbox.smtp_host, port=mailbox.smtp_port or 587,
                  security=_SECURITY.get(mailbox.smtp_security or "starttls", "starttls"),
                  username=mailbox.username)
    if mailbox.uses_oauth:
        if settings.tokens_for is None or not mailbox.connected:
            raise ServiceError(f"the mailbox {mailbox.name} this ticket came through is not connected, "
                               "so the reply cannot leave from its address; an administrator must "
                               "reconnect it")
        tokens = settings.tokens_for(mailbox)
        # Any refresh happens now, before the reply is archived: a provider that rotates refresh
        # tokens has the new one stored while this transaction has written nothing (SQLite has
        # one writer at a time).
        try:
            tokens.token()
        except MailboxError as exc:
            raise ServiceError(f"the reply was not sent: {exc}") from None
        return SmtpServer(**common, tokens=tokens, mechanism=mailbox.oauth.mechanism), sender
    password = None
    if settings.read_password and mailbox.password_env:
        password = settings.read_password(mailbox.password_env)
    return SmtpServer(**common, password=password), sender


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


def quoted(message: Message, when: str, limit: int = MAX_REPLY_CHARS // 2) -> str:
    """Return the start of a reply quoting ``message``: two empty lines to write in, then
    "On <when>, <sender> wrote:" and its text with "> " before each line, cut at ``limit``."""
    text = message.body_text.strip()
    if len(text) > limit:
        text = text[:limit].rsplit("\n", 1)[0] + "\n[...]"
    lines = "\n".join(f"> {line}".rstrip() for line in text.splitlines())
    return f"\n\nOn {when}, {message.from_name or message.from_addr} wrote:\n{lines}\n"


def build_reply(ticket: Ticket, answering: Message, agent: Agent, body: str,
                settings: ReplySettings, sender: str | None = None, *, cc: Sequence[str] = (),
                files: Sequence[Upload] = ()) -> bytes:
    """Return the reply's bytes, with CRLF line endings as SMTP carries them.

    Bcc recipients are never written here: they are given to the SMTP server alone.
    """
    sender = sender or settings.support_address
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((agent.name, sender))
    msg["To"] = answering.from_addr
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = reply_subject(ticket, answering, settings.tag_prefix)
    msg["Date"] = format_datetime(datetime.now(UTC))
    domain = sender.rpartition("@")[2] or None
    msg["Message-ID"] = make_msgid(domain=domain)
    if answering.message_id_header:
        parent = f"<{answering.message_id_header}>"
        msg["In-Reply-To"] = parent
        references = [f"<{r}>" for r in answering.references_ids.split()] + [parent]
        msg["References"] = " ".join(references)
    msg.set_content(body)
    for upload in files:
        maintype, subtype = content_type(upload.filename)
        msg.add_attachment(upload.data, maintype=maintype, subtype=subtype, filename=upload.filename)
    return msg.as_bytes()


def send_reply(session: Session, store: RawStore, ticket: Ticket, agent: Agent, body: str,
               settings: ReplySettings, *, cc: Sequence[str] = (), bcc: Sequence[str] = (),
               files: Sequence[Upload] = ()) -> Message:
    """Archive a reply in the ticket and send it; the caller commits, or rolls back on error.

    The agent's signature goes below the text; ``cc`` are named in the headers, ``bcc`` only
    in the envelope and the ticket's history; ``files`` are attached as they are.
    """
    body = body.strip()
    if not body:
        raise ServiceError("the reply is empty", "body")
    if len(body) > MAX_REPLY_CHARS:
        raise ServiceError(f"the reply is longer than {MAX_REPLY_CHARS} characters", "body")
    check_copies(cc, bcc)
    check_files(files, settings.attachment_max_bytes)
    answering = message_to_answer(session, ticket)
    server, sender = reply_route(session, ticket, settings)
    text = signed(body, agent.signature or "")
    raw = build_reply(ticket, answering, agent, text + "\n", settings, sender, cc=cc, files=files)
    archiver = Archiver(session, store, tag_prefix=settings.tag_prefix, direction="outbound", ticket=ticket)
    sha = sha256_hex(raw)
    result = archiver.archive([(raw, Seen(source=f"sent:ticket {ticket.id} sha256:{sha}"))])
    sent = session.get(Message, result.new_message_ids[0])
    record_event(session, ticket, agent, "reply", _sent_to(answering.from_addr, cc, bcc, files), message=sent)
    session.flush()
    server.send(raw, sender, list(dict.fromkeys([answering.from_addr, *cc, *bcc])))
    return sent


def _sent_to(to: str, cc: Sequence[str], bcc: Sequence[str], files: Sequence[Upload]) -> str:
    """Say in the history whom a reply went to; the only record of its Bcc recipients."""
    words = f"reply sent to {to}"
    if cc:
        words += f", cc {', '.join(cc)}"
    if bcc:
        words += f", bcc {', '.join(bcc)}"
    if files:
        words += f", with {len(files)} file{'s' if len(files) != 1 else ''}"
    return words
