"""The fields of an indexed message and how their text is analysed."""

from functools import cache
from pathlib import Path

from whoosh.analysis import (
    CharsetFilter,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.fields import BOOLEAN, DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.support.charset import accent_map

# Lower-case, accents folded, then stemmed English: folding first makes "Résumés",
# "résumé" and "resume" one stem, where stemming first would leave "resume" apart.
_TEXT = RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map) | StopFilter() | StemFilter()

# Each text field has a twin holding the pairs of neighbouring common words ("mailing
# lists" -> "mail-list"), so that a phrase of common words is found by looking its pairs
# up, instead of by reading the position of every word in the many messages holding
# them all (see app/search/docsets.py). Why only common words: scripts/common_words.py.
TEXT_FIELDS = ("subject", "body", "sender", "filename", "attachments")
PAIRS = "_pairs"
PAIR_SEPARATOR = "-"  # never inside a word: the tokenizer splits words at it
COMMON_WORDS_FILE = Path(__file__).with_name("common_words.txt")

# The long text fields are matched and scored without word positions: a posting block
# that carries every position of a word costs several times as much to read, and only a
# phrase needs them. Their positions are kept in a twin ("body_positions"), read only to
# check a phrase in the messages already known to hold all its words.
POSITIONS_APART = ("body", "attachments")
POSITIONS = "_positions"


def text_analyzer():
    """Return the analyzer of the text fields (and of the queries on them)."""
    return _TEXT


class WordPairs(Filter):
    """Turn a stream of words into the pairs of neighbours that are both in ``words``.

    The words are kept with the analyzer, so each index keeps the list it was built
    with (Whoosh stores the schema in the index) and phrase search asks the index which
    pairs it holds (``paired_words``).
    """

    def __init__(self, words: frozenset[str]) -> None:
        self.words = words

    def __call__(self, tokens):
        words, previous = self.words, None
        for token in tokens:
            text = token.text
            if previous is not None and text in words:
                token.text = previous + PAIR_SEPARATOR + text
                yield token
            previous = text if text in words else None


@cache
def common_words() -> frozenset[str]:
    lines = COMMON_WORDS_FILE.read_text().splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def paired_words(schema: Schema, fieldname: str) -> frozenset[str]:
    """Return the words whose neighbouring pairs the index holds for a text field (none if no twin)."""
    twin = schema[fieldname + PAIRS] if fieldname + PAIRS in schema else None
    for item in getattr(twin.analyzer, "items", ()) if twin is not None else ():
        if isinstance(item, WordPairs):
            return item.words
    return frozenset()


def positions_field(fieldname: str) -> str:
    """Return the field that holds a text field's word positions: its twin, or itself."""
    return fieldname + POSITIONS if fieldname in POSITIONS_APART else fieldname


def build_schema() -> Schema:
    """Return the index schema; changing it means ``flask search reindex``."""
    pairs = _TEXT | WordPairs(common_words())
    return Schema(
        id=NUMERIC(stored=True, unique=True, signed=False, bits=64),
        subject=TEXT(analyzer=_TEXT, stored=True, field_boost=2.0),
        body=TEXT(analyzer=_TEXT, phrase=False),
        sender=TEXT(analyzer=_TEXT, stored=True),
        from_addr=ID(stored=True),
        to=KEYWORD(commas=True, lowercase=True),
        cc=KEYWORD(commas=True, lowercase=True),
        # Sortable columns give the facets (counts by account and by month) cheaply.
        account=KEYWORD(lowercase=True, commas=True, stored=True, sortable=True),
        account_id=NUMERIC(stored=True),
        mailbox=KEYWORD(lowercase=True, commas=True),
        ticket=NUMERIC(stored=True),
        date=DATETIME(stored=True, sortable=True),
        filename=TEXT(analyzer=_TEXT),
        # Text read from attachments that hold text (text/*, HTML, PDF).
        attachments=TEXT(analyzer=_TEXT, phrase=False),
        # The ticket's status when the message was last indexed; a status change
        # puts the ticket's messages back in the index queue.
        status=ID(stored=True),
        # "2024-03": the month of the message's date, for the month facet.
        month=ID(stored=True, sortable=True),
        has_attachment=BOOLEAN,
        unmatched=BOOLEAN,
        quarantined=BOOLEAN,
        direction=ID,
        snippet=STORED,
        # "from@acme.example", "to@example", ...: every domain and parent domain of the
        # sender's and recipients' addresses, so that to:acme.example is one lookup.
        domains=KEYWORD,
        **{name + PAIRS: TEXT(analyzer=pairs, phrase=False) for name in TEXT_FIELDS},
        **{name + POSITIONS: TEXT(analyzer=_TEXT) for name in POSITIONS_APART},
    )


def domains(kind: str, addresses: list[str]) -> list[str]:
    """Return the ``domains`` tokens of addresses: ``kind@domain`` for the domain and each parent."""
    tokens = []
    for address in addresses:
        domain = address.strip().lower().rpartition("@")[2].strip(".")
        parts = domain.split(".") if domain else []
        tokens += [f"{kind}@{'.'.join(parts[i:])}" for i in range(len(parts))]
    return tokens
