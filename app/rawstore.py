"""The raw store: every archived message's bytes, exactly as received, named by their
sha256: in a file (``RawStore``, the embedded default) or in a database row
(``DatabaseRawStore``, ``RAW_STORE=database``, which every machine reads).

Content addressing makes writing idempotent (the same bytes land in the same file)
and verification simple (re-hash and compare with the name).  A file is written to a
temporary name, flushed to disk and only then renamed, so a reader or a crash never
sees a partial message.  The flush and rename run in background threads, many at
once, because a journaling file system commits concurrent fsyncs together: one at a
time, the fsyncs were the raw store's whole cost.  ``make_durable`` waits for
them and flushes the directories; the poller calls it before it moves any checkpoint,
so bytes are durable before the checkpoint that covers them.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from app.models.raw import RawBlob
from app.models.time import utcnow

# Threads flushing files and directories; fsync releases the GIL, and past about
# this many concurrent fsyncs a journal commit gains nothing more.
_SYNC_THREADS = 16
# Files written but not yet flushed and renamed; each holds an open descriptor, so
# this bounds the descriptors a batch of any size keeps open (well under the usual
# limit of 1024), while a poller batch (200 by default) never waits on it.
_MAX_PENDING = 256
# The prefix of a file being written; it is renamed to its hash once flushed.
_TEMPORARY = ".incoming-"
# A temporary file this old was left by a write that was killed (see remove_leftovers).
LEFTOVER_SECONDS = 3600


class RawStoreError(Exception):
    """The raw store cannot be written or read; the message says which path and why."""


def sha256_hex(data: bytes) -> str:
    """Return the lowercase hex sha256 of ``data``, the archive's identity for raw bytes."""
    return hashlib.sha256(data).hexdigest()


