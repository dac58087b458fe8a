"""Searchers read the index's memory-mapped segments in place instead of copying them.

Whoosh maps each segment file into memory, then wraps every part of it (postings, terms,
columns) in a ``BufferFile`` whose ``__init__`` does ``BytesIO(buf)``: a private copy of
the whole part on the heap. Every searcher opened a segment's postings and terms that
way, so each searcher of a 135 MiB index held some 130 MiB of copies, and 8 searchers
at once took the process from 100 MiB to 2.3 GiB (measured by ``bench.memory``).

``ViewFile`` reads straight from the mapped pages: a read copies only the bytes read,
and every searcher and process shares the one page cache. ``install`` puts it in the
place where Whoosh-Reloaded 2.7.5 (pinned in requirements.txt) creates these files,
``whoosh.filedb.compound``; ``tests/search/test_searcher_memory.py`` fails if an
upgrade moves it.
"""

from __future__ import annotations

import os

from whoosh.filedb import compound
from whoosh.filedb.structfile import BufferFile

# Whoosh pickles small things into segments (a posting block's header, a few hundred
# bytes); pickle asks to peek 128 KiB ahead, and copying that much each time costs more
# than it saves.
_PEEK = 4096


class ViewReader:
    """A read-only file over a memoryview: reading copies only what is read."""

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._position = 0

    def read(self, size: int | None = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else min(self._position + size, len(self._view))
        data = self._view[self._position:end].tobytes()
        self._position = max(end, self._position)
        return data

    def peek(self, size: int = 0) -> bytes:
        """Return bytes ahead without moving, up to a small page: pickle reads its whole
        input through ``peek`` in one call, instead of a ``read`` call per item."""
        return self._view[self._position:self._position + min(max(size, 1), _PEEK)].tobytes()

    def readline(self, size: int | None = -1) -> bytes:
        rest = len(self._view) - self._position
        limit = rest if size is None or size < 0 else min(size, rest)
        chunk = self._view[self._position:self._position + limit].tobytes()
        newline = chunk.find(b"\n")
        line = chunk if newline < 0 else chunk[:newline + 1]
        self._position += len(line)
        return line

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: len(self._view)}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._view = memoryview(b"")


class ViewFile(BufferFile):
    """Whoosh's ``BufferFile`` over a memory-mapped part of a segment, without the copy."""

    def __init__(self, buf, name=None, onclose=None) -> None:
        super().__init__(b"", name=name, onclose=onclose)
        self._buf = buf
        self.file = ViewReader(memoryview(buf))


def install() -> None:
    """Make Whoosh open memory-mapped segment parts as ``ViewFile`` (idempotent)."""
    compound.BufferFile = ViewFile
