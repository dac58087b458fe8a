"""The account and month facets, the date order and the field lengths of scoring (and of
the writer) read each segment's columns whole; what they read must be what Whoosh reads
one document at a time, in every segment, with values missing, repeated, accented, and
documents replaced."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.util.numeric import byte_to_length

from app.search import docsets
from app.search.index import SearchIndex
from tests import factories

ACCOUNTS = ("Acme Plumbing", "", "Zoë's Café", "Acme Plumbing", "B")


def document(n: int):
    dated = n % 4 != 0  # every fourth message has no date
    return factories.index_document(
        n, body=" ".join(["walnut"] * (n * 7 % 300)), subject="note" if n % 2 else "",
        account=ACCOUNTS[n % len(ACCOUNTS)],
        date=datetime(2020 + n % 3, 1 + n % 12, 1 + n % 28, n % 24) if dated else None)


def test_columns_read_whole_are_what_whoosh_reads_document_by_document(tmp_path):
    index = SearchIndex(tmp_path / "index")
    index.acquire_writer()
    try:
        index.write([document(n) for n in range(1, 41)])
        index.write([document(n) for n in range(41, 45)])  # a second segment
        index.write([document(n) for n in (3, 42)])  # replaced: deleted in their old segments
        with index.searcher() as searcher:
            readers = [sub for sub, _ in searcher.reader().leaf_readers()]
            assert len(readers) >= 2
            for reader in readers:
                for field in ("account", "month"):
                    labels, numbers = docsets.codes(reader, field)
                    expected = [str(v) for v in reader.column_reader(field)]
                    assert [labels[i] for i in numbers] == expected
                    assert len(set(labels)) == len(labels)
                expected_dates = [docsets.NO_DATE if v == 2**64 - 1 else v
                                  for v in reader.column_reader("date", translate=False)]
                assert docsets.dates(reader).tolist() == expected_dates
                assert docsets.dates(reader).dtype == np.int64
                for field in ("body", "subject", "sender"):
                    # Whoosh's own reading, a document at a time, of the column both the
                    # searches' and the writer's field lengths now read whole.
                    column = reader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
                    expected_lengths = ([0] * reader.doc_count_all() if column is None  # no text in it
                                        else [byte_to_length(b) if b else 0 for b in column])
                    assert docsets.lengths(reader, field).tolist() == expected_lengths
                    assert [reader.doc_field_length(docnum, field, 0) or 0
                            for docnum in range(reader.doc_count_all())] == expected_lengths
    finally:
        index.release_writer()
