"""A phrase matches only where its words stand side by side in one field: pairs that are
both present but apart, words split across fields, or words a stop word stands between,
are not the phrase. Every case runs
twice: with common words, which the index pairs (app/search/common_words.txt), and with
rare ones, found by their positions; and each is checked against Whoosh's own matching.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from app.search.query import search_messages
from app.search.schema import common_words
from tests import factories
from tests.search.agreement import disagreements
from tests.search.backends import SEARCH_BACKENDS, filled_index

TEXTS = {  # id: (subject, body)
    1: ("Order", "The alpha beta gamma release is out."),
    2: ("Order", "alpha beta, then delta beta gamma: both pairs, never the phrase"),
    3: ("alpha", "beta gamma in the body, alpha in the subject"),
    4: ("Order", "Alpha the beta gamma: a stop word between keeps its place"),
    5: ("Alpha beta gamma", "only the subject holds it"),
    6: ("Order", "gamma beta alpha: the words in reverse"),
}
# The same texts in common words, which the index pairs ("price" ... "help" are in the list).
COMMON = {"alpha": "price", "beta": "time", "gamma": "work", "delta": "help"}

FOUND = {
    '"alpha beta gamma"': {1, 5},
    '"alpha beta"': {1, 2, 5},
    '"beta gamma"': {1, 2, 3, 4, 5},
    '"gamma beta"': {6},
    '"beta alpha"': {6},
    'subject:"alpha beta gamma"': {5},
    '"alpha beta gamma" -subject:alpha': {1},
    # A word the index leaves out stands for any one word, in its place.
    '"alpha the beta gamma"': {4},
    '"alpha of beta"': {4},
    '"the alpha beta"': {1, 2, 5},
    '"alpha the the beta"': set(),
    '"delta beta gamma"': {2},
    '"alpha gamma"': set(),
}


def words(text: str, vocabulary: dict[str, str]) -> str:
    return re.sub(r"\b(alpha|beta|gamma|delta)\b", lambda m: vocabulary.get(m.group().lower(), m.group()),
                  text, flags=re.I)


@pytest.fixture(scope="module", params=["rare", "common"])
def vocabulary(request):
    if request.param == "common":
        assert set(COMMON.values()) <= common_words()
        return COMMON
    assert not {"alpha", "beta", "gamma", "delta"} & common_words()
    return {}


@pytest.fixture(scope="module", params=SEARCH_BACKENDS)
def index(request, tmp_path_factory, vocabulary):
    def fill(index):
        index.write([factories.index_document(
            n, subject=words(subject, vocabulary), body=words(body, vocabulary), date=datetime(2024, 1, n),
        ) for n, (subject, body) in TEXTS.items()])

    yield from filled_index(request, tmp_path_factory.mktemp("phrases"), fill)


@pytest.mark.parametrize(("text", "expected"), FOUND.items(), ids=FOUND.keys())
def test_a_phrase_matches_only_words_side_by_side_in_one_field(index, vocabulary, text, expected):
    text = words(text, vocabulary)
    results = search_messages(index, text, pagelen=50)

    assert {hit.message_id for hit in results.hits} == expected
    assert results.total == len(expected)
    if index.name == "whoosh":
        assert disagreements(index, text) == []
