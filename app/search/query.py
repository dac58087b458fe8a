"""Searching the archive, whatever the backend: one page of ranked hits with highlighted
snippets, the exact number of matches, and counts of all matches by account and by month.

The query text is read by ``app.search.language`` and run by the index's backend
(``app.search.backend``): Whoosh's in ``app.search.whoosh_query``, PostgreSQL's in
``app.search.postgres``.  What is shared lives here: the results, the order of the
facets, and the snippets.  This module stays free of Flask and of the database: the
full text of the hits, for their snippets, comes from a callable the caller passes in.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from whoosh import highlight
from whoosh import query as wq
from whoosh.support.charset import accent_map

from app.search import scoring
from app.search.language import QueryError
from app.search.schema import text_analyzer

if TYPE_CHECKING:
    from app.search.backend import SearchBackend

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


def search_messages(index: SearchBackend, text: str, *, page: int = 1, pagelen: int = 20,
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
    return index.search(text, page=page, pagelen=pagelen, sort=sort, texts=texts, snippets=snippets)


def matching_ids(index: SearchBackend, text: str, *, sort: str = "date") -> list[int]:
    """Return the id of every matching message, newest first or best first."""
    _check(sort, 1)
    return index.matching_ids(text, sort=sort)


def _check(sort: str, pagelen: int) -> None:
    if sort not in SORTS:
        raise QueryError(f"sort must be {' or '.join(SORTS)}, not '{sort}'")
    if pagelen < 1:
        raise ValueError("pagelen must be at least 1")


def clamped(total: int, page: int, pagelen: int) -> tuple[int, int]:
    """Return the page (clamped into range) and the number of pages of ``total`` matches."""
    pages = max(1, math.ceil(total / pagelen))
    return min(max(page, 1), pages), pages


def facets(accounts: Counter[str], months: Counter[str]) -> dict[str, list[Facet]]:
    """Order the counts of all matches by account (most first) and by month (oldest first)."""
    by_account = sorted(accounts.items(), key=lambda item: (-item[1], not item[0], item[0].lower()))
    by_month = sorted(months.items(), key=lambda item: (item[0] == "", item[0]))
    return {
        "account": [Facet(value or UNMATCHED, count) for value, count in by_account],
        "month": [Facet(value or NO_DATE, count) for value, count in by_month],
    }


def hit_snippets(query, found: list[tuple[int, str]],
                 texts: Callable[[list[int]], dict[int, str]] | None, snippets: bool) -> dict[int, str]:
    """Return each hit's snippet by message id, from ``found``: (id, stored beginning of its body)."""
    if not snippets:
        return {message_id: "" for message_id, _ in found}
    full_texts = texts([message_id for message_id, _ in found]) if texts and found else {}
    terms = highlight_terms(query)
    analyzer = text_analyzer()
    return {message_id: snippet(full_texts.get(message_id) or stored or "", terms, analyzer)
            for message_id, stored in found}


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

    def format_fragment(self, fragment, replace: bool = False) -> str:
        # Pairs of Han, Kana or Hangul characters overlap ("請求" and "求書" in "請求書"):
        # matches that overlap are marked as one stretch of text.
        text, marked = fragment.text, []
        for token in sorted(fragment.matches, key=lambda t: t.startchar):
            if marked and token.startchar < marked[-1][1]:
                marked[-1][1] = max(marked[-1][1], token.endchar)
            else:
                marked.append([token.startchar, token.endchar])
        output, at = [], fragment.startchar
        for start, end in marked:
            output += [html.escape(text[at:start]), f"<mark>{html.escape(text[start:end])}</mark>"]
            at = end
        return "".join(output) + html.escape(text[at:fragment.endchar])

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
