"""Freshness: a message appended to the IMAP server is found by the search page while the
worker runs, long before its next poll (issue 5).

The worker's poll interval is an hour here, so only IMAP IDLE can bring the poll forward:
the test follows the product's real path, append -> IDLE -> poll -> archive -> index ->
search. It waits for the hit with a deadline that only a failure reaches; how fast that
path is (seconds, on a quiet machine) is for a benchmark, not for a test on a busy one.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import select

from app.models import MailboxFolder
from tests import factories
from tests.parts import REPO
from tests.waiting import until
from tests.web import sign_in

DEADLINE = 60.0  # an hour before the next poll: only IDLE can bring the mail this soon


def found(client, word: str) -> int:
    """Return how many messages the search page says match ``word``."""
    page = client.get(f"/search?q={word}").text
    total = re.search(r"<strong>([\d,]+)</strong> messages? match", page)
    return int(total.group(1).replace(",", "")) if total else 0


def logins(dovecot) -> int:
    log = dovecot.root / "dovecot.log"
    return log.read_text(errors="replace").count("Login: user=<") if log.exists() else 0


@pytest.fixture
def worker(session, dovecot, subprocess_env):
    factories.imap_mailbox(session, dovecot)
    before = logins(dovecot)
    env = {**subprocess_env, "POLL_INTERVAL_SECONDS": "3600", "INDEX_INTERVAL_SECONDS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def ready() -> bool:
        # The first poll (at start) is done, and both it and the IDLE watcher have logged in.
        session.rollback()
        polled = session.scalar(select(MailboxFolder.last_success_at))
        return polled is not None and logins(dovecot) >= before + 2

    try:
        assert until(ready, DEADLINE), f"the worker did not start: {dovecot.log()}"
        yield proc
    finally:
        proc.terminate()
        output = proc.communicate(timeout=15)[0]
    assert "Traceback" not in output, output


def test_a_message_appended_to_the_server_is_found_by_the_search_page_without_waiting_for_a_poll(
        app, session, dovecot, worker):
    factories.agent(session, "sam@desk.example")
    client = app.test_client()
    sign_in(client, "sam@desk.example")
    word = "fresh" + uuid.uuid4().hex[:12]
    assert found(client, word) == 0
    dovecot.append([factories.message(1, subject="Freshness", body=f"The {word} arrived.")])

    assert until(lambda: found(client, word), DEADLINE), f"not found within {DEADLINE} s"
    assert found(client, word) == 1
    assert worker.poll() is None
