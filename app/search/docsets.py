"""Which documents of a segment match a query, as a sorted array of document numbers.

Whoosh finds matches through matchers that step one posting at a time in Python. That
is the right tool for ranking the top of a list, where it can skip what cannot win, but
the exact total and the facets need every match, and a word in a third of 300,000
messages, looked up in five fields, means hundreds of thousands of steps per search.
Here the same posting lists are read a block at a time into numpy arrays and combined
with set operations, and date ranges are answered from the date column, so the cost of
a search grows with the number of posting blocks rather than with the number of
postings times the depth of the query.

A phrase of common words is looked up by its word pairs, which the index keeps in fields
of their own (``app.search.schema``); other phrases by the messages holding all their
words, checked by Whoosh for the words' positions. The long text fields keep no
positions (their twins do, see ``positioned``), so that reading a word's postings reads
document numbers and counts only. Whoosh's own matcher answers any
query type this module does not know, so every query gets an answer.
``tests/search/agreement.py`` checks that both ways find the same documents, for every
query of the query table and for real mail.

Blocks, field lengths and columns are read through attributes Whoosh keeps private
(``_data``, ``_read_data``, ``_next_block``, ``_perdoc``, ``_lenfield``, and each column
reader's ``_dbfile``, ``_basepos``, ``_lengths``, ``_offsets``, ``_count``), as Whoosh-Reloaded 2.7.5
(pinned in requirements.txt) lays them out; those tests fail if an upgrade moves them.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict

import numpy as np
from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.columns import NumericColumn, VarBytesColumn
from whoosh.matching import FilterMatcher
from whoosh.util.numeric import byte_to_length

from app.search.schema import PAIR_SEPARATOR, PAIRS, paired_words, positions_field

__all__ = ["NO_DATE", "Postings", "codes", "dates", "lengths", "live", "matching", "numbers", "positioned"]

_DOCNUM = np.int64
_EMPTY = np.zeros(0, dtype=_DOCNUM)
_NO_WEIGHTS = np.zeros(0, dtype=np.float32)
NO_DATE = -1  # in ``dates``: the document has no date
_NO_VALUE = np.uint64(2**64 - 1)  # what Whoosh's numeric column holds for a document without a value


class Postings:
    """The posting lists one search reads, each read from disk once.

    Kept for one search only: the time a search takes is the time it takes to read
    what it needs, whatever ran before it.
    """

    def __init__(self) -> None:
        self._lists: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def ids(self, reader, fieldname: str, text) -> np.ndarray:
        return self.get(reader, fieldname, text)[0]

    def get(self, reader, fieldname: str, text) -> tuple[np.ndarray, np.ndarray]:
        """Return a term's (document numbers, weights) in the segment; weights are term frequencies."""
        key = (reader.segment().segment_id(), fieldname, text)
        if key not in self._lists:
            self._lists[key] = _read_postings(reader, fieldname, text)
        return self._lists[key]


def matching(query: wq.Query, searcher, postings: Postings | None = None) -> np.ndarray:
    """Return the sorted numbers of the documents of a one-segment ``searcher`` that match.

    Deleted documents are never returned.
    """
    docs = _docs(query, searcher, postings or Postings())
    reader = searcher.reader()
    if reader.has_deletions() and len(docs):
        docs = docs[live(reader)[docs]]
    return docs


def positioned(query: wq.Query) -> wq.Query:
    """Return the query with each phrase asked of the field that keeps its words' positions,
    as Whoosh's own matchers need them."""
    def move(q: wq.Query) -> wq.Query:
        if isinstance(q, wq.Phrase):
            q = copy.copy(q)
            q.fieldname = positions_field(q.fieldname)
        return q
    return query.accept(move)


def live(reader) -> np.ndarray:
    """Return a boolean array over the segment's document numbers: True where not deleted."""
    # Deletions only ever add to a segment's set, so their number names the set; the set
    # itself is read only when that number is new.
    deleted = reader.deleted_docs_set if reader.has_deletions() else frozenset()
    return _cached(reader, ("live", len(deleted)), lambda: _live(reader.doc_count_all(), sorted(deleted)))


def _live(count: int, deleted: list[int]) -> np.ndarray:
    mask = np.ones(count, dtype=bool)
    mask[np.asarray(deleted, dtype=_DOCNUM)] = False
    return mask


def codes(reader, fieldname: str) -> tuple[list[str], np.ndarray]:
    """Return a text column as (its distinct values, each document's index into them)."""
    def read():
        if not reader.has_column(fieldname):  # an index written before the column existed
            return [""], np.zeros(reader.doc_count_all(), dtype=np.int32)
        column = reader.column_reader(fieldname, translate=False)
        values = _var_bytes(column) if type(column) is VarBytesColumn.Reader else list(column)
        index: dict[bytes, int] = {}
        numbers = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.int32,
                              count=len(values))
        translate = reader.schema[fieldname].from_column_value
        return [str(translate(value)) for value in index], numbers
    return _cached(reader, ("codes", fieldname), read)


