"""Searchers are kept between searches and lent to one search at a time: threads searching
at once each get the right answer, a second search opens nothing new, and a commit is seen
by the next search.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from app.search import index as index_module
from app.search.index import IndexDocument, SearchIndex
from app.search.query import matching_ids, search_messages
from tests import factories

WORDS = ("apple", "birch", "cedar", "damson")


def document(n: int) -> IndexDocument:
    words = " ".join(WORDS[: 1 + n % len(WORDS)])  # apple in all, birch in 3/4, ...
    return factories.index_document(n, subject=f"note {n}", body=words, date=datetime(2024, 1, 1 + n % 28))


@pytest.fixture
def index(tmp_path):
    index = SearchIndex(tmp_path / "index")
    index.acquire_writer()
    index.write([document(n) for n in range(1, 201)])
    yield index
    index.release_writer()


def test_threads_searching_at_once_each_get_the_exact_total(index):
    expected = {"apple": 200, "birch": 150, "cedar": 100, "damson": 50}
    work = [WORDS[i % len(WORDS)] for i in range(200)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        totals = list(pool.map(lambda word: (word, search_messages(index, word).total), work))

    assert totals == [(word, expected[word]) for word in work]


def test_a_second_search_reuses_the_searcher_and_a_commit_is_seen_by_the_next(index, monkeypatch):
    opened = []
    real = index_module._open_or_create
    monkeypatch.setattr(index_module, "_open_or_create", lambda folder: opened.append(folder) or real(folder))

    assert search_messages(index, "apple").total == 200
    assert search_messages(index, "birch").total == 150
    assert len(opened) == 1

    index.write([document(201)])
    assert search_messages(index, "apple").total == 201
    assert len(opened) == 2


def segment_readers(index) -> dict[str, object]:
    """The reader of each segment in the searcher the next search will borrow."""
    with index.lent_searcher() as searcher:
        return {reader.segment().segment_id(): reader for reader, _ in searcher.reader().leaf_readers()}


def test_a_commit_reopens_only_the_segments_it_changed(index):
    before = segment_readers(index)
    index.write([document(n) for n in range(201, 211)])  # a new segment beside the first
    after_add = segment_readers(index)
    assert len(after_add) == len(before) + 1
    assert all(after_add[name] is reader for name, reader in before.items()), \
        "an unchanged segment was reopened"
    assert search_messages(index, "apple").total == 210

    # Indexing message 5 again marks its old document deleted in the first segment.
    index.write([document(5)])
    after_update = segment_readers(index)
    changed = [name for name in before if after_update.get(name) is not before[name]]
    assert changed == list(before), "the segment with a deletion kept its old reader"
    found = matching_ids(index, "apple")
    assert sorted(found) == list(range(1, 211))  # message 5 once, not twice
