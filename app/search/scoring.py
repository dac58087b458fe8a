"""Relevance: BM25F scores of the matching documents, computed for all of them at once.

The formula and its defaults are Whoosh's own (``whoosh.scoring.BM25F``: B = 0.75,
K1 = 1.2, idf = log(N / (df + 1)) + 1, field boosts applied to term frequencies when
indexing), so relevance means what it meant when Whoosh ranked the hits. What differs
is the way: Whoosh scores one posting at a time in Python, which for a common word in
300,000 messages took most of a second; here each scored term's posting list is read
once (``docsets.Postings``, shared with the matching) and scored with numpy.

Scored terms are the words a query looks for in text fields, phrases included word by
word; words under NOT are not scored. Everything else (addresses, dates, flags) filters
without adding to the score, so among equal scores the index order decides.
"""

from __future__ import annotations

import numpy as np
from whoosh import query as wq

from app.search import docsets
from app.search.language import TEXT_FIELDS

__all__ = ["scored_terms", "scores"]

B = 0.75
K1 = 1.2


def scored_terms(query: wq.Query) -> list[tuple[str, str, float]]:
    """Return (field, word, boost) for each word the query scores, once each."""
    found: dict[tuple[str, str], float] = {}
    _collect(query, 1.0, found)
    return [(field, text, boost) for (field, text), boost in found.items()]


def _collect(query: wq.Query, boost: float, found: dict[tuple[str, str], float]) -> None:
    if isinstance(query, wq.Not):
        return
    if isinstance(query, wq.AndNot):  # only the positive side counts
        _collect(query.a, boost * query.boost, found)
        return
    boost *= query.boost
    if isinstance(query, wq.Term) and query.fieldname in TEXT_FIELDS:
        found.setdefault((query.fieldname, query.text), boost)
    elif isinstance(query, wq.Phrase) and query.fieldname in TEXT_FIELDS:
        for word in query.words:
            found.setdefault((query.fieldname, word), boost)
    for child in query.children():
        _collect(child, boost, found)


def scores(searcher, segment, docs: np.ndarray, terms: list[tuple[str, str, float]],
           postings: docsets.Postings) -> np.ndarray:
    """Return the BM25F score of each of ``docs`` (sorted document numbers of ``segment``).

    ``searcher`` is the whole index's searcher: document frequencies and average field
    lengths are over the whole index, as Whoosh's are, so scores compare across segments.
    """
    total = np.zeros(len(docs), dtype=np.float64)
    if not len(docs):
        return total
    reader = segment.reader()
    for fieldname, text, boost in terms:
        ids, weights = postings.get(reader, fieldname, text)
        if not len(ids):
            continue
        where = np.minimum(np.searchsorted(ids, docs), len(ids) - 1)
        holding = ids[where] == docs
        tf = weights[where[holding]].astype(np.float64)
        length = docsets.lengths(reader, fieldname)[docs[holding]]
        average = searcher.avg_field_length(fieldname) or 1
        idf = searcher.idf(fieldname, text)
        total[holding] += boost * idf * (tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * length / average))
    return total
