"""The search index in PostgreSQL: full-text search that every web and worker process shares.

The words are the same as Whoosh's.  Each message's text is analysed in Python by the
analyzers of ``app.search.schema`` (split, folded, stemmed, stop words dropped with
their places kept), and the words are stored as a ``tsvector`` written out lexeme by
lexeme, never through PostgreSQL's own parsers and dictionaries.  Queries are read by
``app.search.language`` into the same query tree the Whoosh backend runs, and that tree
compiles to a ``tsquery`` over those lexemes.  So a query finds the same messages with
the same exact total on either backend; only relevance is computed differently
(PostgreSQL's ``ts_rank`` over each field's first words, with the subject weighed highest).

One ``tsvector`` per message (``search_document.words``) holds every field, each word
prefixed with its field's code (``b:invoic`` is "invoice" in the body, ``t:ann@acme.example``
an address in To), so that a whole query of words, phrases and flags is one ``@@``
that one GIN index answers.  A ``tsvector`` keeps at most 256 places per word and no
place past 16,383, and silently drops the rest, which would make phrases wrong in long
messages: a field that exceeds either limit is kept instead in overlapping stretches
(``search_chunk``) of its own, each within both limits; a phrase of up to
``PHRASE_SPAN`` words always lies wholly inside one stretch.  Messages with such a field
are few, and their query is evaluated word by word (``_Compiled.long``).

The tables are created by the migrations on PostgreSQL (``search_document``,
``search_chunk``); they hold documents for message ids without a foreign key, as the
Whoosh index does, so ``flask search check`` can compare them with the archive.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    delete,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR, insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from whoosh import query as wq

from app.search import scoring
from app.search.errors import IndexOutdated, RebuildBusy
from app.search.index import IndexDocument, _fields, analysis_digest
from app.search.language import PHRASE_SPAN, default_schema, parse_query
from app.search.query import Hit, Results, clamped, facets, hit_snippets
from app.search.schema import PAIR_SEPARATOR, common_words

metadata = MetaData()
# New entries wait in a GIN index's pending list until it is merged into the index, and
# every search reads the whole list: 1 MB (the default is 4) keeps that read short while
# mail arrives, and a rebuild merges everything at its end (VACUUM, in ``publish``).
_GIN = {"gin_pending_list_limit": 1024}

document_table = Table(
    "search_document", metadata,
    Column("message_id", BigInteger, primary_key=True, autoincrement=False),
    Column("words", TSVECTOR, nullable=False),
    # The first words of each text field: what relevance is computed from (``_ordered``).
    Column("head", TSVECTOR, nullable=False),
    # True when a field is kept in search_chunk rows instead of in ``words``.
    Column("chunked", Boolean, nullable=False, default=False),
    Column("date", DateTime),
    Column("month", String(7), nullable=False, default=""),
    Column("account", Text, nullable=False, default=""),
    Column("ticket", Integer),
    Column("status", String(16), nullable=False, default=""),
    Column("subject", Text, nullable=False, default=""),
    Column("sender", Text, nullable=False, default=""),
    Column("snippet", Text, nullable=False, default=""),
    Index("ix_search_document_words", "words", postgresql_using="gin", postgresql_with=_GIN),
    Index("ix_search_document_date", "date"),
    # Finds the few documents with a field in stretches (see ``_matches``).
    Index("ix_search_document_chunked", "message_id", postgresql_where=text("chunked")),
)

chunk_table = Table(
    "search_chunk", metadata,
    Column("message_id", BigInteger, primary_key=True, autoincrement=False),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("words", TSVECTOR, nullable=False),
    Index("ix_search_chunk_words", "words", postgresql_using="gin", postgresql_with=_GIN),
)

# Each field's code, the prefix of its words' lexemes. No code is the start of another
# followed by a colon, so a prefix query ("f:invoic":*) stays within its field.
CODES = {
    "subject": "s", "body": "b", "sender": "n", "filename": "f", "attachments": "a",
    "from_addr": "fa", "to": "t", "cc": "c", "account": "ac", "mailbox": "mb", "ticket": "tk",
    "status": "st", "direction": "dir", "domains": "d",
    "has_attachment": "ha", "unmatched": "um", "quarantined": "q",
}
_POSITIONED = ("subject", "body", "sender", "filename", "attachments")
_WHOLE = ("from_addr", "to", "cc", "account", "mailbox", "status", "direction", "domains")
_FLAGS = ("has_attachment", "unmatched", "quarantined")
# ts_rank's weights are D, C, B, A; subject words are A, sender words B, the rest D, so
# that a word in the subject counts twice what it counts in the body (as in Whoosh's
# field boost) and a name in From a little more.
_WEIGHT = {"subject": "A", "sender": "B"}
RANK_WEIGHTS = "{0.1, 0.2, 0.4, 0.8}"
# Relevance is read from each field's first words, kept in a small vector of their own
# (``head``) that is stored with the row: ranking by the whole of ``words``, which lives
# apart (TOAST), read every match's words, 170 ms for a word in 23,000 of 100,000 messages.
HEAD_WORDS = 64

# PostgreSQL's limits on a tsvector (src/include/tsearch/ts_type.h): places run from 1 to
# 16,383 (MAXENTRYPOS) and a word keeps 256 of them (MAXNUMPOS); a lexeme is at most
# 2,047 bytes (MAXSTRLEN) and the whole vector under 1 MB (MAXSTRPOS).
MAX_PLACE = 16_383
MAX_PLACES_PER_WORD = 256
MAX_LEXEME_BYTES = 2_047
# A field larger than this goes to stretches, so that ``words`` stays well under 1 MB.
MAX_FIELD_BYTES = 64_000
# Stretches of a long field overlap by PHRASE_SPAN places, the longest phrase the query
# language reads, so that every phrase lies wholly in one stretch. It is less than
# MAX_PLACES_PER_WORD, so each stretch starts past the one before (256 occurrences of a
# word take 256 places).
_STRETCH_BYTES = 512_000
BATCH = 100
_REBUILD_LOCK = 0x5E_A2C4_1D  # pg_advisory_lock key: one `flask search reindex` at a time


class PostgresIndex:
    """The search backend in PostgreSQL (see the module's docstring)."""

    name = "postgresql"
    single_writer = False
    location = "the database (search_document, search_chunk)"
    generation = "the database's search tables"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._analysis_checked = False

    # How the documents' words were made -------------------------------------------

    def _check_analysis(self, connection: Connection) -> None:
        """Raise ``IndexOutdated`` when the tables hold documents whose words were made by
        another analysis than this version's (recorded as the table's comment by the rebuild,
        or by the first write into empty tables); documents of two analyses would find
        different words for the same text."""
        if self._analysis_checked:
            return
        if connection.scalar(_ANALYSIS_COMMENT) == _analysis_comment():
            self._analysis_checked = True
        elif connection.scalar(select(document_table.c.message_id).limit(1)) is not None:
            raise IndexOutdated("the search tables were written by an older version that splits text "
                                "into words another way; run `flask search reindex` to rebuild them "
                                "from the database")

    def _record_analysis(self, connection: Connection) -> None:
        connection.execute(text(f"COMMENT ON TABLE {document_table.name} IS '{_analysis_comment()}'"))
        self._analysis_checked = True

    # Writing -----------------------------------------------------------------------

    def acquire_writer(self) -> None:
        """Every process may write: the database orders concurrent writes."""

    def release_writer(self) -> None:
        pass

    @property
    def is_writer(self) -> bool:
        return True

    def write(self, documents: Iterable[IndexDocument], expected: int = 0, *,
              session: Session | None = None) -> int:
        """Add or replace documents, in ``session``'s transaction when one is given."""
        with self._connection(session) as connection:
            self._check_analysis(connection)
            if not self._analysis_checked:  # empty tables: these documents set their analysis
                self._record_analysis(connection)
            return _write(connection, documents)

    def delete(self, message_ids: Iterable[int]) -> None:
        ids = list(message_ids)
        with self.engine.begin() as connection:
            for start in range(0, len(ids), BATCH):
                chunk = ids[start:start + BATCH]
                connection.execute(delete(chunk_table).where(chunk_table.c.message_id.in_(chunk)))
                connection.execute(delete(document_table).where(document_table.c.message_id.in_(chunk)))

    def clear(self) -> None:
        """Remove every document (tests start from an empty index)."""
        with self.engine.begin() as connection:
            connection.execute(delete(chunk_table))
            connection.execute(delete(document_table))

    def stored_ids(self) -> list[int]:
        with self.engine.connect() as connection:
            self._check_analysis(connection)  # `flask search check` says so too
            return list(connection.scalars(select(document_table.c.message_id)))

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A connection for one search, its plans steered to the indexes.

        PostgreSQL's planner counts the cost of reading a document's ``words`` as one
        page, but a long ``tsvector`` is stored apart (TOAST) in many: for a word in a
        fifth of the archive it chose to read every document's words (33 ms at 10,000
        messages) over the GIN index (4 ms). The setting lasts for this transaction only.
        """
        with self.engine.connect() as connection:
            self._check_analysis(connection)
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            yield connection

    @contextmanager
    def _connection(self, session: Session | None) -> Iterator[Connection]:
        if session is not None:
            yield session.connection()
            return
        with self.engine.begin() as connection:
            yield connection

    # Rebuilding --------------------------------------------------------------------

    @contextmanager
    def rebuilding(self) -> Iterator[Rewrite]:
        """Rewrite every document in place; searches see each message's old or new document.

        Raise ``RebuildBusy`` when another rebuild runs (a lock held in the database, so
        wherever it runs).
        """
        with self.engine.connect() as lock:
            if not lock.scalar(select(func.pg_try_advisory_lock(_REBUILD_LOCK))):
                raise RebuildBusy("another `flask search reindex` is running; let it finish")
            # The lock outlives the transaction; an open one would keep VACUUM (in publish)
            # from clearing the documents the rebuild replaced.
            lock.commit()
            try:
                yield Rewrite(self)
            finally:
                lock.scalar(select(func.pg_advisory_unlock(_REBUILD_LOCK)))
                lock.commit()

    def publish(self, rebuilt: Rewrite, last_step: Callable[[], None] | None = None) -> None:
        """Finish a rebuild: run ``last_step``, then remove documents of messages it did not write."""
        if last_step is not None:
            last_step()
        with self.engine.connect() as connection:  # documents of any analysis
            stale = set(connection.scalars(select(document_table.c.message_id))) - rebuilt.written
        self.delete(sorted(stale))
        with self.engine.begin() as connection:  # every document left was written by this version
            self._record_analysis(connection)
        # Merge the GIN indexes' pending lists and renew the planner's statistics, which a
        # rebuild of the whole index changes.
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in (document_table, chunk_table):
                connection.execute(text(f"VACUUM ANALYZE {table.name}"))

    # Searching ---------------------------------------------------------------------

    def search(self, text: str, *, page: int, pagelen: int, sort: str,
               texts: Callable[[list[int]], dict[int, str]] | None, snippets: bool) -> Results:
        """Run a checked query (see ``app.search.query.search_messages``)."""
        query = parse_query(text, default_schema())
        d = document_table.c
        with self._reading() as connection:
            accounts: Counter[str] = Counter()
            months: Counter[str] = Counter()
            ranked: list[tuple[int, float]] = []
            for kind, account, month, count, message_id, score in connection.execute(
                    _counted_and_ranked(query, sort, pagelen, max(page - 1, 0) * pagelen)):
                if kind == "count":
                    accounts[account] += count
                    months[month] += count
                else:
                    ranked.append((message_id, score))
            total = sum(accounts.values())
            clamped_page, pages = clamped(total, page, pagelen)
            if clamped_page != page:  # past the last page (or before the first): show the nearest
                page = clamped_page
                ranked = connection.execute(
                    _ordered(query, sort).limit(pagelen).offset((page - 1) * pagelen)).all()
            scores = {message_id: float(score) for message_id, score in ranked}
            rows = {row.message_id: row for row in connection.execute(
                select(d.message_id, d.date, d.account, d.ticket, d.status, d.subject, d.sender, d.snippet)
                .where(d.message_id.in_(list(scores))))} if scores else {}
        shown = hit_snippets(query, [(i, rows[i].snippet) for i in scores], texts, snippets)
        hits = [Hit(message_id=i, score=scores[i], subject=rows[i].subject, sender=rows[i].sender,
                    date=rows[i].date, account=rows[i].account, ticket=rows[i].ticket,
                    status=rows[i].status, snippet=shown[i]) for i in scores]
        return Results(total=total, hits=hits, page=page, pages=pages, facets=facets(accounts, months))

    def matching_ids(self, text: str, *, sort: str) -> list[int]:
        query = parse_query(text, default_schema())
        with self._reading() as connection:
            return [message_id for message_id, _ in connection.execute(_ordered(query, sort))]


class Rewrite:
    """A rebuild of the PostgreSQL index: documents are replaced where they stand."""

    name = "the database's search tables"
    where = PostgresIndex.location

    def __init__(self, index: PostgresIndex) -> None:
        self._index = index
        self.written: set[int] = set()

    def add(self, documents: Iterable[IndexDocument], expected: int = 0) -> int:
        return self.update(documents)

    def update(self, documents: Iterable[IndexDocument]) -> int:
        count = 0
        for batch in _batches(documents):  # a transaction per batch: a rebuild never holds one for long
            with self._index.engine.begin() as connection:  # over documents of any analysis
                count += _write(connection, batch)
            self.written.update(d.id for d in batch)
        return count


_ANALYSIS_COMMENT = text(f"SELECT obj_description(to_regclass('{document_table.name}'), 'pg_class')")


def _analysis_comment() -> str:
    return f"words made by analysis {analysis_digest()}"


# Documents -------------------------------------------------------------------------

def _write(connection: Connection, documents: Iterable[IndexDocument]) -> int:
    return sum(_write_batch(connection, batch) for batch in _batches(documents))


def _batches(documents: Iterable[IndexDocument]) -> Iterator[list[IndexDocument]]:
    """Yield the documents in lists of ``BATCH``, the last one shorter."""
    batch: list[IndexDocument] = []
    for document in documents:
        batch.append(document)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_batch(connection: Connection, documents: list[IndexDocument]) -> int:
    latest = {d.id: d for d in documents}  # the last of a message's documents wins, as in Whoosh
    rows, chunks = [], []
    for document in latest.values():
        row, stretches = document_row(document)
        rows.append(row)
        chunks += [{"message_id": document.id, "seq": n, "words": words} for n, words in enumerate(stretches)]
    connection.execute(delete(chunk_table).where(chunk_table.c.message_id.in_(list(latest))))
    statement = insert(document_table).values(
        {column: bindparam(column) for column in rows[0]}
        | {name: cast(bindparam(name), TSVECTOR) for name in ("words", "head")})
    connection.execute(statement.on_conflict_do_update(
        index_elements=["message_id"],
        set_={column: statement.excluded[column] for column in rows[0] if column != "message_id"},
    ), rows)
    if chunks:
        connection.execute(insert(chunk_table).values(
            message_id=bindparam("message_id"), seq=bindparam("seq"),
            words=cast(bindparam("words"), TSVECTOR)), chunks)
    return len(latest)


def document_row(document: IndexDocument) -> tuple[dict, list[str]]:
    """Return a document's search_document row and its stretches (tsvector texts)."""
    fields = _fields(document)
    schema = default_schema()
    kept: list[str] = []
    stretches: list[str] = []
    head: list[str] = []
    for name in _POSITIONED:
        placed = [(t.text, t.pos + 1) for t in schema[name].analyzer(fields.get(name) or "", positions=True)
                  if not t.stopped]
        head.append(_vector(name, placed[:HEAD_WORDS] + _pairs(placed[:HEAD_WORDS])))
        if _fits(placed):
            kept.append(_vector(name, placed + _pairs(placed)))
        else:
            stretches += [_vector(name, part + _pairs(part)) for part in _stretches(placed)]
    for name in _WHOLE:
        value = fields.get(name) or ""
        words = sorted({t.text for t in schema[name].analyzer(value)} if value else set())
        if sum(len(w) for w in words) <= MAX_FIELD_BYTES:
            kept.append(_vector(name, [(w, None) for w in words]))
        else:
            stretches += [_vector(name, [(w, None) for w in part]) for part in _groups(words)]
    kept += [_lexeme("ticket", fields["ticket"])] if "ticket" in fields else []
    kept += [_lexeme(flag, True) for flag in _FLAGS if fields.get(flag)]
    date = fields.get("date")
    row = {
        "message_id": document.id, "words": " ".join(w for w in kept if w),
        "head": " ".join(w for w in head if w), "chunked": bool(stretches),
        "date": date, "month": fields.get("month", ""), "account": document.account,
        "ticket": document.ticket, "status": document.status, "subject": document.subject,
        "sender": document.sender, "snippet": fields["snippet"],
    }
    return row, stretches


