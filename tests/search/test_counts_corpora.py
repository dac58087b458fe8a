"""Search on real mail, over every message of ``../shared/corpora`` (skipped when absent;
a fresh clone has none):

- exact totals: for 20 queries, the total the search reports equals the number of hits
  found by paging to the end, and the fast matching finds what Whoosh's matchers find;
- a plain reading: each address of every To and Cc header finds its message with ``to:``
  and ``cc:``, and two neighbouring words of every subject find it as a phrase.

The plain reading is the standard library's own modern parser (``policy.default``), not
the archive's parser: a header it cannot read, or decodes to U+FFFD, is left out, since
there is then no second opinion on it.
"""

from __future__ import annotations

import email
from email import policy

import pytest
from sqlalchemy import create_engine
from whoosh.analysis import STOP_WORDS

from app.models import Message
from app.search import postgres
from app.search.index import SearchIndex
from app.search.query import matching_ids, search_messages
from app.services.indexing import document_of
from bench.search import QUERIES as BENCH_QUERIES
from mailbox.ingest import fill_fields
from mailbox.parse import ParseError, parse_message
from tests.parts import corpus_folder
from tests.search.agreement import disagreements
from tests.search.test_search_property import runs

QUERIES = (
    "message", "please", "money", "free software", '"mailing list"', "linux OR unix",
    "(linux OR unix) NOT windows", "subject:re", "from:yahoo.com", "has:attachment", "filename:txt",
    "date:2002..2003", "after:2002-09-01", "before:2002-09-01", "date:2002-08", "click -here",
    "offer AND free", "money OR offer OR free", "résumé", "to:example.com",
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Index every corpus message the way the archive does (parse, the stored fields, the
    index document), without a database; return the index and each message id's bytes."""
    files = sorted(corpus_folder("parser-tests").iterdir()) + sorted(corpus_folder("spamassassin").iterdir())
    raws, documents = {}, []
    for n, path in enumerate(files, start=1):
        raw = path.read_bytes()
        try:
            parsed = parse_message(raw)
        except ParseError:
            continue  # quarantined by the archive: its bytes are kept, nothing of it is searched
        row = Message(id=n)
        fill_fields(row, parsed)
        documents.append(document_of(row))
        raws[n] = raw
    index = SearchIndex(tmp_path_factory.mktemp("corpus-index"))
    index.acquire_writer()
    try:
        index.write(documents, expected=len(documents))
    finally:
        index.release_writer()
    index.documents = documents  # for the PostgreSQL backend's copy (``postgres_corpus``)
    return index, raws


@pytest.fixture(scope="module")
def postgres_corpus(corpus, postgres_schema_url):
    """The same documents in the PostgreSQL backend."""
    engine = create_engine(postgres_schema_url)
    postgres.metadata.create_all(engine)
    index = postgres.PostgresIndex(engine)
    index.clear()
    index.write(corpus[0].documents)
    yield index
    postgres.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def corpus_index(corpus):
    index, raws = corpus
    return index, len(raws)


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


@pytest.mark.slow
def test_postgresql_search_finds_what_whoosh_finds_on_real_mail(corpus, postgres_corpus):
    index, raws = corpus
    for text in QUERIES + tuple(query[1] for query in BENCH_QUERIES):
        whoosh = search_messages(index, text, pagelen=5)
        found = search_messages(postgres_corpus, text, pagelen=5)
        assert (found.total, found.facets) == (whoosh.total, whoosh.facets), text
        assert sorted(matching_ids(postgres_corpus, text)) == sorted(matching_ids(index, text)), text


def plain_addresses(raw: bytes, name: str) -> list[str]:
    """Each address of the message's headers called ``name``, as policy.default reads them."""
    message = email.message_from_bytes(raw, policy=policy.default)
    found = []
    for value in message.get_all(name, []):
        try:
            found += [a.addr_spec.lower() for a in value.addresses]
        except Exception:  # a header the modern parser cannot read either: no second opinion
            continue
    return [a for a in found if "@" in a and _plain(a)]


def _plain(address: str) -> bool:
    # An address with white space, quotes or brackets in it is not one a person types as a query.
    return address.isprintable() and not any(c in address for c in ' "()<>,;:\\[]') and len(address) <= 254


def subject_pair(raw: bytes) -> str | None:
    """Two neighbouring indexed words of the subject as written, or None."""
    message = email.message_from_bytes(raw, policy=policy.default)
    try:
        subject = str(message.get("subject", ""))
    except Exception:
        return None
    if "\ufffd" in subject:  # bytes the modern parser could not decode: no second opinion
        return None
    written = runs(subject)
    indexed = [len(r) >= 2 and r.lower() not in STOP_WORDS for r in written]
    for i in range(len(written) - 1):
        if indexed[i] and indexed[i + 1]:
            return f'"{written[i]} {written[i + 1]}"'
    return None


@pytest.mark.slow
def test_every_address_of_every_to_and_cc_header_finds_its_message(corpus):
    index, raws = corpus
    wanted: dict[str, set[int]] = {}
    for n, raw in raws.items():
        for field in ("to", "cc"):
            for address in plain_addresses(raw, field):
                wanted.setdefault(f"{field}:{address}", set()).add(n)
    assert len(wanted) > 1000  # the corpora hold thousands of addresses

    missed = {query: sorted(ids - set(matching_ids(index, query)))[:3] for query, ids in wanted.items()}
    assert {query: ids for query, ids in missed.items() if ids} == {}


@pytest.mark.slow
def test_two_neighbouring_words_of_every_subject_find_its_message_as_a_phrase(corpus):
    index, raws = corpus
    wanted: dict[str, set[int]] = {}
    for n, raw in raws.items():
        pair = subject_pair(raw)
        if pair:
            wanted.setdefault(f"subject:{pair}", set()).add(n)
    assert len(wanted) > 1000

    missed = {query: sorted(ids - set(matching_ids(index, query)))[:3] for query, ids in wanted.items()}
    assert {query: ids for query, ids in missed.items() if ids} == {}
