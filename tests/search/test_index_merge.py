"""Many small commits (the worker's, as mail trickles in) are folded into fewer segments,
and the folded index answers exactly as the one before: every message once, in its latest
version, none that was replaced or removed."""

from __future__ import annotations

from whoosh.filedb.filestore import FileStorage

from app.search.index import SearchIndex
from app.search.query import matching_ids
from tests import factories


def segment_count(index: SearchIndex) -> int:
    return len(FileStorage(str(index.live_path())).open_index()._segments())


def test_small_commits_are_merged_and_the_merged_index_answers_exactly(tmp_path):
    index = SearchIndex(tmp_path / "index")
    index.acquire_writer()
    try:
        for n in range(1, 13):  # twelve commits of one message each
            index.write([factories.index_document(n, subject=f"note {n}", body="walnut")])
        index.write([factories.index_document(3, subject="note 3", body="hazel")])  # a new version of 3
        index.delete([5])

        assert segment_count(index) < 12
        assert sorted(matching_ids(index, "walnut")) == [n for n in range(1, 13) if n not in (3, 5)]
        assert sorted(matching_ids(index, "hazel")) == [3]
        assert sorted(matching_ids(index, "note")) == [n for n in range(1, 13) if n != 5]
    finally:
        index.release_writer()
