"""An agent's whole day in headless Chromium, on real parts: mail polled off a Dovecot the test
starts, replies through an SMTP server on loopback, and the application's clock injected so
that a response target can fall due while the test watches.

Sam signs in to an empty Mine, follows it to Unassigned and takes a ticket; replies with a
saved reply above the quoted message and a file, which the SMTP server receives and the
archive keeps byte for byte; is notified when the customer's answer is polled; merges two
tickets from the same customer after the preview and undoes it from the history; and sees the
ticket nobody answered go overdue. The same day runs twice: with scripts on, and with
JavaScript turned off, where every step is a plain form or link. A screenshot of each page is
kept (in ``$DESK_SCREENSHOTS`` when set, else in the test's temporary folder).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.utils import make_msgid

import pytest

from app.extensions import db
from app.models import Message, Ticket
from app.runtime import raw_store
from app.services import saved_replies, targets
from app.services.targets import TargetForm
from tests import factories
from tests.app.test_manage_browser import LAPTOP, screenshot_folder
from tests.browser import keep_on_loopback, record_requests, record_scripts, sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)
from tests.conftest import BROWSER_TIMEOUT_MS

EMAIL = "sam@desk.example"
# factories.message(n) is dated 2026-01-01 07:00 UTC plus n minutes: the day starts just after.
MORNING = datetime(2026, 1, 1, 7, 30)
ALWAYS_OPEN = ((False, "00:00", "24:00"),) * 7
# A few bytes no text encoding would leave alone: the archive must keep them exactly.
STEPS = b"%PDF-1.4\n\x00\xff\xfe binary steps to reproduce \x80\x81\n%%EOF\n"


class Clock:
    """The application's clock: it moves only when the test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=[True, False], ids=["scripts-on", "scripts-off"])
def day_page(browser, request):
    """A fresh browser context with JavaScript on or off, and one page in it, kept on loopback."""
    context = browser.new_context(java_script_enabled=request.param, viewport=LAPTOP)
    keep_on_loopback(context)
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    yield context.new_page(), request.param
    context.close()


