"""The one ingestion entry point: raw bytes and where they were seen, into the archive.

The poller, every import, replies sent from the console, calls, chats and meetings agents
log, and the contact form's messages all call ``Archiver.archive``; it is idempotent.  A location
already recorded is skipped, bytes already archived gain a location (one message,
many places), and new bytes are stored in the raw store, parsed, linked, threaded
and added to the session.  The caller commits, together with whatever checkpoint
the batch covers, so rows and checkpoint move in one transaction.  A message that
cannot be parsed is archived all the same, quarantined with its reason.

Every new message is also searched for the secrets of customer links we emailed (a
quoted reply, a bounce, a forward); each one found stops working in that same
transaction (``app.services.leaks``), before any agent can read the message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, tuple_, update
from sqlalchemy.orm import Session

from app.models import (
    Account,
    AccountDomain,
    Attachment,
    Contact,
    Message,
    MessageLocation,
    Ticket,
    TicketEvent,
    utcnow,
)
from app.rawstore import RawStore, sha256_hex
from app.services import contact_languages, notifications
from app.services.leaks import burn_leaked_links
from mailbox.linking import Directory, Link, choose_thread, link_account
from mailbox.parse import ParsedMessage, parse_message, token_candidates

_CHUNK = 500


@dataclass(frozen=True)
class Seen:
    """Where a message was seen: an IMAP folder position, or an import source."""

    folder_id: int | None = None
    uidvalidity: int | None = None
    uid: int | None = None
    source: str | None = None


@dataclass(frozen=True)
class Provenance:
    """How new messages reached the desk, when not by mail, set on their rows as they are made.

    Only the code that builds a logged call or a contact-form message says so: a header
    in the bytes never does, since anyone can write one into mail.
    """

    channel: str = "email"
    logged_by_id: int | None = None
    duration_minutes: int | None = None
    corrects_id: int | None = None
    # How a message joins a given ticket or account, in its link and thread reasons.
    joined: str = ""


MAIL = Provenance()


@dataclass
class BatchResult:
    archived: int = 0
    duplicates: int = 0
    already: int = 0
    quarantined: int = 0
    new_message_ids: list[int] = field(default_factory=list)

    def add(self, other: BatchResult) -> None:
        self.archived += other.archived
        self.duplicates += other.duplicates
        self.already += other.already
        self.quarantined += other.quarantined
        self.new_message_ids += other.new_message_ids


def load_directory(session: Session) -> Directory:
    """Read every account's contacts and domains for linking."""
    return Directory.build(
        session.execute(select(Account.id, Account.name)).all(),
        session.execute(select(Contact.account_id, Contact.email)).all(),
        session.execute(select(AccountDomain.account_id, AccountDomain.domain)).all(),
    )


