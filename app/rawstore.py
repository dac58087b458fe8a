"""The raw store: every archived message's bytes, exactly as received, in a file named
by their sha256.

Content addressing makes writing idempotent (the same bytes land in the same file)
and verification simple (re-hash and compare with the name).  A file is written to a
temporary name, flushed to disk and only then renamed, so a reader or a crash never
sees a partial message.  The flush and rename run in background threads, many at
once, because a journaling file system commits concurrent fsyncs together: one at a
time, the fsyncs were the raw store's whole cost.  ``sync_directories`` waits for
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
        background; ``sync_directories`` (and ``get``) wait for it.
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

    def sync_directories(self, paths: list[Path]) -> None:
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
        try:
            actual = sha256_hex(self.get(sha256))
        except RawStoreError as exc:
            return str(exc)
        return None if actual == sha256 else f"raw message {sha256} now hashes to {actual}"

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
