"""Memory and first-search figures of one searching process, for ``bench.search``.

Run as ``python -m bench.memory INDEX_FOLDER`` in a fresh process (so that "the first
search after start" is what a freshly started web process sees); prints one JSON object:

- ``first_search_ms``: the first search after the process opened the index;
- ``after_commit_ms``: the first search after a commit (one document written again);
- ``rest``, ``one``, ``eight``: the process's memory at rest (index opened, nothing
  searched), after one search, and after 8 threads ran the benchmark's query mix at
  once, from ``/proc/self/smaps_rollup``: ``rss_mib`` (everything resident, shared file
  pages included), ``anonymous_mib`` (memory of this process alone: copies of the index
  read into the heap count here, pages of a memory-mapped index do not), ``pss_mib``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

_FIELDS = {"Rss": "rss_mib", "Pss": "pss_mib", "Anonymous": "anonymous_mib"}
CONCURRENT = 8


def memory() -> dict:
    """Return this process's resident, proportional and anonymous memory in MiB."""
    figures = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in _FIELDS:
            figures[_FIELDS[name]] = round(int(value.split()[0]) / 1024, 1)
    return figures


def probe(folder: Path) -> dict:
    from app.search.index import SearchIndex
    from app.search.query import search_messages
    from bench.search import QUERIES

    index = SearchIndex(folder)
    index.open()
    rest = memory()
    started = time.perf_counter()
    search_messages(index, "please", page=1, pagelen=20)
    first = time.perf_counter() - started
    one = memory()

    def mix() -> None:
        for _, text, *sort in QUERIES:
            search_messages(index, text, page=1, pagelen=20, sort=sort[0] if sort else "relevance")

    threads = [threading.Thread(target=mix) for _ in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    eight = memory()

    index.acquire_writer()
    try:
        with index.searcher() as searcher:
            docnum = next(iter(searcher.document_numbers()))
            kept = searcher.stored_fields(docnum)
        index.write([_same_document(kept)])
    finally:
        index.release_writer()
    started = time.perf_counter()
    search_messages(index, "please", page=1, pagelen=20)
    after_commit = time.perf_counter() - started
    return {"first_search_ms": round(first * 1000, 1), "after_commit_ms": round(after_commit * 1000, 1),
            "rest": rest, "one": one, "eight": eight, "concurrent": CONCURRENT}


def _same_document(stored: dict):
    """A document standing in for one already indexed (its stored fields), for a commit."""
    from app.search.index import IndexDocument

    return IndexDocument(id=stored["id"], subject=stored.get("subject", ""), body=stored.get("snippet", ""),
                         sender=stored.get("sender", ""), from_addr=stored.get("from_addr", ""), to="", cc="",
                         account=stored.get("account", ""), account_id=stored.get("account_id"),
                         mailboxes="", ticket=stored.get("ticket"), date=stored.get("date"), filenames="",
                         unmatched=False, quarantined=False, direction="inbound",
                         status=stored.get("status", ""))


if __name__ == "__main__":
    print(json.dumps(probe(Path(sys.argv[1]))))
