"""Search finds words as they stand in the mail: every address of a long To or Cc header,
phrases only where their words are neighbours in the text, and words wrapped in
punctuation. Each query over this fixed archive returns exactly its set of messages, on
every database backend.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from app.search.query import search_messages
from tests.conftest import SEARCH_IDS, SEARCHES
from tests.search.agreement import disagreements
from tests.search.query_archive import Spec, _msg, build

WIDE = [f"person{n:03d}@wide.example" for n in range(1, 302)]  # 301 recipients, about 7,500 characters
COPIED = [f"Copy Reader {n} <reader{n}@copies.example>" for n in range(1, 401)]


def _spec(n: int, subject: str, body: str, **headers) -> Spec:
    return Spec(_msg(n, "Kim Kerr <kim@words.example>", subject, body, **headers), datetime(2024, 3, n))


SPECS = {
    "wide_to": _spec(1, "Announcement", "To everyone on the list.", To=", ".join(WIDE)),
    "wide_cc": _spec(2, "Minutes", "Copied to all readers.", Cc=", ".join(COPIED)),
    "power_apart": _spec(3, "Site visit", "We measured the power of the plant before noon."),
    "power_plant": _spec(4, "Outage", "The power plant is offline until Friday."),
    "signal_apart": _spec(5, "Lab report", "The raw signal is processed twice on the bench."),
    "signal_processing": _spec(6, "Course", "Signal processing starts in May."),
    "stars": _spec(7, "**Please note**", "This is *important*: the _deadline_ moved to (Tuesday)."),
    "plain": _spec(8, "Please read", "Nothing important, just a deadline reminder for tuesday."),
}

TABLE = {
    # Every address of a long header, first and last
    "to:person001@wide.example": {"wide_to"},
    "to:person301@wide.example": {"wide_to"},
    "to:person150@wide.example": {"wide_to"},
    "to:wide.example": {"wide_to"},
    "cc:reader1@copies.example": {"wide_cc"},
    "cc:reader400@copies.example": {"wide_cc"},
    "cc:copies.example": {"wide_cc"},
    "to:reader400@copies.example": set(),
    # Phrases: neighbours only; a stop word inside a phrase stands for one word
    '"power plant"': {"power_plant"},
    '"power of the plant"': {"power_apart"},
    '"power of plant"': set(),
    "power plant": {"power_apart", "power_plant"},
    '"signal processing"': {"signal_processing"},
    '"signal is processed"': {"signal_apart"},
    '"raw signal is processed"': {"signal_apart"},
    '"signal processed"': {"signal_processing"},  # words match by their stem
    # Words wrapped in punctuation
    "please": {"stars", "plain"},
    "subject:please": {"stars", "plain"},
    '"please note"': {"stars"},
    "important": {"stars", "plain"},
    "*important*": {"stars", "plain"},
    "deadline": {"stars", "plain"},
    "_deadline_": {"stars", "plain"},
    "tuesday": {"stars", "plain"},
    "(tuesday)": {"stars", "plain"},
    '"moved to tuesday"': {"stars"},
}


@pytest.fixture(scope="module", params=SEARCHES, ids=SEARCH_IDS)
def archive(request, tmp_path_factory):
    database, search = request.param
    return build(database, tmp_path_factory.mktemp(f"words-{database}-{search}"), request, SPECS, search)


@pytest.mark.parametrize(("text", "expected"), TABLE.items(), ids=TABLE.keys())
def test_each_query_finds_exactly_its_messages(archive, text, expected):
    results = search_messages(archive.index, text, pagelen=50)

    assert archive.labels(hit.message_id for hit in results.hits) == expected
    assert results.total == len(expected)
    if archive.index.name == "whoosh":  # its own two ways of matching agree
        assert disagreements(archive.index, text) == []


def test_the_database_keeps_every_recipient_of_a_long_header(archive):
    to, _ = archive.recipients["wide_to"]
    _, cc = archive.recipients["wide_cc"]

    assert to.split(", ") == ["support@desk.example", *WIDE]
    assert cc.split(", ") == [address.split("<")[1].rstrip(">") for address in COPIED]
