"""Keeping the search index current with the archive, rebuilding it, and checking it.

Messages with a null ``indexed_at`` are the queue.  The index writer (the worker, or
a one-off command when no worker runs) turns them into documents, commits them to
the index, and only then marks them indexed, so a crash in between indexes them
again rather than never.  A change to what a message's document holds besides its
own bytes (its ticket's status, its ticket, its account) puts it back in the queue.

A rebuild writes every message into a new index generation while searches, and the
writer, go on using the live one; it then catches up with what was archived or
re-indexed meanwhile and switches (see ``app.search.index``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import Engine, event, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from app.models import Account, Mailbox, MailboxFolder, Message, MessageLocation, utcnow
from app.rawstore import RawStore, RawStoreError
from app.search.backend import Rebuilding, SearchBackend
from app.search.errors import WriterBusy
from app.search.extract import attachment_text, text_kind
from app.search.index import IndexDocument

log = logging.getLogger("desk.indexing")

# Messages per index commit: larger commits make fewer segments and let a batch be
# shared among processes; the writer's memory is bounded by its posting buffer, not
# by this.
CHUNK = 1000
# Messages read from the database at a time: a body may hold up to a million
# characters, so this bounds the documents held in memory at once.
BATCH = 100
# A rebuild catches up with messages the writer indexed since it started; this much
# earlier, so that a clock stepping back a little cannot hide one.
CATCH_UP_MARGIN = timedelta(minutes=1)


def pending_count(session: Session) -> int:
    """Return how many archived messages wait for the index."""
    return session.scalar(select(func.count()).where(Message.indexed_at.is_(None)))


def index_pending(session: Session, index: SearchBackend, limit: int | None = None,
                  progress: Callable[[int], None] | None = None, *, store: RawStore | None = None,
                  should_stop: Callable[[], bool] = lambda: False) -> int:
    """Index messages waiting for the index, in batches; return how many were indexed.

    Attachment text is read from ``store``; without one, attachments are indexed by name only.
    ``should_stop`` is asked between batches: the rest stays in the queue.
    """
    done = 0
    while (limit is None or done < limit) and not should_stop():
        ids = session.scalars(
            select(Message.id).where(Message.indexed_at.is_(None)).order_by(Message.id)
            .limit(CHUNK if limit is None else min(CHUNK, limit - done))
        ).all()
        if not ids:
            break
        index.write(_stream_documents(session, ids, store), expected=len(ids), session=session)
        _mark_indexed(session, ids)
        session.commit()
        done += len(ids)
        if progress:
            progress(len(ids))
    return done


def _mark_indexed(session: Session, ids: list[int]) -> None:
    """Take messages out of the index queue, in the session's transaction."""
    now = utcnow()
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        session.execute(update(Message).where(Message.id.in_(chunk)).values(indexed_at=now))


def _stream_documents(session: Session, ids: list[int], store: RawStore | None) -> Iterator[IndexDocument]:
    for start in range(0, len(ids), BATCH):
        yield from documents_for(session, ids[start:start + BATCH], store)


def documents_for(session: Session, ids: list[int], store: RawStore | None = None) -> list[IndexDocument]:
    """Build the index documents of the given messages, with attachment text read from ``store``."""
    messages = session.scalars(
        select(Message).where(Message.id.in_(ids))
        .options(selectinload(Message.attachments), selectinload(Message.ticket))
    ).all()
    accounts = dict(session.execute(select(Account.id, Account.name)).all())
    mailboxes = _mailbox_names(session, ids)
    return [document_of(m, account=accounts.get(m.account_id, ""), mailboxes=mailboxes.get(m.id, ()),
                        attachment_text=_attachment_text(store, m))
            for m in messages]


def document_of(m: Message, *, account: str = "", mailboxes: Iterable[str] = (),
                attachment_text: str = "") -> IndexDocument:
    """Return the index document of a message row (stored or not yet)."""
    return IndexDocument(
        id=m.id, subject=m.subject, body=m.body_text,
        sender=f"{m.from_name} {m.from_addr}".strip(), from_addr=m.from_addr,
        to=m.to_addrs, cc=m.cc_addrs, account=account,
        account_id=m.account_id, mailboxes=",".join(sorted(mailboxes)),
        ticket=m.ticket_id, date=m.date_utc or m.archived_at,
        filenames=" ".join(a.filename for a in m.attachments if a.filename),
        unmatched=m.account_id is None, quarantined=bool(m.quarantined), direction=m.direction or "inbound",
        status=m.ticket.status if m.ticket is not None else "",
        attachment_text=attachment_text,
    )


