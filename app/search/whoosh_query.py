"""Running a query on the Whoosh index: every match is found (``app.search.docsets``), so
the total is exact and the facets count all matches; all of them are then scored
(``app.search.scoring``) or ordered by date, and the page is cut from the top.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
from whoosh import query as wq

from app.search import docsets, scoring
from app.search.language import parse_query
from app.search.query import Hit, Results, clamped, facets, hit_snippets


def search(searcher, text: str, *, page: int, pagelen: int, sort: str,
           texts: Callable[[list[int]], dict[int, str]] | None, snippets: bool) -> Results:
    """Run a checked query on a Whoosh searcher (see ``app.search.query.search_messages``)."""
    query = parse_query(text, searcher.schema)
    matches = _scan(searcher, query)
    page, pages = clamped(matches.total, page, pagelen)
    ranked = _ranked(searcher, query, matches, sort, page * pagelen)[(page - 1) * pagelen:]
    hits = _hits(searcher, query, ranked, texts, snippets)
    return Results(total=matches.total, hits=hits, page=page, pages=pages,
                   facets=facets(matches.accounts, matches.months))


def matching_ids(searcher, text: str, *, sort: str) -> list[int]:
    """Return the id of every matching message, newest first or best first."""
    query = parse_query(text, searcher.schema)
    matches = _scan(searcher, query)
    ranked = _ranked(searcher, query, matches, sort, None)
    # Only the id is read from each stored document; no hit, snippet or facet is built.
    return [searcher.stored_fields(docnum)["id"] for docnum, _ in ranked]


# Every match: the exact total, the facets, and the dates for sorting -----------------

class _Matches:
    """Every matching document, per segment, counted by account and month."""

    def __init__(self, postings: docsets.Postings) -> None:
        self.postings = postings  # what matching read, for scoring to use again
        self.total = 0
        self.accounts: Counter[str] = Counter()
        self.months: Counter[str] = Counter()
        self.segments: list[tuple[object, int, np.ndarray]] = []  # (searcher, first docnum, docnums)


def _scan(searcher, query: wq.Query) -> _Matches:
    matches = _Matches(docsets.Postings())
    for sub, offset in searcher.leaf_searchers():
        reader = sub.reader()
        if not reader.doc_count_all():  # an empty index has no segment to read columns from
            continue
        docs = docsets.matching(query, sub, matches.postings)
        matches.total += len(docs)
        matches.segments.append((sub, offset, docs))
        _count(reader, "account", docs, matches.accounts)
        _count(reader, "month", docs, matches.months)
    return matches


def _count(reader, fieldname: str, docs: np.ndarray, counter: Counter[str]) -> None:
    labels, codes = docsets.codes(reader, fieldname)
    counts = np.bincount(codes[docs], minlength=len(labels))
    for code in np.flatnonzero(counts):
        counter[labels[code]] += int(counts[code])


def _ranked(searcher, query: wq.Query, matches: _Matches, sort: str,
            limit: int | None) -> list[tuple[int, float]]:
    """Return (docnum, score) of the best ``limit`` matches (all when None) in order.

    By date: newest first, undated last. By relevance: highest BM25F score first. Equal
    keys keep index order, so that pages follow on from each other.
    """
    if not matches.segments:
        return []
    docnums = np.concatenate([docs + offset for _, offset, docs in matches.segments])
    if sort == "date":
        keys = np.concatenate([docsets.dates(sub.reader())[docs] for sub, _, docs in matches.segments])
        scores = np.zeros(len(docnums))
    else:
        terms = scoring.scored_terms(query, searcher.schema)
        scores = np.concatenate([scoring.scores(searcher, sub, docs, terms, matches.postings)
                                 for sub, _, docs in matches.segments])
        keys = scores
    best = np.lexsort((docnums, -keys))[:limit]
    return [(int(d), float(s)) for d, s in zip(docnums[best], scores[best], strict=True)]


# Hits and snippets --------------------------------------------------------------------

def _hits(searcher, query: wq.Query, ranked: list[tuple[int, float]],
          texts: Callable[[list[int]], dict[int, str]] | None, snippets: bool) -> list[Hit]:
    stored = [(searcher.stored_fields(docnum), score) for docnum, score in ranked]
    shown = hit_snippets(query, [(fields["id"], fields.get("snippet", "")) for fields, _ in stored],
                         texts, snippets)
    return [
        Hit(message_id=fields["id"], score=score, subject=fields.get("subject", ""),
            sender=fields.get("sender", ""), date=fields.get("date"), account=fields.get("account", ""),
            ticket=fields.get("ticket"), status=fields.get("status", ""), snippet=shown[fields["id"]])
        for fields, score in stored
    ]
