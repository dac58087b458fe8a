"""Administration in headless Chromium: an administrator invites an agent, the agent opens the
link emailed through the loopback SMTP server, sets a password and signs in; an
administrator edits an account's contacts and approvers. Nothing is fetched from another
host, no script fails, and a screenshot of every administration page is kept (in
``$DESK_SCREENSHOTS`` when set, else in the test's temporary folder).
"""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import Account
from tests import factories
from tests.app.test_manage_browser import LAPTOP, screenshot_folder
from tests.browser import keep_on_loopback, record_requests, record_scripts, sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)

ADMIN = "admin@desk.example"
PASSWORD = "a pass phrase of my own"


@pytest.fixture
def desk(live_server, smtp_server):
    live_server.app.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=live_server.url)
    with live_server.app.app_context():
        factories.agent(db.session, ADMIN, name="Ada Admin", role="admin")
        factories.account(db.session, "Leaky Widgets", domains=["leaky.example"],
                          contacts=["ops@leaky.example"], approvers=["boss@leaky.example"])
    return live_server


def refused_nothing(notes) -> bool:
    """Say whether the console noted nothing but the refusals caused on purpose here (a form, a used link)."""
    return [text for _, text in notes if not re.search(r"status of (400|410)\b", text)] == []


def shoot(page, tmp_path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    shot = screenshot_folder(tmp_path) / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 5_000


def test_an_invited_agent_sets_a_password_from_the_emailed_link_and_signs_in(page, browser, desk, smtp_server,
                                                                             tmp_path):
    page.set_viewport_size(LAPTOP)
    scripts, requests = record_scripts(page), record_requests(page)
    sign_in(page, desk, ADMIN, factories.AGENT_PASSWORD)
    with page.expect_navigation():
        page.click("nav >> text=Administration")
    assert page.locator("h1").inner_text() == "Agents"
    assert page.locator('nav.admin-nav a[aria-current="page"]').inner_text() == "Agents"

    page.fill("form.invite input[name=email]", "not-an-address")
    page.fill("form.invite input[name=name]", "Nia Newcomer")
    with page.expect_navigation():
        page.click("form.invite [type=submit]")
    assert page.locator("#email-error").inner_text() == "'not-an-address' is not an email address."
    shoot(page, tmp_path, "admin-agents")
    page.fill("form.invite input[name=email]", "nia@desk.example")
    page.select_option("form.invite select[name=role]", "manager")
    with page.expect_navigation():
        page.click("form.invite [type=submit]")
    assert page.locator("h1").inner_text() == "Nia Newcomer"
    assert "nia@desk.example was invited" in page.locator(".notice-info").inner_text()
    shoot(page, tmp_path, "admin-agent")

    body = smtp_server.wait_for(1)[0].message().get_content()
    link = re.search(re.escape(desk.url) + r"/password/\S+", body).group(0)
    newcomer_context = browser.new_context()
    keep_on_loopback(newcomer_context)
    newcomer = newcomer_context.new_page()
    newcomer.set_viewport_size(LAPTOP)
    newcomer_scripts = record_scripts(newcomer)
    newcomer.goto(link)
    assert newcomer.locator("h1").inner_text() == "Set your password"
    shoot(newcomer, tmp_path, "set-password")
    newcomer.fill("input[name=password]", PASSWORD)
    newcomer.fill("input[name=repeat]", PASSWORD)
    with newcomer.expect_navigation():
        newcomer.click("form [type=submit]")
    assert "Your password is set" in newcomer.locator(".notice-info").inner_text()
    sign_in(newcomer, desk, "nia@desk.example", PASSWORD)
    assert "Signed in as Nia Newcomer (manager)" in newcomer.locator(".signout").inner_text()
    again = newcomer.goto(link)
    assert again.status == 410
    assert newcomer.locator("[role=alert]").inner_text().startswith("This link was used already")
    shoot(newcomer, tmp_path, "set-password-link-used")
    newcomer_context.close()

    assert requests.leaving_loopback() == [] and scripts.errors == [] and refused_nothing(scripts.notes)
    assert newcomer_scripts.errors == [] and refused_nothing(newcomer_scripts.notes)
    assert desk.errors == []


def test_an_administrator_edits_an_accounts_contacts_and_approvers(page, desk, tmp_path):
    page.set_viewport_size(LAPTOP)
    scripts, requests = record_scripts(page), record_requests(page)
    sign_in(page, desk, ADMIN, factories.AGENT_PASSWORD)
    page.goto(f"{desk.url}/admin/accounts")
    shoot(page, tmp_path, "admin-accounts")
    with page.expect_navigation():
        page.click("table.accounts >> text=Leaky Widgets")
    assert page.locator("h1").inner_text() == "Leaky Widgets"

    page.fill("form.add-domain input[name=domain]", "gmail.com")
    with page.expect_navigation():
        page.click("form.add-domain [type=submit]")
    assert page.locator("#domain-error").inner_text() == \
        "gmail.com is a public mail provider; add the people as contacts instead."
    page.fill("form.add-contact input[name=contact]", "cfo@leaky.example")
    page.check("form.add-contact input[name=approver]")
    with page.expect_navigation():
        page.click("form.add-contact [type=submit]")
    assert page.locator(".notice-info").inner_text() == "The contact was added."
    with page.expect_navigation():
        page.click('button[aria-label="Remove ops@leaky.example"]')
    page.uncheck('input[aria-label="boss@leaky.example may approve access requests"]')
    with page.expect_navigation():
        page.click("text=Save approvers")
    assert page.locator(".notice-info").inner_text() == "The approvers were saved."
    assert page.is_checked('input[aria-label="cfo@leaky.example may approve access requests"]')
    assert not page.is_checked('input[aria-label="boss@leaky.example may approve access requests"]')
    shoot(page, tmp_path, "admin-account")

    with desk.app.app_context():
        account = db.session.query(Account).filter_by(name="Leaky Widgets").one()
        assert [(c.email, c.is_approver) for c in account.contacts] == [("boss@leaky.example", False),
                                                                      ("cfo@leaky.example", True)]
    assert requests.leaving_loopback() == [] and scripts.errors == [] and refused_nothing(scripts.notes)
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    assert desk.errors == []