class Archiver:
    """Archives batches of raw messages into one session; the caller commits."""

    def __init__(self, session: Session, store: RawStore, *, tag_prefix: str,
                 direction: str = "inbound", account: tuple[int, str] | None = None,
                 ticket: Ticket | None = None, provenance: Provenance = MAIL,
                 notify_assignees: bool = False, learn_languages: bool = False) -> None:
        self.session = session
        # The poller learns a contact's language from the mail they send now; an import of
        # old mail would teach an old one.
        self.learn_languages = learn_languages
        # The poller tells a ticket's assignee of a customer's answer; imports of old mail do not.
        self.notify_assignees = notify_assignees
        self.provenance = provenance
        # An import run for one named account links every new message to it.
        self.account = account
        # A reply sent from the console joins its ticket and that ticket's account.
        self.ticket = ticket
        self.store = store
        self.tag_prefix = tag_prefix
        self.direction = direction
        self.directory = load_directory(session)
        # Message-IDs of messages added but not flushed yet: a lookup needs a flush
        # only when it asks for one of them, so most messages cost no flush at all.
        self._unflushed_ids: set[str] = set()
        # New messages of the batch with the strings in them that could be link tokens.
        self._token_candidates: list[tuple[Message, set[str]]] = []

    def archive(self, batch: list[tuple[bytes, Seen]]) -> BatchResult:
        """Archive raw messages with their locations; return what happened to them."""
        result = BatchResult()
        hashes = [sha256_hex(raw) for raw, _ in batch]
        known = self._known_messages(hashes)
        seen_before = self._known_locations([seen for _, seen in batch])
        written: list[Path] = []
        new_messages: list[Message] = []
        for (raw, seen), sha in zip(batch, hashes, strict=False):
            if _location_key(seen) in seen_before:
                result.already += 1
                continue
            seen_before.add(_location_key(seen))
            message = known.get(sha)
            if message is None:
                written.append(self.store.put(sha, raw))
                message = self._new_message(raw, sha)
                known[sha] = message
                new_messages.append(message)
                result.archived += 1
                result.quarantined += message.quarantined
            else:
                result.duplicates += 1
            self.session.add(_location(message, seen))
        self.store.make_durable(written)
        self.session.flush()
        self._unflushed_ids.clear()
        burn_leaked_links(self.session, self._token_candidates)
        self._token_candidates.clear()
        result.new_message_ids = [m.id for m in new_messages]
        return result

    def _known_messages(self, hashes: list[str]) -> dict[str, Message]:
        found: dict[str, Message] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start:start + _CHUNK]
            for message in self.session.scalars(select(Message).where(Message.sha256.in_(chunk))):
                found[message.sha256] = message
        return found

    def _known_locations(self, places: list[Seen]) -> set[tuple]:
        keys: set[tuple] = set()
        positions = [(s.folder_id, s.uidvalidity, s.uid) for s in places if s.folder_id is not None]
        sources = [s.source for s in places if s.source is not None]
        columns = (MessageLocation.folder_id, MessageLocation.uidvalidity, MessageLocation.uid)
        for start in range(0, len(positions), _CHUNK):
            chunk = positions[start:start + _CHUNK]
            rows = self.session.execute(select(*columns).where(tuple_(*columns).in_(chunk)))
            keys.update(("imap", *row) for row in rows)
        for start in range(0, len(sources), _CHUNK):
            chunk = sources[start:start + _CHUNK]
            rows = self.session.scalars(
                select(MessageLocation.source).where(MessageLocation.source.in_(chunk))
            )
            keys.update(("source", source) for source in rows)
        return keys

    def _new_message(self, raw: bytes, sha: str) -> Message:
        origin = self.provenance
        message = Message(sha256=sha, size=len(raw), direction=self.direction,
                          archived_at=utcnow(), quarantined=False, channel=origin.channel,
                          logged_by_id=origin.logged_by_id, duration_minutes=origin.duration_minutes,
                          corrects_id=origin.corrects_id)
        try:
            parsed = parse_message(raw, find_tokens=True)
        except Exception as exc:  # rule 3: a bad message is archived raw, never stops the run
            message.quarantined = True
            message.parse_error = str(exc) or type(exc).__name__
            message.link_reason = "not linked: the message could not be parsed"
            message.thread_reason = "not threaded: the message could not be parsed"
            self._note_candidates(message, token_candidates(raw))
            return message
        self._note_candidates(message, parsed.token_candidates)
        fill_fields(message, parsed)
        if self.ticket is not None:
            self._join_sending_ticket(message)
            return message
        link = link_account(parsed.from_addr, self.directory)
        if self.account is not None:
            joined = self.provenance.joined or "imported for"
            link = Link(self.account[0], f"{joined} the account {self.account[1]}")
        message.account_id, message.link_reason = link.account_id, link.reason
        if self.learn_languages and link.account_id is not None and parsed.content_language:
            self._learn_language(link.account_id, parsed)
        self._thread(message, parsed)
        return message

    def _learn_language(self, account_id: int, parsed: ParsedMessage) -> None:
        if account_id in self.directory.contacts.get(parsed.from_addr.lower(), set()):
            contact = contact_languages.contact_at(self.session, account_id, parsed.from_addr)
            contact_languages.learn(contact, parsed.content_language, contact_languages.MAIL)

    def _note_candidates(self, message: Message, candidates: set[str]) -> None:
        if candidates:
            self._token_candidates.append((message, candidates))

    def _join_sending_ticket(self, message: Message) -> None:
        ticket, joined = self.ticket, self.provenance.joined or "sent from"
        message.account_id = ticket.account_id
        message.link_reason = f"{joined} ticket {ticket.id}, which belongs to this account"
        if ticket.account_id is None:
            message.link_reason = f"{joined} ticket {ticket.id}, which has no account"
        message.ticket = ticket
        message.thread_reason = f"{joined} ticket {ticket.id}"
        ticket.last_activity_at = max(ticket.last_activity_at, message_time(message))
        self.session.add(message)

    def _thread(self, message: Message, parsed: ParsedMessage) -> None:
        decision = choose_thread(
            in_reply_to=parsed.in_reply_to,
            references=parsed.references,
            report_refs=parsed.report_refs,
            subject=parsed.subject,
            account_id=message.account_id,
            tag_prefix=self.tag_prefix,
            ticket_for_message_id=self._ticket_for_message_id,
            account_of_ticket=self._account_of_ticket,
        )
        when = message_time(message)
        if decision.ticket_id is None:
            ticket = Ticket(account_id=message.account_id, subject=message.subject,
                            created_at=when, last_activity_at=when)
            self.session.add(ticket)
        else:
            ticket = self.session.get(Ticket, decision.ticket_id)
            while ticket.merged_into_id is not None:  # a merged ticket's mail goes where its messages went
                ticket = self.session.get(Ticket, ticket.merged_into_id)
            ticket.last_activity_at = max(ticket.last_activity_at, when)
            self._reopen(ticket, message)
            self._tell_assignee(ticket, message)
        message.ticket = ticket
        message.thread_reason = decision.reason
        self.session.add(message)
        if message.message_id_header:
            self._unflushed_ids.add(message.message_id_header)

    def _reopen(self, ticket: Ticket, message: Message) -> None:
        """A customer's answer puts a pending or closed ticket back in the open queue."""
        if self.direction != "inbound" or ticket.status == "open" or message.auto_reason:
            return
        self.session.add(TicketEvent(
            ticket=ticket, agent_id=None, kind="status", at=utcnow(), message=message,
            detail=f"status {ticket.status} → open: the customer answered",
        ))
        ticket.status = "open"
        # The ticket's messages carry its status in the search index: index them again.
        self.session.execute(update(Message).where(Message.ticket_id == ticket.id).values(indexed_at=None))

    def _tell_assignee(self, ticket: Ticket, message: Message) -> None:
        """A customer's answer on an assigned ticket is news for its agent (never an auto-reply)."""
        if self.notify_assignees and self.direction == "inbound" and not message.auto_reason:
            notifications.customer_answered(self.session, ticket, message)

    def _ticket_for_message_id(self, message_id: str) -> int | None:
        if message_id in self._unflushed_ids:
            self.session.flush()
            self._unflushed_ids.clear()
        # The earliest message with that Message-ID wins: senders reuse IDs, and the
        # first one seen is the one a reply most likely answers.
        with self.session.no_autoflush:
            return self.session.scalar(
                select(Message.ticket_id)
                .where(Message.message_id_header == message_id, Message.ticket_id.is_not(None))
                .order_by(Message.id)
                .limit(1)
            )

    def _account_of_ticket(self, ticket_id: int) -> int | None | bool:
        ticket = self.session.get(Ticket, ticket_id)
        return False if ticket is None else ticket.account_id


