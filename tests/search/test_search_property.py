"""Search agrees with a plain reading of the mail. Hypothesis writes messages (long To and
Cc headers, words wrapped in punctuation, stop words, one-letter words, accents, composed
and decomposed, Chinese, Japanese and Korean written without spaces) and queries in the
query language (words, phrases, fields, AND, OR, NOT); each message goes through the
archive's parser and into an index, and each query's set of messages must equal the set a
brute-force reading of the messages as written gives.

The brute force shares nothing with the search but the rules the README states: a word
is a run of letters, marks and digits (Unicode categories L, M, N); words are compared
lower-cased, accents removed, by their English stem (Whoosh's Porter stemmer, the one
documented rule it borrows); stop words and one-letter words are not indexed but keep
their place, so a phrase's words must stand exactly as far apart as in the phrase. Han,
Kana and Hangul are read apart from the letters around them: a stretch of them is found
by any part of it two characters long or more, and a stretch of n characters takes n - 1
places (one if it is a lone character, which is no word).
"""

from __future__ import annotations

import tempfile
import unicodedata
from base64 import b64encode
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from whoosh.analysis import STOP_WORDS
from whoosh.lang.porter import stem

from app.models import Message
from app.search import postgres
from app.search.index import SearchIndex
from app.search.query import matching_ids
from app.services.indexing import document_of
from mailbox.ingest import fill_fields
from mailbox.parse import parse_message

# Words a person writes, with the stop words and one-letter words the index leaves out,
# and accented words written composed and decomposed.
VOCABULARY = ("power", "plant", "signal", "processing", "processed", "invoice", "invoices", "please",
              "note", "important", "deadline", "export", "fails", "refund", "order", "orders", "meeting",
              "the", "of", "is", "a", "to", "and", "it", "x", "I", "2", "42", "3", "café", "cafe\u0301",
              "résumé", "resume", "naïve", "Müller", "muller", "Ärger", "façade", "Straße", "déjà",
              "請求書", "請求", "見積書", "エクスポート", "東京", "都庁", "です", "发票", "导出", "十四号",
              "인보이스", "송장", "猫", "の")
# Chinese and Japanese run words together: after one of their words, no separator is likely.
CJK_WORDS = frozenset(VOCABULARY[VOCABULARY.index("請求書"):])
WRAPPERS = (("", ""), ("*", "*"), ("**", "**"), ("_", "_"), ("(", ")"), ('"', '"'), ("'", "'"),
            ("", ","), ("", "."), ("", ":"), ("", "!?"), ("[", "]"), ("<", ">"), ("#", ""), ("", "'s"),
            ("「", "」"), ("", "。"))
SEPARATORS = (" ", " ", " ", "  ", " - ", "/", "...", ", ", "\t", "—", "+")
CJK_SEPARATORS = (*SEPARATORS, "", "", "", "、", "\u3000")
DOMAINS = ("acme.example", "mail.acme.example", "birch.example", "wide.example")


@dataclass(frozen=True)
class Written:
    """A message as its writer wrote it: the truth the brute force reads."""

    subject: str
    body: str
    sender_name: str
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]


