"""The poller: fetch, store raw, parse, link, thread, archive, advance the checkpoint.

For each folder it takes the folder's lease (so pollers on several machines never
work one folder at once; a thread renews it while the folder is polled, so a lease
outlives its poller by at most its length), examines the folder read-only, resynchronises when
UIDVALIDITY changed, and fetches the UIDs above the checkpoint in batches bounded
by count and bytes.  Each batch is stored in the raw store first, then its rows and
the new checkpoint are committed in one transaction: a process killed at any moment
leaves a checkpoint that covers only what is archived, and the content hash makes
the retry archive nothing twice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.models import Mailbox, MailboxFolder, utcnow
from app.rawstore import RawStore, RawStoreError
from mailbox.errors import ConfigurationError, ConnectionFailed, MailboxError
from mailbox.imap import Endpoint, ImapConnection
from mailbox.ingest import Archiver, BatchResult, Seen
from mailbox.source import MailSource, TokenProvider

log = logging.getLogger("desk.poller")
# How long a folder's lease lasts unless renewed (LEASE_SECONDS): the longest a folder
# waits for another machine after the poller holding it died.
LEASE = timedelta(seconds=60)
MAX_BATCH_BYTES = 64 * 1024 * 1024
OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class PollSettings:
    store: RawStore
    tag_prefix: str
    batch_size: int = 200
    timeout: float = 30.0
    ca_file: str | None = None
    read_password: Callable[[str], str | None] = os.environ.get
    # The access tokens of an OAuth2 mailbox (``app.services.oauth.tokens_for``).
    tokens_for: Callable[[Mailbox], TokenProvider] | None = None
    lease: timedelta = LEASE
    # Asked between batches: true once the worker is stopping (SIGTERM), so that a poll
    # ends after the batch it is archiving and the rest waits for the next poll.
    should_stop: Callable[[], bool] = lambda: False


@dataclass
class FolderReport:
    mailbox: str
    folder: str
    fetched: int = 0
    archived: int = 0
    duplicates: int = 0
    quarantined: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    new_message_ids: list[int] = field(default_factory=list)

    def count(self, result: BatchResult, fetched: int) -> None:
        self.fetched += fetched
        self.archived += result.archived
        self.duplicates += result.duplicates + result.already
        self.quarantined += result.quarantined
        self.new_message_ids += result.new_message_ids

    def line(self) -> str:
        """Return the one-line summary the CLI prints for this folder."""
        text = (f"{self.mailbox}/{self.folder}: fetched {self.fetched}, archived {self.archived}, "
                f"duplicates {self.duplicates}, quarantined {self.quarantined}, "
                f"errors {len(self.errors)}")
        details = self.notes + self.errors
        return text + ("".join(f"\n  - {d}" for d in details))


Progress = Callable[[FolderReport, int], None]


def endpoint_for(mailbox: Mailbox, settings: PollSettings) -> Endpoint:
    """Build the connection details of a mailbox, reading its password now."""
    common = dict(name=mailbox.name, host=mailbox.host, port=mailbox.port,
                  security=mailbox.security, username=mailbox.username,
                  timeout=settings.timeout, ca_file=settings.ca_file)
    if mailbox.uses_oauth:
        if settings.tokens_for is None or mailbox.oauth is None:
            raise ConfigurationError("the mailbox signs in with OAuth2 but is not connected yet",
                                     mailbox=mailbox.name)
        return Endpoint(**common, tokens=settings.tokens_for(mailbox), mechanism=mailbox.oauth.mechanism)
    password = settings.read_password(mailbox.password_env) if mailbox.password_env else None
    if not password:
        raise ConfigurationError(
            f"the environment variable {mailbox.password_env} holding the password is not set",
            mailbox=mailbox.name,
        )
    return Endpoint(**common, password=password)


def open_source(mailbox: Mailbox, settings: PollSettings) -> MailSource:
    """Return the mail source of a mailbox, not yet connected (use it with ``with``)."""
    return ImapConnection(endpoint_for(mailbox, settings))


def poll_mailbox(session: Session, mailbox: Mailbox, settings: PollSettings,
                 progress: Progress | None = None) -> list[FolderReport]:
    """Poll every folder of a mailbox once; errors are reported per folder, never raised."""
    reports = [FolderReport(mailbox.name, f.name) for f in mailbox.folders]
    try:
        with open_source(mailbox, settings) as source:
            for folder, report in zip(mailbox.folders, reports, strict=False):
                if settings.should_stop():
                    report.notes.append("not polled: the worker is stopping")
                    continue
                _poll_folder_safely(session, source, folder, report, settings, progress)
    except MailboxError as exc:
        for folder, report in zip(mailbox.folders, reports, strict=False):
            if not report.errors and report.fetched == 0:
                report.errors.append(str(exc))
                _record_error(session, folder, str(exc))
    return reports


def _poll_folder_safely(session: Session, source: MailSource, folder: MailboxFolder,
                        report: FolderReport, settings: PollSettings,
                        progress: Progress | None) -> None:
    if not _take_lease(session, folder, settings.lease):
        report.notes.append(f"skipped: another poller ({folder.lease_owner}) is working on this folder")
        return
    try:
        with _Renewing(session, folder.id, settings.lease):
            poll_folder(session, source, folder, report, settings, progress)
    except (MailboxError, RawStoreError) as exc:
        session.rollback()
        report.errors.append(str(exc))
        _record_error(session, folder, str(exc))
        if isinstance(exc, ConnectionFailed):
            raise  # the connection is gone: the mailbox's other folders cannot be polled
    finally:
        _release_lease(session, folder)


def poll_folder(session: Session, source: MailSource, folder: MailboxFolder,
                report: FolderReport, settings: PollSettings,
                progress: Progress | None = None) -> None:
    """Archive every message above the folder's checkpoint, committing batch by batch."""
    status = source.changes(folder.name, folder.uidvalidity, folder.checkpoint_uid)
    folder.last_poll_at = utcnow()
    if folder.uidvalidity != status.uidvalidity:
        if folder.uidvalidity is not None:
            report.notes.append(
                f"UIDVALIDITY changed from {folder.uidvalidity} to {status.uidvalidity}: "
                "re-reading the folder; messages already archived are recognised by content"
            )
        folder.uidvalidity = status.uidvalidity
        folder.checkpoint_uid = 0
    session.commit()
    uids = status.uids
    archiver = Archiver(session, settings.store, tag_prefix=settings.tag_prefix, notify_assignees=True,
                        learn_languages=True)
    for batch in _batches(uids, source.sizes(uids), settings.batch_size):
        if settings.should_stop():
            report.notes.append("stopped early: the worker is stopping; the rest waits for the next poll")
            session.commit()
            return
        raw = source.fetch(batch)
        result = archiver.archive(
            [(raw[uid], Seen(folder.id, status.uidvalidity, uid)) for uid in batch if uid in raw]
        )
        # UIDs missing from the answer were expunged meanwhile: nothing left to archive.
        folder.checkpoint_uid = batch[-1]
        session.commit()
        report.count(result, len(raw))
        if progress:
            progress(report, len(uids))
    folder.server_count = status.exists
    folder.server_pending = 0
    folder.last_success_at = utcnow()
    folder.last_error = None
    session.commit()