def _attachment_text(store: RawStore | None, message: Message) -> str:
    """Return the text of the message's attachments; read the raw bytes only if one may hold text."""
    if store is None or not any(text_kind(a.content_type, a.filename) for a in message.attachments):
        return ""
    try:
        raw = store.get(message.sha256)
    except RawStoreError as exc:  # `flask archive verify` reports it; the rest of the message is indexed
        log.warning("message %d: no attachment text: %s", message.id, exc)
        return ""
    found = attachment_text(raw)
    for note in found.notes:
        log.info("message %d: %s", message.id, note)
    return found.text


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


# Archived in a session's transaction and not yet indexed (``index_archived_on_commit``).
_ARCHIVED = "desk.archived"


def index_archived_on_commit(sessions) -> None:
    """Index the messages a transaction archives in that same transaction, when the index
    lives in the database (``SearchBackend.single_writer`` false): a message is searchable
    from the moment it is archived, with no queue in between.

    ``sessions`` is the scoped session whose sessions get the hooks. If indexing fails,
    the archiving still commits (indexing runs in a savepoint) and the messages wait in
    the queue for the worker, which reports the error.
    """
    if not event.contains(sessions, "before_commit", _index_archived):
        event.listen(sessions, "after_flush", _note_archived)
        event.listen(sessions, "before_commit", _index_archived)
        event.listen(sessions, "after_soft_rollback", _forget_archived)


def _note_archived(session: Session, flush_context) -> None:
    archived = [obj.id for obj in session.new if isinstance(obj, Message)]
    if archived:
        session.info.setdefault(_ARCHIVED, set()).update(archived)


def _forget_archived(session: Session, previous_transaction) -> None:
    session.info.pop(_ARCHIVED, None)


def _index_archived(session: Session) -> None:
    if not has_app_context():
        return
    index = current_app.extensions["search_index"]
    if index.single_writer:
        return
    session.flush()
    ids = sorted(session.info.pop(_ARCHIVED, ()))
    if not ids:
        return
    try:
        with session.begin_nested():
            index.write(documents_for(session, ids, current_app.extensions["raw_store"]), session=session)
            _mark_indexed(session, ids)
    except Exception:
        log.exception("%d archived message(s) wait for the worker to index them", len(ids))


def index_now_or_wait(session: Session, index: SearchBackend, message_ids: list[int],
                      timeout: float = 120.0, *, store: RawStore | None = None) -> str:
    """Make messages searchable: index them if no worker is the writer, else wait for it."""
    try:
        index.acquire_writer()
    except WriterBusy:
        return _wait_for_worker(session, message_ids, timeout)
    try:
        count = index_pending(session, index, store=store)
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


class IndexingAlongside:
    """Index archived mail in a thread while the caller archives more; then the rest.

    For the commands that archive many messages at once (``flask mailbox poll --once``
    and ``flask mailbox import``): parsing and archiving run in the caller's thread,
    Whoosh's analysis in its helper processes, so on a machine with more than one CPU
    the two overlap and mail is searchable about as soon as it is archived.  The thread
    indexes once a whole batch (``CHUNK``) waits, checking on ``nudge`` or every second,
    in its own session on ``engine``.  Whole batches keep the commits, and so the index's
    segments, as few as when everything was indexed at the end: each commit adds a
    segment per helper, and past about 16 small ones Whoosh's merge policy folds them
    together, in one process, while the poll waits.

    When a worker holds the writer role, nothing is indexed here: ``finish`` waits for
    the worker to index the new messages, as ``index_now_or_wait`` does.  Leaving the
    block always stops the thread and gives the writer role back; what an interrupted
    run archived waits in the queue for the next writer.
    """

    def __init__(self, index: SearchBackend, engine: Engine, *, store: RawStore | None = None,
                 timeout: float = 120.0) -> None:
        self._index, self._engine, self._store, self._timeout = index, engine, store, timeout
        self._wake, self._done = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.indexed = 0

    def __enter__(self) -> IndexingAlongside:
        try:
            self._index.acquire_writer()
        except WriterBusy:
            return self
        self._thread = threading.Thread(target=self._run, name="index-alongside", daemon=True)
        self._thread.start()
        return self

    def nudge(self) -> None:
        """Say that more messages were archived."""
        self._wake.set()

    def _run(self) -> None:
        try:
            with Session(self._engine) as session:
                while not self._done.is_set():
                    self._wake.wait(1.0)
                    self._wake.clear()
                    whole = pending_count(session) // CHUNK * CHUNK  # the rest waits to fill a batch
                    if whole:
                        self.indexed += index_pending(session, self._index, whole, store=self._store)
                    session.rollback()  # see the archive's next commits
        except BaseException as exc:  # handed to the caller's thread by _stop
            self._error = exc

    def _stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._done.set()
            self._wake.set()
            self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def finish(self, session: Session, message_ids: list[int]) -> str:
        """Index what is left (or wait for the worker); return what happened, in a sentence."""
        if self._thread is None:
            return _wait_for_worker(session, message_ids, self._timeout)
        self._stop()
        self.indexed += index_pending(session, self._index, store=self._store)
        return f"indexed {self.indexed} message(s)"

    def __exit__(self, *exc_info) -> None:
        if self._thread is None:
            return
        try:
            self._stop()
        finally:
            self._index.release_writer()