def _var_bytes(column: VarBytesColumn.Reader) -> list[bytes]:
    # The column's values lie end to end (``_basepos``, then each document's ``_lengths``):
    # one read and a slice per document, instead of a seek and a read per document.
    data = column._dbfile.get(column._basepos, sum(column._lengths))
    return [data[start:start + size] for start, size in zip(column._offsets, column._lengths, strict=True)]


def dates(reader, fieldname: str = "date") -> np.ndarray:
    """Return a numeric column as int64, with ``NO_DATE`` for documents without a value."""
    def read():
        column = reader.column_reader(fieldname, translate=False)
        values = numbers(column, reader.doc_count_all(), np.uint64)
        missing = values == _NO_VALUE
        out = values.astype(np.int64)  # datetimes as 100-ns ticks since year 1 fit easily
        out[missing] = NO_DATE
        return out
    return _cached(reader, ("dates", fieldname), read)


def lengths(reader, fieldname: str) -> np.ndarray:
    """Return each document's length in words in a text field (as Whoosh keeps it: roughly)."""
    def read():
        column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        if column is None:
            return np.zeros(reader.doc_count_all(), dtype=np.float32)
        return _BYTE_TO_LENGTH[numbers(column, reader.doc_count_all(), np.uint8)]
    return _cached(reader, ("lengths", fieldname), read)


# Whoosh's type codes of unsigned numeric columns, as numpy's big-endian types.
_BIG_ENDIAN = {"B": ">u1", "H": ">u2", "I": ">u4", "Q": ">u8"}


def numbers(column, count: int, dtype) -> np.ndarray:
    """Return the ``count`` values of a numeric column as an array of ``dtype``, read whole.

    The searches' dates and field lengths, and the writer's field lengths
    (``app.search.index``), are read through this one function."""
    code = getattr(column, "_typecode", None)
    if type(column) is not NumericColumn.Reader or code not in _BIG_ENDIAN:
        return np.fromiter(column, dtype=dtype, count=count)
    # The first ``_count`` documents' values lie end to end, big-endian (the layout of
    # ``NumericColumn.Writer``); the documents after them have the column's default.
    values = np.full(count, column._default, dtype=dtype)
    written = min(column._count, count)
    raw = column._dbfile.get(column._basepos, written * column._fixedlen)
    values[:written] = np.frombuffer(raw, dtype=_BIG_ENDIAN[code])
    return values


# Whoosh keeps each field length as one byte, on a scale that is exact for short fields.
_BYTE_TO_LENGTH = np.array([byte_to_length(b) for b in range(256)], dtype=np.float32)


# Segments never change once written (a deletion only marks documents), so what is read
# from one serves every later search; bounded, least recently used first out.
_CACHE: OrderedDict[tuple, object] = OrderedDict()
_CACHE_MAX = 256
_CACHE_LOCK = threading.Lock()


def _cached(reader, what: tuple, read):
    key = (reader.segment().segment_id(), reader.doc_count_all(), *what)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    value = read()
    with _CACHE_LOCK:
        _CACHE[key] = value
        while len(_CACHE) > _CACHE_MAX:
            _CACHE.popitem(last=False)
    return value


def _docs(query: wq.Query, searcher, postings: Postings) -> np.ndarray:
    """Matching document numbers, sorted and unique; deleted documents may be among them."""
    reader = searcher.reader()
    if isinstance(query, wq.Term):
        return postings.ids(reader, query.fieldname, query.text)
    size = reader.doc_count_all()
    if isinstance(query, wq.Or | wq.DisjunctionMax):
        return _union([_docs(q, searcher, postings) for q in query.subqueries], size)
    if isinstance(query, wq.And):
        return _intersection([_docs(q, searcher, postings) for q in query.subqueries], size)
    if isinstance(query, wq.AndNot):
        return _without(_docs(query.a, searcher, postings), _docs(query.b, searcher, postings), size)
    if isinstance(query, wq.Not):
        return _without(np.arange(size, dtype=_DOCNUM), _docs(query.query, searcher, postings), size)
    if isinstance(query, wq.Phrase) and query.slop == 1:
        return _phrase(query, searcher, postings)
    if isinstance(query, wq.Every) and not query.fieldname:
        return np.arange(reader.doc_count_all(), dtype=_DOCNUM)
    if query is wq.NullQuery:
        return _EMPTY
    if isinstance(query, wq.NumericRange) and reader.has_column(query.fieldname):
        return _in_range(reader, query)
    if isinstance(query, wq.MultiTerm) and not isinstance(query, wq.NumericRange):
        terms = query.expanded_terms(reader)
        return _union([postings.ids(reader, field, text) for field, text in terms], size)
    # Anything else (a phrase with a word gap, say): Whoosh's own matcher, one posting at a time.
    return np.fromiter(positioned(query).docs(searcher), dtype=_DOCNUM)


