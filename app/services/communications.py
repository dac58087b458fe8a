"""Phone calls, chats and meetings that agents log, kept as the archive keeps mail.

Each entry is written as an RFC 5322 message: the customer and the desk in From and To
(by direction), when it happened in Date, a new Message-ID, In-Reply-To and References
naming the ticket's latest message, ``X-Desk-*`` headers naming the channel, the
direction, the duration and the agent who logged it, the notes or transcript as the
body and the files as attachments. Those bytes go through ``Archiver.archive``, the
poller's own entry point, so the entry's identity (its hash), its account and ticket,
the search index and the exports are those of mail. The headers only describe: the
``channel`` column is set by this module, never read back from a header.

An entry is never changed or deleted afterwards (``app.models.message`` guards it, and
the database refuses it too). A correction is a new entry that names the one it corrects
(``X-Desk-Corrects`` and ``corrects_id``), threaded beside it; both are kept.
Services flush; callers commit.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import Group
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP
from email.policy import default as default_policy
from email.utils import format_datetime, formataddr, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Account, Agent, Message, Ticket
from app.models.message import CHANNELS, LOGGED_CHANNELS
from app.rawstore import RawStore, sha256_hex
from app.services.errors import ServiceError
from app.services.tickets import record_event
from mailbox.ingest import Archiver, Provenance, Seen
from mailbox.linking import ticket_tag

MAX_TEXT_CHARS = 100_000
MAX_NAME_CHARS = 200
MAX_FILES = 20
MAX_DURATION_MINUTES = 7 * 24 * 60
# A clock a little ahead of the server's still logs a call that just ended.
CLOCK_SLACK = timedelta(minutes=5)
DIRECTIONS = {"inbound": "from the customer", "outbound": "to the customer"}
# An address as it can stand in a header: no spaces, brackets, quotes or separators.
ADDRESS = re.compile(r"[^\s<>()\[\],;:\"@]+@[^\s<>()\[\],;:\"@]+\.[^\s<>()\[\],;:\"@.]+")


@dataclass(frozen=True)
class Upload:
    """A file an agent attached to an entry, as the browser sent it."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class Entry:
    """What an agent logs: a call, a chat or a meeting, with whom, when, and what was said."""

    channel: str
    direction: str  # inbound: from the customer; outbound: to the customer
    name: str
    address: str
    happened_at: datetime  # with its time zone: the Date header keeps the agent's offset
    duration_minutes: int | None
    text: str
    files: tuple[Upload, ...] = ()


@dataclass(frozen=True)
class EntrySettings:
    support_address: str
    tag_prefix: str


def check_entry(entry: Entry, now: datetime) -> None:
    """Raise ``ServiceError`` with one sentence saying what is wrong with an entry, if anything."""
    if entry.channel not in LOGGED_CHANNELS:
        raise ServiceError("the channel must be a phone call, a chat or a meeting")
    if entry.direction not in DIRECTIONS:
        raise ServiceError("say whether the customer called or wrote to us, or we to them")
    if not entry.name and not entry.address:
        raise ServiceError("give the customer's name, address or both")
    if len(entry.name) > MAX_NAME_CHARS:
        raise ServiceError(f"the name is longer than {MAX_NAME_CHARS} characters")
    if entry.address and not is_address(entry.address):
        raise ServiceError(f"{entry.address[:80]!r} is not an email address")
    if entry.happened_at.tzinfo is None:
        raise ValueError("happened_at needs its time zone")
    if entry.happened_at.astimezone(UTC).replace(tzinfo=None) > now + CLOCK_SLACK:
        raise ServiceError("the time is in the future; give when it happened")
    if entry.duration_minutes is not None and not 0 <= entry.duration_minutes <= MAX_DURATION_MINUTES:
        raise ServiceError(f"the duration must be between 0 and {MAX_DURATION_MINUTES} minutes")
    if not entry.text.strip():
        raise ServiceError("write the notes or paste the transcript")
    if len(entry.text) > MAX_TEXT_CHARS:
        raise ServiceError(f"the text is longer than {MAX_TEXT_CHARS} characters")
    if len(entry.files) > MAX_FILES:
        raise ServiceError(f"attach at most {MAX_FILES} files")


