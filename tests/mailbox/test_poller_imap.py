"""The poller against a real Dovecot: exactly the server's messages, byte for byte."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
from datetime import timedelta

from sqlalchemy import func, select

from app.models import MailboxFolder, Message, MessageLocation, utcnow
from app.runtime import raw_store
from mailbox import poller
from tests import factories
from tests.waiting import until


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


def hold_lease(session, owner: str, left: timedelta = timedelta(seconds=50)) -> None:
    folder = session.scalar(select(MailboxFolder))
    folder.lease_owner, folder.lease_until = owner, utcnow() + left
    session.commit()


def test_a_folder_leased_by_a_live_poller_is_skipped_and_one_leased_by_a_dead_poller_is_taken_over(
        session, cli, dovecot):
    dovecot.append([factories.message(n) for n in range(3)])
    factories.imap_mailbox(session, dovecot)
    host = socket.gethostname()

    hold_lease(session, f"{host}:{os.getppid()}:live")
    skipped = cli("mailbox", "poll", "--once")
    assert f"skipped: another poller ({host}:{os.getppid()}:live) is working on this folder" in skipped.output
    assert session.scalar(select(func.count(Message.id))) == 0

    ended = subprocess.Popen(["true"])
    ended.wait()  # reaped: no process has this pid now
    hold_lease(session, f"{host}:{ended.pid}:dead")
    taken = cli("mailbox", "poll", "--once")
    assert "fetched 3, archived 3" in taken.output


def test_a_lease_held_on_another_machine_is_respected_until_it_ends_then_taken_over(session, cli, dovecot):
    dovecot.append([factories.message(n) for n in range(3)])
    factories.imap_mailbox(session, dovecot)
    elsewhere = "other-machine.example:4242:a1b2c3d4"  # a pid here says nothing about it

    hold_lease(session, elsewhere)
    status = json.loads(cli("mailbox", "status", "--no-server", "--json").output)
    assert status[0]["lease"].startswith(f"{elsewhere} until ")
    skipped = cli("mailbox", "poll", "--once")
    assert f"skipped: another poller ({elsewhere}) is working on this folder" in skipped.output

    hold_lease(session, elsewhere, left=timedelta(seconds=-1))  # it died and was not renewed
    taken = cli("mailbox", "poll", "--once")
    assert "fetched 3, archived 3" in taken.output
    assert json.loads(cli("mailbox", "status", "--no-server", "--json").output)[0]["lease"] is None


def test_a_poller_renews_its_lease_while_it_works_and_no_longer_once_done(session, dovecot):
    factories.imap_mailbox(session, dovecot)
    folder = session.scalar(select(MailboxFolder))
    lease = timedelta(seconds=0.6)
    assert poller._take_lease(session, folder, lease)
    taken_until = folder.lease_until

    def held_until():
        session.rollback()  # see the renewing thread's commits
        return session.scalar(select(MailboxFolder.lease_until))

    with poller._Renewing(session, folder.id, lease):
        assert until(lambda: held_until() > taken_until + lease, 20)  # renewed past its first end
    last = held_until()
    poller._release_lease(session, folder)
    assert last is not None and held_until() is None