# Set operations on sorted arrays of document numbers, through a flag per document of the
# segment: linear in the segment's size, with no sorting or hashing.

def _union(parts: list[np.ndarray], size: int) -> np.ndarray:
    if len(parts) == 1:
        return parts[0]
    flags = np.zeros(size, dtype=bool)
    for part in parts:
        flags[part] = True
    return np.flatnonzero(flags)


def _intersection(parts: list[np.ndarray], size: int) -> np.ndarray:
    parts = sorted(parts, key=len)
    docs = parts[0] if parts else _EMPTY
    for part in parts[1:]:
        if not len(docs):
            break
        flags = np.zeros(size, dtype=bool)
        flags[part] = True
        docs = docs[flags[docs]]
    return docs


def _without(docs: np.ndarray, excluded: np.ndarray, size: int) -> np.ndarray:
    flags = np.zeros(size, dtype=bool)
    flags[excluded] = True
    return docs[~flags[docs]]


def _phrase(query: wq.Phrase, searcher, postings: Postings) -> np.ndarray:
    # The messages holding every neighbouring pair of the phrase: through the pair field
    # where the index pairs both words, else through the messages holding both words.
    # For two paired words that is the phrase itself. Otherwise the pairs could stand
    # apart ("a b ... b c"), or the words apart, so Whoosh checks the words' positions in
    # these messages only; with at least one word outside the common ones, they are few.
    # A phrase with words left out of the index inside it (a SpacedPhrase) pairs only the
    # words that stand side by side in it.
    reader = searcher.reader()
    field, words = query.fieldname, query.words
    offsets = getattr(query, "offsets", range(len(words)))
    paired = paired_words(searcher.schema, field)
    parts, exact = [], len(words) == 2
    for i, pair in enumerate(zip(words, words[1:], strict=False)):
        if pair[0] in paired and pair[1] in paired and offsets[i + 1] == offsets[i] + 1:
            parts.append(postings.ids(reader, field + PAIRS, PAIR_SEPARATOR.join(pair)))
        else:
            parts += [postings.ids(reader, field, word) for word in pair]
            exact = False
    docs = _intersection(parts, reader.doc_count_all())
    if exact or not len(docs):
        return docs
    matcher = positioned(query).matcher(searcher, searcher.boolean_context())
    held = []
    for doc in docs.tolist():
        if not matcher.is_active():
            break
        matcher.skip_to(doc)
        if matcher.is_active() and matcher.id() == doc:
            held.append(doc)
    return np.asarray(held, dtype=_DOCNUM)


def _read_postings(reader, fieldname: str, text) -> tuple[np.ndarray, np.ndarray]:
    if (fieldname, text) not in reader:
        return _EMPTY, _NO_WEIGHTS
    matcher = reader.postings(fieldname, text)
    if isinstance(matcher, FilterMatcher):  # Whoosh's filter of deleted documents; see ``matching``
        matcher = matcher.child
    if isinstance(matcher, W3LeafMatcher):
        return _blocks(matcher)
    ids, weights = [], []
    while matcher.is_active():  # short lists, kept inside the term's entry (a ListMatcher)
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return np.asarray(ids, dtype=_DOCNUM), np.asarray(weights, dtype=np.float32)


def _blocks(matcher: W3LeafMatcher) -> tuple[np.ndarray, np.ndarray]:
    # A posting list is a run of blocks of up to 128 postings. A block holds its document
    # numbers as differences from the one before, and its weights as an array, or as one
    # number when all are equal, or as None when all are 1. Each block is turned into
    # arrays in one go; the matcher's per-posting steps are never taken.
    ids, weights = [], []
    while matcher.is_active():
        if matcher._data is None:
            matcher._read_data()
        deltas, block_weights = matcher._data[0], matcher._data[1]
        ids.append(np.cumsum(np.asarray(deltas, dtype=_DOCNUM)))
        if block_weights is None or isinstance(block_weights, float):
            weights.append(np.full(len(deltas), block_weights or 1.0, dtype=np.float32))
        else:
            weights.append(np.asarray(block_weights, dtype=np.float32))
        matcher._next_block()
    if not ids:
        return _EMPTY, _NO_WEIGHTS
    return np.concatenate(ids), np.concatenate(weights)


def _in_range(reader, query: wq.NumericRange) -> np.ndarray:
    values = dates(reader, query.fieldname)
    keep = values != NO_DATE
    if query.start is not None:
        keep = keep & ((values > query.start) if query.startexcl else (values >= query.start))
    if query.end is not None:
        keep = keep & ((values < query.end) if query.endexcl else (values <= query.end))
    return np.flatnonzero(keep).astype(_DOCNUM)
