"""In headless Chromium: an agent filters the queue, ticks two rows and assigns them to a
colleague in one go. Nothing leaves the machine, no script fails, and a screenshot of the
queue is kept (in ``$DESK_SCREENSHOTS`` when set, else in the test's temporary folder).
"""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import TicketEvent
from tests import factories
from tests.app.test_manage_browser import LAPTOP, screenshot_folder
from tests.browser import record_requests, record_scripts, sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)


def test_an_agent_selects_two_rows_and_assigns_them_to_a_colleague(page, live_server, tmp_path):
    with live_server.app.app_context():
        factories.account(db.session, "Acme Plumbing", domains=["acme.example"])
        ids = [factories.archived(db.session, factories.message(n, sender="ann@acme.example",
                                                                subject=f"Export fails {n}")).ticket_id
               for n in range(1, 4)]
        factories.agent(db.session, "sam@desk.example", name="Sam Agent")
        factories.agent(db.session, "dana@desk.example", name="Dana Agent")
    page.set_viewport_size(LAPTOP)
    scripts, requests = record_scripts(page), record_requests(page)
    sign_in(page, live_server, "sam@desk.example", factories.AGENT_PASSWORD)
    page.goto(f"{live_server.url}/tickets?queue=all&status=open")
    page.fill("#filter-sender", "ANN@acme")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert "sender=ANN%40acme" in page.url

    page.check(f"#pick-{ids[0]}")
    page.check(f"#pick-{ids[2]}")
    page.select_option("#bulk-assignee", label="Dana Agent")
    with page.expect_navigation():
        page.click("#bulk input[name=assign]")
    page.locator("text=2 tickets assigned to Dana Agent.").wait_for()
    assert "sender=ANN%40acme" in page.url, "the queue comes back with its filters"
    page.screenshot(path=str(screenshot_folder(tmp_path) / "queue-bulk.png"), full_page=True)

    with live_server.app.app_context():
        history = db.session.execute(select(TicketEvent.ticket_id, TicketEvent.detail)
                                     .order_by(TicketEvent.ticket_id)).all()
    assert [tuple(row) for row in history] == [(ids[0], "assigned nobody → Dana Agent"),
                                               (ids[2], "assigned nobody → Dana Agent")]
    page.check("#bulk-all")  # the script ticks every row with it
    assert page.locator("input.bulk-pick:checked").count() == 3
    assert requests.leaving_loopback() == [] and scripts.nothing_ran and live_server.errors == []
