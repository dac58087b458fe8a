"""The queue's filters by sender and by words, as conditions on a query of tickets.

Both are plain database conditions, not searches of the index: the queue counts and
pages tickets, and a condition in the same query keeps every tab's count, the total and
the pages exact together, on SQLite and PostgreSQL alike, with nothing waiting for the
index to catch up. Matching is a case-insensitive substring, as an agent types part of
an address or a name, with every letter folded on both databases (PostgreSQL's
``lower``, and on SQLite ``desk_lower``, registered in ``app.extensions``, since SQLite's
own folds ASCII letters only). Every ticket is visible to every agent in the console, so
the filters narrow the queue's own scope and add no access rule of their own.
"""

from __future__ import annotations

from sqlalchemy import Text, and_, exists, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from app.models import Message, Ticket

MAX_FILTER_CHARS = 200
MAX_WORDS = 10


def clean_sender(text: str | None) -> str:
    """Return the sender filter as it is matched: trimmed, at most ``MAX_FILTER_CHARS``."""
    return (text or "").strip()[:MAX_FILTER_CHARS]


def clean_words(text: str | None) -> str:
    """Return the words filter as it is matched: at most ``MAX_WORDS`` words, single spaces."""
    return " ".join((text or "")[:MAX_FILTER_CHARS].split()[:MAX_WORDS])


class _Lower(FunctionElement):
    """Text in lower case, every letter folded: ``lower`` here, ``desk_lower`` on SQLite."""

    type = Text()
    name = "lower"
    inherit_cache = True


@compiles(_Lower)
def _lower(element, compiler, **kw) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(_Lower, "sqlite")
def _lower_sqlite(element, compiler, **kw) -> str:
    return f"desk_lower({compiler.process(element.clauses, **kw)})"


def _contains(column, text: str) -> ColumnElement[bool]:
    # The agent's text is matched literally: %, _ and \ are not LIKE's wildcards here.
    literal = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return _Lower(column).like(f"%{literal}%", escape="\\")


def from_sender(text: str) -> ColumnElement[bool]:
    """Match tickets with a message from the customer whose address or name contains ``text``."""
    return exists(select(Message.id).where(
        Message.ticket_id == Ticket.id, Message.direction == "inbound",
        or_(_contains(Message.from_addr, text), _contains(Message.from_name, text))))


def _has_word(word: str) -> ColumnElement[bool]:
    in_messages = exists(select(Message.id).where(
        Message.ticket_id == Ticket.id,
        or_(_contains(Message.subject, word), _contains(Message.body_text, word))))
    return or_(_contains(Ticket.subject, word), in_messages)


def with_words(text: str) -> ColumnElement[bool]:
    """Match tickets where each word is in the ticket's subject or in one of its messages' subject or text."""
    return and_(*(_has_word(word) for word in text.split()))


def filtered(query, sender: str, words: str):
    """Return ``query`` (of tickets) narrowed to the sender and the words, where given."""
    if sender:
        query = query.where(from_sender(sender))
    if words.split():
        query = query.where(with_words(words))
    return query
