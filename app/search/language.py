"""The desk's own query language: a tokenizer and a recursive-descent parser that turn
the text a person types into a Whoosh query over the schema in ``app.search.schema``.

Whoosh's own query parser is not used: it guesses at what it cannot read and then
quietly matches nothing (a mistyped field name becomes a search for the word), whereas
here every mistake is a ``QueryError`` that says what is wrong and where.  Grammar,
loosest binding first::

    query   := or ( OR and )*
    and     := unary ( [AND] unary )*          (terms side by side mean AND)
    unary   := NOT unary | -unary | primary
    primary := ( query ) | word | "phrase" | field:value | field:"quoted value"

Words are analysed with each field's own analyzer, as Whoosh's parser does, so they
are matched lower-cased, accent-folded and by their English stem.  Dates are UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from whoosh import query as wq
from whoosh.fields import Schema
from whoosh.matching import InverseMatcher, NullMatcher
from whoosh.query.spans import SpanNear2

from app.search.errors import QueryError
from app.search.schema import TEXT_FIELDS, build_schema, has_paired_script, is_paired

# Plain words and phrases look in these fields.
FIELDS = ("from", "to", "cc", "subject", "account", "mailbox", "ticket", "status", "filename",
          "has", "is", "after", "before", "date")
STATUSES = ("open", "pending", "closed")
DATE_FORMATS = "use YYYY, YYYY-MM or YYYY-MM-DD"
# The most places a phrase may span, first word to last. The PostgreSQL backend keeps long
# texts in stretches that overlap by this much (app.search.postgres).
PHRASE_SPAN = 200

@dataclass(frozen=True)
class Token:
    kind: str  # word, phrase, field, and, or, not, (, )
    text: str  # the word, the phrase, or the field's value
    position: int  # 1-based character position in the query
    field: str = ""


class Not(wq.Not):
    """Whoosh's ``Not``, except that it never matches a deleted document (see ``_Inverse``)."""

    def matcher(self, searcher, context=None):
        reader = searcher.reader()
        child = self.query.matcher(searcher, searcher.boolean_context())
        return _Inverse(child, reader.doc_count_all(), missing=reader.is_deleted)


class _Inverse(InverseMatcher):
    # Whoosh's InverseMatcher stops skipping deleted documents once the matcher it
    # inverts runs out, so "-paper" could match a deleted document just after the last
    # one holding "paper": a rewritten message counted twice, a removed one found.
    def _find_next(self):
        super()._find_next()
        while self._id < self.limit and self.missing(self._id):
            self._id += 1


class SpacedPhrase(wq.Phrase):
    """A phrase with words left out of the index inside it: "power of the plant" is power,
    then plant three words on, with any two words between.

    Stop words and one-letter words are not indexed, but the index keeps every other
    word's place in the text, so the words of a phrase must stand exactly as far apart as
    they do in the phrase. ``offsets`` gives each word's place, counted from the first.
    """

    def __init__(self, fieldname: str, words: list[str], offsets: list[int], boost: float = 1.0) -> None:
        super().__init__(fieldname, words, boost=boost)
        self.offsets = tuple(offsets)

    def __eq__(self, other) -> bool:
        return super().__eq__(other) and self.offsets == other.offsets

    def __hash__(self) -> int:
        return super().__hash__() ^ hash(self.offsets)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.fieldname!r}, {self.words!r}, {self.offsets!r})"

    def normalize(self) -> wq.Query:
        return self

    def matcher(self, searcher, context=None):
        # Whoosh's spans, nested: each next word exactly its distance after the span so far.
        if self.fieldname not in searcher.schema:
            return NullMatcher()
        reader = searcher.reader()
        if any((self.fieldname, word) not in reader for word in self.words):
            return NullMatcher()
        span: wq.Query = wq.Term(self.fieldname, self.words[0])
        for word, before, at in zip(self.words[1:], self.offsets, self.offsets[1:], strict=False):
            span = SpanNear2([span, wq.Term(self.fieldname, word)], slop=at - before, mindist=at - before)
        return span.matcher(searcher, context)


# Tokenizer ---------------------------------------------------------------------------

_RUN_END = frozenset('()"')
_KEYWORDS = {"AND": "and", "OR": "or", "NOT": "not"}
_FIELD_NAME = re.compile(r"[A-Za-z]+\Z")


