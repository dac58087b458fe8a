"""The fields of an indexed message and how their text is analysed."""

import re
import threading
import unicodedata
from functools import cache
from pathlib import Path
from typing import NamedTuple

from whoosh.analysis import (
    Analyzer,
    Filter,
    StemFilter,
    StopFilter,
    Token,
    Tokenizer,
)
from whoosh.fields import BOOLEAN, DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.support.charset import accent_map


class WordTokenizer(Tokenizer):
    """Split text into words: runs of letters, combining marks and digits, in any script.

    Every other character separates words (punctuation, symbols, spaces, underscores), so
    "**Please", "*important*" and "_deadline_" are the words please, important and
    deadline, and "acme.example" is two words side by side. Queries are split by the same
    tokenizer, so a query finds what it looks like.

    Han, Hiragana, Katakana and Hangul are written without spaces between words, so a
    stretch of them inside a run is split into overlapping pairs of characters
    ("請求書の" is 請求, 求書 and 書の), each one place after the one before: a word of
    two or more characters in the stretch is the phrase of its pairs, and a query's
    stretch, split the same way, is looked up as that phrase. A stretch of one character
    takes a place but is no word, as a one-letter word is none. Other scripts written
    without spaces (Thai, Lao, Khmer) keep their runs whole.

    Every token carries its position, whether or not the field keeps positions: the
    filters after it leave gaps where they drop a word (``StopFilter(renumber=False)``),
    and ``WordPairs`` pairs only words that stood side by side.
    """

    def __init__(self) -> None:
        # Kept with the index's schema; raise it whenever the words found change, and
        # an index written by an older tokenizer asks to be rebuilt (app.search.index._shape).
        # 3: Han, Kana and Hangul are split into pairs of characters.
        self.version = 3

    def __eq__(self, other) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        token.boost, token.stopped = 1.0, False
        spans = _words(value) if tokenize else ((0, len(value)),)
        for pos, (start, end) in enumerate(spans, start_pos):
            if start == end:  # a lone Han, Kana or Hangul character: a place, no word
                continue
            token.text = value[start:end]
            token.pos = pos
            if keeporiginal:
                token.original = token.text
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


def _words(text: str):
    """Yield the (start, end) of each word of ``text``, one word per place; a stretch of
    Han, Kana or Hangul gives its pairs of characters (see ``WordTokenizer``)."""
    for match in _word_pattern().finditer(text):
        if "_" not in match.group():
            yield from _by_script(text, *match.span())
            continue
        offset = match.start()  # \w counts the underscore as a letter; here it separates
        for part in _NOT_UNDERSCORE.finditer(match.group()):
            yield from _by_script(text, offset + part.start(), offset + part.end())


def _by_script(text: str, start: int, end: int):
    """Yield the word text[start:end], split where Han, Kana or Hangul begin and end."""
    if _CJK.search(text, start, end) is None:  # most words: one search says so
        yield start, end
        return
    at = start
    for stretch in _patterns().stretch.finditer(text, start, end):
        if stretch.start() > at:
            yield at, stretch.start()
        yield from _pairs_of(text, *stretch.span())
        at = stretch.end()
    if at < end:
        yield at, end


def _pairs_of(text: str, start: int, end: int):
    """Yield each pair of neighbouring characters of a Han, Kana or Hangul stretch, a
    character being a letter with the combining marks after it (a dakuten written apart);
    for a lone character, the empty span at its start."""
    starts = [m.start() for m in _patterns().character.finditer(text, start, end)]
    if len(starts) == 1:
        yield start, start
        return
    yield from zip(starts, [*starts[2:], end], strict=False)  # each pair: its first to after its second


_NOT_UNDERSCORE = re.compile(r"[^_]+")
# Han (with the iteration and closing marks 々〆〇), Hiragana, Katakana (with the long vowel
# mark and the half-width forms) and Hangul (syllables and jamo), by Unicode block: the
# scripts written without spaces whose words are found by pairs of characters.
_CJK_LETTERS = (
    "\u1100-\u11ff\u3005-\u3007\u3041-\u3098\u309b-\u309f\u30a1-\u30fa\u30fc-\u30ff\u3130-\u318f"
    "\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff"
    "\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
)
_CJK = re.compile(f"[{_CJK_LETTERS}]")


class _Patterns(NamedTuple):
    word: re.Pattern  # a run of letters, combining marks and digits
    stretch: re.Pattern  # Han, Kana or Hangul letters, with the marks among them
    character: re.Pattern  # a letter and the combining marks after it


def _word_pattern() -> re.Pattern:
    return _patterns().word


@cache
def _patterns() -> _Patterns:
    # ``\w`` is letters and digits (and "_"); the combining marks that follow letters in
    # decomposed text and in many scripts (Devanagari vowel signs, ...) are added here.
    # They lie in planes 0, 1 and 14; listing them takes some 80 ms, once, on first use.
    marks = [c for c in (*range(0x20000), *range(0xE0000, 0xE0200))
             if unicodedata.category(chr(c))[0] == "M" and not chr(c).isalnum()]
    ranges: list[list[int]] = []
    for c in marks:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    extra = "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)
    return _Patterns(word=re.compile(rf"[\w{extra}]+"),
                     stretch=re.compile(f"[{_CJK_LETTERS}](?:[{_CJK_LETTERS}]|[{extra}])*"),
                     character=re.compile(f"(?s).[{extra}]*"))


def has_paired_script(text: str) -> bool:
    """Whether text holds a letter of Han, Kana or Hangul (see ``WordTokenizer``)."""
    return _CJK.search(text) is not None


def is_paired(word: str) -> bool:
    """Whether a word is a pair of Han, Kana or Hangul characters (see ``WordTokenizer``)."""
    return not word.isascii() and _CJK.match(word) is not None


