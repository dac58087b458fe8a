"""Sharing an account's data: forwards of its mail, and exports, for someone outside the
support team only under a consent a company contact gave beforehand.

Mail to the account's own domains or to the support team's (the domain of
``SUPPORT_ADDRESS`` and ``INTERNAL_DOMAINS``) is not sharing. Any other recipient needs a
consent in force for that recipient and that content (``app.access.guards.require_consent``
asks, and refuses and audits otherwise). A forward carries the agent's note and each
forwarded message as an attachment of its exact archived bytes (``.eml``, base64: a
``message/rfc822`` part may not be encoded, so it could not carry them unchanged); it is
archived in its ticket as replies are, and each use of a consent is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import consents
from app.access.rules import MESSAGE, TICKET, domain_of, is_outside, normalise_address
from app.models import Account, Agent, Consent, Message, Ticket
from app.rawstore import RawStore, sha256_hex
from app.services.communications import is_address
from app.services.errors import ServiceError
from app.services.outbound import ReplySettings, reply_route
from app.services.tickets import record_event
from mailbox.ingest import Archiver, Seen
from mailbox.linking import tagged_ticket_ids, ticket_tag

MAX_NOTE_CHARS = 20_000


@dataclass(frozen=True)
class Content:
    """What would leave: a kind and reference a consent names, and words for people."""

    account: Account
    kind: str
    ref: str
    words: str


def inside_domains(account: Account, support_address: str, internal_domains: tuple[str, ...]) -> list[str]:
    """Return the domains mail may go to without sharing: the account's and the support team's."""
    return [d.domain for d in account.domains] + [domain_of(support_address), *internal_domains]


def is_sharing(account: Account, recipient: str, support_address: str,
               internal_domains: tuple[str, ...]) -> bool:
    """Say whether sending the account's data to ``recipient`` shares it outside."""
    return is_outside(recipient, inside_domains(account, support_address, internal_domains))


def check_recipient(recipient: str) -> str:
    """Return the address trimmed and lower-cased, or say why it is no address."""
    address = normalise_address(recipient)
    if not is_address(address):  # one address, as it can stand in a To header
        raise ServiceError(f"{recipient.strip()[:80]!r} is not an email address", "recipient")
    return address


def forward_content(session: Session, ticket: Ticket, message_id: int | None) -> Content:
    """Return what forwarding the whole ticket, or one of its messages, sends."""
    if ticket.account is None:
        raise ServiceError("this ticket is linked to no account yet: link it before forwarding, so the "
                           "customer whose consent it needs is known")
    if message_id is None:
        count = len(_ticket_messages(session, ticket))
        messages = f"{count} message{'s' if count != 1 else ''}"
        return Content(ticket.account, TICKET, str(ticket.id),
                       f"ticket {ticket.id} \u201c{ticket.subject[:120]}\u201d ({messages})")
    message = session.get(Message, message_id)
    if message is None or message.ticket_id != ticket.id:
        raise ServiceError(f"message {message_id} is not in ticket {ticket.id}")
    return Content(ticket.account, MESSAGE, str(message.id),
                   f"message {message.id} \u201c{message.subject[:120]}\u201d "
                   f"from {message.from_addr or 'an unknown sender'}")


def _ticket_messages(session: Session, ticket: Ticket) -> list[Message]:
    return list(session.scalars(select(Message).where(Message.ticket_id == ticket.id,
                                                      Message.direction == "inbound").order_by(Message.id)))


def send_forward(session: Session, store: RawStore, ticket: Ticket, agent: Agent, recipient: str,
                 content: Content, note: str, consent: Consent | None, settings: ReplySettings,
                 now: datetime) -> Message:
    """Archive a forward in the ticket and send it; the caller has checked the consent and commits."""
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ServiceError(f"the note is longer than {MAX_NOTE_CHARS} characters", "note")
    if content.kind == TICKET:
        messages = _ticket_messages(session, ticket)
    else:
        messages = [session.get(Message, int(content.ref))]
    server, sender = reply_route(session, ticket, settings)
    raw = _build(ticket, agent, sender, recipient, note, [(m, store.get(m.sha256)) for m in messages],
                 consent, settings.tag_prefix)
    archiver = Archiver(session, store, tag_prefix=settings.tag_prefix, direction="outbound", ticket=ticket)
    result = archiver.archive([(raw, Seen(source=f"forwarded:ticket {ticket.id} sha256:{sha256_hex(raw)}"))])
    sent = session.get(Message, result.new_message_ids[0])
    under = f" with consent {consent.id}" if consent else ""
    record_event(session, ticket, agent, "forward", f"{content.words} forwarded to {recipient}{under}",
                 message=sent)
    if consent is not None:
        consents.note_use(session, agent, consent, f"forwarded as message {sent.id}", now)
    session.flush()
    server.send(raw, sender, [recipient])
    return sent


def _build(ticket: Ticket, agent: Agent, sender: str, recipient: str, note: str,
           messages: list[tuple[Message, bytes]], consent: Consent | None, tag_prefix: str) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((agent.name, sender))
    msg["To"] = recipient
    subject = f"Fwd: {' '.join((ticket.subject or '').split())}".strip()
    if ticket.id not in tagged_ticket_ids(tag_prefix, subject):
        subject = f"{subject} {ticket_tag(tag_prefix, ticket.id)}"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    text = note + "\n" if note else ""
    if consent is not None:
        text += (f"\n{consent.account.name} consented on {consent.decided_at:%Y-%m-%d} "
                 f"({consent.decided_by}) to share this with {consent.recipient} until "
                 f"{consent.ends_at:%Y-%m-%d %H:%M} UTC, for:\n{consent.purpose}\n")
    msg.set_content(text or "\n")
    for message, raw in messages:
        msg.add_attachment(raw, maintype="application", subtype="octet-stream",
                           filename=f"message-{message.id}.eml")
    return msg.as_bytes()


def single_account(session: Session, message_ids: list[int]) -> Account | None:
    """Return the one account all these messages belong to, or None (several, or mail of none)."""
    if not message_ids:
        return None
    accounts = set()
    for start in range(0, len(message_ids), 10_000):
        accounts |= set(session.scalars(select(Message.account_id).where(
            Message.id.in_(message_ids[start:start + 10_000])).distinct()))
        if len(accounts) > 1 or None in accounts:
            return None
    return session.get(Account, accounts.pop())
