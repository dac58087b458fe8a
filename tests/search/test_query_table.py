"""The query language over a fixed archive: each query returns exactly its set of messages,
by relevance or by date, a page at a time, with exact totals and facets over all matches.

The archive (``tests/search/query_archive.py``) is built once per database backend; its
messages are known by labels, and ``{label}`` in a query stands for that message's ticket.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from app.search.query import Facet, QueryError, matching_ids, search_messages
from tests.conftest import SEARCH_IDS, SEARCHES
from tests.search.agreement import disagreements
from tests.search.query_archive import ALL, build

# acme_files by its attachment's name, Invoice_March.pdf
INVOICE = {"acme_invoice", "acme_reply", "stranger_offer", "acme_export", "quote", "acme_files"}
ACME = {"acme_invoice", "acme_refund", "acme_reply", "acme_files", "acme_export", "acme_meeting", "acme_2025"}
BIRCH = {"birch_order", "birch_cafe", "birch_closed", "birch_pending", "birch_2023", "quote"}
ANN = {"acme_invoice", "acme_reply", "acme_export"}
UNMATCHED = {"stranger_offer", "stranger_cv", "quarantined"}

TABLE = {
    # Words, phrases, AND / OR / NOT and parentheses
    "invoice": INVOICE,
    "invoices": INVOICE,
    "invoice export": {"acme_invoice", "acme_reply", "acme_export"},
    "invoice AND export": {"acme_invoice", "acme_reply", "acme_export"},
    '"export fails"': {"acme_invoice"},
    "export fails": {"acme_invoice", "acme_reply", "acme_export"},
    "refund OR delivery": {"acme_refund", "birch_closed", "birch_pending"},
    "refund OR invoice export": {"acme_refund", "acme_invoice", "acme_reply", "acme_export"},
    "invoice NOT export": {"stranger_offer", "quote", "acme_files"},
    "invoice -export": {"stranger_offer", "quote", "acme_files"},
    '-"export fails" invoice': INVOICE - {"acme_invoice"},
    "-invoice": ALL - INVOICE,
    "NOT NOT refund": {"acme_refund"},
    "(refund OR sourdough) AND NOT payment": {"birch_order"},
    "delivery (delayed OR arrived)": {"birch_pending", "birch_closed"},
    "sourdough OR (cafe -(delivery OR (refund)))": {"birch_order", "birch_cafe"},
    "the invoice": INVOICE,
    "open": {"birch_2023"},
    "gasket": {"acme_files"},
    "flange gaskets": {"acme_files"},
    "ordering": {"birch_order", "acme_refund"},
    "nothingmatchesthis": set(),
    # from:
    "from:ann@acme.example": ANN,
    "from:ANN@Acme.Example": ANN,
    "from:ann@": ANN,
    "from:@birch.example": BIRCH,
    "from:birch.example": BIRCH,
    "from:ann": ANN,
    "from:archer": {"acme_invoice", "acme_reply"},
    'from:"ann archer"': {"acme_invoice", "acme_reply"},
    "from:eclair": {"birch_cafe"},
    "from:nobody@acme.example": set(),
    # to: and cc:
    "to:orders@desk.example": {"birch_order"},
    "to:orders": {"birch_order"},
    "to:desk.example": ALL - {"quarantined"},
    "to:@desk.example": ALL - {"quarantined"},
    "cc:ann@acme.example": {"acme_refund", "acme_meeting"},
    "cc:ann": {"acme_refund", "acme_meeting"},
    "cc:acme.example": {"acme_invoice", "acme_refund", "acme_meeting"},
    "cc:birch.example": {"birch_pending", "acme_meeting"},
    "cc:mail.birch.example": {"birch_pending"},
    "cc:cme.example": set(),
    "cc:ann@birch.example": set(),
    # subject:
    "subject:invoice": {"acme_invoice", "acme_reply"},
    'subject:"invoice 1042"': {"acme_invoice", "acme_reply"},
    'subject:"1042 invoice"': set(),
    "subject:export": {"acme_export"},
    # account:, mailbox:, ticket:, status:
    'account:"Acme Plumbing"': ACME,
    'account:"ACME plumbing"': ACME,
    'account:"Birch Bakery"': BIRCH,
    "account:acme": set(),
    'mailbox:"Support Desk"': {"acme_invoice", "acme_reply", "birch_order"},
    "mailbox:sales": {"acme_refund", "acme_reply"},
    'mailbox:sales mailbox:"support desk"': {"acme_reply"},
    "ticket:{acme_invoice}": {"acme_invoice", "acme_reply"},
    "ticket:#{birch_order}": {"birch_order"},
    "ticket:999999": set(),
    "status:closed": {"birch_closed"},
    "status:pending": {"birch_pending"},
    "status:open": ALL - {"birch_closed", "birch_pending", "quarantined"},
    "status:OPEN": ALL - {"birch_closed", "birch_pending", "quarantined"},
    "-status:open": {"birch_closed", "birch_pending", "quarantined"},
    # filename:, has:, is:
    "filename:invoice": {"acme_files"},
    "filename:march": {"acme_files"},
    "filename:pdf": {"acme_files"},
    "filename:notes.txt": {"acme_files"},
    "filename:resume": {"stranger_cv"},
    "filename:Résumé": {"stranger_cv"},
    "filename:docx": {"stranger_cv"},
    "filename:arch": set(),
    "has:attachment": {"acme_files", "stranger_cv"},
    "is:unmatched": UNMATCHED,
    "is:quarantined": {"quarantined"},
    "has:attachment is:unmatched": {"stranger_cv"},
    "is:unmatched OR has:attachment": UNMATCHED | {"acme_files"},
    "-is:unmatched": ALL - UNMATCHED,
    # after: is inclusive of its day, before: exclusive; date: includes both ends
    "after:2024-01-31": ALL - {"birch_2023", "acme_invoice"},
    "before:2024-02-01": {"birch_2023", "acme_invoice", "acme_refund"},
    "after:2024-01-31 before:2024-02-01": {"acme_refund"},
    "before:2024-03": {"birch_2023", "acme_invoice", "acme_refund", "acme_reply", "acme_files",
                       "birch_order"},
    "after:2024-03": {"birch_cafe", "birch_closed", "birch_pending", "stranger_offer", "stranger_cv",
                      "acme_export", "quarantined", "acme_meeting", "quote", "acme_2025"},
    "after:2024": ALL - {"birch_2023"},
    "before:2024": {"birch_2023"},
    "date:2024-02": {"acme_reply", "acme_files", "birch_order"},
    "date:2024-02-01": {"acme_reply"},
    "date:2024-06-01": {"quarantined"},
    "date:2024-01-31..2024-02-01": {"acme_refund", "acme_reply"},
    "date:2024-01..2024-03": {"acme_invoice", "acme_refund", "acme_reply", "acme_files", "birch_order",
                              "birch_cafe", "birch_closed"},
    "date:..2023": {"birch_2023"},
    "date:2025..": {"acme_2025"},
    "date:2024": ALL - {"birch_2023", "acme_2025"},
    # Together
    "invoice from:ann@acme.example after:2024-02": {"acme_reply", "acme_export"},
    'account:"Birch Bakery" (status:pending OR status:closed)': {"birch_pending", "birch_closed"},
    "(from:@acme.example OR cc:acme.example) -invoice date:2024-01..2024-06":
        {"acme_refund", "acme_meeting"},
}

MALFORMED = {
    "form:ann": "unknown field 'form:' at position 1 (fields: from, to, cc, subject, account",
    "invoice Subjet:refund": "unknown field 'Subjet:' at position 9",
    "(invoice OR refund": "unbalanced parenthesis: the '(' at position 1 is never closed",
    "invoice)": "unbalanced parenthesis: the ')' at position 8 has no '(' before it",
    '"export fails': "unterminated quote: the '\"' at position 1 is never closed",
    "after:2024-13": "'2024-13' is not a date (use YYYY, YYYY-MM or YYYY-MM-DD), at position 1",
    "date:2024-03..2024-01": "the range '2024-03..2024-01' at position 1 ends before it starts",
    "status:done": "status must be open, pending or closed, not 'done'",
    "invoice NOT": "NOT at position 9 needs something to exclude",
    "invoice OR": "OR at position 9 needs a term after it",
    "ticket:abc": "ticket: takes a ticket number such as ticket:42, not 'abc'",
    "is:spam": "is: takes unmatched or quarantined, not 'spam'",
    "   ": "the query is empty",
    "the": "nothing to search for: 'the' is too common or too short to be indexed",
}


@pytest.fixture(scope="module", params=SEARCHES, ids=SEARCH_IDS)
def archive(request, tmp_path_factory):
    database, search = request.param
    return build(database, tmp_path_factory.mktemp(f"archive-{database}-{search}"), request, search=search)


def ids_of(results) -> list[int]:
    return [hit.message_id for hit in results.hits]


@pytest.mark.parametrize(("text", "expected"), TABLE.items(), ids=TABLE.keys())
def test_each_query_finds_exactly_its_messages_with_the_exact_total(archive, text, expected):
    query = text.format(**archive.tickets)

    results = search_messages(archive.index, query, pagelen=100)
    exported = matching_ids(archive.index, query)

    assert archive.labels(ids_of(results)) == expected
    assert results.total == len(results.hits) == len(expected)
    assert sorted(exported) == sorted(ids_of(results))


@pytest.mark.parametrize("archive", SEARCHES[:2], ids=SEARCH_IDS[:2], indirect=True)
def test_the_fast_matching_finds_what_whooshs_matchers_find_for_every_query(archive):
    found = [d for text in TABLE for d in disagreements(archive.index, text.format(**archive.tickets))]
    assert found == []


@pytest.mark.parametrize(("text", "message"), MALFORMED.items(), ids=MALFORMED.keys())
def test_a_malformed_query_says_what_is_wrong_and_where(archive, text, message):
    with pytest.raises(QueryError, match=re.escape(message)):
        search_messages(archive.index, text)
    with pytest.raises(QueryError, match=re.escape(message)):
        matching_ids(archive.index, text)


def test_relevance_puts_subject_matches_first_and_date_puts_newest_first(archive):
    by_relevance = search_messages(archive.index, "invoice", sort="relevance")
    by_date = search_messages(archive.index, "invoice", sort="date")

    assert archive.labels(ids_of(by_relevance)[:2]) == {"acme_invoice", "acme_reply"}
    assert [h.score for h in by_relevance.hits] == sorted((h.score for h in by_relevance.hits), reverse=True)
    assert by_relevance.hits[-1].score > 0
    newest_first = ["quote", "acme_export", "stranger_offer", "acme_files", "acme_reply", "acme_invoice"]
    assert [archive.ids[label] for label in newest_first] == ids_of(by_date)
    assert matching_ids(archive.index, "invoice") == ids_of(by_date)
    assert matching_ids(archive.index, "invoice", sort="relevance") == ids_of(by_relevance)


@pytest.mark.parametrize("sort", ["relevance", "date"])
def test_paging_to_the_end_visits_every_match_once_and_the_page_is_clamped(archive, sort):
    query = "to:desk.example"
    pages = [search_messages(archive.index, query, page=n, pagelen=4, sort=sort) for n in (1, 2, 3, 4)]
    seen = [i for page in pages for i in ids_of(page)]

    assert [(p.total, p.page, p.pages, len(p.hits)) for p in pages] == [
        (15, 1, 4, 4), (15, 2, 4, 4), (15, 3, 4, 4), (15, 4, 4, 3)]
    assert len(seen) == len(set(seen)) == 15
    assert archive.labels(seen) == ALL - {"quarantined"}
    past_the_end = search_messages(archive.index, query, page=99, pagelen=4, sort=sort)
    before_the_start = search_messages(archive.index, query, page=0, pagelen=4, sort=sort)
    assert (past_the_end.page, ids_of(past_the_end)) == (4, ids_of(pages[3]))
    assert (before_the_start.page, ids_of(before_the_start)) == (1, ids_of(pages[0]))


def test_a_query_matching_nothing_has_one_empty_page(archive):
    results = search_messages(archive.index, "nothingmatchesthis", page=3)

    assert (results.total, results.page, results.pages, results.hits) == (0, 1, 1, [])
    assert results.facets == {"account": [], "month": []}


def test_facets_count_all_matches_not_only_the_page(archive):
    results = search_messages(archive.index, "to:desk.example", pagelen=2)

    assert len(results.hits) == 2
    assert results.facets["account"] == [
        Facet("Acme Plumbing", 7), Facet("Birch Bakery", 6), Facet("(unmatched)", 2)]
    assert results.facets["month"] == [
        Facet("2023-12", 1), Facet("2024-01", 2), Facet("2024-02", 3), Facet("2024-03", 2),
        Facet("2024-04", 2), Facet("2024-05", 2), Facet("2024-06", 1), Facet("2024-07", 1),
        Facet("2025-01", 1)]


def test_facets_put_the_most_frequent_account_first_and_unmatched_last_among_equals(archive):
    results = search_messages(archive.index, "invoice", pagelen=1)

    assert results.facets["account"] == [
        Facet("Acme Plumbing", 4), Facet("Birch Bakery", 1), Facet("(unmatched)", 1)]
    assert results.facets["month"] == [
        Facet("2024-01", 1), Facet("2024-02", 2), Facet("2024-04", 1), Facet("2024-05", 1),
        Facet("2024-07", 1)]


def test_a_hit_carries_what_the_result_list_shows(archive):
    hit, = search_messages(archive.index, "subject:invoice date:2024-01").hits

    assert hit.message_id == archive.ids["acme_invoice"]
    assert (hit.subject, hit.sender) == ("Invoice 1042 is wrong", "Ann Archer ann@acme.example")
    assert hit.date == datetime(2024, 1, 15, 10, 0)
    assert (hit.account, hit.ticket, hit.status) == ("Acme Plumbing", archive.tickets["acme_invoice"], "open")
    quarantined, = search_messages(archive.index, "is:quarantined").hits
    assert (quarantined.account, quarantined.ticket, quarantined.status) == ("", None, "")


def test_snippets_mark_the_matched_words_and_escape_everything_else(archive):
    bodies = {archive.ids["quote"]: "Intro <img src=x onerror=alert(1)> & then: the Oven INVOICES <b>net</b>"}

    hit, = search_messages(archive.index, "subject:script invoice", texts=lambda ids: bodies).hits

    assert hit.snippet == ("Intro &lt;img src=x onerror=alert(1)&gt; &amp; then: the Oven "
                           "<mark>INVOICES</mark> &lt;b&gt;net&lt;/b&gt;")


def test_snippets_fall_back_to_the_stored_beginning_of_the_body(archive):
    hit, = search_messages(archive.index, "subject:script oven").hits

    assert hit.snippet == "Prices &amp; terms: &lt;b&gt;net 30&lt;/b&gt; for the <mark>oven</mark> invoice."


def test_snippets_do_not_mark_excluded_words_and_show_the_start_without_a_match(archive):
    texts = archive.bodies.get
    hit, = search_messages(archive.index, "subject:script -invoice OR subject:script",
                           texts=lambda ids: {i: texts(i) for i in ids}).hits
    files, = search_messages(archive.index, "gasket", texts=lambda ids: {i: texts(i) for i in ids}).hits

    assert "<mark>" not in hit.snippet
    assert files.snippet == "The text version of the message."


def test_the_full_text_for_snippets_is_asked_for_once_per_page_with_the_page_ids(archive):
    asked = []

    def texts(ids):
        asked.append(list(ids))
        return {}

    results = search_messages(archive.index, "invoice", pagelen=2, page=2, sort="date", texts=texts)

    assert asked == [ids_of(results)] and len(asked[0]) == 2


def test_an_unknown_sort_is_a_query_error(archive):
    with pytest.raises(QueryError, match="sort must be relevance or date, not 'size'"):
        search_messages(archive.index, "invoice", sort="size")
