"""In headless Chromium: an agent logs a phone call with a file on a ticket, and a visitor
sends the contact form. Nothing leaves the machine, no script fails, and a screenshot of
each page is kept (in ``$DESK_SCREENSHOTS`` when set, else in the test's temporary folder).
"""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Attachment, Message
from tests import factories
from tests.app.test_manage_browser import LAPTOP, screenshot_folder
from tests.browser import keep_on_loopback, record_requests, record_scripts, sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)


def test_an_agent_logs_a_call_with_a_file_on_a_ticket(page, live_server, tmp_path):
    with live_server.app.app_context():
        factories.account(db.session, "Acme Plumbing", domains=["acme.example"],
                          contacts=["ann@acme.example"])
        ticket = factories.archived(db.session, factories.message(1, sender="ann@acme.example",
                                                                  subject="Export fails")).ticket_id
        factories.agent(db.session, "sam@desk.example", name="Sam Agent")
    notes = tmp_path / "call-notes.txt"
    notes.write_text("Row 500 of the export holds a NUL byte.\n")
    page.set_viewport_size(LAPTOP)
    scripts, requests = record_scripts(page), record_requests(page)
    sign_in(page, live_server, "sam@desk.example", factories.AGENT_PASSWORD)
    page.goto(f"{live_server.url}/tickets/{ticket}")

    form = page.locator("#log form")
    form.locator("select[name=channel]").select_option("phone")
    form.locator("select[name=direction]").select_option("inbound")
    form.locator("input[name=name]").fill("Ann Archer")
    form.locator("input[name=address]").fill("ann@acme.example")
    form.locator("input[name=happened_at]").fill("2026-01-05T10:30")
    form.locator("input[name=duration]").fill("15")
    form.locator("textarea[name=text]").fill("Ann called: the export stops at row 500.")
    form.locator("input[name=files]").set_input_files(str(notes))
    with page.expect_navigation():
        form.locator("button[type=submit]").click()

    entry = page.locator("article.message-entry")
    assert entry.count() == 1
    assert "Phone call" in entry.inner_text() and "15 min" in entry.inner_text()
    assert "logged by Sam Agent" in entry.inner_text()
    assert entry.locator("a", has_text="call-notes.txt").count() == 1
    assert "Phone call logged in ticket" in page.locator("p.notice").first.inner_text()
    with page.expect_download() as download:
        entry.locator("a", has_text="call-notes.txt").click()
    assert download.value.path().read_bytes() == notes.read_bytes()
    with live_server.app.app_context():
        call = db.session.scalar(select(Message).where(Message.channel == "phone"))
        assert call.ticket_id == ticket
        assert db.session.scalar(select(Attachment.size).where(Attachment.message_id == call.id)) == \
            notes.stat().st_size
    page.wait_for_load_state("networkidle")
    shot = screenshot_folder(tmp_path) / "ticket-logged-call.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert requests.leaving_loopback() == [] and scripts.errors == [] and scripts.notes == []
    assert live_server.errors == []


def test_a_visitor_sends_the_contact_form(browser, live_server, tmp_path):
    with live_server.app.app_context():
        factories.account(db.session, "Acme Plumbing", domains=["acme.example"],
                          contacts=["ann@acme.example"])
    context = browser.new_context(viewport=LAPTOP)
    keep_on_loopback(context)
    page = context.new_page()
    scripts, requests = record_scripts(page), record_requests(page)
    page.goto(f"{live_server.url}/contact")
    trap = page.locator("input[name=website]").bounding_box()
    assert trap is None or trap["x"] + trap["width"] <= 0, "people never see the robots' field"
    page.fill("input[name=name]", "Ann Archer")
    page.fill("input[name=address]", "ann@acme.example")
    page.fill("input[name=subject]", "Invoice copies")
    page.fill("textarea[name=text]", "Please send me copies of the March invoices.")
    shots = screenshot_folder(tmp_path)
    page.screenshot(path=str(shots / "contact-form.png"), full_page=True)
    page.dblclick("form [type=submit]")  # an impatient visitor: the form is sent twice
    # The second click may abort the first click's navigation: wait for where both lead.
    page.wait_for_url("**/contact/sent")
    page.wait_for_load_state()

    assert page.locator("h1").inner_text() == "Thank you"
    page.screenshot(path=str(shots / "contact-sent.png"), full_page=True)
    with live_server.app.app_context():
        [sent] = db.session.scalars(select(Message)).all()
        assert (sent.channel, sent.subject, sent.account.name) == ("form", "Invoice copies", "Acme Plumbing")
    assert requests.leaving_loopback() == [] and scripts.errors == [] and scripts.notes == []
    assert live_server.errors == []
    context.close()
