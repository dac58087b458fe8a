"""What every search backend does, so that the rest of the product never asks which one runs.

Two backends implement it: ``app.search.index.SearchIndex`` (Whoosh, a folder on this
machine; the embedded default) and ``app.search.postgres.PostgresIndex`` (PostgreSQL
full-text search, in the database every web and worker process shares).  The
configuration's ``SEARCH_BACKEND`` chooses (``app.runtime``).  Both read the same query
language (``app.search.language``) with the same analysis (``app.search.schema``), so a
query finds the same messages, with the same exact total, on either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.search.index import IndexDocument
    from app.search.query import Results


class Rebuilding(Protocol):
    """An index being rebuilt beside the live one (``SearchBackend.rebuilding``)."""

    name: str  # for reports
    where: str  # a folder, or the database's tables

    def add(self, documents: Iterable[IndexDocument], expected: int = 0) -> int:
        """Add documents that are not in the rebuilt index yet."""

    def update(self, documents: Iterable[IndexDocument]) -> int:
        """Add or replace documents."""


class SearchBackend(Protocol):
    name: str  # "whoosh" or "postgresql", for reports
    # True where one process at a time may write (Whoosh): the worker holds the role,
    # others wait for it (``acquire_writer`` raises ``app.search.index.WriterBusy``).
    single_writer: bool

    @property
    def location(self) -> str:
        """Say where the index lives, for reports: a folder, or the database."""

    @property
    def generation(self) -> str:
        """Name the live index, for reports."""

    def acquire_writer(self) -> None: ...

    def release_writer(self) -> None: ...

    @property
    def is_writer(self) -> bool: ...

    def write(self, documents: Iterable[IndexDocument], expected: int = 0, *,
              session: Session | None = None) -> int:
        """Add or replace documents; a backend in the database writes in ``session``'s transaction."""

    def delete(self, message_ids: Iterable[int]) -> None: ...

    def stored_ids(self) -> list[int]:
        """Return the message id of every document (twice if held twice)."""

    def rebuilding(self) -> AbstractContextManager[Rebuilding]: ...

    def publish(self, rebuilt: Rebuilding, last_step: Callable[[], None] | None = None) -> None: ...

    def search(self, text: str, *, page: int, pagelen: int, sort: str,
               texts: Callable[[list[int]], dict[int, str]] | None, snippets: bool) -> Results: ...

    def matching_ids(self, text: str, *, sort: str) -> list[int]: ...
