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
