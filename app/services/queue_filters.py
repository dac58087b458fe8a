"""The queue's filters by sender and by words, as conditions on a query of tickets.

Both are plain database conditions, not searches of the index: the queue counts and
pages tickets, and a condition in the same query keeps every tab's count, the total and
the pages exact together, on SQLite and PostgreSQL alike, with nothing waiting for the
index to catch up. Matching is a case-insensitive substring, as an agent types part of
an address or a name; on SQLite only ASCII letters fold case (its ``lower``), on
PostgreSQL every letter does. Every ticket is visible to every agent in the console, so
the filters narrow the queue's own scope and add no access rule of their own.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from app.models import Message, Ticket

MAX_FILTER_CHARS = 200
MAX_WORDS = 10


def clean_sender(text: str | None) -> str:
    """Return the sender filter as it is matched: trimmed, at most ``MAX_FILTER_CHARS``."""
    return (text or "").strip()[:MAX_FILTER_CHARS]


def clean_words(text: str | None) -> str:
    """Return the words filter as it is matched: at most ``MAX_WORDS`` words, single spaces."""
    return " ".join((text or "")[:MAX_FILTER_CHARS].split()[:MAX_WORDS])


def _contains(column, text: str) -> ColumnElement[bool]:
    # The agent's text is matched literally: %, _ and \ are not LIKE's wildcards here.
    literal = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{literal}%", escape="\\")


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