def _pairs(placed: list[tuple[str, int]]) -> list[tuple[str, None]]:
    """Return the pairs of neighbouring common words ("mail-list"), as Whoosh's index keeps
    them (``app.search.schema.WordPairs``): a phrase of common words is then found by
    looking its pairs up, not by reading the places of its words in every message that
    holds them all (the index cannot answer a phrase alone, and the places of a word are
    read from the document itself)."""
    common = common_words()
    return [(before + PAIR_SEPARATOR + word, None)
            for (before, at), (word, place) in zip(placed, placed[1:], strict=False)
            if place == at + 1 and before in common and word in common]


def _fits(placed: list[tuple[str, int]]) -> bool:
    if not placed:
        return True
    counts = Counter(word for word, _ in placed)
    return (placed[-1][1] <= MAX_PLACE and counts.most_common(1)[0][1] <= MAX_PLACES_PER_WORD
            and sum(len(w) + 4 for w, _ in placed) <= MAX_FIELD_BYTES)


def _stretches(placed: list[tuple[str, int]]) -> Iterator[list[tuple[str, int]]]:
    """Cut a long field into overlapping stretches, each within a tsvector's limits, with
    places counted from 1 in each."""
    start, n = 0, len(placed)
    while start < n:
        first = placed[start][1]
        counts: Counter[str] = Counter()
        size, end = 0, start
        while end < n:
            word, place = placed[end]
            if (place - first + 1 > MAX_PLACE or counts[word] == MAX_PLACES_PER_WORD
                    or size + len(word) + 4 > _STRETCH_BYTES):
                break
            counts[word] += 1
            size += len(word) + 4
            end += 1
        yield [(word, place - first + 1) for word, place in placed[start:end]]
        if end >= n:
            return
        # The next stretch begins PHRASE_SPAN places before this one ended.
        following = end
        while following > start + 1 and placed[following - 1][1] >= placed[end][1] - PHRASE_SPAN:
            following -= 1
        start = following


