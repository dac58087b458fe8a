"""Opening the index folder, the single-writer lock, and writing messages into it.

Whoosh allows one writer per index.  The product makes that a role: whoever holds the
writer lock (a file lock in the index folder) is the only process that indexes.  The
worker holds it for its whole life; a one-off command takes it only when no worker
runs, and otherwise leaves the indexing to the worker.  A large batch is analysed by
Whoosh's own helper processes under that one writer, one per CPU, since Whoosh spends
its time in Python and one process would leave the other CPUs idle.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import AsyncWriter

from app.search.schema import build_schema

_LOCK_NAME = ".desk-writer.lock"
# Posting memory per writer process before Whoosh spills sorted runs to disk: this,
# not the number of messages, bounds the indexer's memory.
_LIMIT_MB = 64
# Below this many documents, starting helper processes costs more than it saves.
PARALLEL_FROM = 400
_MAX_PROCS = 4


@dataclass(frozen=True)
class IndexDocument:
    id: int
    subject: str
    body: str
    sender: str
    from_addr: str
    to: str
    cc: str
    account: str
    account_id: int | None
    mailboxes: str
    ticket: int | None
    date: datetime | None
    filenames: str
    unmatched: bool
    quarantined: bool
    direction: str
    status: str = ""
    attachment_text: str = ""


class WriterBusy(Exception):
    """Another process (normally the worker) is the index writer."""


class SearchIndex:
    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._lock_fd: int | None = None
        self._ix = None

    def open(self):
        """Return the Whoosh index, creating the folder and an empty index if needed."""
        if self._ix is None:
            self.path.mkdir(parents=True, exist_ok=True)
            if whoosh_index.exists_in(self.path):
                self._ix = whoosh_index.open_dir(self.path)
            else:
                self._ix = whoosh_index.create_in(self.path, build_schema())
        return self._ix

    def acquire_writer(self) -> None:
        """Become the index writer or raise ``WriterBusy``; held until ``release_writer``."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise WriterBusy("another process is the index writer") from None
        self._lock_fd = fd

    def release_writer(self) -> None:
        """Give up the writer role."""
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    @property
    def is_writer(self) -> bool:
        return self._lock_fd is not None

    def write(self, documents: Iterable[IndexDocument], expected: int = 0) -> int:
        """Add or replace documents; only the writer may call this.

        ``expected`` is how many documents are coming; a large batch is spread over
        helper processes.
        """
        if not self.is_writer:
            raise WriterBusy("this process is not the index writer")
        writer = self._writer(_procs_for(expected))
        count = 0
        try:
            for doc in documents:
                writer.update_document(**_fields(doc))
                count += 1
        except BaseException:
            _cancel(writer)
            raise
        writer.commit()
        return count

    def _writer(self, procs: int):
        # Whoosh reads segments through mmap by default and unmaps them only when the
        # garbage collector gets round to it; every writer maps the whole index again
        # to look up the documents it replaces, so the indexer's RSS grew with the
        # index.  The writer reads through plain files; searchers keep mmap.
        self.open()
        ix = FileStorage(str(self.path), supports_mmap=False).open_index()
        if procs > 1:
            # multisegment: each helper's segment joins the index as it is, instead of
            # being merged again by this process; Whoosh's merge policy folds small
            # segments together on later commits.
            return ix.writer(procs=procs, multisegment=True, limitmb=_LIMIT_MB)
        return ix.writer(limitmb=_LIMIT_MB)

    def delete(self, message_ids: Iterable[int]) -> None:
        """Remove messages from the index (used by checks and tests of them)."""
        writer = AsyncWriter(self.open()) if not self.is_writer else self.open().writer()
        for message_id in message_ids:
            writer.delete_by_term("id", message_id)
        writer.commit()

    def refresh(self):
        """Return a fresh view of the index (searchers see the latest commit)."""
        self._ix = None
        return self.open()


def _cancel(writer) -> None:
    # Whoosh's MpWriter.cancel only flags its helpers in this process; they would wait
    # on the job queue for ever and keep this process from exiting.  Stop them here.
    for task in getattr(writer, "tasks", ()):
        task.terminate()
        task.join()
    writer.cancel()


def _procs_for(expected: int) -> int:
    """Return how many processes should analyse a batch of ``expected`` documents."""
    if expected < PARALLEL_FROM or not sys.platform.startswith("linux"):
        # Forking a helper is cheap; where multiprocessing spawns a fresh interpreter
        # instead (macOS, Windows), starting one costs more than it saves.
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), _MAX_PROCS))


def _fields(doc: IndexDocument) -> dict:
    fields = {
        "id": doc.id,
        "subject": doc.subject,
        "body": doc.body,
        "sender": doc.sender,
        "from_addr": doc.from_addr,
        "to": doc.to,
        "cc": doc.cc,
        "account": doc.account,
        "mailbox": doc.mailboxes,
        "filename": doc.filenames,
        "has_attachment": bool(doc.filenames),
        "unmatched": doc.unmatched,
        "quarantined": doc.quarantined,
        "direction": doc.direction,
        "snippet": doc.body[:300],
        "attachments": doc.attachment_text,
    }
    if doc.status:
        fields["status"] = doc.status
    if doc.account_id is not None:
        fields["account_id"] = doc.account_id
    if doc.ticket is not None:
        fields["ticket"] = doc.ticket
    if doc.date is not None:
        fields["date"] = doc.date
        fields["month"] = doc.date.strftime("%Y-%m")
    return fields
