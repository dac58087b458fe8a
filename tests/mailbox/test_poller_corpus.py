"""Every message of the shared corpora, appended to Dovecot and polled: each archived byte
for byte, none stops the run, every quarantined one with a readable reason."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from app.models import Message, MessageLocation
from app.runtime import raw_store
from tests import factories
from tests.parts import corpus_folder


def multiappend(dovecot, raws: list[bytes], folder: str = "INBOX") -> None:
    with dovecot.client() as client:
        for start in range(0, len(raws), 200):
            client.multiappend(folder, raws[start:start + 200])


@pytest.mark.slow
def test_every_corpus_message_is_archived_byte_for_byte_and_none_stops_the_poll(
        session, cli, dovecot):
    files = sorted(corpus_folder("parser-tests").iterdir())
    files += sorted(corpus_folder("spamassassin").iterdir())
    files = [f for f in files if f.is_file()]
    # IMAP carries CRLF line endings: Dovecot stores and serves each file that way.
    sent = [factories.crlf(f.read_bytes()) for f in files]
    multiappend(dovecot, sent)
    factories.imap_mailbox(session, dovecot)

    result = cli("mailbox", "poll", "--once")

    assert result.exit_code == 0, result.output
    assert f"fetched {len(files)}," in result.output
    assert "errors 0" in result.output
    served = {uid: hashlib.sha256(m["raw"]).hexdigest() for uid, m in dovecot.fetch_all().items()}
    # IMAP literals cannot carry NUL (RFC 3501 section 4.3); Dovecot stores 0x80 instead.
    sent_hashes = {hashlib.sha256(raw.replace(b"\x00", b"\x80")).hexdigest() for raw in sent}
    archived = set(session.scalars(select(Message.sha256)))
    assert archived == set(served.values())
    # What the server serves is what was appended, so the archive holds the files' bytes.
    assert archived == sent_hashes
    assert session.scalar(select(func.count(MessageLocation.id))) == len(files)
    store = raw_store()
    assert all(store.verify(sha) is None for sha in archived)
    quarantined = session.scalars(select(Message).where(Message.quarantined.is_(True))).all()
    assert all(m.parse_error and len(m.parse_error) > 10 for m in quarantined)
    assert session.scalar(select(func.count(Message.id)).where(Message.indexed_at.is_(None))) == 0