class RawStore:
    """Raw messages in files under a folder of this machine."""

    kind = "files"

    def __init__(self, root: str | os.PathLike, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self._pending: dict[Path, Future] = {}
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def path_for(self, sha256: str) -> Path:
        """Return where the bytes with this hash live (two levels of fan-out)."""
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, sha256: str, data: bytes) -> Path:
        """Store ``data`` under its hash unless it is there already; return its path.

        With fsync on, the file reaches its path once flushed to disk, in the
        background; ``make_durable`` (and ``get``) wait for it.
        """
        path = self.path_for(sha256)
        if path in self._pending or path.exists():
            return path
        fd, tmp = self._write_temporary(path, data)
        if not self.fsync:
            _close_and_rename(fd, tmp, path)
            return path
        self._wait_while_full()
        with self._lock:
            self._pending[path] = self._executor().submit(_flush_and_rename, fd, tmp, path)
        return path

    def _write_temporary(self, path: Path, data: bytes) -> tuple[int, str]:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_TEMPORARY)
        except OSError as exc:
            raise _write_error(path, exc) from exc
        try:
            with open(fd, "wb", closefd=False) as fh:
                fh.write(data)
        except OSError as exc:
            _discard(fd, tmp)
            raise _write_error(path, exc) from exc
        return fd, tmp

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(_SYNC_THREADS, thread_name_prefix="rawstore-fsync")
        return self._pool

    def _wait_while_full(self) -> None:
        while len(self._pending) >= _MAX_PENDING:
            with self._lock:
                oldest = next(iter(self._pending))
                future = self._pending.pop(oldest)
            future.result()

    def _wait_for(self, paths: Iterable[Path] | None = None) -> None:
        """Wait until pending files (all, or those named) are flushed and in place."""
        with self._lock:
            chosen = list(self._pending) if paths is None else [p for p in paths if p in self._pending]
            futures = [self._pending.pop(p) for p in chosen]
        for future in futures:
            future.result()  # raises the RawStoreError of a file that could not be stored

    def make_durable(self, paths: list[Path]) -> None:
        """Make stored files durable: wait for their flush and rename, then flush the
        directory entries (POSIX needs this for a rename to survive a crash)."""
        self._wait_for()
        directories = {p.parent for p in paths}
        if not self.fsync or not directories:
            return
        list(self._executor().map(_fsync_directory, directories))

    def get(self, sha256: str) -> bytes:
        """Return the stored bytes for a hash; raise ``RawStoreError`` if they are missing."""
        path = self.path_for(sha256)
        self._wait_for([path])
        try:
            return path.read_bytes()
        except OSError as exc:
            raise RawStoreError(f"raw message {sha256} is missing: {exc.strerror or exc}") from exc

    def verify(self, sha256: str) -> str | None:
        """Re-hash stored bytes; return a description of the problem, or None when intact."""
        return _verify(self, sha256)

    def missing(self, hashes: list[str]) -> list[str]:
        """Return those of ``hashes`` that the store does not hold."""
        self._wait_for()
        return [sha for sha in hashes if not self.path_for(sha).exists()]

    @property
    def location(self) -> str:
        return str(self.root)

    def remove_leftovers(self, older_than: float = LEFTOVER_SECONDS) -> int:
        """Remove temporary files that a write killed before its rename left; return how many.

        Only files older than ``older_than`` seconds go: another process (an import
        beside the worker) may be writing the newer ones right now. A leftover never
        holds anything needed: its message was not archived, so its source still has it.
        """
        if not self.root.exists():
            return 0
        removed = 0
        cutoff = time.time() - older_than
        for path in self.root.glob(f"??/??/{_TEMPORARY}*"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:  # renamed or removed meanwhile
                continue
        return removed

    def __iter__(self) -> Iterator[str]:
        self._wait_for()
        if not self.root.exists():
            return
        for path in self.root.glob("??/??/*"):
            if not path.name.startswith("."):
                yield path.name


class DatabaseRawStore:
    """Raw messages in the database's ``raw_blob`` table, one row per sha256.

    ``put`` keeps the bytes in memory; ``make_durable`` writes what was put in one
    transaction of its own and commits it, so the bytes are durable before the archive's
    transaction (with the checkpoint that covers them) commits, as with files. Nothing is
    ever half-written: a row is in whole or not at all.
    """

    kind = "database"
    location = "the database (raw_blob)"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._pending: dict[str, bytes] = {}
        self._pending_bytes = 0
        self._lock = threading.Lock()

    def put(self, sha256: str, data: bytes) -> str:
        with self._lock:
            if sha256 not in self._pending:
                self._pending[sha256] = data
                self._pending_bytes += len(data)
            full = self._pending_bytes > _MAX_PENDING_BYTES
        if full:
            self.make_durable([])
        return sha256

    def make_durable(self, written: list[str]) -> None:
        """Write every put message that is not yet written, and commit."""
        with self._lock:
            pending, self._pending, self._pending_bytes = self._pending, {}, 0
        if not pending:
            return
        table = RawBlob.__table__
        rows = [{"sha256": sha, "size": len(data), "data": data, "stored_at": utcnow()}
                for sha, data in pending.items()]
        statement = _insert_for(self.engine)(table).on_conflict_do_nothing(index_elements=["sha256"])
        try:
            with self.engine.begin() as connection:
                connection.execute(statement, rows)
        except SQLAlchemyError as exc:
            raise RawStoreError(f"cannot write {len(rows)} raw message(s) to the database: "
                                f"{type(exc.orig or exc).__name__}") from exc

    def get(self, sha256: str) -> bytes:
        with self._lock:
            if sha256 in self._pending:
                return self._pending[sha256]
        table = RawBlob.__table__
        try:
            with self.engine.connect() as connection:
                data = connection.scalar(select(table.c.data).where(table.c.sha256 == sha256))
        except SQLAlchemyError as exc:
            raise RawStoreError(f"raw message {sha256} cannot be read from the database: "
                                f"{type(exc.orig or exc).__name__}") from exc
        if data is None:
            raise RawStoreError(f"raw message {sha256} is missing from the database")
        return bytes(data)

    def verify(self, sha256: str) -> str | None:
        return _verify(self, sha256)

    def missing(self, hashes: list[str]) -> list[str]:
        table = RawBlob.__table__
        held: set[str] = set()
        with self.engine.connect() as connection:
            for start in range(0, len(hashes), 500):
                chunk = hashes[start:start + 500]
                held.update(connection.scalars(select(table.c.sha256).where(table.c.sha256.in_(chunk))))
        return [sha for sha in hashes if sha not in held]

    def remove_leftovers(self, older_than: float = LEFTOVER_SECONDS) -> int:
        """Nothing is left by an interrupted write: a transaction commits whole or not at all."""
        return 0

    def __iter__(self) -> Iterator[str]:
        self.make_durable([])
        column = RawBlob.__table__.c.sha256
        with self.engine.connect() as connection:
            yield from connection.scalars(select(column).order_by(column))


# Bytes a database store holds in memory before writing them without waiting for
# make_durable (a poller batch of 200 large messages).
_MAX_PENDING_BYTES = 64 * 2**20


def _insert_for(engine: Engine):
    return postgresql_insert if engine.dialect.name == "postgresql" else sqlite_insert


def _verify(store, sha256: str) -> str | None:
    try:
        actual = sha256_hex(store.get(sha256))
    except RawStoreError as exc:
        return str(exc)
    return None if actual == sha256 else f"raw message {sha256} now hashes to {actual}"


def _flush_and_rename(fd: int, tmp: str, path: Path) -> None:
    try:
        os.fsync(fd)
    except OSError as exc:
        _discard(fd, tmp)
        raise _write_error(path, exc) from exc
    _close_and_rename(fd, tmp, path)


def _close_and_rename(fd: int, tmp: str, path: Path) -> None:
    try:
        os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        _discard(None, tmp)
        raise _write_error(path, exc) from exc


def _discard(fd: int | None, tmp: str) -> None:
    """Close and remove a temporary file that will not be stored; it holds nothing needed."""
    try:
        if fd is not None:
            os.close(fd)
    except OSError:
        pass
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise RawStoreError(f"cannot flush the directory {directory}: {exc.strerror or exc}") from exc


def _write_error(path: Path, exc: OSError) -> RawStoreError:
    return RawStoreError(f"cannot write raw message to {path}: {exc.strerror or exc}")
