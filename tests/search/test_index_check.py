"""``flask search check`` compares the index with the database: nothing to report on a
consistent archive, and every message missing from one or the other named, exit 1.
"""

from __future__ import annotations

import json
from datetime import datetime

from app.runtime import search_index
from app.search.index import IndexDocument
from app.services.indexing import check_index
from tests import factories


def archive(session, count: int) -> list[int]:
    return [factories.archived(session, factories.message(n)).id for n in range(count)]


def stray(message_id: int) -> IndexDocument:
    """A document for a message the database does not have."""
    return factories.index_document(message_id, subject="stray", body="stray", sender="", from_addr="",
                                    to="", date=datetime(2026, 1, 1))


def test_check_reports_nothing_wrong_on_a_consistent_archive(session, cli):
    archive(session, 3)
    factories.index_queue(session)
    out = cli("search", "check")
    assert out.exit_code == 0
    assert out.stdout.splitlines() == [
        "3 messages in both; missing from the index: none; in the index but not in the database: none.",
        "0 message(s) waiting in the index queue; the writer indexes them within seconds.",
    ]
    assert out.stderr == ""


def test_check_names_a_message_removed_from_the_index_by_hand(session, cli):
    ids = archive(session, 3)
    factories.index_queue(session)
    search_index().delete([ids[1]])

    out = cli("search", "check")
    assert out.exit_code == 1
    assert out.stdout.splitlines()[0] == (
        f"2 messages in both; missing from the index: {ids[1]}; "
        "in the index but not in the database: none.")
    assert "flask search reindex" in out.stderr

    report = json.loads(cli("search", "check", "--json").stdout)
    assert report["consistent"] is False
    assert report["missing_from_index"] == [ids[1]]
    assert report["in_both"] == 2


def test_check_names_a_document_without_a_message_and_counts_the_queue_apart(session, cli):
    ids = archive(session, 2)
    factories.index_queue(session)
    factories.archived(session, factories.message(9))  # waiting: not an inconsistency
    index = search_index()
    index.acquire_writer()
    try:
        index.write([stray(4242)])
    finally:
        index.release_writer()

    out = cli("search", "check", "--json")
    assert out.exit_code == 1
    report = json.loads(out.stdout)
    assert report == {"consistent": False, "generation": "generation 0", "in_both": len(ids),
                      "missing_from_index": [], "not_in_database": [4242], "held_twice": [],
                      "waiting": 1}


def test_the_check_after_a_reindex_is_clean_and_names_the_generation(session, cli):
    archive(session, 2)
    factories.index_queue(session)
    search_index().delete([1])
    assert not check_index(session, search_index()).consistent
    assert cli("search", "reindex").exit_code == 0
    out = cli("search", "check", "--json")
    assert out.exit_code == 0
    assert json.loads(out.stdout)["generation"] == "gen-000001"
