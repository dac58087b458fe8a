"""Reading a memory-mapped segment part in place (``app/search/mapped.py``): what Whoosh
reads through it comes back exactly as written, pickles included, however large."""

from __future__ import annotations

import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from app.search.mapped import ViewReader

VALUES = st.recursive(st.none() | st.integers() | st.binary(max_size=9000) | st.text(max_size=300),
                      lambda inner: st.lists(inner, max_size=5) | st.tuples(inner, inner), max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(st.lists(VALUES, min_size=1, max_size=6), st.binary(max_size=50))
def test_pickles_written_one_after_another_read_back_in_order(values, tail):
    written = b"".join(pickle.dumps(v, protocol=-1) for v in values) + tail
    reader = ViewReader(memoryview(written))

    assert [pickle.load(reader) for _ in values] == values
    assert reader.read() == tail  # each load stopped right after its own pickle