def _groups(words: list[str]) -> Iterator[list[str]]:
    group: list[str] = []
    size = 0
    for word in words:
        if group and size + len(word) > _STRETCH_BYTES:
            yield group
            group, size = [], 0
        group.append(word)
        size += len(word)
    if group:
        yield group


def _vector(field: str, placed: list[tuple[str, int | None]]) -> str:
    """Write a field's words as tsvector text: 'lexeme':place,place..."""
    places: dict[str, list[int]] = {}
    for word, place in placed:
        places.setdefault(word, [])
        if place is not None:
            places[word].append(place)
    weight = _WEIGHT.get(field, "")
    return " ".join(_lexeme(field, word) + (":" + ",".join(f"{p}{weight}" for p in at) if at else "")
                    for word, at in places.items())


def _lexeme(field: str, value) -> str:
    """Return the quoted lexeme of a field's word, as tsvector and tsquery text write it."""
    if isinstance(value, bool):
        value = "t" if value else "f"
    word = f"{CODES[field]}:{value}"
    if len(word.encode()) > MAX_LEXEME_BYTES // 2:  # too long for a lexeme: its hash stands in
        word = f"{CODES[field]}:#{hashlib.sha256(word.encode()).hexdigest()}"
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


# Queries ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Words:
    """A query, or part of one, that a tsquery answers alone."""
    tsquery: str