def tokenize(text: str) -> list[Token]:
    """Split query text into tokens, or raise ``QueryError`` for an unterminated quote."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(Token(ch, ch, i + 1))
            i += 1
        elif ch == '"':
            start = i
            value, i = _quoted(text, i)
            tokens.append(Token("phrase", value, start + 1))
        elif ch == "-" and i + 1 < len(text) and not text[i + 1].isspace() and text[i + 1] != ")":
            tokens.append(Token("not", "-", i + 1))
            i += 1
        else:
            token, i = _run(text, i)
            tokens.append(token)
    return tokens


def _quoted(text: str, start: int) -> tuple[str, int]:
    close = text.find('"', start + 1)
    if close < 0:
        raise QueryError(f"unterminated quote: the '\"' at position {start + 1} is never closed", start + 1)
    return text[start + 1:close], close + 1


def _run(text: str, start: int) -> tuple[Token, int]:
    """Read a bare word, keyword or field:value starting at ``start``."""
    i = start
    while i < len(text) and not text[i].isspace() and text[i] not in _RUN_END:
        i += 1
    run = text[start:i]
    name, colon, value = run.partition(":")
    # "http://..." is a word, not a field called http.
    if colon and _FIELD_NAME.match(name) and not value.startswith("//"):
        field = name.lower()
        if field not in FIELDS:
            raise QueryError(f"unknown field '{name}:' at position {start + 1} (fields: {', '.join(FIELDS)})",
                             start + 1)
        if not value and i < len(text) and text[i] == '"':
            value, i = _quoted(text, i)
        return Token("field", value, start + 1, field), i
    if run in _KEYWORDS:
        return Token(_KEYWORDS[run], run, start + 1), i
    return Token("word", run, start + 1), i


# Parser ------------------------------------------------------------------------------

_GROUP_END = (None, ")", "or")


def parse_query(text: str, schema: Schema | None = None) -> wq.Query:
    """Turn query text into a Whoosh query, or raise ``QueryError`` saying what is wrong."""
    if not text.strip():
        raise QueryError("the query is empty: give at least one word")
    parser = _Parser(tokenize(text), schema or default_schema())
    query = parser.parse()
    if query is None:
        raise QueryError(_nothing_left(parser.ignored))
    return query.normalize()


def _nothing_left(ignored: list[str]) -> str:
    words = ", ".join(f"'{w}'" for w in ignored)
    verb = "is" if len(ignored) == 1 else "are"
    if all(has_paired_script(w) for w in ignored):
        what = "a single character" if len(ignored) == 1 else "single characters"
        return (f"nothing to search for: {words} {verb} {what}; Chinese, Japanese and Korean text "
                "is searched by two characters or more")
    return f"nothing to search for: {words} {verb} too common or too short to be indexed"


@lru_cache(maxsize=1)
def default_schema() -> Schema:
    return build_schema()


class _Parser:
    """Recursive descent over the tokens; a term that analyses to nothing becomes None."""

    def __init__(self, tokens: list[Token], schema: Schema) -> None:
        self.tokens = tokens
        self.at = 0
        self.schema = schema
        self.ignored: list[str] = []

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def kind(self) -> str | None:
        token = self.peek()
        return token.kind if token else None

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def parse(self) -> wq.Query | None:
        query = self.or_expression()
        if self.peek() is not None:  # only a ')' stops an expression early
            raise _stray_parenthesis(self.peek())
        return query

    def or_expression(self) -> wq.Query | None:
        parts = [self.and_expression()]
        while self.kind() == "or":
            operator = self.take()
            self._need_operand(operator, "a term after it")
            parts.append(self.and_expression())
        return _combine(wq.Or, parts)

    def and_expression(self) -> wq.Query | None:
        parts = [self.unary()]
        while self.kind() not in _GROUP_END:
            if self.kind() == "and":
                self._need_operand(self.take(), "a term after it")
            parts.append(self.unary())
        return _combine(wq.And, parts)

    def unary(self) -> wq.Query | None:
        token = self.peek()
        if token is None:
            raise QueryError("the query ends where a term was expected")
        if token.kind in ("and", "or"):
            at = token.position
            raise QueryError(f"{token.text} at position {at} needs a term before it", at)
        if token.kind == ")":
            raise _stray_parenthesis(token)
        self.take()
        if token.kind == "not":
            self._need_operand(token, "something to exclude")
            excluded = self.unary()
            return Not(excluded) if excluded is not None else None
        if token.kind == "(":
            return self.group(token)
        return self.term(token)

    def group(self, opening: Token) -> wq.Query | None:
        if self.kind() == ")":
            raise QueryError(f"empty parentheses at position {opening.position}", opening.position)
        query = self.or_expression()
        if self.kind() != ")":
            at = opening.position
            raise QueryError(f"unbalanced parenthesis: the '(' at position {at} is never closed", at)
        self.take()
        return query

    def _need_operand(self, operator: Token, what: str) -> None:
        if self.kind() in (None, ")", "or", "and"):
            at, name = operator.position, "'-'" if operator.text == "-" else operator.text
            raise QueryError(f"{name} at position {at} needs {what}", at)

    def term(self, token: Token) -> wq.Query | None:
        if token.kind == "field":
            if not token.text.strip():
                raise QueryError(f"{token.field}: at position {token.position} needs a value right after "
                                 f"the colon, e.g. {_EXAMPLES[token.field]}", token.position)
            return _FIELD_BUILDERS[token.field](self, token.text.strip(), token.position)
        if token.kind == "phrase" and not token.text.strip():
            raise QueryError(f"empty quotes at position {token.position}", token.position)
        return self.words(TEXT_FIELDS, token.text)

    # Values ------------------------------------------------------------------------

    def analysed(self, fieldname: str, text: str) -> list[str]:
        """Return the words of ``text`` as the field's analyzer indexes them."""
        return [word for word, _ in self.placed(fieldname, text)]

    def placed(self, fieldname: str, text: str) -> list[tuple[str, int]]:
        """Return the words of ``text`` as the field's analyzer indexes them, with their places."""
        return [(t.text, t.pos) for t in self.schema[fieldname].analyzer(text, mode="query", positions=True)]

    def words(self, fieldnames: tuple[str, ...], text: str) -> wq.Query | None:
        """Match the words of ``text``, standing as they do in it, in any of the fields."""
        queries = []
        for fieldname in fieldnames:
            placed = self.placed(fieldname, text)
            if not placed:
                continue
            if placed[-1][1] - placed[0][1] > PHRASE_SPAN:
                raise QueryError(f"the phrase {_shortened(text)} is too long: a phrase can span at most "
                                 f"{PHRASE_SPAN} words")
            queries.append(_phrase(fieldname, placed))
        if not queries:
            return self.nothing(text)
        return queries[0] if len(queries) == 1 else wq.Or(queries)

    def nothing(self, text: str) -> None:
        """Note a value with no indexable word in it (a stop word, a lone letter)."""
        self.ignored.append(text)
        return None