def test_an_agents_day_from_an_empty_queue_to_an_overdue_ticket(day_page, live_server, dovecot, smtp_server,
                                                                 tmp_path):
    page, scripts_on = day_page
    mode = "scripts-on" if scripts_on else "scripts-off"
    app = live_server.app
    app.config["SMTP_URL"] = smtp_server.url
    app.extensions["clock"] = clock = Clock(MORNING)
    with app.app_context():
        factories.account(db.session, "Customer Co", domains=["customer.example"],
                          contacts=["alice@customer.example", "bob@customer.example"])
        sam = factories.agent(db.session, EMAIL, name="Sam Agent")
        text = "Hello {customer_name}, ticket {ticket_number} is fixed. {agent_name}"
        saved_replies.create(db.session, sam, "Fixed", text, True, MORNING)
        targets.save_targets(db.session, None, TargetForm("1 h", "1 h", "UTC", ALWAYS_OPEN),
                             by=None, now=MORNING)
        factories.imap_mailbox(db.session, dovecot)
        db.session.commit()
        sam_id = sam.id
    dovecot.append([
        factories.message(1, sender="Alice <alice@customer.example>", subject="The export stops at the 14th"),
        factories.message(2, sender="Bob <bob@customer.example>", subject="Invoice totals are wrong"),
        factories.message(3, sender="Bob <bob@customer.example>", subject="Invoices, again",
                          body="I wrote about this before; here it is again."),
    ])
    poll(live_server)
    with app.app_context():
        export, invoices, again = (db.session.query(Message).filter_by(subject=s).one().ticket_id
                                   for s in ("The export stops at the 14th", "Invoice totals are wrong",
                                             "Invoices, again"))
    folder = screenshot_folder(tmp_path)
    scripts, requests = record_scripts(page), record_requests(page)

    # An empty Mine says where the work is; one click takes a ticket.
    sign_in(page, live_server, EMAIL, factories.AGENT_PASSWORD)
    page.goto(f"{live_server.url}/tickets")
    assert "Nothing is assigned to you, but 3 open tickets wait for someone" in page.inner_text("main")
    page.screenshot(path=str(folder / f"day-1-empty-mine-{mode}.png"), full_page=True)
    with page.expect_navigation():
        page.click("text=see the unassigned tickets")
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 3
    assert "Alice" in rows.filter(has_text="The export stops").inner_text()
    page.screenshot(path=str(folder / f"day-2-unassigned-{mode}.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name=f"Take ticket #{export}").click()
    with app.app_context():
        assert db.session.get(Ticket, export).assignee_id == sam_id

    # The reply: a saved reply, filled in, above the quoted message, with a file.
    page.goto(f"{live_server.url}/tickets/{export}")
    page.select_option("#saved-reply", label="Fixed")
    if scripts_on:  # r puts the cursor at the top of the box, and Insert puts the reply there
        page.keyboard.press("r")
        page.click("form[data-saved-replies] >> text=Insert")
    else:  # Insert reloads the page with the box starting with the saved reply
        with page.expect_navigation():
            page.click("form[data-saved-replies] >> text=Insert")
    box = page.input_value("#reply textarea[name=body]")
    assert box.startswith(f"Hello Alice, ticket {export} is fixed. Sam Agent")
    assert "\n> " in box, "the reply quotes the message it answers"
    page.set_input_files("#reply input[type=file]",
                         files=[{"name": "steps.pdf", "mimeType": "application/pdf", "buffer": STEPS}])
    page.screenshot(path=str(folder / f"day-3-reply-{mode}.png"), full_page=True)
    with page.expect_navigation():
        page.click("#reply >> text=Send reply")
    assert "Reply sent." in page.inner_text("main")
    sent = smtp_server.wait_for(1)[0].message()
    assert [part.get_content() for part in sent.iter_attachments()] == [STEPS]
    with app.app_context():
        reply = db.session.query(Message).filter_by(ticket_id=export, direction="outbound").one()
        archived = message_from_bytes(raw_store().get(reply.sha256), policy=policy.default)
        kept = [(part.get_filename(), part.get_content()) for part in archived.iter_attachments()]
        assert kept == [("steps.pdf", STEPS)]
    assert "steps.pdf" in page.inner_text(".message-outbound")

    # The customer answers; the poller threads it back, and Sam is told.
    answer = factories.message(4, sender="Alice <alice@customer.example>", subject=f"Re: {sent['Subject']}",
                               body="Works now, thanks!", message_id=make_msgid(domain="customer.example"),
                               in_reply_to=sent["Message-ID"], references=[sent["Message-ID"]])
    dovecot.append([answer])
    poll(live_server)
    page.goto(f"{live_server.url}/notifications")
    assert page.locator("nav .badge").first.inner_text().startswith("1")
    told = page.locator("table.notifications tbody tr.unread")
    assert told.count() == 1 and f"Alice answered ticket #{export}" in told.inner_text()
    page.screenshot(path=str(folder / f"day-4-notified-{mode}.png"), full_page=True)
    with page.expect_navigation():
        told.get_by_role("link").click()
    assert "Works now, thanks!" in page.inner_text(".thread")

    # Bob wrote twice: the second ticket goes into the first, after the preview, and comes back.
    page.goto(f"{live_server.url}/tickets/{again}")
    page.get_by_label("Merge this ticket into ticket").fill(str(invoices))
    with page.expect_navigation():
        page.get_by_role("button", name="Merge…").click()
    assert "Invoices, again" in page.locator("table.preview-table").inner_text()
    page.screenshot(path=str(folder / f"day-5-merge-preview-{mode}.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="Merge the tickets").click()
    assert page.url == f"{live_server.url}/tickets/{invoices}"
    assert page.locator("article.message").count() == 2
    page.screenshot(path=str(folder / f"day-6-merged-{mode}.png"), full_page=True)
    with page.expect_navigation():
        page.locator("section.history").get_by_role("button", name="Undo").click()
    assert page.locator("article.message").count() == 1
    with app.app_context():
        assert db.session.query(Message).filter_by(ticket_id=again).count() == 1
        assert db.session.get(Ticket, again).merged_into_id is None
    page.screenshot(path=str(folder / f"day-7-undone-{mode}.png"), full_page=True)

    # Nobody answered Bob: within the hour it is due, past it the queue shows it overdue.
    due_queue = f"{live_server.url}/tickets?queue=unassigned&sort=due"
    page.goto(due_queue)
    first = page.locator("table.queue tbody tr").first
    assert "Invoice totals are wrong" in first.inner_text() and "Overdue" not in first.inner_text()
    clock.now += timedelta(hours=2)
    page.goto(due_queue)
    first = page.locator("table.queue tbody tr").first
    assert "Invoice totals are wrong" in first.inner_text()
    assert "overdue" in (first.get_attribute("class") or "")
    assert "Overdue by" in first.inner_text()
    page.screenshot(path=str(folder / f"day-8-overdue-{mode}.png"), full_page=True)

    page.wait_for_load_state("networkidle")
    assert requests.leaving_loopback() == [] and scripts.errors == []
    assert live_server.errors == []


def poll(live_server) -> None:
    result = live_server.app.test_cli_runner().invoke(args=["mailbox", "poll", "--once"])
    assert result.exit_code == 0, result.output
