"""The worker: new mail becomes searchable within seconds, and it is the only index writer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import func, select

from app.models import MailboxFolder, Message
from app.runtime import poll_settings, raw_store, search_index
from app.search.query import search_messages
from app.worker import watch_targets
from tests import factories
from tests.parts import REPO
from tests.waiting import OutputLines, until

WORKER_START_SECONDS = 60  # a deadline for a busy machine, not a wait


@pytest.fixture
def start_worker(session, dovecot, subprocess_env):
    factories.imap_mailbox(session, dovecot)
    started = []

    def start(**settings: str) -> tuple[subprocess.Popen, OutputLines]:
        """Start a worker; return once its first poll is done and, with IDLE, IDLE is listening."""
        # A long interval: only IMAP IDLE can bring a poll forward within a test.
        env = {**subprocess_env, "POLL_INTERVAL_SECONDS": "3600", "INDEX_INTERVAL_SECONDS": "1",
               **settings}
        proc = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output = OutputLines(proc)
        started.append(proc)
        # The worker holds the index writer role from before its first poll; the poll logs one
        # line per folder when it is done, and the IDLE watcher logs once it listens.
        output.wait_for("support/INBOX: fetched", WORKER_START_SECONDS)
        if env.get("IMAP_IDLE", "1") != "0":
            output.wait_for("IDLE on support/INBOX", WORKER_START_SECONDS)
        return proc, output

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(15)


@pytest.fixture
def worker(start_worker):
    return start_worker()[0]


def hits(words: str) -> int:
    return search_messages(search_index(), words).total


def test_mail_arriving_while_the_worker_runs_is_found_by_search_within_seconds(dovecot, worker):
    dovecot.append([factories.message(1, subject="Pelican invoices vanish", body="zebrafish")])

    assert until(lambda: hits("zebrafish"), 60) and hits("zebrafish") == 1
    assert worker.poll() is None


def test_a_second_worker_refuses_to_start_while_one_runs(worker, subprocess_env):
    second = subprocess.run([sys.executable, "-m", "flask", "worker"], cwd=REPO,
                            env=subprocess_env, capture_output=True, text=True, timeout=30)
    assert second.returncode == 1
    assert "another worker is already running" in second.stderr.lower()
    assert "Traceback" not in second.stderr


def test_a_one_off_poll_leaves_indexing_to_the_running_worker(dovecot, start_worker,
                                                               subprocess_env):
    start_worker(IMAP_IDLE="0")  # so the one-off poll, not the worker, fetches the mail
    dovecot.append([factories.message(n, body="quokka") for n in range(3)])
    poll = subprocess.run([sys.executable, "-m", "flask", "mailbox", "poll", "--once"], cwd=REPO,
                          env=subprocess_env, capture_output=True, text=True, timeout=120)
    assert poll.returncode == 0, poll.stderr
    assert "fetched 3, archived 3" in poll.stdout
    assert "the worker indexed the new messages" in poll.stderr
    # --once returns only when what it fetched is searchable.
    found = subprocess.run([sys.executable, "-m", "flask", "search", "quokka", "--json"],
                           cwd=REPO, env=subprocess_env, capture_output=True, text=True)
    assert json.loads(found.stdout)["total"] == 3


def test_the_worker_removes_what_a_killed_write_left_in_the_raw_store_and_nothing_newer(start_worker):
    folder = raw_store().root / "ab" / "cd"
    folder.mkdir(parents=True, exist_ok=True)
    left, fresh = folder / ".incoming-left", folder / ".incoming-fresh"
    left.write_bytes(b"From: half a messa")
    fresh.write_bytes(b"being written by an import")
    two_hours_ago = time.time() - 7200
    os.utime(left, (two_hours_ago, two_hours_ago))

    _proc, output = start_worker(IMAP_IDLE="0")

    assert "removed 1 half-written raw file(s) left by an interrupted write" in output.text
    assert not left.exists() and fresh.exists()


def test_a_worker_stopped_mid_poll_ends_after_its_batch_and_the_next_poll_archives_the_rest(
        session, dovecot, subprocess_env, cli):
    dovecot.append([factories.message(n) for n in range(400)])
    factories.imap_mailbox(session, dovecot)
    env = {**subprocess_env, "IMAP_FETCH_BATCH": "2", "IMAP_IDLE": "0", "POLL_INTERVAL_SECONDS": "3600"}
    proc = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = OutputLines(proc)
    try:
        assert until(lambda: archived(session) >= 10, WORKER_START_SECONDS), output.text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(WORKER_START_SECONDS) == 0
    finally:
        proc.kill()
    output.wait_for("worker stopped", WORKER_START_SECONDS)

    assert "stopping: running jobs end after their current batch" in output.text
    assert "stopped early: the worker is stopping; the rest waits for the next poll" in output.text
    assert "Traceback" not in output.text
    folder = session.scalar(select(MailboxFolder))
    session.refresh(folder)
    stopped_at = archived(session)
    assert 10 <= stopped_at < 400
    assert folder.checkpoint_uid == stopped_at  # the checkpoint covers exactly what was archived
    assert folder.lease_owner is None  # given back, not left to expire

    rest = cli("mailbox", "poll", "--once")
    assert f"fetched {400 - stopped_at}, archived {400 - stopped_at}, duplicates 0" in rest.output
    assert archived(session) == 400


def archived(session) -> int:
    session.rollback()  # see the worker's commits
    return session.scalar(select(func.count(Message.id)))


def test_each_watched_folder_waits_on_a_connection_of_its_own(session, dovecot):
    """Two folders of one mailbox are watched by two threads at once, each told of its own mail."""
    dovecot.append([factories.message(1)], folder="Archive")
    factories.imap_mailbox(session, dovecot, folders=("INBOX", "Archive"))
    targets = watch_targets(session, poll_settings())
    assert [(m, f) for m, f, _ in targets] == [("support", "INBOX"), ("support", "Archive")]
    assert targets[0][2] is not targets[1][2]
    ready, told = threading.Barrier(3), {}

    def watch(folder: str, source) -> None:
        with source:
            source.wait_for_change(folder, 0)  # opens the folder: watching starts here
            ready.wait(30)
            told[folder] = source.wait_for_change(folder, 30)

    threads = [threading.Thread(target=watch, args=(f, s)) for _, f, s in targets]
    for thread in threads:
        thread.start()
    ready.wait(30)
    dovecot.append([factories.message(2)])
    dovecot.append([factories.message(3)], folder="Archive")
    for thread in threads:
        thread.join(60)

    assert told == {"INBOX": True, "Archive": True}