def fill_fields(message: Message, parsed: ParsedMessage) -> None:
    """Set the message's searchable and shown fields from its parse, as the archive stores them."""
    message.subject = _storable(parsed.subject)
    message.from_addr = _storable(parsed.from_addr)
    message.from_name = _storable(parsed.from_name[:1000])
    message.to_addrs = _storable(", ".join(parsed.to))
    message.cc_addrs = _storable(", ".join(parsed.cc))
    message.date_utc = parsed.date_utc
    message.date_offset_minutes = parsed.date_offset_minutes
    message.message_id_header = _storable(parsed.message_id) if parsed.message_id else None
    message.in_reply_to = _storable(" ".join(parsed.in_reply_to))
    message.references_ids = _storable(" ".join(parsed.references))
    message.body_text = _storable(parsed.text)
    message.auto_reason = parsed.auto_reason
    message.defects = _storable("; ".join(parsed.defects))
    message.attachments = [
        Attachment(filename=_storable(a.filename), content_type=_storable(a.content_type[:255]),
                   size=a.size, sha256=a.sha256)
        for a in parsed.attachments
    ]


def _storable(text: str) -> str:
    """Return text every database accepts: PostgreSQL refuses NUL, UTF-8 refuses lone surrogates."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _location_key(seen: Seen) -> tuple:
    if seen.folder_id is not None:
        return ("imap", seen.folder_id, seen.uidvalidity, seen.uid)
    return ("source", seen.source)


def _location(message: Message, seen: Seen) -> MessageLocation:
    return MessageLocation(message=message, folder_id=seen.folder_id,
                           uidvalidity=seen.uidvalidity, uid=seen.uid, source=seen.source,
                           seen_at=utcnow())


def message_time(message: Message) -> datetime:
    """Return when a message happened: its Date header, else when it was archived."""
    return message.date_utc or message.archived_at