def _phrase(fieldname: str, placed: list[tuple[str, int]]) -> wq.Query:
    """Match words standing at these places relative to each other: one word, words side by
    side, or words with the places of words left out of the index between them."""
    words, offsets = [w for w, _ in placed], [p - placed[0][1] for _, p in placed]
    if len(words) == 1:
        return wq.Term(fieldname, words[0])
    if offsets == list(range(len(words))):  # "e-mail", "ann@acme.example", "請求書": side by side
        return wq.Phrase(fieldname, words)
    return SpacedPhrase(fieldname, words, offsets)  # "power of the plant"


def _shortened(text: str) -> str:
    return f"'{text[:40]}…'" if len(text) > 40 else f"'{text}'"


def _stray_parenthesis(token: Token) -> QueryError:
    at = token.position
    return QueryError(f"unbalanced parenthesis: the ')' at position {at} has no '(' before it", at)


def _combine(kind, parts: list[wq.Query | None]) -> wq.Query | None:
    parts = [p for p in parts if p is not None]
    if len(parts) <= 1:
        return parts[0] if parts else None
    return kind(parts)


# Fields ------------------------------------------------------------------------------

_EXAMPLES = {
    "from": "from:ann@acme.example", "to": "to:ann@acme.example", "cc": "cc:acme.example",
    "subject": "subject:refund", "account": 'account:"Acme Plumbing"', "mailbox": "mailbox:support",
    "ticket": "ticket:42", "status": "status:open", "filename": "filename:invoice",
    "has": "has:attachment", "is": "is:unmatched", "after": "after:2024-01-31",
    "before": "before:2024-03-01", "date": "date:2024-01..2024-03",
}


def _from(parser: _Parser, value: str, position: int) -> wq.Query | None:
    if "@" in value:
        return _address("from_addr", value, position)
    return parser.words(("sender",), value)


def _recipient(fieldname: str):
    def build(parser: _Parser, value: str, position: int) -> wq.Query:
        return _address(fieldname, value, position)
    return build


def _address(fieldname: str, value: str, position: int) -> wq.Query:
    """Match a whole address, every address at a domain, or a name before the @.

    ``ann@acme.example`` is that address; ``@acme.example`` or (to: and cc:)
    ``acme.example`` is any address at acme.example or a subdomain of it; ``ann@`` or
    (to: and cc:) ``ann`` is any address whose part before the @ is ann.
    """
    address = value.lower()
    local, at, domain = address.rpartition("@")
    if not at:
        local, domain = ("", address) if "." in address else (address, "")
    domain = domain.strip(".")
    if not local and not domain:
        name = _QUERY_FIELD[fieldname]
        raise QueryError(f"{name}: takes an address, a domain or a name before the @, not '{value}' "
                         f"(at position {position})", position)
    if local and domain:
        return wq.Term(fieldname, address)
    if local:
        return wq.Prefix(fieldname, f"{local}@")
    return wq.Term("domains", f"{_QUERY_FIELD[fieldname]}@{domain}")


