"""The raw store: every archived message's bytes, exactly as received, in a file named
by their sha256.

Content addressing makes writing idempotent (the same bytes land in the same file)
and verification simple (re-hash and compare with the name).  A file is written to a
temporary name, flushed to disk and then renamed, so a reader or a crash never sees a
partial message; the poller stores bytes before it moves any checkpoint.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


class RawStoreError(Exception):
    """The raw store cannot be written or read; the message says which path and why."""


def sha256_hex(data: bytes) -> str:
    """Return the lowercase hex sha256 of ``data``, the archive's identity for raw bytes."""
    return hashlib.sha256(data).hexdigest()


class RawStore:
    def __init__(self, root: str | os.PathLike, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync

    def path_for(self, sha256: str) -> Path:
        """Return where the bytes with this hash live (two levels of fan-out)."""
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, sha256: str, data: bytes) -> Path:
        """Store ``data`` under its hash unless it is there already; return its path."""
        path = self.path_for(sha256)
        if path.exists():
            return path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if self.fsync:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            raise RawStoreError(
                f"cannot write raw message to {path}: {exc.strerror or exc}"
            ) from exc
        return path

    def sync_directories(self, paths: list[Path]) -> None:
        """Flush the directory entries of newly renamed files (POSIX needs this for durability)."""
        if not self.fsync:
            return
        for directory in {p.parent for p in paths}:
            fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def get(self, sha256: str) -> bytes:
        """Return the stored bytes for a hash; raise ``RawStoreError`` if they are missing."""
        try:
            return self.path_for(sha256).read_bytes()
        except OSError as exc:
            raise RawStoreError(f"raw message {sha256} is missing: {exc.strerror or exc}") from exc

    def verify(self, sha256: str) -> str | None:
        """Re-hash stored bytes; return a description of the problem, or None when intact."""
        try:
            actual = sha256_hex(self.get(sha256))
        except RawStoreError as exc:
            return str(exc)
        return None if actual == sha256 else f"raw message {sha256} now hashes to {actual}"

    def __iter__(self) -> Iterator[str]:
        if not self.root.exists():
            return
        for path in self.root.glob("??/??/*"):
            if not path.name.startswith("."):
                yield path.name
