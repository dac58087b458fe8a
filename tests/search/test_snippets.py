"""Snippets of long bodies: the matched words are marked even far into the text, where the
highlighter is only given the stretch around their first appearance."""

from __future__ import annotations

import pytest

from app.search.query import snippet
from app.search.schema import text_analyzer

ANALYZER = text_analyzer()
FILLER = "Nothing to see in this line of the message. " * 300  # 13,500 characters


@pytest.mark.parametrize(("written", "stem"), [
    ("invoice", "invoic"), ("happy", "happi"), ("Café", "cafe"), ("Éclair", "eclair"), ("naïve", "naiv"),
])
def test_a_word_deep_in_a_long_body_is_marked(written, stem):
    text = FILLER + f"Here the {written} appears at last. " + FILLER

    marked = snippet(text, {stem}, ANALYZER)

    assert f"<mark>{written}</mark>" in marked
    assert marked.startswith("… ") and marked.endswith(" …")
    assert len(marked) < 600


def test_a_short_body_is_highlighted_whole_and_without_a_leading_ellipsis():
    marked = snippet("Your invoice is attached.", {"invoic"}, ANALYZER)

    assert marked == "Your <mark>invoice</mark> is attached."


def test_a_search_without_snippets_finds_the_same_hits_totals_and_facets(tmp_path):
    from app.search.index import SearchIndex
    from app.search.query import search_messages
    from tests import factories

    index = SearchIndex(tmp_path / "index")
    index.acquire_writer()
    index.write([factories.index_document(n, subject=f"invoice {n}", body=f"The invoice number {n} is late.")
                 for n in range(1, 31)])
    index.release_writer()

    marked = search_messages(index, "invoice late", pagelen=10)
    plain = search_messages(index, "invoice late", pagelen=10, snippets=False)

    assert all("<mark>invoice</mark>" in hit.snippet for hit in marked.hits)
    assert all(hit.snippet == "" for hit in plain.hits)
    assert [(h.message_id, h.score, h.subject) for h in plain.hits] == \
        [(h.message_id, h.score, h.subject) for h in marked.hits]
    assert (plain.total, plain.pages, plain.facets) == (marked.total, marked.pages, marked.facets) == \
        (30, 3, marked.facets)
