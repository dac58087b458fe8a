"""Searchers share the index's pages: 8 threads searching while the writer commits new mail
get exact totals, and the process's own memory grows by less than one copy of the index,
however many searchers and commits there were (Whoosh's own BufferFile copied each
segment's postings and terms into every searcher)."""

from __future__ import annotations

import random
import threading
from contextlib import ExitStack
from pathlib import Path

from whoosh.filedb import compound

from app.search.index import SearchIndex
from app.search.mapped import ViewFile
from app.search.query import search_messages
from bench.memory import memory
from tests import factories

WORDS = ("invoice", "export", "refund", "delay", "order", "paper", "please", "meeting", "signal", "plant")
SEARCHERS = 8
COMMITS = 12


def documents(start: int, count: int, rng: random.Random):
    return [factories.index_document(n, subject=f"Message {n}",
                                     body="please " + " ".join(rng.choice(WORDS) + str(rng.randint(0, 999))
                                                               for _ in range(300)))
            for n in range(start, start + count)]


def folder_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def test_whoosh_opens_mapped_segments_through_the_view_without_a_copy():
    assert compound.BufferFile is ViewFile


def test_searching_while_the_writer_commits_keeps_totals_exact_and_memory_flat(tmp_path):
    rng = random.Random(12)
    index = SearchIndex(tmp_path)
    index.acquire_writer()
    index.write(documents(1, 3000, rng))  # one writer process: one compound, memory-mapped segment
    # Documents committed for certain, and documents that may be committed by now.
    committed, coming = [3000], [3000]
    errors: list[str] = []

    def search_round() -> None:
        low = committed[0]
        total = search_messages(index, "please", pagelen=5).total
        high = coming[0]
        if not low <= total <= high:
            errors.append(f"total {total} outside {low}..{high}")

    def searchers_at_once() -> None:
        """Hold SEARCHERS searchers open at once (each reads every segment), then search."""
        with ExitStack() as held:
            for _ in range(SEARCHERS - 1):
                held.enter_context(index.lent_searcher())
            threads = [threading.Thread(target=search_round) for _ in range(SEARCHERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

    search_round()
    before = memory()["anonymous_mib"]
    try:
        for commit in range(COMMITS):  # each commit made while searches run
            start = 3001 + commit * 50
            coming[0] = start + 49
            writer = threading.Thread(target=index.write, args=(documents(start, 50, rng),))
            writer.start()
            searchers_at_once()
            writer.join()
            committed[0] = start + 49
            searchers_at_once()
    finally:
        index.release_writer()

    assert errors == []
    assert search_messages(index, "please").total == 3000 + COMMITS * 50
    growth, size = memory()["anonymous_mib"] - before, folder_mib(tmp_path)
    assert growth < size, f"grew {growth:.0f} MiB with an index of {size:.0f} MiB"
