"""Two machines on one PostgreSQL database: the desk as several hosts run it.

Each "machine" has its own instance folder (no index folder and no raw files are shared)
and its own worker process; the web side of each is an application of its own in this
process, sharing nothing with the other but the database, as two web hosts would. The
search index (SEARCH_BACKEND=postgresql) and the raw messages (RAW_STORE=database) live
in the database. Mail that a worker on either machine polls is searched, read and
downloaded on both; checks pass on both; a customer's approval given on one is honoured
by the other; a scheduled notice is sent once; a worker killed with SIGKILL leaves its
folder to the other, and nothing is lost or archived twice.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import AccessRequest, Attachment, Message, MessageLocation, utcnow
from tests import factories
from tests.app import console_world
from tests.conftest import app_settings, fresh_schema
from tests.parts import REPO
from tests.waiting import OutputLines, until
from tests.web import sign_in, submit

DEADLINE = 60.0  # for a busy machine: each step takes seconds on a quiet one
PUBLIC = "http://desk.test"
LEASE = 6


class Machine:
    def __init__(self, name: str, url: str, tmp_path, smtp_url: str, past) -> None:
        self.name = name
        settings = app_settings(url, tmp_path / name, "postgresql") | {
            "RAW_STORE": "database", "SMTP_URL": smtp_url, "PUBLIC_URL": PUBLIC}
        self.web = create_app(settings)
        # The web side's clock stands two hours back, so that the grant it gives has ended
        # by the workers' clock: their scheduled job owes its notice now.
        self.web.extensions["clock"] = lambda: past
        self.env = {**os.environ, "FLASK_APP": "wsgi", "DATABASE_URL": url,
                    "DESK_INSTANCE_PATH": settings["INSTANCE_PATH"], "INDEX_PATH": settings["INDEX_PATH"],
                    "RAW_STORE_PATH": settings["RAW_STORE_PATH"], "SEARCH_BACKEND": "postgresql",
                    "RAW_STORE": "database", "SMTP_URL": smtp_url, "PUBLIC_URL": PUBLIC,
                    "POLL_INTERVAL_SECONDS": "2", "INDEX_INTERVAL_SECONDS": "1", "IMAP_IDLE": "0",
                    "ACCESS_TIDY_INTERVAL_SECONDS": "1", "LEASE_SECONDS": str(LEASE),
                    "IMAP_TIMEOUT_SECONDS": "10"}
        self.worker: subprocess.Popen | None = None
        self.output: OutputLines | None = None

    def start_worker(self) -> None:
        self.worker = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=REPO, env=self.env,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output = OutputLines(self.worker)
        self.output.wait_for("worker started", DEADLINE)

    def stop_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.terminate()
            self.worker.wait(30)

    def cli(self, *args: str):
        with self.web.app_context():
            return self.web.test_cli_runner().invoke(args=list(args))


@pytest.fixture
def machines(postgres_schema_url, tmp_path, smtp_server, dovecot):
    past = utcnow() - timedelta(hours=2)
    one, two = (Machine(name, postgres_schema_url, tmp_path, smtp_server.url, past)
                for name in ("one", "two"))
    fresh_schema(one.web)
    yield one, two
    for machine in (one, two):
        machine.stop_worker()
        with machine.web.app_context():
            db.engine.dispose()


def found(client, words: str) -> int:
    page = client.get("/search", query_string={"q": words}).text
    total = re.search(r"<strong>([\d,]+)</strong> messages? match", page)
    return int(total.group(1).replace(",", "")) if total else 0


def archived(web, word: str) -> dict[int, bytes]:
    with web.app_context():
        rows = db.session.execute(select(Message.id, Message.subject).where(Message.subject.contains(word)))
        return dict(rows.all())


def test_two_machines_share_the_archive_the_search_the_decisions_and_the_jobs(machines, dovecot, smtp_server):
    one, two = machines
    world = console_world.build(one.web)
    with one.web.app_context():
        factories.imap_mailbox(db.session, dovecot)
    one.start_worker()
    two.start_worker()
    agent_one, agent_two = (one.web.test_client(), two.web.test_client())
    for client in (agent_one, agent_two):
        assert sign_in(client, "agent@desk.example").status_code == 302

    sent = [factories.message(n, subject=f"Pump station {n} tripped", body=f"Station {n} tripped again.")
            for n in range(1, 4)]
    dovecot.append(sent)
    assert until(lambda: found(agent_two, "tripped") == 3, DEADLINE), "machine two does not find the mail"
    assert found(agent_one, '"pump station"') == 3
    for message_id, _ in archived(two.web, "Pump station").items():
        downloads = [c.get(f"/messages/{message_id}/raw") for c in (agent_one, agent_two)]
        assert [d.status_code for d in downloads] == [200, 200]
        assert downloads[0].data == downloads[1].data and downloads[0].data in sent
    # An attachment, read out of the raw message in the database, downloads on both machines.
    drawing = b"%PDF-1.4 pump station layout"
    dovecot.append([factories.html_message(9, html="<p>The layout, attached.</p>",
                                           attachments=(("layout.pdf", "application/pdf", drawing),))])
    assert until(lambda: found(agent_two, "filename:layout") == 1, DEADLINE), two.output.text
    with one.web.app_context():
        attachment = db.session.scalar(select(Attachment).where(Attachment.filename == "layout.pdf"))
    for client in (agent_one, agent_two):
        download = client.get(f"/messages/{attachment.message_id}/attachments/{attachment.id}")
        assert (download.status_code, download.data) == (200, drawing)
    for machine in (one, two):
        for check in (("archive", "verify"), ("search", "check")):
            result = machine.cli(*check)
            assert result.exit_code == 0, f"{machine.name} {check}: {result.output}"

    # Asked on machine one; approved by the customer through machine two; honoured by both.
    account = f"/accounts/{world.account_id}"
    submit(agent_one, account, f"{account}/access", {"scope": "both", "hours": "1", "reason": "Export check"})
    body = smtp_server.wait_for(1)[0].message().get_content()
    decide, = re.findall(re.escape(PUBLIC) + r"(/customer/decide/\S+)", body)
    customer = two.web.test_client()
    submit(customer, decide, decide, {"approve": "Approve", "hours": "1"})
    jobs = f"{account}/records/jobs"
    for client in (agent_one, agent_two):
        page = client.get(jobs)
        assert page.status_code == 200 and console_world.RECORD_STRINGS[0] in page.text

    # The grant has ended by the workers' clock: its notice is sent, by one of them, once.
    def noticed() -> bool:
        with one.web.app_context():
            ended = select(func.count()).where(AccessRequest.end_noticed_at.is_not(None))
            return db.session.scalar(ended) == 1

    assert until(noticed, DEADLINE), one.output.text + two.output.text
    ended = [m for m in smtp_server.wait_for(3) if "has ended" in m.message()["Subject"]]

    # Machine one's worker dies without a word; machine two polls its folder from now on.
    one.worker.send_signal(signal.SIGKILL)
    one.worker.wait(30)
    later = [factories.message(n, subject=f"Pump station {n} tripped", body=f"Station {n} tripped.")
             for n in (4, 5)]
    dovecot.append(later)
    assert until(lambda: found(agent_one, "tripped") == 5, DEADLINE + LEASE), two.output.text
    two.stop_worker()

    with one.web.app_context():
        assert db.session.scalar(select(func.count(Message.id)).where(Message.subject.contains("Pump"))) == 5
        places = db.session.execute(select(MessageLocation.uid).where(MessageLocation.uid.is_not(None)))
        uids = [uid for (uid,) in places]
    assert sorted(uids) == [1, 2, 3, 4, 5, 6]  # each message of the folder archived once
    assert len(ended) == 1
    assert len([m for m in smtp_server.wait_for(0) if "has ended" in m.message()["Subject"]]) == 1
