"""Words are found regardless of case and accents, and English words by their stems, in
plain words, phrases and fields alike; the snippet marks the word as the message wrote it.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from app.search.index import IndexDocument
from app.search.query import search_messages
from tests import factories
from tests.search.backends import SEARCH_BACKENDS, filled_index

TEXTS = {
    1: ("Café crème", "The CAFÉ serves crème brûlée on the façade terrace."),
    2: ("cafe menu", "A naive cafe near the facade of Zurich station."),
    3: ("Invoices", "We are invoicing you; the invoiced amounts follow."),
    4: ("Deliveries", "Two deliveries and one delivery are late."),
    5: ("Zürich office", "Our naïve fiancée from Zürich writes to Señor Müller."),
    6: ("Résumé", "My résumé is attached."),
    7: ("resume", "Please resume the export."),
}
FROM = {5: "Jürgen Groß juergen@zuerich.example", 6: "Anaïs anais@paris.example"}
FILES = {6: "Résumé_Anaïs.pdf", 1: "menu-crème.txt"}

FOUND = {
    "cafe": {1, 2},
    "CAFÉ": {1, 2},
    "Cafés": {1, 2},
    "creme": {1},
    "façades": {1, 2},
    "naïve": {2, 5},
    "NAIVE": {2, 5},
    "zurich": {2, 5},
    "fiancee": {5},
    "senor": {5},
    "muller": {5},
    "invoice": {3},
    "invoicing": {3},
    "Invoiced": {3},
    "delivery": {4},
    "deliveries": {4},
    '"cafe creme"': {1},
    '"NAÏVE CAFÉ"': {2},
    "subject:zurich": {5},
    'subject:"cafe creme"': {1},
    "from:jurgen": {5},
    "from:anais": {6},
    "filename:anais": {6},
    "filename:creme": {1},
    "filename:résumé": {6},
    "resume export": {7},
    "résumé attached": {6},
}

# The schema folds accents before it stems, so every spelling reaches one stem.
ACROSS_ACCENTS = {
    "Résumés": {6, 7},
    "resume": {6, 7},
    "résumé": {6, 7},
    "brulee": {1},
}


@pytest.fixture(scope="module", params=SEARCH_BACKENDS)
def index(request, tmp_path_factory):
    def fill(index):
        index.write([document(n, subject, body) for n, (subject, body) in TEXTS.items()])

    yield from filled_index(request, tmp_path_factory.mktemp("accents"), fill)


def document(n: int, subject: str, body: str) -> IndexDocument:
    return factories.index_document(n, subject=subject, body=body, sender=FROM.get(n, "Pat pat@example.org"),
                                    date=datetime(2024, 1, n), filenames=FILES.get(n, ""))


def found(index, text: str) -> set[int]:
    return {hit.message_id for hit in search_messages(index, text, pagelen=50).hits}


@pytest.mark.parametrize(("text", "expected"), FOUND.items(), ids=FOUND.keys())
def test_words_match_regardless_of_case_accents_and_endings(index, text, expected):
    assert found(index, text) == expected


@pytest.mark.parametrize(("text", "expected"), ACROSS_ACCENTS.items(), ids=ACROSS_ACCENTS.keys())
def test_a_word_whose_stem_changes_with_its_accent_is_found_either_way(index, text, expected):
    assert found(index, text) == expected


def test_the_snippet_marks_the_words_as_written(index):
    hit, = search_messages(index, "cafe creme", texts=lambda ids: {i: TEXTS[i][1] for i in ids}).hits

    assert hit.snippet == ("The <mark>CAFÉ</mark> serves <mark>crème</mark> brûlée on the façade terrace.")
