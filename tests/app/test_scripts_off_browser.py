"""An agent's day in headless Chromium with JavaScript turned off: sign in, take a ticket from
Unassigned, reply through a real SMTP server, add a note, change the status and search.
Every page is plain HTML and forms, so each step works and leaves what it should in the
database; a screenshot of each page is kept (``$DESK_SCREENSHOTS`` when set, else the
test's temporary folder).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import Ticket, TicketEvent
from tests import factories
from tests.app.test_manage_browser import LAPTOP, screenshot_folder
from tests.app.test_search_page import index_everything
from tests.browser import keep_on_loopback, sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)
from tests.conftest import BROWSER_TIMEOUT_MS

EMAIL = "sam@desk.example"
SUBJECT = "The export stops at the 14th"


@pytest.fixture
def page_without_scripts(browser):
    context = browser.new_context(java_script_enabled=False, viewport=LAPTOP)
    keep_on_loopback(context)
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture
def ticket_id(live_server, smtp_server):
    app = live_server.app
    app.config["SMTP_URL"] = smtp_server.url
    with app.app_context():
        factories.account(db.session, "Customer Co", domains=["customer.example"])
        factories.agent(db.session, EMAIL, name="Sam Agent")
        message = factories.archived(db.session, factories.message(1, subject=SUBJECT,
                                                                   body="The March export has no jobs."))
        return message.ticket_id


def test_an_agents_day_works_with_javascript_turned_off(page_without_scripts, live_server, ticket_id,
                                                        smtp_server, tmp_path):
    page = page_without_scripts
    shots = screenshot_folder(tmp_path)

    def shoot(name: str) -> None:
        page.screenshot(path=str(shots / f"scripts-off-{name}.png"), full_page=True)

    sign_in(page, live_server, EMAIL, factories.AGENT_PASSWORD)
    expect(page.locator("nav.nav")).to_contain_text("Tickets")
    shoot("signed-in")

    page.click("nav.tabs >> text=Unassigned")
    row = page.locator("tr", has=page.locator("a.ticket-link", has_text=SUBJECT))
    expect(row).to_contain_text("nobody")
    shoot("unassigned")
    row.get_by_role("button", name=f"Take ticket #{ticket_id}").click()
    expect(page.locator("main")).to_contain_text(f"#{ticket_id}")
    shoot("taken")

    page.goto(f"{live_server.url}/tickets/{ticket_id}")
    page.fill("#reply textarea", "Fixed: the export now runs to the end of the month.")
    page.click("#reply >> text=Send reply")
    expect(page.locator("main")).to_contain_text("Reply sent.")
    expect(page.locator(".message-outbound")).to_contain_text("Fixed: the export now runs to the end")
    assert smtp_server.wait_for(1)[0].message()["Subject"] == f"Re: {SUBJECT} [SD-{ticket_id}]"
    shoot("replied")

    page.fill("#note-text", "Customer confirmed on the phone that March is the only month affected.")
    page.click("text=Add note")
    expect(page.locator("main")).to_contain_text("March is the only month affected")
    shoot("noted")

    status = page.locator("form", has=page.locator("select[name=status]"))
    status.locator("select[name=status]").select_option("closed")
    status.locator("[type=submit]").click()
    expect(page.locator("select[name=status]")).to_have_value("closed")
    shoot("closed")

    index_everything(live_server.app)
    page.click("nav.nav >> text=Search")
    page.fill("#q", "export march")
    page.press("#q", "Enter")
    expect(page.locator("main")).to_contain_text(SUBJECT)
    assert "q=export+march" in page.url
    shoot("search")

    with live_server.app.app_context():
        ticket = db.session.get(Ticket, ticket_id)
        assert ticket.status == "closed" and ticket.assignee.email == EMAIL
        notes = [e.body for e in db.session.query(TicketEvent).filter_by(ticket_id=ticket_id) if e.body]
        assert notes == ["Customer confirmed on the phone that March is the only month affected."]
    assert live_server.errors == []
