"""Exact totals on real mail: for 20 queries over the parser-test and spamassassin corpora,
the total the search reports equals the number of hits found by paging to the end.
Skipped when ``../shared/corpora`` is absent (a fresh clone has none).
"""

from __future__ import annotations

import pytest

from app.search.index import SearchIndex
from app.search.query import search_messages
from bench.search import QUERIES as BENCH_QUERIES
from bench.search import document, parsed_corpus
from tests.parts import corpus_folder
from tests.search.agreement import disagreements

QUERIES = (
    "message", "please", "money", "free software", '"mailing list"', "linux OR unix",
    "(linux OR unix) NOT windows", "subject:re", "from:yahoo.com", "has:attachment", "filename:txt",
    "date:2002..2003", "after:2002-09-01", "before:2002-09-01", "date:2002-08", "click -here",
    "offer AND free", "money OR offer OR free", "résumé", "to:example.com",
)


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory):
    files = sorted(corpus_folder("parser-tests").iterdir()) + sorted(corpus_folder("spamassassin").iterdir())
    index = SearchIndex(tmp_path_factory.mktemp("corpus-index"))
    index.acquire_writer()
    try:
        parsed = parsed_corpus([path.read_bytes() for path in files])
        index.write([document(n, p) for n, p in enumerate(parsed, start=1)], expected=len(files))
    finally:
        index.release_writer()
    return index, len(files)


@pytest.mark.slow
@pytest.mark.parametrize("text", QUERIES)
def test_the_reported_total_is_the_number_of_hits_found_by_paging_to_the_end(corpus_index, text):
    index, _ = corpus_index
    first = search_messages(index, text, page=1, pagelen=500)
    seen = {h.message_id for h in first.hits}
    for page in range(2, first.pages + 1):
        seen |= {h.message_id for h in search_messages(index, text, page=page, pagelen=500).hits}
    assert len(seen) == first.total


@pytest.mark.slow
def test_the_queries_find_mail_so_the_totals_mean_something(corpus_index):
    index, size = corpus_index
    totals = [search_messages(index, text, page=1, pagelen=1).total for text in QUERIES]
    assert sum(1 for t in totals if t) >= 16
    assert max(totals) < size


@pytest.mark.slow
def test_the_fast_matching_finds_what_whooshs_matchers_find_on_real_mail(corpus_index):
    index, _ = corpus_index
    phrases = ['"free software"', '"click here to"', '"mailing list" OR "click here"', 'subject:"re your"',
               '"please let me know"', '"you are receiving this"', '"to unsubscribe from this list"',
               '"spamassassin talk"', '"razor users"', '"linux kernel"']
    texts = [*QUERIES, *(text for _, text, *_ in BENCH_QUERIES), *phrases]
    assert [d for text in texts for d in disagreements(index, text)] == []
