"""``flask search``: pages, sort order and JSON from the query API, and a malformed query
explained in one sentence with exit status 1.
"""

from __future__ import annotations

import json

from app.runtime import search_index
from app.services.indexing import index_pending
from tests import factories

SUBJECTS = ("Invoice export fails", "Second invoice question", "Third invoice question")


def fill(session) -> list[int]:
    factories.account(session, "Acme Plumbing", domains=("acme.example",))
    ids = [factories.archived(session, factories.message(n, sender="ann@acme.example", subject=subject,
                                                         body=f"The invoice <{n}> & the export.")).id
           for n, subject in enumerate(SUBJECTS)]
    ids.append(factories.archived(session, factories.message(9, sender="zed@nowhere.example",
                                                             subject="Unrelated", body="An invoice.")).id)
    index = search_index()
    index.acquire_writer()
    try:
        index_pending(session, index)
    finally:
        index.release_writer()
    return ids


def test_search_prints_a_page_newest_first_with_total_snippets_and_facets_as_json(session, cli):
    first, second, third, unmatched = fill(session)

    found = json.loads(cli("search", "invoice", "--json", "--sort", "date", "--page", "2",
                           "--limit", "2").stdout)

    assert (found["total"], found["page"], found["pages"]) == (4, 2, 2)
    assert [h["id"] for h in found["hits"]] == [second, first]
    hit = found["hits"][0]
    assert hit["subject"] == "Second invoice question" and hit["account"] == "Acme Plumbing"
    assert hit["status"] == "open" and isinstance(hit["ticket"], int)
    assert hit["snippet"] == "The <mark>invoice</mark> &lt;1&gt; &amp; the export."
    assert found["facets"] == {
        "account": [{"value": "Acme Plumbing", "count": 3}, {"value": "(unmatched)", "count": 1}],
        "month": [{"value": "2026-01", "count": 4}],
    }


def test_search_by_relevance_and_in_text_names_the_page(session, cli):
    fill(session)

    best = json.loads(cli("search", "subject:invoice", "export", "--json").stdout)
    text = cli("search", "invoice", "--limit", "3", "--page", "9").stdout

    assert best["total"] == 3 and best["hits"][0]["subject"] == "Invoice export fails"
    assert text.splitlines()[0] == "4 message(s) match; page 2 of 2, 1 shown."


def test_a_malformed_query_is_explained_in_one_sentence_with_exit_status_1(app, session):
    fill(session)
    runner = app.test_cli_runner()

    for args, sentence, status in [
        (["search", "form:ann"], "Error: Unknown field 'form:' at position 1 (fields: from, to, cc, ", 1),
        (["search", "(invoice", "OR", "refund"], "Error: Unbalanced parenthesis: the '(' at position 1", 1),
        (["search", "date:2024-13"], "Error: '2024-13' is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)", 1),
        (["search", "--sort", "size", "invoice"], "Error: Invalid value for '--sort'", 1),
    ]:
        result = runner.invoke(args=args)
        assert result.exit_code == status and "Traceback" not in result.output, result.output
        assert sentence in result.output