def _batches(uids: list[int], sizes: dict[int, int], limit: int) -> Iterator[list[int]]:
    batch: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if batch and (len(batch) >= limit or total + size > MAX_BATCH_BYTES):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += size
    if batch:
        yield batch


def _record_error(session: Session, folder: MailboxFolder, text: str) -> None:
    session.rollback()
    folder.last_error = text
    folder.last_error_at = utcnow()
    session.commit()


def _take_lease(session: Session, folder: MailboxFolder, lease: timedelta = LEASE) -> bool:
    """Take the folder's lease unless a live poller holds it; take it over from a dead one."""
    session.refresh(folder)
    owner, until = folder.lease_owner, folder.lease_until
    if not free_or_dead(owner, until, utcnow()):
        return False
    # Compare and set: the lease is ours only if nobody took or renewed it since we read it.
    taken = session.execute(
        update(MailboxFolder)
        .where(MailboxFolder.id == folder.id, _equals(MailboxFolder.lease_owner, owner),
               _equals(MailboxFolder.lease_until, until))
        .values(lease_owner=OWNER, lease_until=utcnow() + lease)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    session.refresh(folder)
    return taken == 1


class _Renewing:
    """Renews a folder's lease every third of its length while a poll runs.

    One fetch may take longer than the lease (a slow server, a large batch), and the
    poll's own session is busy with it, so a thread renews the lease through a
    connection of its own. It renews only a lease this process holds; a renewal that
    fails (the database busy for a moment) is tried again at the next tick, well before
    the lease ends.
    """

    def __init__(self, session: Session, folder_id: int, lease: timedelta) -> None:
        self._engine = session.get_bind()
        self._folder_id = folder_id
        self._lease = lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{folder_id}", daemon=True)

    def __enter__(self) -> _Renewing:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._lease.total_seconds() / 3):
            try:
                with self._engine.begin() as connection:
                    connection.execute(
                        update(MailboxFolder)
                        .where(MailboxFolder.id == self._folder_id, MailboxFolder.lease_owner == OWNER)
                        .values(lease_until=utcnow() + self._lease))
            except SQLAlchemyError as exc:
                log.warning("the lease of folder %d was not renewed this time: %s", self._folder_id, exc)


def _equals(column, value):
    return column.is_(None) if value is None else column == value


def free_or_dead(owner: str | None, until, now) -> bool:
    """Tell whether a lease may be taken: unheld, expired, ours, or held by a dead local process."""
    if owner is None or owner == OWNER or until is None or until < now:
        return True
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        pass
    return False


def _release_lease(session: Session, folder: MailboxFolder) -> None:
    session.rollback()
    session.execute(
        update(MailboxFolder).where(MailboxFolder.id == folder.id,
                                    MailboxFolder.lease_owner == OWNER)
        .values(lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()
