"""The poller under failure: killed mid-run, server restarted mid-poll, UIDVALIDITY changed.

Each ends with exactly the server's messages in the archive, none twice.
"""

from __future__ import annotations

import hashlib
import random
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select

from app.extensions import db
from app.models import MailboxFolder, Message, MessageLocation
from tests import factories
from tests.parts import REPO


def poll_process(env: dict, batch: int = 50) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "mailbox", "poll", "--once"],
        cwd=REPO, env={**env, "IMAP_FETCH_BATCH": str(batch)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def archived_count() -> int:
    db.session.rollback()  # read what the other process committed
    return db.session.scalar(select(func.count(Message.id)))


def assert_archive_is_exactly_the_server(dovecot, folder: str = "INBOX") -> None:
    on_server = dovecot.fetch_all(folder)
    expected = {hashlib.sha256(m["raw"]).hexdigest() for m in on_server.values()}
    db.session.rollback()
    archived = list(db.session.scalars(select(Message.sha256)))
    assert len(archived) == len(set(archived)), "a message was archived twice"
    assert set(archived) == expected
    located = db.session.execute(
        select(MessageLocation.uid, func.count()).where(MessageLocation.folder_id.is_not(None))
        .group_by(MessageLocation.uidvalidity, MessageLocation.uid)
    ).all()
    assert all(count == 1 for _, count in located), "a server position was recorded twice"


def test_a_poller_killed_at_random_moments_ends_with_exactly_the_servers_messages(
        session, dovecot, subprocess_env):
    dovecot.append([factories.message(n) for n in range(2000)])
    factories.imap_mailbox(session, dovecot)
    rng = random.Random(20261124)
    kills = []
    while len(kills) < 12:
        before = archived_count()
        proc = poll_process(subprocess_env)
        # Kill at a random moment after this run has committed something, so every
        # kill lands while messages are being archived.
        while proc.poll() is None and archived_count() == before:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.25))
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills.append(archived_count())
    assert len(kills) >= 10, f"the poll finished after only {len(kills)} kills: {kills}"
    assert kills[9] < 2000, f"the tenth kill came after archiving ended: {kills}"

    final = poll_process(subprocess_env)
    output, _ = final.communicate(timeout=300)
    assert final.returncode == 0, output

    assert archived_count() == 2000
    assert_archive_is_exactly_the_server(dovecot)


def test_dovecot_restarted_mid_poll_reports_the_error_and_the_next_poll_completes(
        session, dovecot, subprocess_env):
    dovecot.append([factories.message(n) for n in range(1500)])
    factories.imap_mailbox(session, dovecot)
    proc = poll_process(subprocess_env, batch=20)
    deadline = time.monotonic() + 60
    while archived_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    dovecot.stop()
    output, _ = proc.communicate(timeout=60)
    assert archived_count() < 1500, "the poll ended before the server stopped"

    assert proc.returncode == 1
    assert "errors 1" in output
    assert "Traceback" not in output
    assert "connection" in output.lower()
    db.session.rollback()
    folder = db.session.scalar(select(MailboxFolder))
    assert folder.last_error and "127.0.0.1" in folder.last_error

    dovecot.start()
    again = poll_process(subprocess_env)
    output, _ = again.communicate(timeout=120)
    assert again.returncode == 0, output
    assert archived_count() == 1500
    assert_archive_is_exactly_the_server(dovecot)
    db.session.rollback()
    assert db.session.scalar(select(MailboxFolder)).last_error is None


def test_a_recreated_folder_with_a_new_uidvalidity_archives_nothing_twice(session, cli, dovecot):
    messages = [factories.message(n) for n in range(30)]
    dovecot.append(messages, folder="Support")
    factories.imap_mailbox(session, dovecot, folders=("Support",))
    cli("mailbox", "poll", "--once")
    old_validity = session.scalar(select(MailboxFolder.uidvalidity))

    with dovecot.client() as client:
        client.delete_folder("Support")
    dovecot.append(messages + [factories.message(99)], folder="Support")
    result = cli("mailbox", "poll", "--once")

    session.rollback()
    new_validity = session.scalar(select(MailboxFolder.uidvalidity))
    assert new_validity != old_validity
    assert "UIDVALIDITY changed" in result.output
    assert "fetched 31, archived 1, duplicates 30" in result.output
    assert session.scalar(select(func.count(Message.id))) == 31
    # Every message keeps where it was seen before and where it is now.
    assert session.scalar(select(func.count(MessageLocation.id))) == 61
    assert_archive_is_exactly_the_server(dovecot, "Support")


def test_identical_bytes_in_two_folders_are_one_message_with_two_locations(session, cli, dovecot):
    raw = factories.message(7)
    dovecot.append([raw], folder="INBOX")
    dovecot.append([raw, raw], folder="Archive")
    factories.imap_mailbox(session, dovecot, folders=("INBOX", "Archive"))

    result = cli("mailbox", "poll", "--once")

    assert "support/INBOX: fetched 1, archived 1" in result.output
    assert "support/Archive: fetched 2, archived 0, duplicates 2" in result.output
    message = session.scalar(select(Message))
    assert message.sha256 == hashlib.sha256(raw).hexdigest()
    assert len(message.locations) == 3
