"""An index on either search backend, holding the documents a test writes into it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlalchemy import create_engine

from app.search import postgres
from app.search.index import SearchIndex

SEARCH_BACKENDS = ["whoosh", "postgresql"]


def filled_index(request, folder, fill: Callable[[object], None]) -> Iterator:
    """Yield an index of the backend ``request.param`` names, after ``fill(index)`` wrote into it.

    The PostgreSQL one lives in this run's own schema (``postgres_schema_url``).
    """
    if request.param == "whoosh":
        index = SearchIndex(folder)
        index.acquire_writer()
        try:
            fill(index)
        finally:
            index.release_writer()
        yield index
        return
    engine = create_engine(request.getfixturevalue("postgres_schema_url"))
    postgres.metadata.create_all(engine)
    index = postgres.PostgresIndex(engine)
    index.clear()
    fill(index)
    yield index
    postgres.metadata.drop_all(engine)
    engine.dispose()