# The query's name of each address field; it also names the field's domains tokens
# (see app.search.schema.domains).
_QUERY_FIELD = {"from_addr": "from", "to": "to", "cc": "cc"}


def _subject(parser: _Parser, value: str, position: int) -> wq.Query | None:
    return parser.words(("subject",), value)


def _keyword(fieldname: str):
    # Account and mailbox names are whole lower-cased keywords: "Acme Plumbing" is one.
    def build(parser: _Parser, value: str, position: int) -> wq.Query | None:
        words = parser.analysed(fieldname, value)
        if not words:
            return parser.nothing(value)
        return _combine(wq.And, [wq.Term(fieldname, w) for w in words])
    return build


def _ticket(parser: _Parser, value: str, position: int) -> wq.Query:
    number = value.removeprefix("#")
    if not number.isascii() or not number.isdigit():
        raise QueryError(f"ticket: takes a ticket number such as ticket:42, not '{value}' "
                         f"(at position {position})", position)
    return wq.Term("ticket", int(number))


def _status(parser: _Parser, value: str, position: int) -> wq.Query:
    if value.lower() not in STATUSES:
        raise QueryError(f"status must be open, pending or closed, not '{value}' (at position {position})",
                         position)
    return wq.Term("status", value.lower())


def _filename(parser: _Parser, value: str, position: int) -> wq.Query | None:
    """Match file names having a word (split at dots, underscores, hyphens...) that starts with
    each word, and holding each stretch of Han, Kana or Hangul (the phrase of its pairs)."""
    placed = parser.placed("filename", value)
    if not placed:
        return parser.nothing(value)
    stretches: list[list[tuple[str, int]]] = []
    for word, place in placed:
        if not is_paired(word):
            continue
        if stretches and place == stretches[-1][-1][1] + 1:
            stretches[-1].append((word, place))
        else:
            stretches.append([(word, place)])
    return _combine(wq.And, [*(wq.Prefix("filename", w) for w, _ in placed if not is_paired(w)),
                             *(_phrase("filename", stretch) for stretch in stretches)])


def _flag(fieldname: str, choices: str, allowed: dict[str, str]):
    def build(parser: _Parser, value: str, position: int) -> wq.Query:
        flag = allowed.get(value.lower())
        if flag is None:
            raise QueryError(f"{fieldname}: takes {choices}, not '{value}' (at position {position})",
                             position)
        return wq.Term(flag, True)
    return build


def _after(parser: _Parser, value: str, position: int) -> wq.Query:
    start, _ = _period(value, position)
    return wq.DateRange("date", start, None)


def _before(parser: _Parser, value: str, position: int) -> wq.Query:
    start, _ = _period(value, position)
    return wq.DateRange("date", None, start, endexcl=True)


def _date(parser: _Parser, value: str, position: int) -> wq.Query:
    first, dots, last = value.partition("..")
    if dots and not first and not last:
        raise QueryError(f"date: at position {position} needs a date or a range, e.g. date:2024-01..2024-03",
                         position)
    if not dots:
        start, end = _period(value, position)
        return wq.DateRange("date", start, end, endexcl=end is not None)
    start = _period(first, position)[0] if first else None
    end = _period(last, position)[1] if last else None
    if start is not None and end is not None and start >= end:
        raise QueryError(f"the range '{value}' at position {position} ends before it starts", position)
    return wq.DateRange("date", start, end, endexcl=end is not None)


_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2}))?)?\Z")


def _period(value: str, position: int) -> tuple[datetime, datetime | None]:
    """Return the start of a year, month or day and the start of the next one (None past 9999)."""
    match = _DATE.match(value)
    try:
        if not match:
            raise ValueError(value)
        year, month, day = (int(part) if part else None for part in match.groups())
        start = datetime(year, month or 1, day or 1)
    except ValueError:
        raise QueryError(f"'{value}' is not a date ({DATE_FORMATS}), at position {position}", position)
    try:
        if day:
            return start, start + timedelta(days=1)
        if month:
            return start, datetime(year + month // 12, month % 12 + 1, 1)
        return start, datetime(year + 1, 1, 1)
    except (ValueError, OverflowError):
        return start, None


_FIELD_BUILDERS = {
    "from": _from, "to": _recipient("to"), "cc": _recipient("cc"), "subject": _subject,
    "account": _keyword("account"), "mailbox": _keyword("mailbox"), "ticket": _ticket,
    "status": _status, "filename": _filename,
    "has": _flag("has", "attachment", {"attachment": "has_attachment", "attachments": "has_attachment"}),
    "is": _flag("is", "unmatched or quarantined", {"unmatched": "unmatched", "quarantined": "quarantined"}),
    "after": _after, "before": _before, "date": _date,
}
