"""Agents' notification emails sent by two real worker processes at once, on SQLite and
PostgreSQL, to a real SMTP server on loopback: each email leaves once.

Each worker has an index folder of its own, as a worker on another machine would; no
mailbox is configured, so the workers' only work is the notifications (every second).
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.models import Notification
from app.services import tickets
from tests import factories
from tests.parts import REPO
from tests.waiting import OutputLines, until

DEADLINE = 60.0  # for a busy machine: a quiet one takes seconds


@pytest.fixture
def workers(subprocess_env, smtp_server, tmp_path):
    started: list[tuple[subprocess.Popen, OutputLines]] = []

    def start(name: str) -> OutputLines:
        env = {**subprocess_env, "INDEX_PATH": str(tmp_path / name / "index"), "SMTP_URL": smtp_server.url,
               "NOTIFICATION_INTERVAL_SECONDS": "1", "POLL_INTERVAL_SECONDS": "3600", "IMAP_IDLE": "0",
               "ACCESS_TIDY_INTERVAL_SECONDS": "3600", "POLICY_NOTICE_INTERVAL_SECONDS": "3600"}
        proc = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        started.append((proc, OutputLines(proc)))
        return started[-1][1]

    def stop_all() -> str:
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


def unsent(session) -> int:
    session.rollback()  # see the workers' commits
    return session.scalar(select(func.count(Notification.id)).where(
        Notification.by_email.is_(True), Notification.email_sent_at.is_(None)))


def test_two_workers_email_each_notification_exactly_once(session, workers, smtp_server):
    factories.account(session)
    sam = factories.agent(session, "sam@desk.example", name="Sam Agent")
    team = [factories.agent(session, f"agent{n}@desk.example", name=f"Agent {n}") for n in range(4)]
    for n in range(40):
        ticket = factories.archived(session, factories.message(n)).ticket
        tickets.assign(session, ticket, sam, team[n % 4].id)
    session.commit()

    one, two = workers("one"), workers("two")
    assert until(lambda: unsent(session) == 0, DEADLINE), one.text + two.text
    output = workers.stop_all()

    per_recipient = Counter(r for message in smtp_server.received for r in message.recipients)
    assert per_recipient == Counter({f"agent{n}@desk.example": 10 for n in range(4)})
    assert all(row.attempts == 1 for row in session.scalars(select(Notification))), "none claimed twice"
    assert "Traceback" not in output