def is_address(text: str) -> bool:
    """Say whether text is one email address that can stand in a header as it is."""
    return len(text) <= 320 and ADDRESS.fullmatch(text) is not None


def log_on_ticket(session: Session, store: RawStore, ticket: Ticket, agent: Agent, entry: Entry,
                  settings: EntrySettings, now: datetime) -> Message:
    """Archive an entry in a ticket, threaded after its latest message."""
    check_entry(entry, now)
    parent = _latest_with_id(session, ticket)
    subject = f"{describe(entry)}: {ticket.subject[:200]}" if ticket.subject else describe(entry)
    subject = f"{subject} {ticket_tag(settings.tag_prefix, ticket.id)}"
    raw = build_entry(entry, agent, settings, subject=subject, parent=parent, now=now)
    message = _archive(session, store, raw, entry, agent, settings, f"ticket {ticket.id}", ticket=ticket)
    _note(session, message, agent, f"{_what(entry)} logged")
    return message


def log_on_account(session: Session, store: RawStore, account: Account, agent: Agent, entry: Entry,
                   settings: EntrySettings, now: datetime) -> Message:
    """Archive an entry for an account; it opens a ticket of its own, as new mail does."""
    check_entry(entry, now)
    raw = build_entry(entry, agent, settings, subject=describe(entry), parent=None, now=now)
    message = _archive(session, store, raw, entry, agent, settings, f"account {account.id}",
                       account=(account.id, account.name))
    _note(session, message, agent, f"{_what(entry)} logged on the account's page")
    return message


def log_correction(session: Session, store: RawStore, original: Message, agent: Agent, entry: Entry,
                   settings: EntrySettings, now: datetime) -> Message:
    """Archive a new entry that corrects ``original``, in the original's ticket; both are kept."""
    if original.channel not in LOGGED_CHANNELS:
        raise ServiceError("only logged calls, chats and meetings take corrections; mail and contact-form "
                           "messages are the customer's own words")
    check_entry(entry, now)
    subject = f"Correction: {original.subject}"[:998]
    raw = build_entry(entry, agent, settings, subject=subject, parent=original, corrects=original, now=now)
    where = f"ticket {original.ticket_id}" if original.ticket is not None else f"message {original.id}"
    message = _archive(session, store, raw, entry, agent, settings, where, ticket=original.ticket,
                       corrects=original)
    _note(session, message, agent, f"correction of message {original.id} logged ({_what(entry)})")
    return message


def describe(entry: Entry) -> str:
    """Return an entry's subject: "Phone call from Ann Archer <ann@acme.example>", "Chat with ..."."""
    who = formataddr((entry.name, entry.address)) if entry.address else entry.name
    if entry.channel != "phone":
        return f"{CHANNELS[entry.channel]} with {who}"
    return f"Phone call {'from' if entry.direction == 'inbound' else 'to'} {who}"


def build_entry(entry: Entry, agent: Agent, settings: EntrySettings, *, subject: str,
                parent: Message | None, now: datetime, corrects: Message | None = None) -> bytes:
    """Return the entry as RFC 5322 bytes with CRLF line ends, as mail is archived."""
    msg = EmailMessage(policy=SMTP)
    name = _one_line(entry.name)
    # A name without an address is an empty group ("Ann Archer:;"), as RFC 5322 allows.
    customer = formataddr((name, entry.address)) if entry.address else Group(name)
    desk = formataddr((agent.name, settings.support_address))
    msg["From"], msg["To"] = (customer, desk) if entry.direction == "inbound" else (desk, customer)
    msg["Subject"] = _one_line(subject)
    msg["Date"] = format_datetime(entry.happened_at)
    msg["Message-ID"] = make_msgid(domain=settings.support_address.rpartition("@")[2] or None)
    if parent is not None and parent.message_id_header:
        msg["In-Reply-To"] = f"<{parent.message_id_header}>"
        msg["References"] = " ".join([f"<{r}>" for r in parent.references_ids.split()]
                                     + [f"<{parent.message_id_header}>"])
    msg["X-Desk-Channel"] = entry.channel
    msg["X-Desk-Direction"] = DIRECTIONS[entry.direction]
    if entry.duration_minutes is not None:
        msg["X-Desk-Duration"] = f"{entry.duration_minutes} minutes"
    msg["X-Desk-Logged-By"] = formataddr((agent.name, agent.email))
    msg["X-Desk-Logged-At"] = format_datetime(now.replace(tzinfo=UTC))
    if corrects is not None and corrects.message_id_header:
        msg["X-Desk-Corrects"] = f"<{corrects.message_id_header}>"
    msg.set_content(entry.text.strip() + "\n")
    for upload in entry.files:
        maintype, _, subtype = _content_type(upload.filename).partition("/")
        msg.add_attachment(upload.data, maintype=maintype, subtype=subtype, filename=upload.filename)
    return msg.as_bytes()


