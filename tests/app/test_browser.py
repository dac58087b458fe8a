"""Signing in through a real browser: Debian's Chromium, driven by Playwright, against the
application on a live HTTP server, with CSRF protection on as in production. Also shows
that the recorders later browser tests rely on see scripts and requests.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from app.auth.views import WRONG
from app.extensions import db
from tests import factories
from tests.browser import record_requests, record_scripts, sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)

EMAIL = "sam@desk.example"
PASSWORD = factories.AGENT_PASSWORD


@pytest.fixture
def sam(live_server):
    with live_server.app.app_context():
        return factories.agent(db.session, EMAIL, name="Sam Agent").id


def test_an_agent_signs_in_through_the_browser_and_sees_their_name(page, live_server, sam):
    scripts = record_scripts(page)

    response = sign_in(page, live_server, EMAIL, PASSWORD)

    assert response.status == 200 and urlsplit(page.url).path != "/login"
    assert "Signed in as Sam Agent (agent)" in page.inner_text("header")
    assert scripts.nothing_ran and live_server.errors == []


def test_a_wrong_password_in_the_browser_shows_the_error_and_signs_nobody_in(page, live_server, sam):
    response = sign_in(page, live_server, EMAIL, "not the password at all")

    assert response.status == 200 and page.url == f"{live_server.url}/login"
    assert page.inner_text('[role="alert"]') == WRONG
    assert page.locator("header form.signout").count() == 0
    assert page.input_value('input[name="password"]') == ""


def test_the_recorders_see_scripts_and_requests_and_nothing_leaves_the_machine(page, live_server):
    scripts = record_scripts(page)
    requests = record_requests(page)
    page.goto(f"{live_server.url}/login")
    page.goto("about:blank")  # a document without the application's Content-Security-Policy

    page.set_content('<img src="http://tracker.invalid/pixel.png">'
                     '<script>console.log("ran"); alert("hello")</script>')
    page.wait_for_load_state("networkidle")

    assert scripts.console == [("log", "ran")] and scripts.dialogs == [("alert", "hello")]
    assert [text.split(":")[0] for _, text in scripts.notes] == ["Failed to load resource"]
    assert requests.to(f"{live_server.url}/login") == [f"{live_server.url}/login"]
    assert requests.leaving_loopback() == ["http://tracker.invalid/pixel.png"]
    assert page.evaluate("document.querySelector('img').naturalWidth") == 0  # aborted, never loaded
