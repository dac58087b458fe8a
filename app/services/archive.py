"""Reading the archive as a whole: counts, listings, and verification of raw bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.models import Attachment, Mailbox, MailboxFolder, Message, MessageLocation, Ticket
from app.rawstore import RawStore, RawStoreError, sha256_hex


def archive_stats(session: Session) -> dict[str, int]:
    """Return counts of messages, linked, unmatched, quarantined, tickets, attachments, bytes."""
    count = func.count(Message.id)
    return {
        "messages": session.scalar(select(count)),
        "linked": session.scalar(select(count).where(Message.account_id.is_not(None))),
        "unmatched": session.scalar(
            select(count).where(Message.account_id.is_(None), Message.quarantined.is_(False))
        ),
        "quarantined": session.scalar(select(count).where(Message.quarantined.is_(True))),
        "tickets": session.scalar(select(func.count(Ticket.id))),
        "attachments": session.scalar(select(func.count(Attachment.id))),
        "raw_bytes": int(session.scalar(select(func.coalesce(func.sum(Message.size), 0)))),
        "not_yet_indexed": session.scalar(select(count).where(Message.indexed_at.is_(None))),
    }


def list_messages(session: Session, limit: int | None = None) -> list[dict]:
    """Return messages oldest first with where each was seen, for listing or JSON."""
    query = (select(Message).order_by(Message.id)
             .options(selectinload(Message.locations), selectinload(Message.account)))
    if limit is not None:
        query = query.limit(limit)
    folders = {
        f.id: (mailbox, f.name)
        for f, mailbox in session.execute(
            select(MailboxFolder, Mailbox.name).join(Mailbox, MailboxFolder.mailbox_id == Mailbox.id)
        ).all()
    }
    return [_listing(m, folders) for m in session.scalars(query)]


def _listing(message: Message, folders: dict[int, tuple[str, str]]) -> dict:
    places = [_place(loc, folders) for loc in message.locations]
    first = places[0] if places else {}
    return {
        "id": message.id,
        "mailbox": first.get("mailbox"),
        "folder": first.get("folder"),
        "uid": first.get("uid"),
        "locations": places,
        "sha256": message.sha256,
        "size": message.size,
        "subject": message.subject,
        "from": message.from_addr,
        "account": message.account.name if message.account else None,
        "link_reason": message.link_reason,
        "ticket": message.ticket_id,
        "thread_reason": message.thread_reason,
        "auto_reason": message.auto_reason,
        "quarantined": message.quarantined,
        "parse_error": message.parse_error,
    }


def _place(location: MessageLocation, folders: dict[int, tuple[str, str]]) -> dict:
    if location.folder_id is None:
        return {"source": location.source}
    mailbox, folder = folders.get(location.folder_id, (None, None))
    return {"mailbox": mailbox, "folder": folder, "uidvalidity": location.uidvalidity,
            "uid": location.uid}


def verify_raw(session: Session, store: RawStore,
               progress: Callable[[int], None] | None = None) -> Iterator[tuple[int, str]]:
    """Re-hash every stored raw message; yield (message id, problem) for each that differs."""
    rows = session.execute(select(Message.id, Message.sha256).order_by(Message.id))
    for message_id, sha in rows:
        problem = store.verify(sha)
        if progress:
            progress(1)
        if problem:
            yield message_id, problem


@dataclass
class StoreMove:
    copied: int = 0
    already: int = 0  # held by the destination before: copied by an earlier, interrupted run
    problems: list[tuple[str, str]] = field(default_factory=list)  # (sha256, what is wrong)


MOVE_BATCH = 200


def move_raw(session: Session, source: RawStore, destination: RawStore,
             progress: Callable[[int], None] | None = None) -> StoreMove:
    """Copy every archived message's raw bytes that ``destination`` lacks from ``source``.

    Bytes are copied only when they hash to their name, and each copy is read back and
    hashed again. Running it again copies only what is still missing, so an interrupted
    move resumes, and a move run again after the switch catches up with mail the old
    store received meanwhile. Nothing is removed from ``source``.
    """
    first_seen = func.min(Message.id)
    hashes = list(session.scalars(select(Message.sha256).group_by(Message.sha256).order_by(first_seen)))
    session.commit()  # a long move holds no read transaction open
    moved = StoreMove()
    for start in range(0, len(hashes), MOVE_BATCH):
        batch = hashes[start:start + MOVE_BATCH]
        lacking = destination.missing(batch)
        moved.already += len(batch) - len(lacking)
        copied = []
        for sha in lacking:
            problem = _copy(source, destination, sha)
            if problem:
                moved.problems.append((sha, problem))
            else:
                copied.append(sha)
        destination.make_durable(copied)
        for sha in copied:
            problem = destination.verify(sha)
            if problem:
                moved.problems.append((sha, f"copied, but {problem}"))
            else:
                moved.copied += 1
        if progress:
            progress(len(batch))
    return moved


def _copy(source: RawStore, destination: RawStore, sha: str) -> str | None:
    try:
        data = source.get(sha)
    except RawStoreError as exc:
        return str(exc)
    actual = sha256_hex(data)
    if actual != sha:
        return f"raw message {sha} hashes to {actual} in {source.location}; not copied"
    try:
        destination.put(sha, data)
    except RawStoreError as exc:
        return str(exc)
    return None
