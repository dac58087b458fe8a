"""Keeping the search index current with the archive.

Messages with a null ``indexed_at`` are the queue.  The index writer (the worker, or
a one-off command when no worker runs) turns them into documents, commits them to
the index, and only then marks them indexed, so a crash in between indexes them
again rather than never.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from app.models import Account, Mailbox, MailboxFolder, Message, MessageLocation, utcnow
from app.search.index import IndexDocument, SearchIndex, WriterBusy

# Messages per index commit: larger commits make fewer segments and let a batch be
# shared among processes; the writer's memory is bounded by its posting buffer, not
# by this.
CHUNK = 1000
# Messages read from the database at a time: a body may hold up to a million
# characters, so this bounds the documents held in memory at once.
BATCH = 100


def pending_count(session: Session) -> int:
    """Return how many archived messages wait for the index."""
    return session.scalar(select(func.count()).where(Message.indexed_at.is_(None)))


def index_pending(session: Session, index: SearchIndex, limit: int | None = None,
                  progress: Callable[[int], None] | None = None) -> int:
    """Index messages waiting for the index, in batches; return how many were indexed."""
    done = 0
    while limit is None or done < limit:
        ids = session.scalars(
            select(Message.id).where(Message.indexed_at.is_(None)).order_by(Message.id)
            .limit(CHUNK if limit is None else min(CHUNK, limit - done))
        ).all()
        if not ids:
            break
        index.write(_stream_documents(session, ids), expected=len(ids))
        now = utcnow()
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            session.execute(update(Message).where(Message.id.in_(chunk)).values(indexed_at=now))
        session.commit()
        done += len(ids)
        if progress:
            progress(len(ids))
    return done


def _stream_documents(session: Session, ids: list[int]) -> Iterator[IndexDocument]:
    for start in range(0, len(ids), BATCH):
        yield from documents_for(session, ids[start:start + BATCH])


def documents_for(session: Session, ids: list[int]) -> list[IndexDocument]:
    """Build the index documents of the given messages."""
    messages = session.scalars(
        select(Message).where(Message.id.in_(ids)).options(selectinload(Message.attachments))
    ).all()
    accounts = dict(session.execute(select(Account.id, Account.name)).all())
    mailboxes = _mailbox_names(session, ids)
    return [
        IndexDocument(
            id=m.id, subject=m.subject, body=m.body_text,
            sender=f"{m.from_name} {m.from_addr}".strip(), from_addr=m.from_addr,
            to=m.to_addrs, cc=m.cc_addrs, account=accounts.get(m.account_id, ""),
            account_id=m.account_id, mailboxes=",".join(sorted(mailboxes.get(m.id, ()))),
            ticket=m.ticket_id, date=m.date_utc or m.archived_at,
            filenames=" ".join(a.filename for a in m.attachments if a.filename),
            unmatched=m.account_id is None, quarantined=m.quarantined, direction=m.direction,
        )
        for m in messages
    ]


def _mailbox_names(session: Session, ids: list[int]) -> dict[int, set[str]]:
    rows = session.execute(
        select(MessageLocation.message_id, Mailbox.name)
        .join(MailboxFolder, MessageLocation.folder_id == MailboxFolder.id)
        .join(Mailbox, MailboxFolder.mailbox_id == Mailbox.id)
        .where(MessageLocation.message_id.in_(ids))
    ).all()
    names: dict[int, set[str]] = {}
    for message_id, name in rows:
        names.setdefault(message_id, set()).add(name)
    return names


def index_now_or_wait(session: Session, index: SearchIndex, message_ids: list[int],
                      timeout: float = 120.0) -> str:
    """Make messages searchable: index them if no worker is the writer, else wait for it."""
    try:
        index.acquire_writer()
    except WriterBusy:
        return _wait_for_worker(session, message_ids, timeout)
    try:
        count = index_pending(session, index)
    finally:
        index.release_writer()
    return f"indexed {count} message(s)"


def _wait_for_worker(session: Session, message_ids: list[int], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        session.rollback()  # see the worker's commits
        # A range, not IN (...): an import of 100,000 messages would pass SQLite's
        # limit on bound parameters. Waiting also for others' messages in the range is harmless.
        waiting = session.scalar(
            select(func.count()).where(Message.id.between(min(message_ids), max(message_ids)),
                                       Message.indexed_at.is_(None))
        ) if message_ids else 0
        if not waiting:
            return "the worker indexed the new messages"
        if time.monotonic() > deadline:
            return f"the worker has not indexed {waiting} message(s) yet; they will be searchable soon"
        time.sleep(0.2)
