"""``flask search reindex``: the index is rebuilt from the database into a new generation
while the old one keeps answering, nothing archived or changed meanwhile is lost, and
the switch is one rename; an index of an older schema says to run it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from whoosh import index as whoosh_index
from whoosh.fields import ID, NUMERIC, TEXT, Schema
from whoosh.qparser import QueryParser

from app.models import Message
from app.runtime import raw_store, search_index
from app.search.index import POINTER, IndexOutdated, SearchIndex
from app.search.schema import AnalysedOnce, WordTokenizer, build_schema, text_analyzer
from app.services import tickets
from app.services.indexing import index_pending, rebuild_index
from tests import factories


def index_queue(session, index: SearchIndex | None = None) -> int:
    index = index or search_index()
    index.acquire_writer()
    try:
        return index_pending(session, index, store=raw_store())
    finally:
        index.release_writer()


def ids_matching(searcher, field: str, words: str) -> set[int]:
    query = QueryParser(field, searcher.schema).parse(words)
    return {hit["id"] for hit in searcher.search(query, limit=None)}


def all_ids(index: SearchIndex) -> list[int]:
    return sorted(index.stored_ids())


def archive(session, first: int, count: int, body: str = "the invoice export fails") -> list[int]:
    return [factories.archived(session, factories.message(n, body=f"{body} {n}")).id
            for n in range(first, first + count)]


def whoosh_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file() and "MAIN" in p.name)


def test_reindex_replaces_generation_0_while_an_old_searcher_keeps_answering(session):
    ids = archive(session, 0, 5, body="pelican")
    index_queue(session)
    index = search_index()
    assert index.live_path() == index.path and whoosh_files(index.path)  # generation 0

    old = index.searcher()
    try:
        result = rebuild_index(session, index, raw_store())
        assert ids_matching(old, "body", "pelican") == set(ids)  # files removed, still open
    finally:
        old.close()

    assert result.generation == "gen-000001" and result.messages == 5
    assert (index.path / POINTER).read_text().strip() == "gen-000001"
    assert index.live_path() == index.path / "gen-000001"
    assert whoosh_files(index.path) == []  # generation 0 is gone
    with index.searcher() as searcher:
        assert ids_matching(searcher, "body", "pelican") == set(ids)


def test_a_second_reindex_starts_the_next_generation_and_removes_the_first(session):
    archive(session, 0, 3)
    index = search_index()
    rebuild_index(session, index, raw_store())
    archive(session, 3, 2)
    result = rebuild_index(session, index, raw_store())
    assert result.generation == "gen-000002" and result.messages == 5
    assert sorted(p.name for p in index.path.iterdir() if p.is_dir()) == ["gen-000002"]
    assert len(all_ids(index)) == 5


def test_mail_archived_changed_or_indexed_during_the_rebuild_is_in_the_new_index(session):
    sam = factories.agent(session)
    early = archive(session, 0, 3)
    index_queue(session)
    index = search_index()
    later: list[int] = []

    def meanwhile(count: int) -> None:
        if later:
            return
        later.extend(archive(session, 10, 2, body="arrived midway"))  # after the rebuild began
        tickets.set_status(session, session.get(Message, early[0]).ticket, sam, "closed")
        session.commit()
        later.extend(archive(session, 20, 1, body="indexed midway"))
        index_queue(session)  # the writer indexes into the old generation meanwhile

    result = rebuild_index(session, index, raw_store(), progress=meanwhile)

    # Three arrived, one changed; the early ones too, indexed within the catch-up's margin.
    assert result.messages == 3 and result.caught_up == 6
    assert all_ids(index) == sorted(early + later)
    with index.searcher() as searcher:
        assert ids_matching(searcher, "body", "midway") == set(later)
        assert ids_matching(searcher, "status", "closed") == {early[0]}


def test_the_writer_keeps_writing_and_writes_into_the_new_generation_after_the_switch(session, cli):
    archive(session, 0, 2)
    worker = SearchIndex(search_index().path)  # another process's view: the worker's
    worker.acquire_writer()
    try:
        index_pending(session, worker)
        worker.open()  # it holds the old generation open
        out = cli("search", "reindex")
        assert out.exit_code == 0, out.output
        assert "The worker is running" in out.output
        archive(session, 5, 1, body="after the switch")
        assert index_pending(session, worker) == 1
    finally:
        worker.release_writer()
    assert worker.live_path() == search_index().live_path() != search_index().path
    assert len(all_ids(search_index())) == 3


def test_reindex_prints_progress_and_indexes_the_queue_when_no_worker_runs(session, cli):
    archive(session, 0, 3)  # never indexed: all three wait in the queue
    out = cli("search", "reindex")
    assert out.exit_code == 0
    assert "Rebuilding the index" in out.stderr  # the progress bar, on standard error
    lines = out.stdout.splitlines()
    assert lines[0].startswith("Rebuilt the index in ")
    assert lines[0].endswith("gen-000001 from 3 message(s); searches use it now.")
    assert lines[1].startswith("Written again at the end: 3 message(s)")  # the queue
    assert lines[2] == "Indexed 3 message(s) that were waiting in the queue."
    session.expire_all()
    assert session.scalar(select(func.count()).where(Message.indexed_at.is_(None))) == 0
    assert len(all_ids(search_index())) == 3


def test_a_second_reindex_at_the_same_time_is_refused_with_one_sentence(session, cli):
    other = SearchIndex(search_index().path)
    with other.rebuilding():
        out = cli("search", "reindex")
    assert out.exit_code == 1
    assert "Error: Another `flask search reindex` is running; let it finish." in out.output
    assert "Traceback" not in out.output


def old_schema_index(folder: Path) -> None:
    """Write an index as the version before the status, month and attachments fields did."""
    folder.mkdir(parents=True, exist_ok=True)
    ix = whoosh_index.create_in(folder, Schema(id=NUMERIC(stored=True, unique=True, bits=64, signed=False),
                                               subject=TEXT(stored=True), body=TEXT, status=ID))
    with ix.writer() as writer:
        writer.add_document(id=1, subject="old", body="old")


def test_an_index_of_an_older_schema_says_to_reindex_and_reindex_replaces_it(session, cli):
    ids = archive(session, 0, 2, body="heron")
    index = search_index()
    old_schema_index(index.path)

    with pytest.raises(IndexOutdated, match=r"run `flask search reindex`"):
        index.open()
    with pytest.raises(IndexOutdated):
        index_queue(session)
    out = cli("search", "check")
    assert out.exit_code == 1
    assert "older version" in out.output and "flask search reindex" in out.output
    assert "Traceback" not in out.output

    assert cli("search", "reindex").exit_code == 0
    with index.searcher() as searcher:
        assert ids_matching(searcher, "body", "heron") == set(ids)
    assert all_ids(index) == ids
    assert cli("search", "check").exit_code == 0


def test_an_index_whose_body_keeps_positions_says_to_reindex(session, cli):
    # The same fields as now, but the body's postings carry word positions, as before
    # they moved to body_positions: every search would read them again.
    fields = dict(build_schema().items())
    fields["body"] = TEXT(analyzer=text_analyzer())

    assert_refused_until_reindexed(fields, cli)


def test_an_index_that_split_words_another_way_says_to_reindex(session, cli):
    # The same fields as now, analysed as before words were split at every punctuation
    # mark and stop words kept their places: its words are not the query's words.
    from whoosh.analysis import LowercaseFilter, RegexTokenizer, StemFilter, StopFilter

    old = RegexTokenizer() | LowercaseFilter() | StopFilter() | StemFilter()
    fields = {name: TEXT(analyzer=old, phrase=field.format.supports("positions"), stored=field.stored)
              if isinstance(field, TEXT) else field for name, field in build_schema().items()}

    assert_refused_until_reindexed(fields, cli)


def test_an_index_written_before_cjk_was_split_into_pairs_says_to_reindex(session, cli):
    # The same fields and filters as now, but a tokenizer of version 2 kept a run of
    # Chinese or Japanese whole: the query's pairs of characters are not in it.
    def before(analyzer):
        chain = analyzer.chain if isinstance(analyzer, AnalysedOnce) else analyzer
        steps = [WordsKeptWhole() if isinstance(step, WordTokenizer) else step for step in chain.items]
        return type(chain)(*steps)

    fields = {name: TEXT(analyzer=before(field.analyzer), phrase=field.format.supports("positions"),
                         stored=field.stored) if isinstance(field, TEXT) else field
              for name, field in build_schema().items()}

    assert_refused_until_reindexed(fields, cli)


class WordsKeptWhole(WordTokenizer):
    """The tokenizer as its version 2 was known to the index (a module's class: Whoosh pickles it)."""

    def __init__(self) -> None:
        self.version = 2


def assert_refused_until_reindexed(fields: dict, cli) -> None:
    """Write an empty live index of these fields; the product must refuse it with one sentence."""
    index = search_index()
    index.path.mkdir(parents=True, exist_ok=True)
    whoosh_index.create_in(index.path, Schema(**fields))

    with pytest.raises(IndexOutdated, match=r"run `flask search reindex`"):
        index.open()
    assert cli("search", "check").exit_code == 1


def test_a_failed_rebuild_leaves_the_live_index_and_no_new_folder(session):
    archive(session, 0, 2)
    index_queue(session)
    index = search_index()

    def fail(count: int) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        rebuild_index(session, index, raw_store(), progress=fail)
    assert index.live_path() == index.path
    assert not [p for p in index.path.iterdir() if p.is_dir()]
    assert len(all_ids(index)) == 2
