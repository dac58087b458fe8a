"""Searching the archive: one page of ranked hits with highlighted snippets, the exact
number of matches, and counts of all matches by account and by month.

The query text is read by ``app.search.language``.  This module stays free of Flask and
of the database: the full text of the hits, for their snippets, comes from a callable
the caller passes in.  Every match is found (``app.search.docsets``), so the total is
exact and the facets count all matches; all of them are then scored
(``app.search.scoring``) or ordered by date, and the page is cut from the top.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from whoosh import highlight
from whoosh import query as wq
from whoosh.support.charset import accent_map

from app.search import docsets, scoring
from app.search.index import SearchIndex
from app.search.language import QueryError, parse_query

__all__ = ["SORTS", "UNMATCHED", "Facet", "Hit", "QueryError", "Results", "matching_ids", "search_messages"]

SORTS = ("relevance", "date")
UNMATCHED = "(unmatched)"  # the account facet's label for mail linked to no account
NO_DATE = "(no date)"
# Highlighting analyses the text word by word; past this many characters a snippet
# costs more than it is worth, and the beginning of the message stands in.
_SNIPPET_SOURCE_CHARS = 20_000
_SNIPPET_CHARS = 240


@dataclass(frozen=True)
class Hit:
    message_id: int
    score: float  # 0.0 when sorted by date
    subject: str
    sender: str
    date: datetime | None
    account: str
    ticket: int | None
    status: str
    snippet: str  # HTML: matched words in <mark>, everything else escaped


@dataclass(frozen=True)
class Facet:
    value: str
    count: int


@dataclass(frozen=True)
class Results:
    total: int
    hits: list[Hit]
    page: int
    pages: int
    facets: dict[str, list[Facet]]


def search_messages(index: SearchIndex, text: str, *, page: int = 1, pagelen: int = 20,
                    sort: str = "relevance",
                    texts: Callable[[list[int]], dict[int, str]] | None = None,
                    snippets: bool = True) -> Results:
    """Run a query; return one page of hits, the exact total, and facets over all matches.

    ``page`` is clamped into range. ``texts`` returns the full text of messages by id,
    for the snippets; without it, or for an id it leaves out, the snippet comes from the
    stored beginning of the body. With ``snippets=False`` the hits' snippets are empty:
    highlighting is about half the time of a search, wasted where nobody reads them.
    """
    _check(sort, pagelen)
    with _searcher(index) as searcher:
        query = parse_query(text, searcher.schema)
        matches = _scan(searcher, query)
        pages = max(1, math.ceil(matches.total / pagelen))
        page = min(max(page, 1), pages)
        ranked = _ranked(searcher, query, matches, sort, page * pagelen)[(page - 1) * pagelen:]
        hits = _hits(searcher, query, ranked, texts, snippets)
    return Results(total=matches.total, hits=hits, page=page, pages=pages, facets=matches.facets())


def matching_ids(index: SearchIndex, text: str, *, sort: str = "date") -> list[int]:
    """Return the id of every matching message, newest first or best first."""
    _check(sort, 1)
    with _searcher(index) as searcher:
        query = parse_query(text, searcher.schema)
        matches = _scan(searcher, query)
        ranked = _ranked(searcher, query, matches, sort, None)
        # Only the id is read from each stored document; no hit, snippet or facet is built.
        return [searcher.stored_fields(docnum)["id"] for docnum, _ in ranked]


def _searcher(index: SearchIndex):
    # A kept searcher, brought up to the writer's latest commit (see ``lent_searcher``).
    return index.lent_searcher()


def _check(sort: str, pagelen: int) -> None:
    if sort not in SORTS:
        raise QueryError(f"sort must be {' or '.join(SORTS)}, not '{sort}'")
    if pagelen < 1:
        raise ValueError("pagelen must be at least 1")


# Every match: the exact total, the facets, and the dates for sorting -----------------

class _Matches:
    """Every matching document, per segment, counted by account and month."""

    def __init__(self, postings: docsets.Postings) -> None:
        self.postings = postings  # what matching read, for scoring to use again
        self.total = 0
        self.accounts: Counter[str] = Counter()
        self.months: Counter[str] = Counter()
        self.segments: list[tuple[object, int, np.ndarray]] = []  # (searcher, first docnum, docnums)

    def facets(self) -> dict[str, list[Facet]]:
        accounts = sorted(self.accounts.items(), key=lambda item: (-item[1], not item[0], item[0].lower()))
        months = sorted(self.months.items(), key=lambda item: (item[0] == "", item[0]))
        return {
            "account": [Facet(value or UNMATCHED, count) for value, count in accounts],
            "month": [Facet(value or NO_DATE, count) for value, count in months],
        }


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
    full_texts = texts([fields["id"] for fields, _ in stored]) if texts and stored and snippets else {}
    terms = highlight_terms(query)
    analyzer = searcher.schema["body"].analyzer

    def shown(fields: dict) -> str:
        if not snippets:
            return ""
        return snippet(full_texts.get(fields["id"]) or fields.get("snippet") or "", terms, analyzer)

    return [
        Hit(message_id=fields["id"], score=score, subject=fields.get("subject", ""),
            sender=fields.get("sender", ""), date=fields.get("date"), account=fields.get("account", ""),
            ticket=fields.get("ticket"), status=fields.get("status", ""), snippet=shown(fields))
        for fields, score in stored
    ]


def highlight_terms(query: wq.Query) -> frozenset[str]:
    """Return the analysed words the query looks for in text fields (not those it excludes)."""
    words: set[str] = set()
    for found, _ in scoring.wanted_text(query):
        words.update(found.words if isinstance(found, wq.Phrase) else [found.text])
    return frozenset(words)


class _MarkFormatter(highlight.Formatter):
    """Wraps matched words in <mark> and escapes everything, so the snippet is safe HTML."""

    between = " … "

    def _text(self, text: str) -> str:
        return html.escape(text)

    def format_token(self, text: str, token, replace: bool = False) -> str:
        return f"<mark>{html.escape(highlight.get_text(text, token, replace))}</mark>"

    def format(self, fragments, replace: bool = False) -> str:
        if not fragments:
            return ""
        # Fragments end at words: put back punctuation at either end, or say text is left out.
        text = fragments[0].text
        before, after = text[:fragments[0].startchar], text[fragments[-1].endchar:]
        head = html.escape(before) if _no_words(before) else "… "
        tail = html.escape(after) if _no_words(after) else " …"
        return head + super().format(fragments, replace) + tail


def _no_words(text: str) -> bool:
    return len(text) <= 10 and not any(c.isalnum() for c in text)


_FORMATTER = _MarkFormatter()


def snippet(text: str, terms: Iterable[str], analyzer) -> str:
    """Return up to two passages of ``text`` around the matched words, as safe HTML."""
    text = " ".join(text[:_SNIPPET_SOURCE_CHARS].split())
    terms = frozenset(terms)
    if terms:
        # Highlighting analyses every word it is given, about 10 µs each, so a long body
        # is cut to the stretch where the matched words first appear, found by a plain
        # search for the beginnings of their stems; it is analysed from there.
        start = _first_likely_match(text, terms)
        excerpt = text[start:start + _ANALYSED_CHARS]
        fragmenter = highlight.ContextFragmenter(maxchars=_SNIPPET_CHARS, surround=60, charlimit=None)
        marked = highlight.highlight(excerpt, terms, analyzer, fragmenter, _FORMATTER, top=2)
        if marked:
            return ("… " if start and not marked.startswith("… ") else "") + marked
    lead = text[:_SNIPPET_CHARS]
    return html.escape(lead) + (" …" if len(text) > len(lead) else "")


# How much text highlighting analyses, from a little before the first likely match.
_ANALYSED_CHARS = 600
_BEFORE_MATCH = 100


def _letters_folding_to() -> dict[str, str]:
    # Stems are folded to plain letters ("Éclair" -> "eclair"); each plain letter stands for
    # itself and every letter the analyzer folds to it, so the plain search finds the word
    # as written. Whoosh's accent map folds each letter to exactly one.
    letters: dict[str, str] = {}
    for code, plain in accent_map.items():
        letters[plain] = letters.get(plain, plain) + chr(code)
    return letters


_FOLDED_FROM = _letters_folding_to()


def _unfolded(stem: str) -> str:
    return "".join(f"[{re.escape(_FOLDED_FROM[c])}]" if c in _FOLDED_FROM else re.escape(c) for c in stem)


def _first_likely_match(text: str, terms: frozenset[str]) -> int:
    if len(text) <= _ANALYSED_CHARS:
        return 0
    # A stem less its last letter begins the words it stems from ("happi" <- "happy");
    # a match here is only likely, which is all that is needed to choose where to look.
    stems = sorted({t[:-1] if len(t) > 3 else t for t in terms}, key=len, reverse=True)
    found = re.search("|".join(map(_unfolded, stems)), text, re.IGNORECASE)
    if found is None or found.start() < _ANALYSED_CHARS - _BEFORE_MATCH:
        return 0
    space = text.rfind(" ", 0, found.start() - _BEFORE_MATCH)
    return space + 1 if space >= 0 else 0
