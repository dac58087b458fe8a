"""Each text of a message is split into words once, and every field that holds it (the
field, its word pairs, its positions) indexes exactly the words the analysis gives."""

from __future__ import annotations

from app.search import schema
from app.search.index import SearchIndex
from app.search.schema import WordPairs, common_words, text_analyzer
from tests import factories

BODY = "The power of the plant: **please note** the *important* export_fails, mailing list price."


def test_each_text_is_split_once_however_many_fields_hold_it(tmp_path, monkeypatch):
    calls = []
    split = schema.WordTokenizer.__call__

    def counting(self, value, **kwargs):
        calls.append(value)
        return split(self, value, **kwargs)

    monkeypatch.setattr(schema.WordTokenizer, "__call__", counting)
    index = SearchIndex(tmp_path)
    index.acquire_writer()
    index.write([factories.index_document(1, subject="Power plant", body=BODY)])

    assert calls.count(BODY) == 1  # body, body_pairs and body_positions
    assert calls.count("Power plant") == 1  # subject and subject_pairs


def test_every_field_holds_the_words_the_analysis_gives(tmp_path):
    index = SearchIndex(tmp_path)
    index.acquire_writer()
    index.write([factories.index_document(1, subject="Power plant", body=BODY)])
    words = [t.text for t in text_analyzer()(BODY)]
    pairs = [t.text for t in (text_analyzer() | WordPairs(common_words()))(BODY)]

    with index.searcher() as searcher:
        reader = searcher.reader()
        for field, expected in (("body", words), ("body_positions", words), ("body_pairs", pairs)):
            assert sorted(text.decode() for text in reader.lexicon(field)) == sorted(set(expected)), field
        positions = {word: reader.postings("body_positions", word).value_as("positions") for word in words}
    assert positions["power"] == [1] and positions["plant"] == [4]  # "of the" keep their places
    assert pairs == ["pleas-note", "fail-mail", "mail-list", "list-price"]  # neighbouring common words