def _matches(query: wq.Query, *columns):
    """Return a subquery of the matching documents: their ``columns``.

    Only what is asked for is read: a document's ``words`` is large and stored apart
    (TOAST), and a sort or a count that carried it along would read it for every match.
    """
    d = document_table
    short = select(*columns).where(not_(d.c.chunked), _where(_compiled(query, whole=True)))
    long = select(*columns).where(d.c.chunked, _where(_compiled(query, whole=False)))
    return union_all(short, long).subquery("matches")


def _ordered(query: wq.Query, sort: str):
    """Return (message id, score) of every match: newest first (undated last), or best
    first; ties by message id."""
    matches = _matches(query, *_ranking(query, sort))
    return select(matches.c.message_id, matches.c.score).order_by(*_order(matches, sort))


def _ranking(query: wq.Query, sort: str) -> tuple:
    """The columns a sort needs: the message id, its date, and its score (0 by date)."""
    d = document_table.c
    wanted = [_leaf(found) for found, _ in scoring.wanted_text(query)] if sort != "date" else []
    score = (func.ts_rank(text(f"'{RANK_WEIGHTS}'::float4[]"), d.head, _tsquery(" | ".join(wanted)))
             if wanted else literal(0.0))
    return d.message_id, d.date, score.label("score")


def _order(matches, sort: str) -> tuple:
    if sort == "date":
        return matches.c.date.desc().nulls_last(), matches.c.message_id
    return matches.c.score.desc(), matches.c.message_id