def fold(word: str) -> str:
    """The plain reading of a word's letters: lower-cased, every accent removed."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if unicodedata.category(c)[0] != "M")


def runs(text: str) -> list[str]:
    """Return the words of ``text`` as written: runs of letters, marks and digits (Unicode
    categories L, M and N); every other character stands between words."""
    found, current = [], []
    for ch in text + " ":
        if unicodedata.category(ch)[0] in "LMN":
            current.append(ch)
        elif current:
            found.append("".join(current))
            current = []
    return found


def is_cjk(ch: str) -> bool:
    """Whether a character is Han, Hiragana, Katakana or Hangul, by its Unicode name."""
    return unicodedata.name(ch, "").startswith(("CJK UNIFIED", "HIRAGANA", "KATAKANA", "HANGUL"))


def pieces(run: str) -> list[tuple[str, bool]]:
    """Cut a run where Han, Kana or Hangul begin and end: (piece, whether it is CJK)."""
    found: list[tuple[str, bool]] = []
    for ch in run:
        if found and found[-1][1] == is_cjk(ch):
            found[-1] = (found[-1][0] + ch, found[-1][1])
        else:
            found.append((ch, is_cjk(ch)))
    return found


def words(text: str) -> list[tuple[str, str, int]]:
    """Return (kind, value, place) of every indexed word of ``text``: ("word", stem, place),
    or ("cjk", stretch, place) for a stretch of Han, Kana or Hangul, as written. Stop words,
    one-letter words and lone CJK characters keep a place but are not returned."""
    found, place = [], 0
    for run in runs(text):
        for piece, cjk in pieces(run):
            if cjk:
                if len(piece) >= 2:
                    found.append(("cjk", piece, place))
                place += max(len(piece) - 1, 1)
                continue
            folded = fold(piece)
            if len(folded) >= 2 and folded not in STOP_WORDS:
                found.append(("word", stem(folded), place))
            place += 1
    return found


def has_phrase(text: str, wanted: list[tuple[str, str, int]]) -> bool:
    """Whether ``wanted`` (kind, value, offset) stands in ``text`` with exactly those offsets:
    a word at its place, a CJK stretch as part of a stretch of the text, its first two
    characters at its place."""
    found = words(text)
    at = {place: value for kind, value, place in found if kind == "word"}
    stretches = [(value, place) for kind, value, place in found if kind == "cjk"]

    def holds(kind: str, value: str, place: int) -> bool:
        if kind == "word":
            return at.get(place) == value
        return any(place >= start and stretch[place - start:place - start + len(value)] == value
                   for stretch, start in stretches)

    first_kind, first_value, first_offset = wanted[0]
    if first_kind == "word":
        anchors = {place for place, value in at.items() if value == first_value}
    else:
        anchors = {start + i for stretch, start in stretches for i in range(len(stretch))
                   if stretch.startswith(first_value, i)}
    return any(all(holds(kind, value, anchor - first_offset + offset) for kind, value, offset in wanted)
               for anchor in anchors)


def text_fields(m: Written) -> list[str]:
    return [m.subject, m.body, f"{m.sender_name} {m.sender}"]


def in_text(m: Written, text: str) -> bool | None:
    """A plain word or phrase: its words side by side in any one text field. None when it
    has no indexed word: the query language then leaves the term out of the query."""
    wanted = words(text)
    if not wanted:
        return None
    wanted = [(kind, value, place - wanted[0][2]) for kind, value, place in wanted]
    return any(has_phrase(field, wanted) for field in text_fields(m))


def address_matches(addresses: tuple[str, ...], value: str) -> bool:
    """An address matches itself, in any case; a domain matches its addresses and its subdomains'."""
    value = value.lower()
    if "@" in value:
        return value in addresses
    return any(a == value or a.endswith("." + value) for a in (a.rpartition("@")[2] for a in addresses))


# Queries: (text, predicate over Written) ------------------------------------------------

def word_query(word: str):
    return word, lambda m: in_text(m, word)


def phrase_query(text: str):
    return f'"{text}"', lambda m: in_text(m, text)


def field_query(field: str, value: str):
    if field == "subject":
        wanted = words(value)
        return f"subject:{value}", lambda m: has_phrase(
            m.subject, [(k, v, p - wanted[0][2]) for k, v, p in wanted]) if wanted else None
    if field == "from":
        return f"from:{value}", lambda m: address_matches((m.sender,), value)
    return f"{field}:{value}", lambda m: address_matches(getattr(m, field), value)


@st.composite
def written(draw, n: int) -> Written:
    def text(min_size: int, max_size: int, separators=SEPARATORS, cjk_separators=CJK_SEPARATORS) -> str:
        parts = draw(st.lists(st.tuples(st.sampled_from(VOCABULARY), st.sampled_from(WRAPPERS),
                                        st.sampled_from(separators), st.sampled_from(cjk_separators)),
                              min_size=min_size, max_size=max_size))
        return "".join(f"{left}{word}{right}{cjk_sep if word in CJK_WORDS else sep}"
                       for word, (left, right), sep, cjk_sep in parts).strip()

    def addresses(most: int) -> tuple[str, ...]:
        count = draw(st.sampled_from((0, 1, 3, most)))
        domains = draw(st.lists(st.sampled_from(DOMAINS), min_size=count, max_size=count))
        return tuple(f"m{n}r{i}@{domain}" for i, domain in enumerate(domains))

    return Written(
        subject=text(1, 8, separators=(" ", " - ", ": ", "/"), cjk_separators=(" ", "", "", "、", "・")),
        body=text(0, 40),
        sender_name=draw(st.sampled_from(("Kim Kerr", "Zoë Ünal", "", "Power Plant", "山田 太郎", "김민수"))),
        sender=f"sender{n % 3}@{draw(st.sampled_from(DOMAINS))}",
        to=addresses(320),
        cc=addresses(250),
    )


def raw_message(n: int, m: Written) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{m.sender_name} <{m.sender}>" if m.sender_name else m.sender
    if m.to:
        msg["To"] = ", ".join(m.to)
    if m.cc:
        msg["Cc"] = ", ".join(m.cc)
    msg["Date"] = format_datetime(datetime(2024, 1, 1 + n, tzinfo=UTC))
    msg["Message-ID"] = f"<property-{n}@words.example>"
    msg.set_content(m.body or " ")
    return b"Subject: " + encoded_subject(m.subject) + b"\n" + msg.as_bytes()


def encoded_subject(subject: str) -> bytes:
    """Write a subject as RFC 2047 says, not as the standard library folds it: the
    library may end an encoded word at a space and begin the next after it, and the space
    between two encoded words is dropped by every reader. ASCII stays as it is; anything
    else is cut into whole characters, each piece an encoded word that carries its own
    spaces, the pieces separated by folding white space."""
    if subject.isascii():
        return subject.encode()
    pieces = [subject[i:i + 12] for i in range(0, len(subject), 12)]
    return b"\n ".join(b"=?utf-8?b?" + b64encode(piece.encode()) + b"?=" for piece in pieces)


