"""Opening the index folder, the single-writer lock, writing messages into it, and
replacing the whole index with a rebuilt one.

Whoosh allows one writer per index.  The product makes that a role: whoever holds the
writer lock (a file lock in the index folder) is the only process that indexes.  The
worker holds it for its whole life; a one-off command takes it only when no worker
runs, and otherwise leaves the indexing to the worker.  A large batch is analysed by
Whoosh's own helper processes under that one writer, one per CPU, since Whoosh spends
its time in Python and one process would leave the other CPUs idle.

Generations: ``INDEX_PATH`` holds the live index in a generation folder named by the
pointer file ``LIVE`` (``gen-000001``, ...); without that file the Whoosh files in
``INDEX_PATH`` itself are the live index (generation 0, as every index was before
rebuilds).  A rebuild writes a new generation folder that nobody else reads or writes,
then replaces ``LIVE`` with ``os.replace``: each search opens whichever generation is
live when it starts, so searches never see half an index.  Writes into the live
generation and the switch take a short commit lock, so the writer's next commit after
a switch goes into the new generation.  The lock files stay in ``INDEX_PATH``, beside
the generations.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import os
import re
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3PerDocReader, _lenfield
from whoosh.filedb.filestore import FileStorage
from whoosh.multiproc import SubWriterTask
from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length
from whoosh.writing import MERGE_SMALL, AsyncWriter

from app.search import mapped, whoosh_query
from app.search.docsets import numbers
from app.search.errors import IndexOutdated, IndexUnreadable, RebuildBusy, WriterBusy
from app.search.schema import PAIRS, POSITIONS, POSITIONS_APART, TEXT_FIELDS, build_schema, domains

mapped.install()  # searchers share the index's mapped pages instead of copying them

_LOCK_NAME = ".desk-writer.lock"
# Held for each write into the live generation and for a switch of generations.
_COMMIT_LOCK = ".desk-commit.lock"
# Held by a rebuild from start to switch: one rebuild at a time.
_REBUILD_LOCK = ".desk-reindex.lock"
POINTER = "LIVE"
_GENERATION = re.compile(r"gen-(\d{6,})")
# The files Whoosh writes for its index named MAIN: tables of contents and segments.
_WHOOSH_FILE = re.compile(r"_MAIN_\d+\.toc|MAIN_.+")
# Posting memory per writer process before Whoosh spills sorted runs to disk: this,
# not the number of messages, bounds the indexer's memory.
_LIMIT_MB = 128
# Below this many documents, starting helper processes costs more than it saves.
PARALLEL_FROM = 400
_MAX_PROCS = 4
# Searchers kept open between searches: enough for the web server's busy threads.
_IDLE_SEARCHERS = 8


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


class SearchIndex:
    """The Whoosh index in a folder of this machine: the embedded default search backend."""

    name = "whoosh"
    single_writer = True

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._lock_fd: int | None = None
        self._commit_fd: int | None = None
        self._commit_depth = 0
        self._ix = None
        self._ix_path: Path | None = None
        self._idle: list = []  # searchers kept for ``lent_searcher``, the latest returned last
        self._idle_lock = threading.Lock()

    def live_path(self) -> Path:
        """Return the folder of the live generation: the one ``LIVE`` names, else ``path`` itself."""
        try:
            name = (self.path / POINTER).read_text().strip()
        except FileNotFoundError:
            return self.path
        if not _GENERATION.fullmatch(name):
            raise IndexUnreadable(f"{self.path / POINTER} names {name[:40]!r}, which is no index "
                               "generation; run `flask search reindex` to rebuild the index")
        return self.path / name

    @property
    def generation(self) -> str:
        """Name the live generation, for reports."""
        live = self.live_path()
        return live.name if live != self.path else "generation 0"

    @property
    def location(self) -> str:
        return str(self.path)

    def search(self, text: str, **how):
        """Run a query (see ``app.search.query.search_messages``)."""
        with self.lent_searcher() as searcher:
            return whoosh_query.search(searcher, text, **how)

    def matching_ids(self, text: str, *, sort: str) -> list[int]:
        with self.lent_searcher() as searcher:
            return whoosh_query.matching_ids(searcher, text, sort=sort)

    def open(self):
        """Return the live Whoosh index, creating the folder and an empty index if needed.

        Raise ``IndexOutdated`` when the index was built with another schema.
        """
        live = self.live_path()
        if self._ix is None or live != self._ix_path:
            self._ix = _open_or_create(live)
            self._ix_path = live
        return self._ix

    def searcher(self):
        """Return a searcher of the live generation; close it, or use it in a ``with`` block."""
        try:
            return self.refresh().searcher()
        except (FileNotFoundError, whoosh_index.EmptyIndexError):
            # The generation opened a moment ago was replaced and removed since: open the new one.
            return self.refresh().searcher()

    @contextmanager
    def lent_searcher(self) -> Iterator:
        """Lend an open searcher of the live generation for one search; don't close it.

        Opening an index reads every segment's metadata, which costs tens of milliseconds
        on a large index, so searchers are kept between searches and lent out again while
        no commit has come since.
        Whoosh searchers must not be shared by threads at once: each is lent to one
        search at a time, and a search that finds none idle opens another. Lending never
        waits, whatever the server's threads do.
        """
        path, searcher = self._borrow()
        try:
            yield searcher
        finally:
            with self._idle_lock:
                if len(self._idle) < _IDLE_SEARCHERS:
                    self._idle.append((path, searcher))
                    searcher = None
            if searcher is not None:
                searcher.close()

    def _borrow(self) -> tuple[Path, object]:
        live = self.live_path()
        while True:
            with self._idle_lock:
                path, searcher = self._idle.pop() if self._idle else (live, None)
            if searcher is None:
                return live, _open_or_create(live).searcher()
            if path == live and _up_to_date(searcher):
                return live, searcher
            if path == live:  # a commit came since
                try:
                    return live, _reopened(_open_or_create(live), searcher)
                except (OSError, whoosh_index.EmptyIndexError):  # its generation is being replaced
                    continue
            searcher.close()  # its generation was replaced

    def stored_ids(self) -> list[int]:
        """Return the message id of every document in the live generation (twice if held twice)."""
        with self.searcher() as searcher:
            return [fields["id"] for fields in searcher.all_stored_fields()]

    def acquire_writer(self) -> None:
        """Become the index writer or raise ``WriterBusy``; held until ``release_writer``."""
        self._lock_fd = _lock_or_raise(self.path / _LOCK_NAME,
                                       WriterBusy("another process is the index writer"))

    def release_writer(self) -> None:
        """Give up the writer role."""
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    @property
    def is_writer(self) -> bool:
        return self._lock_fd is not None

    def write(self, documents: Iterable[IndexDocument], expected: int = 0, *, session=None) -> int:
        """Add or replace documents; only the writer may call this.

        ``expected`` is how many documents are coming; a large batch is spread over
        helper processes.  The database's ``session`` plays no part in a Whoosh write.
        """
        if not self.is_writer:
            raise WriterBusy("this process is not the index writer")
        with self.commit_lock():
            self.open()
            return _write(self._ix_path, documents, expected, replace=True)

    def delete(self, message_ids: Iterable[int]) -> None:
        """Remove messages from the index (used by checks and tests of them)."""
        with self.commit_lock():
            writer = AsyncWriter(self.open()) if not self.is_writer else self.open().writer()
            for message_id in message_ids:
                writer.delete_by_term("id", message_id)
            writer.commit()

    def refresh(self):
        """Return a fresh view of the index (searchers see the latest commit)."""
        self._ix = None
        return self.open()

    @contextmanager
    def commit_lock(self) -> Iterator[None]:
        """Hold the lock that orders writes into the live generation and switches of it."""
        if self._commit_depth == 0:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path / _COMMIT_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)  # held for one commit or one switch: seconds at most
            self._commit_fd = fd
        self._commit_depth += 1
        try:
            yield
        finally:
            self._commit_depth -= 1
            if self._commit_depth == 0:
                fcntl.flock(self._commit_fd, fcntl.LOCK_UN)
                os.close(self._commit_fd)
                self._commit_fd = None

    @contextmanager
    def rebuilding(self) -> Iterator[Generation]:
        """Start a new generation beside the live one; ``publish`` makes it live.

        Raise ``RebuildBusy`` when another rebuild runs.  A generation left unpublished
        (an error, Ctrl-C) is removed, and so are leftovers of rebuilds that died.
        """
        fd = _lock_or_raise(self.path / _REBUILD_LOCK,
                            RebuildBusy("another `flask search reindex` is running; let it finish"))
        try:
            self._remove_generations(keep=self.live_path())
            generation = Generation(self.path / f"gen-{self._next_number():06d}")
            try:
                yield generation
            finally:
                if self.live_path() != generation.path:
                    shutil.rmtree(generation.path, ignore_errors=True)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def publish(self, generation: Generation, last_step: Callable[[], None] | None = None) -> None:
        """Make ``generation`` live, after ``last_step`` ran under the commit lock; remove the old one.

        No write into the old generation can happen between ``last_step`` and the switch,
        so ``last_step`` can bring the new generation level with the old one.  Searchers
        opened on the old generation keep answering: their files stay open after removal.
        """
        with self.commit_lock():
            if last_step is not None:
                last_step()
            _replace_pointer(self.path, generation.path.name)
            self._ix = None
        self._remove_generations(keep=generation.path)

    def _next_number(self) -> int:
        numbers = [int(m.group(1)) for p in self.path.iterdir() if (m := _GENERATION.fullmatch(p.name))]
        return max(numbers, default=0) + 1

    def _remove_generations(self, keep: Path) -> None:
        """Remove every generation but ``keep``: folders, and generation 0's files in ``path``."""
        for entry in self.path.iterdir():
            if entry == keep:
                continue
            if entry.is_dir() and _GENERATION.fullmatch(entry.name):
                shutil.rmtree(entry, ignore_errors=True)
            elif keep != self.path and entry.is_file() and _WHOOSH_FILE.fullmatch(entry.name):
                entry.unlink(missing_ok=True)