def _counted_and_ranked(query: wq.Query, sort: str, limit: int, offset: int):
    """Count all matches by account and month, and rank one page of them, in one statement.

    The matches are found once (a materialised CTE) and read twice: a query matching a
    tenth of the archive spends most of its time finding its matches and reading their
    rows. Rows are ("count", account, month, n, None, None) and ("hit", None, None, None,
    message id, score).
    """
    d = document_table.c
    matches = _matches(query, d.account, d.month, *_ranking(query, sort)).element.cte("matches")
    matches = matches.prefix_with("MATERIALIZED")
    none = null()
    counts = select(literal("count"), matches.c.account, matches.c.month, func.count(),
                    none, none).group_by(matches.c.account, matches.c.month)
    page = (select(matches.c.message_id, matches.c.score).order_by(*_order(matches, sort))
            .limit(limit).offset(offset).subquery("page"))
    hits = select(literal("hit"), none, none, none, page.c.message_id, page.c.score)
    return union_all(counts, hits)


def _where(compiled):
    return document_table.c.words.op("@@")(_tsquery(compiled.tsquery)) if isinstance(compiled, _Words) \
        else compiled


def _compiled(query: wq.Query, *, whole: bool):
    """Compile a query tree into a tsquery where it can (``_Words``), else into SQL.

    ``whole``: the documents hold every field in ``words``, so words, phrases and the
    boolean operators between them merge into one tsquery. Otherwise (documents with a
    field in stretches) each word or phrase is looked for in ``words`` and in the
    stretches, and the operators between them are SQL's.
    """
    if isinstance(query, wq.Term | wq.Prefix | wq.Phrase):
        leaf = _Words(_leaf(query))
        return leaf if whole else _anywhere(leaf.tsquery)
    if isinstance(query, wq.DateRange):
        return _dates(query)
    if isinstance(query, wq.Not):
        inner = _compiled(query.query, whole=whole)
        if isinstance(inner, _Words):
            # Not "!word" in the tsquery: the index cannot answer that alone, and checking it
            # reads the words of every document the rest of the query finds. The documents
            # holding the word come from the index instead, and are left out.
            holding = document_table.alias("holding")
            return document_table.c.message_id.not_in(
                select(holding.c.message_id).where(holding.c.words.op("@@")(_tsquery(inner.tsquery))))
        return not_(inner)
    if isinstance(query, wq.AndNot):
        return _compiled(wq.And([query.a, wq.Not(query.b)]), whole=whole)
    if isinstance(query, wq.And | wq.Or):
        parts = [_compiled(child, whole=whole) for child in query.children()]
        words = [p.tsquery for p in parts if isinstance(p, _Words)]
        rest = [p for p in parts if not isinstance(p, _Words)]
        joined = (" & " if isinstance(query, wq.And) else " | ").join(f"({w})" for w in words)
        if not rest:
            return _Words(joined)
        both = [*rest, *([_where(_Words(joined))] if words else [])]
        return and_(*both) if isinstance(query, wq.And) else or_(*both)
    if query is wq.NullQuery:
        return false()
    if isinstance(query, wq.Every):
        return true()
    raise TypeError(f"the PostgreSQL backend cannot run {query!r}")