@st.composite
def archives(draw):
    messages = [draw(written(n)) for n in range(draw(st.integers(1, 6)))]

    def some_text(field: str) -> str:
        m = draw(st.sampled_from(messages))
        runs = [r for r in (getattr(m, field)).split() if r.strip()]
        if not runs:
            return draw(st.sampled_from(VOCABULARY))
        start = draw(st.integers(0, len(runs) - 1))
        return " ".join(runs[start:start + draw(st.integers(1, 4))])

    def address(field: str) -> str:
        m = draw(st.sampled_from(messages))
        pool = getattr(m, field) if field != "from" else (m.sender,)
        if not pool:
            return draw(st.sampled_from(DOMAINS))
        chosen = draw(st.sampled_from(pool))
        return draw(st.sampled_from((chosen, chosen.rpartition("@")[2], chosen.upper())))

    def cjk_part() -> str:
        """Any part, two characters or more, of a stretch of Han, Kana or Hangul in a message."""
        m = draw(st.sampled_from(messages))
        stretches = [piece for text in text_fields(m) for run in runs(text)
                     for piece, cjk in pieces(run) if cjk and len(piece) >= 2]
        if not stretches:
            return draw(st.sampled_from(sorted(CJK_WORDS)))
        stretch = draw(st.sampled_from(stretches))
        start = draw(st.integers(0, len(stretch) - 2))
        return stretch[start:draw(st.integers(start + 2, len(stretch)))]

    simple = st.one_of(
        st.sampled_from(VOCABULARY).map(word_query),
        st.builds(lambda: word_query(cjk_part())),
        st.builds(lambda: field_query("subject", cjk_part())),
        st.builds(lambda: phrase_query(some_text("body").replace('"', ""))),
        st.builds(lambda: phrase_query(some_text("subject").replace('"', ""))),
        st.sampled_from(("to", "cc", "from")).map(lambda f: field_query(f, address(f))),
        st.sampled_from(VOCABULARY).map(lambda w: field_query("subject", w)),
    )
    queries = draw(st.lists(st.recursive(simple, lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda ab: (f"({ab[0][0]}) OR ({ab[1][0]})",
                                                lambda m, a=ab[0][1], b=ab[1][1]: either(a(m), b(m)))),
        st.tuples(inner, inner).map(lambda ab: (f"({ab[0][0]}) ({ab[1][0]})",
                                                lambda m, a=ab[0][1], b=ab[1][1]: both(a(m), b(m)))),
        inner.map(lambda a: (f"-({a[0]})", lambda m, p=a[1]: None if p(m) is None else not p(m))),
    ), max_leaves=4), min_size=1, max_size=6))
    return messages, queries


# A term with no indexed word (None) is left out of AND and OR, as the query language does.

def either(a: bool | None, b: bool | None) -> bool | None:
    return b if a is None else a if b is None else a or b


def both(a: bool | None, b: bool | None) -> bool | None:
    return b if a is None else a if b is None else a and b


def plain_queries(queries):
    """Leave out queries with nothing to search for (only stop words): the language refuses them."""
    return [(text, predicate) for text, predicate in queries if _searchable(text)]


def _searchable(text: str) -> bool:
    from app.search.language import QueryError, parse_query

    try:
        parse_query(text)
    except QueryError:
        return False
    return True


@contextmanager
def whoosh_index():
    with tempfile.TemporaryDirectory() as folder:
        index = SearchIndex(folder)
        index.acquire_writer()
        try:
            yield index
        finally:
            index.release_writer()


@pytest.fixture(scope="module")
def postgres_search(postgres_schema_url):
    """The PostgreSQL search tables in this run's own schema, emptied for each example."""
    engine = create_engine(postgres_schema_url)
    postgres.metadata.create_all(engine)

    @contextmanager
    def empty_index():
        index = postgres.PostgresIndex(engine)
        index.clear()
        yield index

    yield empty_index
    postgres.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture(params=["whoosh", "postgresql"])
def empty_index(request):
    return whoosh_index if request.param == "whoosh" else request.getfixturevalue("postgres_search")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(archive=archives())
def test_search_finds_what_a_plain_reading_of_the_messages_finds(empty_index, archive):
    messages, queries = archive
    with empty_index() as index:
        documents = []
        for n, m in enumerate(messages, start=1):
            parsed = parse_message(raw_message(n, m))
            assert (parsed.to, parsed.cc, parsed.subject) == (m.to, m.cc, m.subject)
            row = Message(id=n)
            fill_fields(row, parsed)
            documents.append(document_of(row))
        index.write(documents)
        for text, predicate in plain_queries(queries):
            expected = {n for n, m in enumerate(messages, start=1) if predicate(m)}
            assert set(matching_ids(index, text)) == expected, text
