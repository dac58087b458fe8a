"""The poller against a real Dovecot: exactly the server's messages, byte for byte."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from app.models import Message, MessageLocation
from app.runtime import raw_store
from tests import factories


def archived_hashes(session) -> list[str]:
    return list(session.scalars(select(Message.sha256).order_by(Message.sha256)))


def test_five_hundred_messages_are_archived_byte_for_byte_and_a_second_poll_adds_nothing(
        session, cli, dovecot):
    sent = [factories.message(n) for n in range(500)]
    dovecot.append(sent)
    factories.imap_mailbox(session, dovecot)

    first = cli("mailbox", "poll", "--once")
    assert first.exit_code == 0, first.output
    assert "fetched 500, archived 500, duplicates 0, quarantined 0, errors 0" in first.output

    expected = sorted(hashlib.sha256(raw).hexdigest() for raw in sent)
    assert archived_hashes(session) == expected
    store = raw_store()
    assert all(hashlib.sha256(store.get(sha)).hexdigest() == sha for sha in expected)

    second = cli("mailbox", "poll", "--once")
    assert "fetched 0, archived 0" in second.output
    assert session.scalar(select(func.count(Message.id))) == 500
    assert session.scalar(select(func.count(MessageLocation.id))) == 500


def test_polling_leaves_seen_flags_on_the_server_exactly_as_they_were(session, cli, dovecot):
    dovecot.append([factories.message(n) for n in range(5)], flags=[b"\\Seen"])
    dovecot.append([factories.message(n) for n in range(5, 12)])
    before = {uid: m["flags"] for uid, m in dovecot.fetch_all().items()}
    factories.imap_mailbox(session, dovecot)

    cli("mailbox", "poll", "--once")

    after = {uid: m["flags"] for uid, m in dovecot.fetch_all().items()}
    assert after == before
    assert sum(b"\\Seen" in flags for flags in after.values()) == 5
    assert session.scalar(select(func.count(Message.id))) == 12
