"""The total is exact, never an estimate: over an index of several segments with deleted
and rewritten documents, every query's total equals the matches counted by hand, the
hits found by paging to the end, and the ids an export gets.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from app.search.index import IndexDocument
from app.search.query import matching_ids, search_messages
from tests import factories
from tests.search.backends import SEARCH_BACKENDS, filled_index

WORDS = ("invoice", "export", "refund", "delay", "order", "paper")
N = 1500
DELETED = set(range(3, N, 7))
REWRITTEN = set(range(5, N, 11)) - DELETED  # rewritten without "paper"


def bodies() -> dict[int, set[str]]:
    rng = random.Random(5)
    words = {n: {rng.choice(WORDS) for _ in range(rng.randint(1, 12))} for n in range(1, N + 1)}
    for n in REWRITTEN:
        words[n] = words[n] - {"paper"} or {"order"}
    return {n: w for n, w in words.items() if n not in DELETED}


QUERIES = {
    "invoice": lambda w: "invoice" in w,
    "invoice export": lambda w: {"invoice", "export"} <= w,
    "invoice OR refund": lambda w: bool({"invoice", "refund"} & w),
    "-paper": lambda w: "paper" not in w,
    "invoice -delay": lambda w: "invoice" in w and "delay" not in w,
    "(order OR paper) NOT (invoice OR export)":
        lambda w: bool({"order", "paper"} & w) and not {"invoice", "export"} & w,
}


def document(n: int, words: set[str]) -> IndexDocument:
    return factories.index_document(
        n, subject="Message", body=" ".join(sorted(words)), account=("Acme", "Birch", "")[n % 3],
        date=datetime(2024, 1, 1) + timedelta(hours=n), unmatched=n % 3 == 2)


@pytest.fixture(scope="module", params=SEARCH_BACKENDS)
def index(request, tmp_path_factory):
    rng = random.Random(5)
    first = {n: {rng.choice(WORDS) for _ in range(rng.randint(1, 12))} for n in range(1, N + 1)}

    def fill(index):
        for start in range(1, N + 1, 250):  # several commits: several segments
            index.write([document(n, first[n]) for n in range(start, min(start + 250, N + 1))])
        final = bodies()
        index.write([document(n, final[n]) for n in sorted(REWRITTEN)])
        index.delete(sorted(DELETED))

    yield from filled_index(request, tmp_path_factory.mktemp("totals"), fill)


@pytest.mark.parametrize("text", QUERIES)
@pytest.mark.parametrize("sort", ["relevance", "date"])
def test_the_total_is_the_number_of_matches_and_of_hits_paged_to_the_end(index, text, sort):
    expected = {n for n, words in bodies().items() if QUERIES[text](words)}

    first = search_messages(index, text, pagelen=37, sort=sort)
    paged = [h.message_id for page in range(1, first.pages + 1)
             for h in search_messages(index, text, page=page, pagelen=37, sort=sort).hits]

    assert first.total == len(expected) == len(paged) == len(set(paged))
    assert set(paged) == expected == set(matching_ids(index, text, sort=sort))
    facets = first.facets
    assert sum(f.count for f in facets["account"]) == sum(f.count for f in facets["month"]) == first.total
