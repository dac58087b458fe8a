"""Running a query against the index and returning ranked hits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from whoosh.qparser import MultifieldParser, QueryParserError
from whoosh.qparser.dateparse import DateParserPlugin

from app.search.index import SearchIndex

_DEFAULT_FIELDS = ["subject", "body", "sender", "filename"]


class QueryError(ValueError):
    """The query cannot be understood; the message says what is wrong."""


@dataclass(frozen=True)
class Hit:
    message_id: int
    score: float
    subject: str
    sender: str
    date: datetime | None
    account: str


@dataclass(frozen=True)
class Results:
    total: int
    hits: list[Hit]


def search_messages(index: SearchIndex, text: str, limit: int = 20) -> Results:
    """Search the archive; return the exact total and the best ``limit`` hits."""
    if not text.strip():
        raise QueryError("the query is empty: give at least one word")
    ix = index.refresh()
    parser = MultifieldParser(_DEFAULT_FIELDS, ix.schema)
    parser.add_plugin(DateParserPlugin())
    try:
        query = parser.parse(text)
    except QueryParserError as exc:
        raise QueryError(f"the query cannot be read: {exc}") from exc
    with ix.searcher() as searcher:
        results = searcher.search(query, limit=limit)
        hits = [
            Hit(
                message_id=hit["id"],
                score=float(hit.score or 0.0),
                subject=hit.get("subject", ""),
                sender=hit.get("sender", ""),
                date=hit.get("date"),
                account=hit.get("account", ""),
            )
            for hit in results
        ]
        return Results(total=len(results), hits=hits)
