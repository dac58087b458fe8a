"""Long texts in the PostgreSQL backend: a tsvector keeps 256 places of a word and none past
16,383, so long fields are kept in overlapping stretches (``app.search.postgres``). Every
word and every phrase of such a text, wherever it stands (before, inside and after the
overlaps), is found exactly as the Whoosh index finds it: the second backend is the
reference, and a plain reading of the words says which phrases must be found.
"""

from __future__ import annotations

import random
import tempfile
from contextlib import contextmanager
from dataclasses import replace

import pytest
from sqlalchemy import create_engine, func, select

from app.search import postgres
from app.search.index import IndexDocument, SearchIndex
from app.search.language import PHRASE_SPAN, QueryError, parse_query
from app.search.query import matching_ids

WORDS = [f"{a}{b}" for a in ("red", "blue", "green", "gold", "grey") for b in ("fox", "owl", "elk", "bee")]
BASE = IndexDocument(id=0, subject="", body="", sender="", from_addr="x@a.example", to="", cc="",
                     account="", account_id=None, mailboxes="", ticket=None, date=None, filenames="",
                     unmatched=True, quarantined=False, direction="inbound")


@pytest.fixture(scope="module")
def indexes(postgres_schema_url):
    """The same long messages in Whoosh and in PostgreSQL."""
    rng = random.Random(7)
    bodies = {
        # 45,000 words, every other one from 20 (each some 1,100 times, far past 256) and
        # the rest each once, so that a phrase taken from the text stands only where it was
        # taken: past 16,383 places.
        1: [rng.choice(WORDS) if i % 2 else f"once{i}" for i in range(45_000)],
        # Long, with a phrase only at its very end and one word only once.
        2: [rng.choice(WORDS[:10]) for _ in range(20_000)] + ["lonely", "greyowl", "goldbee"],
        # Short: kept whole.
        3: ["redfox", "blueowl", "the", "greenelk"],
    }
    documents = [replace(BASE, id=n, body=" ".join(words)) for n, words in bodies.items()]
    with both_backends(postgres_schema_url, documents) as (whoosh, pg):
        yield bodies, whoosh, pg


@contextmanager
def both_backends(postgres_schema_url: str, documents: list[IndexDocument]):
    """Yield a Whoosh index and the PostgreSQL backend, each holding ``documents``."""
    engine = create_engine(postgres_schema_url)
    postgres.metadata.create_all(engine)
    pg = postgres.PostgresIndex(engine)
    pg.clear()
    pg.write(documents)
    with tempfile.TemporaryDirectory() as folder:
        whoosh = SearchIndex(folder)
        whoosh.acquire_writer()
        whoosh.write(documents)
        yield whoosh, pg
        whoosh.release_writer()
    postgres.metadata.drop_all(engine)
    engine.dispose()


def test_long_fields_are_kept_in_stretches_and_short_ones_whole(indexes):
    _, _, pg = indexes
    documents, chunks = postgres.document_table.c, postgres.chunk_table.c
    with pg.engine.connect() as connection:
        chunked = dict(connection.execute(select(documents.message_id, documents.chunked)).all())
        stretches = dict(connection.execute(
            select(chunks.message_id, func.count()).group_by(chunks.message_id)).all())
    assert chunked == {1: True, 2: True, 3: False}
    # 45,000 places take at least three stretches of 16,383; 20,000 at least two.
    assert stretches[1] >= 3 and stretches[2] >= 2 and 3 not in stretches


def _phrases_around(words: list[str], rng: random.Random) -> list[str]:
    """Phrases taken from the text: at random, and across every place a stretch ends."""
    # The words stand at places 1, 2, 3, ... (none is a stop word); where stretches end:
    ends = [stretch[-1][1] for stretch in postgres._stretches([(w, i) for i, w in enumerate(words, 1)])]
    assert len(ends) > 3
    starts = [rng.randrange(len(words) - 3) for _ in range(40)]
    starts += [end - back for end in ends[:-1] for back in (2, 1)]  # the phrase's last word is past the end
    return [" ".join(words[s:s + 3]) for s in sorted(set(starts))]


def test_every_word_and_phrase_of_a_long_text_is_found_as_whoosh_finds_it(indexes):
    bodies, whoosh, pg = indexes
    rng = random.Random(11)
    queries = ["lonely", "greyowl", '"greyowl goldbee"', '"goldbee greyowl"', '"lonely greyowl goldbee"',
               "redfox -lonely", "lonely OR greenelk", '"redfox blueowl greenelk"']
    queries += [f'"{phrase}"' for phrase in _phrases_around(bodies[1], rng)]
    queries += [f'"{a} {b}"' for a in WORDS[:6] for b in WORDS[-6:]]
    for query in queries:
        expected = set(matching_ids(whoosh, query))
        assert set(matching_ids(pg, query)) == expected, query
        words = query.strip('"').split()
        if query.startswith('"') and len(words) == 3:  # taken from the texts: a plain reading agrees
            holders = {n for n, body in bodies.items()
                       if any(body[i:i + 3] == words for i in range(len(body) - 2))}
            assert expected == holders, query


def test_a_phrase_longer_than_the_stretches_overlap_is_refused_with_a_sentence():
    with pytest.raises(QueryError, match=f"can span at most {PHRASE_SPAN} words"):
        parse_query('"' + " ".join(["redfox"] * (PHRASE_SPAN + 2)) + '"')


# Chinese and Japanese are indexed by pairs of characters, one place each: a long run of
# them is as long in places as it is in characters, and goes to stretches the same way.
HAN = "請求書見積発行会議東京都庁导出发票退还송장확인"


@pytest.fixture(scope="module")
def cjk_indexes(postgres_schema_url):
    """A run of 30,000 Han and Hangul characters (far past 16,383 places), in both backends."""
    rng = random.Random(5)
    body = "".join(rng.choice(HAN) for _ in range(30_000)) + "終わりの言葉"
    documents = [replace(BASE, id=1, body=body), replace(BASE, id=2, body="請求書 短い")]
    with both_backends(postgres_schema_url, documents) as (whoosh, pg):
        yield {1: body, 2: "請求書 短い"}, whoosh, pg


def test_every_part_of_a_long_cjk_run_is_found_across_the_stretches(cjk_indexes):
    bodies, whoosh, pg = cjk_indexes
    rng = random.Random(13)
    body = bodies[1]
    pairs = [(body[i:i + 2], i + 1) for i in range(len(body) - 1)]  # as the index places them, from 1
    ends = [stretch[-1][1] for stretch in postgres._stretches(pairs)]
    assert len(ends) >= 2
    # Place p is the pair starting at character p - 1: parts that run past the end of a stretch,
    # and parts anywhere.
    starts = [end - back for end in ends[:-1] for back in (1, 3, 150)]
    starts += [rng.randrange(len(body) - 12) for _ in range(30)]
    parts = [body[s:s + rng.randint(2, 12)] for s in starts] + ["終わりの言葉", "請求書", "言葉請求"]
    for part in parts:
        expected = {n for n, body in bodies.items() if part in body}
        assert set(matching_ids(whoosh, part)) == expected, part
        assert set(matching_ids(pg, part)) == expected, part