class FoldFilter(Filter):
    """Lower-case a word and fold its accents, whether they were written composed ("é") or
    as a letter and a combining mark ("e" + U+0301): one filter, as it runs for every word.
    A pair of Han, Kana or Hangul characters is only composed ("か" and a combining
    dakuten are "が"), never stripped of its marks."""

    def __eq__(self, other) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(self, tokens):
        for token in tokens:
            text = token.text
            if text.isascii():
                text = text.lower()
            elif _CJK.match(text):
                text = unicodedata.normalize("NFC", text)
            else:
                text = _DIACRITICS.sub("", unicodedata.normalize("NFC", text.lower()).translate(accent_map))
            token.text = text
            yield token


# Combining diacritics left after composing and folding (no letter holds them precomposed).
_DIACRITICS = re.compile("[\u0300-\u036f]")

class EnglishStemFilter(StemFilter):
    """Whoosh's English stemmer, which never sees a pair of Han, Kana or Hangul characters."""

    def __call__(self, tokens):
        stem, ignore = self._stem, self.ignore
        for token in tokens:
            text = token.text
            if not token.stopped and text not in ignore and not is_paired(text):
                token.text = stem(text)
            yield token


# Lower-case, accents folded, then stemmed English: folding first makes "Résumés",
# "résumé" and "resume" one stem, where stemming first would leave "resume" apart.
# Stop words and one-letter words are not indexed, but they keep their place: positions
# are not renumbered, so words a dropped word stood between are not neighbours.
_TEXT = WordTokenizer() | FoldFilter() | StopFilter(renumber=False) | EnglishStemFilter()

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


class AnalysedOnce(Analyzer):
    """The text analysis, remembered for the last text it indexed in this thread.

    Each text of a message is indexed in two or three fields (the field, its word pairs,
    its positions): the same string, one field after the other. Splitting, folding and
    stemming it once and handing the same words to each field saves most of the indexer's
    analysis time. Queries and highlighting (``mode="query"``, ``chars=True``) are never
    remembered.
    """

    def __init__(self, chain) -> None:
        self.chain = chain
        self._local = threading.local()

    @property
    def items(self):
        return self.chain.items

    def __getstate__(self) -> dict:
        return {"chain": self.chain}

    def __setstate__(self, state: dict) -> None:
        self.chain = state["chain"]
        self._local = threading.local()

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.chain == other.chain

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(self, value, positions=False, chars=False, mode="", **kwargs):
        if chars or mode == "query" or not isinstance(value, str):
            return self.chain(value, positions=positions, chars=chars, mode=mode, **kwargs)
        last = getattr(self._local, "last", None)
        if last is None or not (last[0] is value or last[0] == value):
            words = [(t.text, t.pos, t.boost) for t in self.chain(value, positions=True, mode=mode, **kwargs)
                     if not t.stopped]
            self._local.last = last = (value, words)
        return _replay(last[1], positions, mode, kwargs)


def _replay(words: list[tuple[str, int, float]], positions: bool, mode: str, kwargs: dict):
    token = Token(positions, False, mode=mode, **kwargs)
    token.stopped = False
    for token.text, token.pos, token.boost in words:
        yield token


class WordPairs(Filter):
    """Turn a stream of words into the pairs of neighbours that are both in ``words``.

    The words are kept with the analyzer, so each index keeps the list it was built
    with (Whoosh stores the schema in the index) and phrase search asks the index which
    pairs it holds (``paired_words``).
    """

    def __init__(self, words: frozenset[str]) -> None:
        self.words = words

    def __call__(self, tokens):
        words, previous, previous_pos = self.words, None, None
        for token in tokens:
            text, pos = token.text, token.pos
            if previous is not None and text in words and pos == previous_pos + 1:
                token.text = previous + PAIR_SEPARATOR + text
                yield token
            previous, previous_pos = (text, pos) if text in words else (None, None)


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
    once = AnalysedOnce(_TEXT)  # one instance for every text field: see AnalysedOnce
    pairs = once | WordPairs(common_words())
    # Numbers only ever looked up whole (a message, its ticket, its account) are indexed
    # as one term each (shift_step=0), not as a tier of 8 or 16 for range queries.
    return Schema(
        id=NUMERIC(stored=True, unique=True, signed=False, bits=64, shift_step=0),
        subject=TEXT(analyzer=once, stored=True, field_boost=2.0),
        body=TEXT(analyzer=once, phrase=False),
        sender=TEXT(analyzer=once, stored=True),
        from_addr=ID(stored=True),
        to=KEYWORD(commas=True, lowercase=True),
        cc=KEYWORD(commas=True, lowercase=True),
        # Sortable columns give the facets (counts by account and by month) cheaply.
        account=KEYWORD(lowercase=True, commas=True, stored=True, sortable=True),
        account_id=NUMERIC(stored=True, shift_step=0),
        mailbox=KEYWORD(lowercase=True, commas=True),
        ticket=NUMERIC(stored=True, shift_step=0),
        date=DATETIME(stored=True, sortable=True),
        filename=TEXT(analyzer=once),
        # Text read from attachments that hold text (text/*, HTML, PDF).
        attachments=TEXT(analyzer=once, phrase=False),
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
        **{name + POSITIONS: TEXT(analyzer=once) for name in POSITIONS_APART},
    )


def domains(kind: str, addresses: list[str]) -> list[str]:
    """Return the ``domains`` tokens of addresses: ``kind@domain`` for the domain and each parent."""
    tokens = []
    for address in addresses:
        domain = address.strip().lower().rpartition("@")[2].strip(".")
        parts = domain.split(".") if domain else []
        tokens += [f"{kind}@{'.'.join(parts[i:])}" for i in range(len(parts))]
    return tokens
