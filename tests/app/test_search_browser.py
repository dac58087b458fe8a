"""The search page in headless Chromium: it renders with nothing leaving the machine and no
script error, and a screenshot is saved with the test run (in $DESK_SCREENSHOTS if set).
"""

from __future__ import annotations

import os
from pathlib import Path

from tests import factories
from tests.app import console_world
from tests.app.test_search_page import index_everything
from tests.browser import record_requests, record_scripts, sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)


def test_the_search_page_in_chromium_loads_nothing_from_elsewhere(page, live_server, tmp_path):
    console_world.build(live_server.app)
    index_everything(live_server.app)
    requests, scripts = record_requests(page), record_scripts(page)
    sign_in(page, live_server, "manager@desk.example", factories.AGENT_PASSWORD)
    page.goto(f"{live_server.url}/search?q=export")
    page.click("text=How to search")
    page.wait_for_load_state("networkidle")
    assert "message" in page.inner_text(".total") and page.locator("li.hit").count() >= 1
    assert page.locator(".help-body").is_visible()
    folder = Path(os.environ.get("DESK_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "search.png"), full_page=True)
    assert (folder / "search.png").stat().st_size > 10_000
    assert requests.leaving_loopback() == [] and scripts.nothing_ran and live_server.errors == []