def _leaf(query: wq.Term | wq.Prefix | wq.Phrase) -> str:
    if isinstance(query, wq.Prefix):
        return _lexeme(query.fieldname, query.text) + ":*"
    if isinstance(query, wq.Term):
        return _lexeme(query.fieldname, query.text)
    field, words = query.fieldname, query.words
    offsets = getattr(query, "offsets", range(len(words)))
    parts = [_lexeme(field, words[0])]
    for word, before, at in zip(words[1:], offsets, offsets[1:], strict=False):
        parts.append(f"<{at - before}> {_lexeme(field, word)}")
    common = common_words()
    pairs = [_lexeme(field, a + PAIR_SEPARATOR + b)
             for a, b, before, at in zip(words, words[1:], offsets, offsets[1:], strict=False)
             if at == before + 1 and a in common and b in common]
    if len(words) == 2 and pairs:  # the pair is the phrase
        return pairs[0]
    # The pairs narrow the phrase down to the few messages where its places are checked.
    return " & ".join([*pairs, f"({' '.join(parts)})"])


def _anywhere(tsquery: str):
    """A word or phrase found in a document's ``words`` or in one of its stretches."""
    d, c = document_table, chunk_table
    q = _tsquery(tsquery)
    in_stretch = select(literal(1)).where(c.c.message_id == d.c.message_id, c.c.words.op("@@")(q)).exists()
    return or_(d.c.words.op("@@")(q), in_stretch)


def _tsquery(written: str):
    return cast(literal(written, Text), TSQUERY)


def _dates(query: wq.DateRange):
    column = document_table.c.date
    conditions = [column.is_not(None)]
    start, end = query.startdate, query.enddate  # .start and .end are Whoosh's numbers for them
    if start is not None:
        conditions.append(column > start if query.startexcl else column >= start)
    if end is not None:
        conditions.append(column < end if query.endexcl else column <= end)
    return and_(*conditions)