@dataclass(frozen=True)
class Rebuild:
    generation: str
    where: str  # the rebuilt index's folder, or the database's search tables
    messages: int  # written by the full pass
    # Written again at the end: archived, re-queued or indexed around the time of the full
    # pass (a minute's margin on either side, so this counts recent mail too).
    caught_up: int


def archived_count(session: Session) -> int:
    """Return how many messages the archive holds."""
    return session.scalar(select(func.count(Message.id)))


def rebuild_index(session: Session, index: SearchBackend, store: RawStore | None,
                  progress: Callable[[int], None] | None = None) -> Rebuild:
    """Rebuild the whole index from the database into a new generation, then make it live.

    The live generation keeps answering searches, and the writer keeps indexing into
    it, until the switch.  Messages archived or re-indexed meanwhile are caught up:
    once freely, then again under the commit lock, where the writer cannot commit, and
    the switch follows at once.  ``progress`` is called with each batch's size.  The
    session's transaction is ended between batches, so the rebuild sees what others
    commit and holds no read lock for long.
    """
    since = utcnow() - CATCH_UP_MARGIN
    top = session.scalar(select(func.max(Message.id))) or 0
    with index.rebuilding() as generation:
        written = generation.add(_documents_up_to(session, top, store, progress),
                                 expected=archived_count(session))
        caught_up, top, since = _catch_up(session, generation, store, top, since)

        def last_step() -> None:
            caught_up.update(_catch_up(session, generation, store, top, since)[0])

        index.publish(generation, last_step)
        return Rebuild(generation.name, generation.where, written, len(caught_up))


def _documents_up_to(session: Session, top: int, store: RawStore | None,
                     progress: Callable[[int], None] | None) -> Iterator[IndexDocument]:
    last = 0
    while True:
        ids = session.scalars(select(Message.id).where(Message.id > last, Message.id <= top)
                              .order_by(Message.id).limit(BATCH)).all()
        if not ids:
            return
        documents = documents_for(session, ids, store)
        session.commit()  # nothing to commit: it ends the read transaction
        yield from documents
        last = ids[-1]
        if progress:
            progress(len(ids))


def _catch_up(session: Session, generation: Rebuilding, store: RawStore | None,
              top: int, since: datetime) -> tuple[set[int], int, datetime]:
    """Write messages archived after ``top``, waiting for the index, or indexed since ``since``."""
    started = utcnow() - CATCH_UP_MARGIN
    session.commit()  # see everything committed until now
    ids = list(session.scalars(select(Message.id).where(or_(
        Message.id > top, Message.indexed_at.is_(None), Message.indexed_at >= since,
    )).order_by(Message.id)))
    if ids:
        generation.update(_stream_documents(session, ids, store))
    session.commit()
    return set(ids), max([top, *ids]), started


@dataclass(frozen=True)
class IndexCheck:
    in_both: int
    missing_from_index: list[int]  # marked indexed in the database, absent from the index
    not_in_database: list[int]  # in the index, but no such message in the database
    held_twice: list[int]  # more than one document for the message
    waiting: int  # in the queue; the writer indexes them soon

    @property
    def consistent(self) -> bool:
        return not (self.missing_from_index or self.not_in_database or self.held_twice)


def check_index(session: Session, index: SearchBackend) -> IndexCheck:
    """Compare the message ids in the index with the messages the database marks indexed."""
    # The database first: the writer commits to the index before it marks messages
    # indexed, so every message marked now is in the index by the time it is read.
    indexed = set(session.scalars(select(Message.id).where(Message.indexed_at.is_not(None))))
    waiting = set(session.scalars(select(Message.id).where(Message.indexed_at.is_(None))))
    counts = Counter(index.stored_ids())
    extra = set(counts) - indexed - waiting
    if extra:  # archived and indexed after the database was read: not a stray
        extra -= _existing(session, sorted(extra))
    return IndexCheck(
        in_both=len(indexed & counts.keys()),
        missing_from_index=sorted(indexed - counts.keys()),
        not_in_database=sorted(extra),
        held_twice=sorted(i for i, n in counts.items() if n > 1),
        waiting=len(waiting),
    )


def _existing(session: Session, ids: list[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        found.update(session.scalars(select(Message.id).where(Message.id.in_(chunk))))
    return found


def index_queue_unless_worker(session: Session, index: SearchBackend, store: RawStore | None) -> int | None:
    """Index the queue if no worker is the writer; return how many, or None when the worker is."""
    try:
        index.acquire_writer()
    except WriterBusy:
        return None
    try:
        return index_pending(session, index, store=store)
    finally:
        index.release_writer()
