"""The check that ``app.search.docsets`` finds, segment by segment, exactly the documents
Whoosh's own matchers find for the same query: its set operations, its reading of posting
blocks, its date ranges from the column and its phrases from word pairs, all against
Whoosh's one-posting-at-a-time answer (phrases by word positions, read from the
fields that keep them).
"""

from __future__ import annotations

from app.search import docsets
from app.search.language import parse_query


def disagreements(index, text: str) -> list[str]:
    """Return, per segment, what one way found and the other did not (empty when they agree)."""
    found = []
    with index.searcher() as searcher:
        query = parse_query(text, searcher.schema)
        for sub, _ in searcher.leaf_searchers():
            fast = set(docsets.matching(query, sub).tolist())
            whoosh = set(docsets.positioned(query).docs(sub))
            if fast != whoosh:
                found.append(f"{text!r}: only docsets {sorted(fast - whoosh)[:5]}, "
                             f"only Whoosh {sorted(whoosh - fast)[:5]}")
    return found
