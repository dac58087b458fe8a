"""Privacy policy notices sent by real worker processes, on SQLite and PostgreSQL, to a real
SMTP server on loopback: two workers on one database email every company contact exactly
once; and a mail server that refuses at first leaves the notices failed, with the error
shown to managers, until a later run sends each one, once.

Each worker has an index folder of its own, as a worker on another machine would; no
mailbox is configured, so the workers' only work is the notices (every second). Both run
the sending job at once and share the notices between them, each claiming a row in the
database before sending it.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.models import PolicyNotice
from app.runtime import now
from app.services import policy
from tests import factories
from tests.parts import REPO
from tests.waiting import OutputLines, until
from tests.web import sign_in

DEADLINE = 60.0  # for a busy machine: a quiet one takes seconds


@pytest.fixture
def workers(subprocess_env, smtp_server, tmp_path):
    started: list[tuple[subprocess.Popen, OutputLines]] = []

    def start(name: str) -> OutputLines:
        env = {**subprocess_env, "INDEX_PATH": str(tmp_path / name / "index"), "SMTP_URL": smtp_server.url,
               "POLICY_NOTICE_INTERVAL_SECONDS": "1", "POLL_INTERVAL_SECONDS": "3600", "IMAP_IDLE": "0",
               "ACCESS_TIDY_INTERVAL_SECONDS": "3600"}
        proc = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        started.append((proc, OutputLines(proc)))
        return started[-1][1]

    def stop_all() -> str:
        """Stop every worker (each ends the run it is in first); return their output."""
        for proc, _ in started:
            proc.terminate()
        for proc, output in started:
            assert proc.wait(DEADLINE) == 0, output.text
        return "\n".join(output.text for _, output in started)

    start.stop_all = stop_all
    yield start
    for proc, _ in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def contacts_of(session, accounts: int, each: int) -> list[str]:
    addresses = []
    for a in range(accounts):
        mine = [f"contact{c}@company{a}.example" for c in range(each)]
        factories.account(session, f"Company {a}", domains=[f"company{a}.example"], contacts=mine)
        addresses += mine
    return addresses


def publish(session) -> int:
    version = policy.publish_version(session, "The new policy.", "Calls are recorded.",
                                     now().date() + timedelta(days=30), by=None, now=now(), notice_days=30)
    session.commit()
    return version.id


def unsent(session) -> int:
    session.rollback()  # see the workers' commits
    return session.scalar(select(func.count(PolicyNotice.id)).where(PolicyNotice.sent_at.is_(None)))


def test_two_workers_email_every_contact_exactly_once(session, workers, smtp_server):
    contacts = contacts_of(session, accounts=5, each=20)
    one, two = workers("one"), workers("two")
    for output in (one, two):
        output.wait_for("worker started", DEADLINE)

    publish(session)
    assert until(lambda: unsent(session) == 0, DEADLINE), one.text + two.text
    output = workers.stop_all()  # a run still going ends first: whatever it sent has arrived

    per_recipient = Counter(r for message in smtp_server.received for r in message.recipients)
    assert per_recipient == Counter(contacts), "each contact gets one notice"
    assert len(smtp_server.received) == len(contacts)
    rows = session.scalars(select(PolicyNotice)).all()
    assert all(row.attempts == 1 for row in rows), "no notice was claimed twice"
    assert "Traceback" not in output


def test_notices_the_mail_server_refused_are_shown_failed_then_sent_once_when_it_accepts(
        app, session, workers, smtp_server):
    contacts = contacts_of(session, accounts=1, each=3)
    factories.agent(session, "manager@desk.example", name="Mo Manager", role="manager")
    smtp_server.refuse_recipients()
    worker = workers("one")
    worker.wait_for("worker started", DEADLINE)
    version_id = publish(session)

    def failed() -> int:
        session.rollback()
        return session.scalar(select(func.count(PolicyNotice.id)).where(PolicyNotice.last_error.is_not(None)))

    assert until(lambda: failed() == 3, DEADLINE), worker.text
    manager = app.test_client()
    sign_in(manager, "manager@desk.example")
    page = manager.get(f"/manage/policy/{version_id}").text
    assert "failed<strong>3</strong>" in page and "sent<strong>0</strong>" in page
    for address in contacts:
        assert f"<td>{address}</td>" in page
    assert page.count("the mail server refused the recipient") == 3
    worker.wait_for("privacy policy notices wait, and are tried again", DEADLINE)
    assert smtp_server.received == []

    smtp_server.accept_recipients()
    assert until(lambda: unsent(session) == 0, DEADLINE), worker.text
    workers.stop_all()

    assert Counter(r for m in smtp_server.received for r in m.recipients) == Counter(contacts)
    rows = session.scalars(select(PolicyNotice)).all()
    assert all(row.attempts >= 2 and "refused the recipient" in row.last_error for row in rows)
    page = manager.get(f"/manage/policy/{version_id}").text
    assert "sent<strong>3</strong>" in page and "failed<strong>0</strong>" in page
