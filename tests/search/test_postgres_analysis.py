"""The PostgreSQL backend knows how its documents' words were made: tables written by a
version that split text another way (before Chinese, Japanese and Korean were split into
pairs of characters, say) say to run `flask search reindex`, for searches and for writes,
and the rebuild makes them current. Whoosh does the same with its schema
(tests/search/test_index_rebuild.py).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import create_engine, text

from app.search import postgres
from app.search.errors import IndexOutdated
from app.search.query import matching_ids
from tests.search.test_postgres_long_texts import BASE


@pytest.fixture
def engine(postgres_schema_url):
    engine = create_engine(postgres_schema_url)
    postgres.metadata.create_all(engine)
    postgres.PostgresIndex(engine).clear()
    yield engine
    postgres.metadata.drop_all(engine)
    engine.dispose()


def test_tables_written_by_another_analysis_say_to_reindex_until_rebuilt(engine):
    invoice = replace(BASE, id=1, body="請求書のエクスポートが14日で止まります")
    export = replace(BASE, id=2, body="the invoice export stops on the 14th")
    current = postgres.PostgresIndex(engine)
    current.write([invoice])
    assert matching_ids(current, "請求書") == [1]
    with engine.begin() as connection:  # as the version before this one left them
        connection.execute(text("COMMENT ON TABLE search_document IS 'words made by analysis 0000'"))

    upgraded = postgres.PostgresIndex(engine)  # a process of the new version starts
    with pytest.raises(IndexOutdated, match=r"older version .* run `flask search reindex`"):
        matching_ids(upgraded, "請求書")
    with pytest.raises(IndexOutdated):
        upgraded.write([export])
    with pytest.raises(IndexOutdated):  # what `flask search check` reads
        upgraded.stored_ids()
    with upgraded.rebuilding() as rebuilt:
        rebuilt.add([invoice, export])
        upgraded.publish(rebuilt)

    assert matching_ids(upgraded, "請求書") == [1]
    assert sorted(upgraded.stored_ids()) == [1, 2]
    assert matching_ids(postgres.PostgresIndex(engine), "invoice export") == [2]


def test_empty_tables_take_the_analysis_of_the_first_documents_written(engine):
    with engine.begin() as connection:
        connection.execute(text("COMMENT ON TABLE search_document IS 'words made by analysis 0000'"))
    index = postgres.PostgresIndex(engine)
    assert matching_ids(index, "invoice") == []  # nothing to find: nothing outdated

    index.write([replace(BASE, id=3, body="an invoice")])

    assert matching_ids(postgres.PostgresIndex(engine), "invoice") == [3]
