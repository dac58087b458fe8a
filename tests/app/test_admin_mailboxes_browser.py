"""Mailbox administration in headless Chromium, as an administrator works through it: the
list, adding a password mailbox against a real Dovecot, its page, the connection test,
choosing folders from the server's list, pausing; and adding a Microsoft 365 mailbox,
which shows its settings and the Connect button. A screenshot of each page is kept (in
``$DESK_SCREENSHOTS`` when set, else in the test's temporary folder).
"""

from __future__ import annotations

import pytest

from app.extensions import db
from tests import factories
from tests.app.test_manage_browser import LAPTOP, screenshot_folder
from tests.browser import record_requests, record_scripts, sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)
from tests.dovecot import USER


@pytest.fixture
def admin(live_server) -> str:
    with live_server.app.app_context():
        factories.agent(db.session, "admin@desk.example", name="Admin Person", role="admin")
    return "admin@desk.example"


class Shots:
    def __init__(self, page, folder) -> None:
        self.page, self.folder = page, folder

    def take(self, name: str) -> None:
        path = self.folder / f"mailboxes-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 5_000


def click(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def test_an_administrator_adds_tests_chooses_folders_of_and_pauses_a_password_mailbox(
        page, live_server, admin, dovecot, tmp_path):
    dovecot.append([factories.message(1)])
    dovecot.append([factories.message(2)], folder="Archive")
    page.set_viewport_size(LAPTOP)
    scripts, requests = record_scripts(page), record_requests(page)
    shots = Shots(page, screenshot_folder(tmp_path))
    sign_in(page, live_server, admin, factories.AGENT_PASSWORD)

    click(page, "nav >> text=Administration")
    click(page, "nav.admin-nav >> text=Mailboxes")
    assert page.locator("h1").inner_text() == "Mailboxes"
    shots.take("list-empty")
    click(page, "text=Add a mailbox")
    shots.take("choose-kind")
    click(page, "text=Password")
    page.fill("input[name=name]", "support")
    page.fill("input[name=username]", USER)
    page.fill("input[name=host]", "127.0.0.1")
    page.fill("input[name=port]", str(dovecot.port))
    page.select_option("select[name=security]", "none")
    page.fill("input[name=password_env]", factories.PASSWORD_ENV)
    shots.take("add-password")
    click(page, "form.mailbox-form button[type=submit], form.mailbox-form input[type=submit]")
    assert page.locator("h1").inner_text() == "Mailbox support"
    assert page.locator(".state").first.inner_text() == "active"
    shots.take("mailbox")

    click(page, "button:has-text('Test connection')")
    steps = page.locator("li.step")
    names = [s.split(":")[0] for s in steps.all_inner_texts()]
    assert names == ["DNS", "TCP", "TLS", "login", "folder INBOX"]
    assert page.locator("li.step-failed").count() == 0
    shots.take("connection-test")

    click(page, "text=Choose folders")
    assert page.locator("input[name=folder]").count() == 2
    page.check("input[name=folder][value=Archive]")
    shots.take("folders")
    click(page, "text=Save folders")
    assert "Added Archive" in page.locator(".notice").inner_text()
    assert page.locator("table.folders tbody tr").count() == 2

    click(page, "button:has-text('Pause')")
    assert page.locator(".state").first.inner_text() == "paused"
    assert page.locator("button:has-text('Resume')").count() == 1
    shots.take("paused")
    click(page, "nav >> text=Administration")
    click(page, "nav.admin-nav >> text=Mailboxes")
    assert page.locator("table.mailboxes td.state").inner_text() == "paused"
    shots.take("list")

    assert requests.leaving_loopback() == []
    assert scripts.errors == [] and scripts.notes == []
    assert live_server.errors == []


def test_an_administrator_adds_a_microsoft_365_mailbox_and_sees_its_settings_and_connect_button(
        page, live_server, admin, tmp_path):
    page.set_viewport_size(LAPTOP)
    scripts = record_scripts(page)
    shots = Shots(page, screenshot_folder(tmp_path))
    sign_in(page, live_server, admin, factories.AGENT_PASSWORD)

    page.goto(f"{live_server.url}/admin/mailboxes/new")
    click(page, "text=Microsoft 365")
    assert "IMAP.AccessAsUser.All" in page.locator("main").inner_text()
    assert page.locator("input[name=password_env]").count() == 0
    page.fill("input[name=name]", "m365")
    page.fill("input[name=username]", "help@corp.example")
    page.fill("input[name=client_id]", "11111111-2222-3333-4444-555555555555")
    page.fill("input[name=client_secret]", "the-client-secret")
    page.fill("input[name=tenant]", "corp.example")
    shots.take("add-microsoft")
    click(page, "form.mailbox-form [type=submit]")

    main = page.locator("main").inner_text()
    assert "Mailbox m365" in main and "outlook.office365.com:993" in main
    assert page.locator(".state").first.inner_text() == "not connected"
    assert "the-client-secret" not in page.content()
    shots.take("microsoft")
    # Connect sends the browser to Microsoft's sign-in for the tenant, with PKCE; the request is
    # stopped before it leaves the machine (tests.browser.keep_on_loopback).
    with page.expect_request(lambda r: r.url.startswith("https://login.microsoftonline.com/")) as sent:
        page.get_by_role("button", name="Connect", exact=True).click()
    address = sent.value.url
    assert address.startswith("https://login.microsoftonline.com/corp.example/oauth2/v2.0/authorize?")
    assert "client_id=11111111-2222-3333-4444-555555555555" in address
    assert "code_challenge_method=S256" in address and "offline_access" in address
    assert "the-client-secret" not in address
    assert scripts.errors == []
    assert live_server.errors == []
