"""The dashboard and the audit log in headless Chromium on a laptop-sized window: charts drawn
on the server as SVG, nothing fetched from another host, nothing refused by the
Content-Security-Policy, no script error, and a screenshot of each page kept by the run
(in ``$DESK_SCREENSHOTS`` when set, else in the test's temporary folder).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.extensions import db
from tests import factories
from tests.app.test_manage_dashboard import NOW, build_archive
from tests.browser import record_requests, record_scripts, sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)

LAPTOP = {"width": 1366, "height": 768}
CHARTS = 8


@pytest.fixture
def manager(live_server) -> str:
    live_server.app.extensions["clock"] = lambda: NOW
    with live_server.app.app_context():
        build_archive(db.session)
        factories.agent(db.session, "manager@desk.example", name="Manager Person", role="manager")
    return "manager@desk.example"


def screenshot_folder(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DESK_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_manager_sees_the_dashboard_as_svg_charts_with_nothing_fetched_elsewhere(page, live_server, manager,
                                                                                     tmp_path):
    page.set_viewport_size(LAPTOP)
    scripts = record_scripts(page)
    requests = record_requests(page)
    sign_in(page, live_server, manager, factories.AGENT_PASSWORD)

    with page.expect_navigation():
        page.click("nav >> text=Dashboard")
    page.wait_for_load_state("networkidle")

    charts = page.locator("svg.chart")
    assert charts.count() == CHARTS
    for i in range(CHARTS):
        box = charts.nth(i).bounding_box()
        assert box["width"] > 400 and box["x"] >= 0 and box["x"] + box["width"] <= LAPTOP["width"]
        assert charts.nth(i).locator("rect").count() > 0 and charts.nth(i).locator("title").count() > 0
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"], "no sideways scrolling"
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator(".state-failing").inner_text() == "failing"
    assert requests.leaving_loopback() == []
    assert scripts.errors == [] and scripts.dialogs == []
    assert scripts.notes == [], "nothing refused by the Content-Security-Policy (inline style, a font...)"
    assert live_server.errors == []
    shot = screenshot_folder(tmp_path) / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_a_manager_filters_the_audit_log_and_downloads_it(page, live_server, manager, tmp_path):
    page.set_viewport_size(LAPTOP)
    scripts = record_scripts(page)
    requests = record_requests(page)
    sign_in(page, live_server, manager, factories.AGENT_PASSWORD)
    page.goto(f"{live_server.url}/manage/audit")

    page.select_option("select[name=action]", "BREAK-GLASS opened")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert page.locator("table.audit tbody tr").count() == 1
    assert page.locator("tr.break-glass strong.alarm").inner_text() == "BREAK-GLASS opened"
    page.click("text=Download these entries as CSV")
    assert page.locator("h1").inner_text() == "Who is this export for?"
    with page.expect_download() as download:
        page.click("button:has-text('Download')")  # for the support team's own use, as checked
    assert download.value.suggested_filename.startswith("audit-log-")
    assert "BREAK-GLASS opened" in Path(download.value.path()).read_text(encoding="utf-8")

    page.goto(f"{live_server.url}/manage/audit")
    page.wait_for_load_state("networkidle")
    assert page.locator("table.audit tbody tr").first.inner_text().startswith("2026-03-04 12:00:00 UTC")
    assert requests.leaving_loopback() == [] and scripts.errors == [] and scripts.notes == []
    assert live_server.errors == []
    page.screenshot(path=str(screenshot_folder(tmp_path) / "audit-log.png"), full_page=True)
