"""The query language's parser, without an index: query text -> the Whoosh query it means,
and every malformed query -> the sentence that says what is wrong and where.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from whoosh import query as wq

from app.search.language import (
    FIELDS,
    TEXT_FIELDS,
    Not,
    QueryError,
    SpacedPhrase,
    Token,
    parse_query,
    tokenize,
)


def word(text: str) -> wq.Query:
    """A plain (already analysed) word: any of the text fields."""
    return wq.Or([wq.Term(f, text) for f in TEXT_FIELDS])


def phrase(*words: str) -> wq.Query:
    return wq.Or([wq.Phrase(f, list(words)) for f in TEXT_FIELDS])


def spaced(words: list[str], offsets: list[int]) -> wq.Query:
    return wq.Or([SpacedPhrase(f, words, offsets) for f in TEXT_FIELDS])


def dates(start: datetime | None, end: datetime | None) -> wq.Query:
    return wq.DateRange("date", start, end, endexcl=end is not None)


INVOIC, EXPORT, REFUND, PAID = word("invoic"), word("export"), word("refund"), word("paid")

PARSED = {
    # words, stems, accents, phrases
    "invoice": INVOIC,
    "Invoices": INVOIC,
    "café": word("cafe"),
    "invoice export": wq.And([INVOIC, EXPORT]),
    "the invoice": INVOIC,
    '"export fails"': phrase("export", "fail"),
    '"Invoice"': INVOIC,
    "e-mail": word("mail"),
    "ann@acme.example": phrase("ann", "acm", "exampl"),
    # words left out of the index keep their places in a phrase; punctuation splits words
    '"power of the plant"': spaced(["power", "plant"], [0, 3]),
    '"the power plant"': phrase("power", "plant"),
    '"a power plant of"': phrase("power", "plant"),
    '"signal is processed"': spaced(["signal", "process"], [0, 2]),
    "**please": word("pleas"),
    "*important*": word("import"),
    "_deadline_": word("deadlin"),
    "snake_case": phrase("snake", "case"),
    "http://acme.example/help": phrase("http", "acm", "exampl", "help"),
    "10:30": phrase("10", "30"),
    # operators and their precedence: NOT, then AND (also implicit), then OR
    "invoice AND export": wq.And([INVOIC, EXPORT]),
    "invoice OR refund": wq.Or([INVOIC, REFUND]),
    "invoice or refund": wq.And([INVOIC, REFUND]),  # lower case: common words, not operators
    "invoice NOT paid": wq.And([INVOIC, Not(PAID)]),
    "invoice -paid": wq.And([INVOIC, Not(PAID)]),
    "NOT paid": Not(PAID),
    '-"export fails"': Not(phrase("export", "fail")),
    "invoice - paid": wq.And([INVOIC, PAID]),  # a lone hyphen is punctuation
    "refund OR invoice export": wq.Or([REFUND, wq.And([INVOIC, EXPORT])]),
    "invoice export OR refund": wq.Or([wq.And([INVOIC, EXPORT]), REFUND]),
    "refund OR invoice AND export": wq.Or([REFUND, wq.And([INVOIC, EXPORT])]),
    "NOT paid invoice": wq.And([Not(PAID), INVOIC]),
    "(refund OR invoice) export": wq.And([wq.Or([REFUND, INVOIC]), EXPORT]),
    "-(refund OR paid) invoice": wq.And([Not(wq.Or([REFUND, PAID])), INVOIC]),
    "((invoice))": INVOIC,
    "(invoice (export OR (refund -paid)))": wq.And([INVOIC, wq.Or([EXPORT, wq.And([REFUND, Not(PAID)])])]),
    "invoice OR the": INVOIC,
    # from:
    "from:Ann@Acme.Example": wq.Term("from_addr", "ann@acme.example"),
    "FROM:ann@acme.example": wq.Term("from_addr", "ann@acme.example"),
    "from:@acme.example": wq.Term("domains", "from@acme.example"),
    "from:ann@": wq.Prefix("from_addr", "ann@"),
    "from:Archer": wq.Term("sender", "archer"),
    'from:"Ann Archer"': wq.Phrase("sender", ["ann", "archer"]),
    # to: and cc:
    "to:Ann@Acme.example": wq.Term("to", "ann@acme.example"),
    "to:acme.example": wq.Term("domains", "to@acme.example"),
    "to:@acme.example": wq.Term("domains", "to@acme.example"),
    "cc:ann": wq.Prefix("cc", "ann@"),
    "cc:ann@": wq.Prefix("cc", "ann@"),
    # subject:, account:, mailbox:
    "subject:Invoices": wq.Term("subject", "invoic"),
    'subject:"late delivery"': wq.Phrase("subject", ["late", "deliveri"]),
    'account:"Acme Plumbing"': wq.Term("account", "acme plumbing"),
    "account:Acme": wq.Term("account", "acme"),
    "mailbox:Support": wq.Term("mailbox", "support"),
    # ticket:, status:, filename:, has:, is:
    "ticket:42": wq.Term("ticket", 42),
    "ticket:#42": wq.Term("ticket", 42),
    "status:Pending": wq.Term("status", "pending"),
    "filename:Invoice.PDF": wq.And([wq.Prefix("filename", "invoic"), wq.Prefix("filename", "pdf")]),
    "filename:reports": wq.Prefix("filename", "report"),
    "has:attachment": wq.Term("has_attachment", True),
    "is:unmatched": wq.Term("unmatched", True),
    "is:Quarantined": wq.Term("quarantined", True),
    "-is:unmatched has:attachment": wq.And([Not(wq.Term("unmatched", True)),
                                            wq.Term("has_attachment", True)]),
    # dates: after: from the start of its day (month, year); before: up to the start of it
    "after:2024-01-31": dates(datetime(2024, 1, 31), None),
    "after:2024-01": dates(datetime(2024, 1, 1), None),
    "before:2024-03-01": dates(None, datetime(2024, 3, 1)),
    "before:2024": dates(None, datetime(2024, 1, 1)),
    "date:2024-02": dates(datetime(2024, 2, 1), datetime(2024, 3, 1)),
    "date:2024-12": dates(datetime(2024, 12, 1), datetime(2025, 1, 1)),
    "date:2024-02-29": dates(datetime(2024, 2, 29), datetime(2024, 3, 1)),
    "date:2024": dates(datetime(2024, 1, 1), datetime(2025, 1, 1)),
    "date:2024-01..2024-03": dates(datetime(2024, 1, 1), datetime(2024, 4, 1)),
    "date:2024-01-15..2024-03": dates(datetime(2024, 1, 15), datetime(2024, 4, 1)),
    "date:2024-2-1..2024-2-1": dates(datetime(2024, 2, 1), datetime(2024, 2, 2)),
    "date:..2024-03": dates(None, datetime(2024, 4, 1)),
    "date:2024-01..": dates(datetime(2024, 1, 1), None),
    "date:9999": dates(datetime(9999, 1, 1), None),
    "invoice date:2024 -status:closed": wq.And([INVOIC, dates(datetime(2024, 1, 1), datetime(2025, 1, 1)),
                                               Not(wq.Term("status", "closed"))]),
}

FIELD_LIST = ", ".join(FIELDS)
NOT_A_DATE = "is not a date (use YYYY, YYYY-MM or YYYY-MM-DD), at position 1"

MALFORMED = {
    "": ("the query is empty: give at least one word", None),
    "  \t ": ("the query is empty: give at least one word", None),
    "the": ("nothing to search for: 'the' is too common or too short to be indexed", None),
    "NOT the a": ("nothing to search for: 'the', 'a' are too common or too short to be indexed", None),
    "form:ann": (f"unknown field 'form:' at position 1 (fields: {FIELD_LIST})", 1),
    "invoice Re:refund": (f"unknown field 'Re:' at position 9 (fields: {FIELD_LIST})", 9),
    "(invoice": ("unbalanced parenthesis: the '(' at position 1 is never closed", 1),
    "((invoice) export": ("unbalanced parenthesis: the '(' at position 1 is never closed", 1),
    "invoice)": ("unbalanced parenthesis: the ')' at position 8 has no '(' before it", 8),
    ") invoice": ("unbalanced parenthesis: the ')' at position 1 has no '(' before it", 1),
    "(invoice)) export": ("unbalanced parenthesis: the ')' at position 10 has no '(' before it", 10),
    "invoice ()": ("empty parentheses at position 9", 9),
    '"export fails': ("unterminated quote: the '\"' at position 1 is never closed", 1),
    'invoice subject:"late': ("unterminated quote: the '\"' at position 17 is never closed", 17),
    'invoice ""': ("empty quotes at position 9", 9),
    "OR invoice": ("OR at position 1 needs a term before it", 1),
    "invoice OR": ("OR at position 9 needs a term after it", 9),
    "(invoice OR) export": ("OR at position 10 needs a term after it", 10),
    "invoice AND": ("AND at position 9 needs a term after it", 9),
    "invoice AND OR refund": ("AND at position 9 needs a term after it", 9),
    "AND invoice": ("AND at position 1 needs a term before it", 1),
    "invoice NOT": ("NOT at position 9 needs something to exclude", 9),
    "(invoice NOT) paid": ("NOT at position 10 needs something to exclude", 10),
    "invoice NOT OR paid": ("NOT at position 9 needs something to exclude", 9),
    "-AND invoice": ("'-' at position 1 needs something to exclude", 1),
    "from:": ("from: at position 1 needs a value right after the colon, e.g. from:ann@acme.example", 1),
    "subject: invoice": ("subject: at position 1 needs a value right after the colon, e.g. subject:", 1),
    'account:""': ("account: at position 1 needs a value right after the colon", 1),
    "from:@": ("from: takes an address, a domain or a name before the @, not '@' (at position 1)", 1),
    "invoice cc:.": ("cc: takes an address, a domain or a name before the @, not '.' (at position 9)", 9),
    "ticket:forty": ("ticket: takes a ticket number such as ticket:42, not 'forty' (at position 1)", 1),
    "ticket:-4": ("ticket: takes a ticket number such as ticket:42, not '-4' (at position 1)", 1),
    "invoice status:opened": ("status must be open, pending or closed, not 'opened' (at position 9)", 9),
    "has:pdf": ("has: takes attachment, not 'pdf' (at position 1)", 1),
    "is:open": ("is: takes unmatched or quarantined, not 'open' (at position 1)", 1),
    "after:2024-13": (f"'2024-13' {NOT_A_DATE}", 1),
    "before:2024-02-30": (f"'2024-02-30' {NOT_A_DATE}", 1),
    "date:2024/01": (f"'2024/01' {NOT_A_DATE}", 1),
    "date:24-01": (f"'24-01' {NOT_A_DATE}", 1),
    "date:0000": (f"'0000' {NOT_A_DATE}", 1),
    "date:٢٠٢٤": (f"'٢٠٢٤' {NOT_A_DATE}", 1),
    "date:yesterday": (f"'yesterday' {NOT_A_DATE}", 1),
    "date:2024-01..2024-13": (f"'2024-13' {NOT_A_DATE}", 1),
    "date:2024..2025..2026": (f"'2025..2026' {NOT_A_DATE}", 1),
    "date:..": ("date: at position 1 needs a date or a range, e.g. date:2024-01..2024-03", 1),
    "date:2024-03..2024-01": ("the range '2024-03..2024-01' at position 1 ends before it starts", 1),
    "date:2024-02-02..2024-02-01": ("the range '2024-02-02..2024-02-01' at position 1 ends before it", 1),
}


@pytest.mark.parametrize(("text", "expected"), PARSED.items(), ids=PARSED.keys())
def test_query_text_becomes_the_whoosh_query_it_means(text, expected):
    assert parse_query(text) == expected.normalize()


@pytest.mark.parametrize(("text", "problem"), MALFORMED.items(), ids=[repr(t) for t in MALFORMED])
def test_a_malformed_query_raises_a_query_error_saying_what_and_where(text, problem):
    message, position = problem

    with pytest.raises(QueryError) as raised:
        parse_query(text)

    assert str(raised.value).startswith(message)
    assert raised.value.position == position


def test_the_query_error_is_the_one_the_rest_of_the_application_catches():
    from app.search import query

    assert query.QueryError is QueryError and issubclass(QueryError, ValueError)


def test_tokens_carry_their_kind_value_and_position():
    assert tokenize('(invoice OR "late fee") -From:"Ann Archer" date:2024-01..') == [
        Token("(", "(", 1), Token("word", "invoice", 2), Token("or", "OR", 10),
        Token("phrase", "late fee", 13), Token(")", ")", 23), Token("not", "-", 25),
        Token("field", "Ann Archer", 26, "from"), Token("field", "2024-01..", 44, "date"),
    ]
