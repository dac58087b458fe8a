"""No customer link's token in any log line: the development server's request log, Flask's
error log, and gunicorn's access and error logs as the repository's gunicorn.conf.py writes
them, while an approver opens, approves, revokes and reads the log, and mistypes a link.
"""

from __future__ import annotations

import http.cookiejar
import logging
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import select

from app.access import grants
from app.extensions import db
from app.models import Account, Agent
from tests import factories
from tests.dovecot import free_port
from tests.parts import REPO
from tests.waiting import until

_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@dataclass
class Browser:
    """A person's browser over real HTTP: cookies kept, forms posted with their CSRF token."""

    base: str

    def __post_init__(self) -> None:
        cookies = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        self.opener = urllib.request.build_opener(cookies)

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base + path))

    def post_form(self, path: str, data: dict) -> tuple[int, str]:
        status, page = self.get(path)
        token = _CSRF.search(page).group(1)
        body = urllib.parse.urlencode({"csrf_token": token, **data}).encode()
        return self._open(urllib.request.Request(self.base + path, data=body))

    def _open(self, request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def customer_tokens(smtp_server, count: int) -> dict[str, str]:
    """Return {purpose: token} of the customer links in the newest of ``count`` emails."""
    body = smtp_server.wait_for(count)[count - 1].message().get_content()
    return dict(re.findall(r"/customer/(decide|revoke|log)/(\S+)", body))


def ask_for_access(app) -> str:
    """Have the sample agent ask the sample account's approver; return the decide link's token."""
    with app.app_context():
        session = db.session
        account = session.scalar(select(Account))
        agent = session.scalar(select(Agent).where(Agent.email == "agent@desk.example"))
        _, notices = grants.request_access(session, agent, account, "business", "The export misses March.",
                                           4, datetime.utcnow(), grants.AccessSettings())
        session.commit()
        return notices[0].links["decide"]


def world(app, smtp_server) -> None:
    with app.app_context():
        factories.account(db.session, "Leaky Widgets", domains=["leaky.example"],
                          approvers=["boss@leaky.example"])
        factories.agent(db.session, "agent@desk.example", name="Agent Person")
    app.config.update(SMTP_URL=smtp_server.url)


def use_every_customer_page(base: str, decide: str, smtp_server) -> list[str]:
    """Open, approve, revoke and read the log as the approver, and mistype one link; return the tokens."""
    approver = Browser(base)
    assert approver.get(f"/customer/decide/{decide}")[0] == 200
    assert approver.post_form(f"/customer/decide/{decide}", {"approve": "Approve", "hours": "4"})[0] == 200
    later = customer_tokens(smtp_server, 1)
    assert approver.get(f"/customer/log/{later['log']}")[0] == 200
    assert approver.post_form(f"/customer/revoke/{later['revoke']}", {})[0] == 200
    assert approver.get(f"/customer/decide/{decide[:-3]}xyz")[0] == 404
    return [decide, decide[:-3] + "xyz", later["log"], later["revoke"]]


def test_the_development_servers_request_lines_and_flask_errors_carry_no_token(
        web, live_server, smtp_server, caplog):
    caplog.set_level(logging.DEBUG)
    world(web, smtp_server)
    decide = ask_for_access(web)

    tokens = use_every_customer_page(live_server.url, decide, smtp_server)
    # A view that fails: Flask logs "Exception on <path>" (as in production, where it does not
    # hand the exception to the server), here through a clock that breaks.
    web.config["PROPAGATE_EXCEPTIONS"] = False
    web.extensions["clock"] = broken_clock
    assert Browser(live_server.url).get(f"/customer/log/{tokens[2]}")[0] == 500

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/customer/decide/[token]" in logged and "Exception on /customer/log/[token]" in logged
    for token in tokens:
        assert token not in logged and token not in caplog.text


def broken_clock() -> datetime:
    raise RuntimeError("the clock broke")


@pytest.fixture
def gunicorn(app, smtp_server, subprocess_env, tmp_path):
    """The application under gunicorn with the repository's gunicorn.conf.py, logging to files."""
    port = free_port()
    logs = {"access": tmp_path / "access.log", "error": tmp_path / "error.log"}
    env = {**subprocess_env, "SMTP_URL": smtp_server.url}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--access-logfile", str(logs["access"]), "--error-logfile", str(logs["error"])],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"

    def started() -> bool:
        # Its own word that it listens, then an answer: another process on the port would answer too.
        said = logs["error"].read_text() if logs["error"].exists() else ""
        return process.poll() is not None or (f"Listening at: {base}" in said and answers(base))

    if not until(started, 60) or process.poll() is not None:
        process.kill()
        pytest.fail(f"gunicorn did not start: {logs['error'].read_text() if logs['error'].exists() else ''}")
    yield base, logs
    process.terminate()
    process.wait(30)


def answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_gunicorn_with_the_documented_configuration_logs_requests_without_tokens_or_clients(
        app, smtp_server, gunicorn):
    base, logs = gunicorn
    world(app, smtp_server)
    decide = ask_for_access(app)

    tokens = use_every_customer_page(base, decide, smtp_server)

    requests = 7  # two GETs and a POST per form, a log page, and the mistyped link
    assert until(lambda: logs["access"].read_text().count("/customer/") >= requests, 60), \
        logs["access"].read_text()
    written = logs["access"].read_text() + logs["error"].read_text()
    assert '"GET /customer/decide/[token]" 200' in written
    assert '"POST /customer/revoke/[token]" 200' in written
    for token in tokens:
        assert token not in written
    assert "127.0.0.1" not in logs["access"].read_text() and "Python-urllib" not in written
