"""In headless Chromium: an agent merges two tickets after reading the preview, then undoes
the merge from the target's history, by keyboard-reachable forms alone. Nothing leaves the
machine, no script fails, and a screenshot of each step is kept (in ``$DESK_SCREENSHOTS``
when set, else in the test's temporary folder).
"""

from __future__ import annotations

from app.extensions import db
from app.models import Message, Ticket
from tests import factories
from tests.app.test_manage_browser import LAPTOP, screenshot_folder
from tests.browser import record_requests, record_scripts, sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)


def test_an_agent_merges_two_tickets_after_the_preview_and_undoes_it(page, live_server, tmp_path):
    with live_server.app.app_context():
        factories.account(
            db.session, "Acme Plumbing", domains=["acme.example"], contacts=["ann@acme.example"]
        )
        source = factories.archived(
            db.session, factories.message(1, sender="ann@acme.example", subject="Export fails")
        ).ticket_id
        target = factories.archived(
            db.session, factories.message(2, sender="ann@acme.example", subject="Export still fails")
        ).ticket_id
        factories.agent(db.session, "sam@desk.example", name="Sam Agent")
    folder = screenshot_folder(tmp_path)
    page.set_viewport_size(LAPTOP)
    scripts, requests = record_scripts(page), record_requests(page)
    sign_in(page, live_server, "sam@desk.example", factories.AGENT_PASSWORD)
    page.goto(f"{live_server.url}/tickets/{source}")

    page.get_by_label("Merge this ticket into ticket").fill(str(target))
    with page.expect_navigation():
        page.get_by_role("button", name="Merge…").click()
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == f"Merge ticket #{source} into ticket #{target}?"
    table = page.locator("table.preview-table").inner_text()
    assert "Export fails" in table and "Export still fails" in table and "Acme Plumbing" in table
    assert "different accounts" not in page.content()
    page.screenshot(path=str(folder / "merge-preview.png"), full_page=True)

    with page.expect_navigation():
        page.get_by_role("button", name="Merge the tickets").click()
    assert page.url == f"{live_server.url}/tickets/{target}"
    assert f"Ticket {source} merged into this one." in page.locator("p.notice").first.inner_text()
    assert page.locator("article.message").count() == 2
    history = page.locator("section.history")
    assert f"ticket {source} merged here: 1 message and its history" in history.inner_text()
    page.screenshot(path=str(folder / "merge-done.png"), full_page=True)

    undo = history.get_by_role("button", name="Undo")
    assert undo.count() == 1
    undo.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert (
        f"Undone: ticket {source} merged into ticket {target}." in page.locator("p.notice").first.inner_text()
    )
    assert page.locator("article.message").count() == 1
    assert "undone by Sam Agent" in page.locator("section.history").inner_text()
    page.screenshot(path=str(folder / "merge-undone.png"), full_page=True)
    with live_server.app.app_context():
        ticket = db.session.get(Ticket, source)
        assert (ticket.status, ticket.merged_into_id) == ("open", None)
        assert db.session.query(Message).filter_by(ticket_id=source).count() == 1
    page.wait_for_load_state("networkidle")
    assert requests.leaving_loopback() == [] and scripts.errors == [] and scripts.notes == []
    assert live_server.errors == []
