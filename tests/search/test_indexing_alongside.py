"""Indexing alongside archiving: what ``flask mailbox poll --once`` and ``flask mailbox
import`` use, so that a large batch is searchable about as soon as it is archived.

Messages archived while the block runs are indexed by its thread before the block ends;
``finish`` indexes the rest; with a worker holding the writer role, nothing is indexed
here and ``finish`` waits for the worker.
"""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Message
from app.runtime import raw_store, search_index
from app.search.index import SearchIndex
from app.search.query import matching_ids
from app.services.indexing import CHUNK, IndexingAlongside
from mailbox.ingest import Archiver, Seen
from tests import factories
from tests.waiting import until


def archive(session, numbers) -> list[int]:
    archiver = Archiver(session, raw_store(), tag_prefix="DESK")
    result = archiver.archive([(factories.message(n), Seen(source=f"test:{n}")) for n in numbers])
    session.commit()
    return result.new_message_ids


def indexed(session) -> int:
    session.rollback()  # read what the indexing thread committed
    return session.scalar(select(func.count()).where(Message.indexed_at.is_not(None)))


def test_a_batch_is_indexed_while_the_next_is_archived_and_finish_indexes_the_rest(session):
    index = search_index()
    with IndexingAlongside(index, db.engine, store=raw_store()) as indexing:
        first = archive(session, range(CHUNK))
        indexing.nudge()
        assert until(lambda: indexed(session) == len(first), 120), "the first batch was not indexed alongside"
        rest = archive(session, range(CHUNK, CHUNK + 30))  # too few to start a batch alone
        indexing.nudge()
        assert indexing.finish(session, first + rest) == f"indexed {CHUNK + 30} message(s)"
    assert indexed(session) == CHUNK + 30
    assert set(matching_ids(index, "message")) == set(first + rest)
    index.acquire_writer()  # the block gave the writer role back
    index.release_writer()


def test_with_a_worker_holding_the_writer_role_finish_waits_for_the_worker(session):
    worker = SearchIndex(search_index().path)  # another process's view of the same folder
    worker.acquire_writer()
    try:
        with IndexingAlongside(search_index(), db.engine, store=raw_store(), timeout=0.5) as indexing:
            new = archive(session, range(3))
            assert indexing.finish(session, new) == \
                "the worker has not indexed 3 message(s) yet; they will be searchable soon"
        assert indexed(session) == 0
    finally:
        worker.release_writer()
