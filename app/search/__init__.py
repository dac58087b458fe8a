"""The search index of the archive: the query language, its analysis, and two backends
(Whoosh, the embedded default, and PostgreSQL full-text search; see ``backend``).

Only this package imports Whoosh.  The database is the source of truth: a message
whose ``indexed_at`` is null is waiting for the index, so the index can always be
caught up, or rebuilt, from the database.
"""

from app.search.index import SearchIndex

__all__ = ["SearchIndex"]
