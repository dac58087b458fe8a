"""What the search package raises. Each message is a sentence for the person who asked,
saying what is wrong and what to do; commands and pages show it as it is. The package
raises nothing else on purpose, so its callers need not know the service layer's errors.
"""

from __future__ import annotations


class SearchError(Exception):
    """A search or an index operation cannot be carried out; the message says why."""


class QueryError(SearchError, ValueError):
    """The query cannot be understood; the message says what is wrong and where.

    ``position`` is the 1-based character position of the problem, when there is one.
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class IndexOutdated(SearchError):
    """The live index was built with another schema; ``flask search reindex`` rebuilds it."""


class IndexUnreadable(SearchError):
    """The index folder's pointer to its live generation names no generation."""


class RebuildBusy(SearchError):
    """Another ``flask search reindex`` is running."""


class WriterBusy(SearchError):
    """Another process (normally the worker) is the index writer."""