class Generation:
    """A generation being rebuilt: a folder of its own that only the rebuild writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        self.where = str(path)
        path.mkdir(parents=True)
        whoosh_index.create_in(path, build_schema())

    def add(self, documents: Iterable[IndexDocument], expected: int = 0) -> int:
        """Add documents that are not in this generation yet, in one commit."""
        return _write(self.path, documents, expected, replace=False)

    def update(self, documents: Iterable[IndexDocument]) -> int:
        """Add or replace documents."""
        return _write(self.path, documents, 0, replace=True)

    def ids(self) -> list[int]:
        """Return the message ids this generation holds."""
        with whoosh_index.open_dir(self.path).searcher() as searcher:
            return [fields["id"] for fields in searcher.all_stored_fields()]


def _lock_or_raise(path: Path, busy: Exception) -> int:
    """Take an exclusive lock on the file ``path`` without waiting; raise ``busy`` if it is held."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise busy from None
    return fd


def _reopened(ix, stale):
    """Return a searcher of the index's latest commit that keeps ``stale``'s readers of
    the segments the commit left as they were, and closes the rest of ``stale``.

    A commit adds a segment, merges small ones, or marks documents of a segment deleted
    (a message indexed again); the other segments, usually all the large ones, are the
    same files, and opening them again would cost most of a search's time on a large
    index.  (Whoosh's own ``Searcher.refresh`` reuses readers too, but by segment name
    alone: it keeps a reader's old deletions, and the readers of segments a merge removed.)
    """
    toc = ix._read_toc()
    old = {reader.segment().segment_id(): reader for reader, _ in stale.reader().leaf_readers()
           if reader.segment() is not None}
    readers = []
    try:
        for segment in toc.segments:
            reader = old.get(segment.segment_id())
            # Deletions only ever add to a segment's set, so an equal count is the same set.
            if reader is not None and reader.segment().deleted_count() == segment.deleted_count():
                del old[segment.segment_id()]
            else:
                reader = SegmentReader(ix.storage, toc.schema, segment, generation=toc.generation)
            readers.append(reader)
    except BaseException:  # the caller opens a whole new searcher instead
        for reader in [*readers, *old.values()]:
            reader.close()
        raise
    for reader in old.values():
        reader.close()
    if not readers:
        combined = EmptyReader(toc.schema)
    elif len(readers) == 1:
        combined = readers[0]
        combined._gen = toc.generation  # what ``up_to_date`` compares with the latest commit
    else:
        combined = MultiReader(readers, generation=toc.generation)
    return Searcher(combined, fromindex=ix)