def customer_of(raw: bytes, direction: str) -> tuple[str, str]:
    """Return the customer's (name, address) as an entry's bytes name them, in From or To."""
    headers = BytesParser(policy=default_policy).parsebytes(raw, headersonly=True)
    field = headers["From"] if direction == "inbound" else headers["To"]
    for group in getattr(field, "groups", ()):
        if group.addresses:
            return group.addresses[0].display_name, group.addresses[0].addr_spec
        if group.display_name:
            return group.display_name, ""
    return "", ""


def _one_line(text: str) -> str:
    # A line break in a header value would end the header: a name is one line.
    return " ".join(text.split())


def _content_type(filename: str) -> str:
    # Guessed from the name, never taken from the browser; attachments are served as downloads.
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    return guessed if guessed and "/" in guessed else "application/octet-stream"


def _latest_with_id(session: Session, ticket: Ticket) -> Message | None:
    return session.scalar(
        select(Message).where(Message.ticket_id == ticket.id, Message.message_id_header.is_not(None))
        .order_by(Message.when().desc(), Message.id.desc()).limit(1))


def _archive(session: Session, store: RawStore, raw: bytes, entry: Entry, agent: Agent,
             settings: EntrySettings, where: str, *, ticket: Ticket | None = None,
             account: tuple[int, str] | None = None, corrects: Message | None = None) -> Message:
    joined = f"logged by {agent.name} on"
    provenance = Provenance(channel=entry.channel, logged_by_id=agent.id,
                            duration_minutes=entry.duration_minutes,
                            corrects_id=corrects.id if corrects is not None else None, joined=joined)
    if ticket is None and account is None and corrects is not None and corrects.account_id is not None:
        account = (corrects.account_id, corrects.account.name)
    archiver = Archiver(session, store, tag_prefix=settings.tag_prefix, direction=entry.direction,
                        ticket=ticket, account=account, provenance=provenance)
    result = archiver.archive([(raw, Seen(source=f"logged:{where} sha256:{sha256_hex(raw)}"))])
    return session.get(Message, result.new_message_ids[0])


def _note(session: Session, message: Message, agent: Agent, detail: str) -> None:
    if message.ticket is not None:
        record_event(session, message.ticket, agent, "log", detail, message=message)
    session.flush()


def _what(entry: Entry) -> str:
    return f"{CHANNELS[entry.channel].lower()} {DIRECTIONS[entry.direction]}"


def corrections_of(session: Session, ids: Sequence[int]) -> dict[int, list[Message]]:
    """Return the corrections of each of the given messages, oldest first."""
    found: dict[int, list[Message]] = {}
    if ids:
        rows = session.scalars(select(Message).where(Message.corrects_id.in_(list(ids))).order_by(Message.id))
        for correction in rows:
            found.setdefault(correction.corrects_id, []).append(correction)
    return found


def beside_originals(items: list) -> list:
    """Return a ticket's thread with each correction moved to just after the entry it corrects."""
    present = {item.id for item in items if isinstance(item, Message)}
    corrections = [item for item in items if isinstance(item, Message) and item.corrects_id in present]
    moved = {id(item) for item in corrections}
    ordered: list = []

    def place(item) -> None:
        ordered.append(item)
        if isinstance(item, Message):
            for correction in corrections:
                if correction.corrects_id == item.id:
                    place(correction)

    for item in items:
        if id(item) not in moved:
            place(item)
    return ordered

