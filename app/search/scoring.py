"""Relevance: BM25F scores of the matching documents, computed for all of them at once.

The formula and its defaults are Whoosh's own (``whoosh.scoring.BM25F``: B = 0.75,
K1 = 1.2, idf = log(N / (df + 1)) + 1, field boosts applied to term frequencies when
indexing), so relevance means what it meant when Whoosh ranked the hits. What differs
is the way: Whoosh scores one posting at a time in Python, which for a common word in
300,000 messages took most of a second; here each scored term's posting list is read
once (``docsets.Postings``, shared with the matching) and scored with numpy.

Scored terms are the words a query looks for in text fields; words under NOT are not
scored. A phrase of common words is scored by its word pairs, as if each pair were a
word (how often the phrase occurs, not its words apart); other phrases by their words.
Everything else (addresses, dates, flags) filters without adding to the score, so among
equal scores the index order decides.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
from whoosh import query as wq

from app.search import docsets
from app.search.schema import PAIR_SEPARATOR, PAIRS, TEXT_FIELDS, paired_words

__all__ = ["ScoredTerm", "scored_terms", "scores"]

B = 0.75
K1 = 1.2


class ScoredTerm(NamedTuple):
    field: str
    text: str
    boost: float  # the query's boost
    tf_scale: float = 1.0  # the field boost, where the index did not apply it to the frequencies


def wanted_text(query: wq.Query, boost: float = 1.0) -> Iterator[tuple[wq.Term | wq.Phrase, float]]:
    """Yield each word and phrase the query looks for in text fields, with its boost.

    What the query excludes (under NOT) is not wanted: it is neither scored nor marked.
    """
    if isinstance(query, wq.Not):
        return
    if isinstance(query, wq.AndNot):  # only the positive side
        yield from wanted_text(query.a, boost * query.boost)
        return
    boost *= query.boost
    if isinstance(query, wq.Term | wq.Phrase) and query.fieldname in TEXT_FIELDS:
        yield query, boost
    for child in query.children():
        yield from wanted_text(child, boost)


def scored_terms(query: wq.Query, schema) -> list[ScoredTerm]:
    """Return the terms the query scores, once each."""
    found: dict[tuple[str, str], ScoredTerm] = {}
    for wanted, boost in wanted_text(query):
        field = wanted.fieldname
        if isinstance(wanted, wq.Term):
            found.setdefault((field, wanted.text), ScoredTerm(field, wanted.text, boost))
            continue
        words, paired = wanted.words, paired_words(schema, field)
        spaced = getattr(wanted, "offsets", None) not in (None, tuple(range(len(words))))
        if all(word in paired for word in words) and not spaced:
            for pair in zip(words, words[1:], strict=False):
                text = PAIR_SEPARATOR.join(pair)
                found.setdefault((field + PAIRS, text),
                                 ScoredTerm(field + PAIRS, text, boost, schema[field].format.field_boost))
        else:
            for word in words:
                found.setdefault((field, word), ScoredTerm(field, word, boost))
    return list(found.values())


def scores(searcher, segment, docs: np.ndarray, terms: list[ScoredTerm],
           postings: docsets.Postings) -> np.ndarray:
    """Return the BM25F score of each of ``docs`` (sorted document numbers of ``segment``).

    ``searcher`` is the whole index's searcher: document frequencies and average field
    lengths are over the whole index, as Whoosh's are, so scores compare across segments.
    """
    total = np.zeros(len(docs), dtype=np.float64)
    if not len(docs):
        return total
    reader = segment.reader()
    for fieldname, text, boost, tf_scale in terms:
        ids, weights = postings.get(reader, fieldname, text)
        if not len(ids):
            continue
        where = np.minimum(np.searchsorted(ids, docs), len(ids) - 1)
        holding = ids[where] == docs
        tf = weights[where[holding]].astype(np.float64) * tf_scale
        length = docsets.lengths(reader, fieldname)[docs[holding]]
        average = searcher.avg_field_length(fieldname) or 1
        idf = searcher.idf(fieldname, text)
        total[holding] += boost * idf * (tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * length / average))
    return total