def _up_to_date(searcher) -> bool:
    try:
        return searcher.up_to_date()
    except (OSError, whoosh_index.EmptyIndexError):  # its generation was removed
        return False


def _open_or_create(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    if not whoosh_index.exists_in(folder):
        return whoosh_index.create_in(folder, build_schema())
    ix = whoosh_index.open_dir(folder)
    if _shape(ix.schema) != _shape(build_schema()):
        raise IndexOutdated(
            f"the search index in {folder} was built by an older version with other fields; "
            "run `flask search reindex` to rebuild it from the database"
        )
    return ix


def analysis_digest() -> str:
    """Return a short digest of how the current schema splits each field's text into words
    (its analyzers' steps and their versions): the PostgreSQL backend keeps it with its
    tables, as the Whoosh index keeps its schema, to know when it must be rebuilt."""
    analysis = sorted((name, _analysis(field)) for name, field in build_schema().items())
    return hashlib.sha256(repr(analysis).encode()).hexdigest()[:16]


def _shape(schema) -> dict[str, tuple]:
    """Return each field's name, kind, sortability, what its postings hold (positions or
    not) and how its text is split into words: what decides whether queries and writes
    work, and whether a query's words are the index's words."""
    return {name: (type(field).__name__, field.column_type is not None, type(field.format).__name__,
                   _analysis(field))
            for name, field in schema.items()}


def _analysis(field) -> tuple:
    return _steps(field.analyzer) if getattr(field, "analyzer", None) else ()


def _steps(analyzer) -> tuple:
    """Name each step of an analyzer, steps of steps included, with its version."""
    items = getattr(analyzer, "items", None)
    if items is None:
        return ((type(analyzer).__name__, getattr(analyzer, "version", None)),)
    return tuple(step for item in items for step in _steps(item))


def _replace_pointer(root: Path, name: str) -> None:
    temporary = root / f"{POINTER}.tmp"
    with open(temporary, "w") as handle:
        handle.write(name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, root / POINTER)
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename itself survives a crash
    finally:
        os.close(fd)


def _write(folder: Path, documents: Iterable[IndexDocument], expected: int, *, replace: bool) -> int:
    writer = _writer(folder, _procs_for(expected))
    add = writer.update_document if replace else writer.add_document
    count = 0
    try:
        for doc in documents:
            add(**_fields(doc))
            count += 1
    except BaseException:
        _cancel(writer)
        raise
    writer.commit(mergetype=_merge_small_mapped)
    return count


def _merge_small_mapped(writer, segments):
    """Fold small segments together as Whoosh's ``MERGE_SMALL`` chooses them, reading them mapped.

    The writer reads through plain files (see ``_writer``), but a merge reads every
    posting of the segments it folds, and through plain files each one is a seek and a
    few small reads: merging 6,000 documents took 46 s that way and 32 s through mmap.
    The mapping lasts only as long as the merge; Whoosh closes each reader after it.
    """
    return MERGE_SMALL(_MappedReads(writer), segments)


class _MappedReads:
    """The part of a writer that ``MERGE_SMALL`` uses, with a storage that maps its files."""

    def __init__(self, writer) -> None:
        self.storage = FileStorage(writer.storage.folder)  # supports_mmap by default
        self.schema = writer.schema
        self.add_reader = writer.add_reader


def _writer(folder: Path, procs: int):
    # Whoosh reads segments through mmap by default and unmaps them only when the
    # garbage collector gets round to it; every writer maps the whole index again
    # to look up the documents it replaces, so the indexer's RSS grew with the
    # index.  The writer reads through plain files; searchers keep mmap.
    ix = FileStorage(str(folder), supports_mmap=False).open_index()
    if procs > 1:
        # multisegment: each helper's segment joins the index as it is, instead of
        # being merged again by this process; Whoosh's merge policy folds small
        # segments together on later commits.
        return ix.writer(procs=procs, multisegment=True, limitmb=_LIMIT_MB)
    return ix.writer(limitmb=_LIMIT_MB)


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _helpers_die_with_their_writer() -> None:
    """Make each of Whoosh's helper processes end when the thread that forked it ends.

    Forked helpers hold the writer's file locks too. Should the writer be killed
    (SIGKILL, the OOM killer), orphaned helpers would wait on its job queue for ever and
    keep the index locked against every later writer. Linux sends a signal of our choice
    to a child when its parent thread ends (``PR_SET_PDEATHSIG``); a helper asks for
    SIGKILL before it starts, and exits at once if its writer is already gone. The
    helpers never outlive a write: ``commit`` and ``_cancel`` join them.
    """
    if not sys.platform.startswith("linux") or getattr(SubWriterTask.run, "dies_with_writer", False):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    whoosh_run = SubWriterTask.run

    def run(task) -> None:
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or os.getppid() != task._parent_pid:
            os._exit(1)
        whoosh_run(task)

    run.dies_with_writer = True
    SubWriterTask.run = run


_helpers_die_with_their_writer()


def _lengths_read_whole() -> None:
    """Make a segment's field lengths read once per field, not once per posting.

    Writing a segment asks, for every posting, the length of the document's field
    (for the term's shortest and longest document), and Whoosh answers each from the
    file: a seek and a one-byte read, a tenth of a writer's time and more of a merge's.
    A segment never changes once written, so each field's column of length bytes is
    read whole on first use and answered from memory after that (one byte per document).
    """
    if getattr(W3PerDocReader.doc_field_length, "reads_whole", False):
        return

    def doc_field_length(reader, docnum, fieldname, default=0):
        if docnum > reader._doccount:
            raise IndexError(f"Asked for docnum {docnum!r} of {reader._doccount}")
        columns = reader.__dict__.setdefault("_whole_lengths", {})
        column = columns.get(fieldname)
        if column is None:
            stored = reader._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            column = columns[fieldname] = (False if stored is None
                                           else numbers(stored, reader._doccount, np.uint8).tobytes())
        if column is False:  # the field has no lengths in this segment
            return default
        length_byte = column[docnum] if docnum < len(column) else 0
        return byte_to_length(length_byte) if length_byte else None  # None for 0, as Whoosh answers

    doc_field_length.reads_whole = True
    W3PerDocReader.doc_field_length = doc_field_length


_lengths_read_whole()


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
        "domains": " ".join(domains("from", [doc.from_addr]) + domains("to", doc.to.split(","))
                            + domains("cc", doc.cc.split(","))),
    }
    for name in TEXT_FIELDS:
        fields[name + PAIRS] = fields[name]
    for name in POSITIONS_APART:
        fields[name + POSITIONS] = fields[name]
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
