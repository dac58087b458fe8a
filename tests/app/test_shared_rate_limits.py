"""Several web processes count failed sign-ins in one shared store (Redis), so that a client
sent from one process to another by the proxy does not start counting again. Two gunicorn
processes on the same database stand for two web machines."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from urllib.parse import urlencode

import pytest

from app import create_app
from app.extensions import db
from tests import factories
from tests.conftest import app_settings, fresh_schema
from tests.parts import REPO, redis_url
from tests.waiting import until

DEADLINE = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebProcess:
    def __init__(self, env: dict) -> None:
        self.base = f"http://127.0.0.1:{free_port()}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", self.base.removeprefix("http://")],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/healthz", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    def sign_in(self, email: str, password: str) -> int:
        """Sign in as a browser would, with a session and the form's CSRF token; return the status."""
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = opener.open(f"{self.base}/login", timeout=10).read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        form = urlencode({"csrf_token": token, "email": email, "password": password, "next": ""}).encode()
        try:
            with opener.open(f"{self.base}/login", data=form, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as refused:
            return refused.code

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


@pytest.fixture
def two_web_processes(tmp_path):
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    app = create_app(app_settings(url, tmp_path))
    fresh_schema(app)
    with app.app_context():
        factories.agent(db.session, "sam@desk.example")
        db.engine.dispose()
    env = {**os.environ, "DATABASE_URL": url, "DESK_INSTANCE_PATH": str(tmp_path / "instance"),
           "TWO_FACTOR_ROLES": "", "RATELIMIT_STORAGE_URI": redis_url(),
           # This test's own keys: other runs may share the Redis server.
           "RATELIMIT_KEY_PREFIX": f"desk-test-{uuid.uuid4().hex}"}
    processes = [WebProcess(env), WebProcess(env)]
    try:
        assert until(lambda: all(p.answers() for p in processes), DEADLINE), "gunicorn did not start"
        yield processes
    finally:
        for process in processes:
            process.stop()


def test_failed_sign_ins_on_one_web_process_count_on_the_other(two_web_processes):
    one, two = two_web_processes
    failures = [web.sign_in("sam@desk.example", f"wrong password {n}")
                for n, web in enumerate([one, two, one, two, one])]

    assert failures == [200] * 5
    assert two.sign_in("sam@desk.example", factories.AGENT_PASSWORD) == 429  # the limit holds across both
