"""The audit log viewer: entries newest first with every column, break-glass made prominent,
filters by account, agent, action and days in the manager's time zone, pages, refusals of a
malformed filter, and the CSV export, which is itself written to the log and committed.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest
from sqlalchemy import select

from app.access import grants, links
from app.extensions import db
from app.models import Account, Agent, AuditEntry
from app.services import audit
from tests import factories
from tests.web import sign_in

NOW = datetime(2026, 3, 4, 12, 0)
SETTINGS = grants.AccessSettings()


def _entries(session) -> None:
    acme = factories.account(session, "Acme", domains=["acme.example"], approvers=["boss@acme.example"])
    bolt = factories.account(session, "Bolt", domains=["bolt.example"])
    sam = factories.agent(session, "sam@desk.example", name="Sam Agent")
    mia = factories.agent(session, "mia@desk.example", name="Mia Manager", role="manager")
    max_ = factories.agent(session, "max@desk.example", name="Max Manager", role="manager")
    request, notices = grants.request_access(session, sam, acme, "business", "Checking the export", 4,
                                             datetime(2026, 3, 1, 8, 0), SETTINGS)
    token = links.find_token(session, notices[0].links["decide"], "decide", datetime(2026, 3, 1, 23, 30))
    grants.decide(session, token, True, None, datetime(2026, 3, 1, 23, 30), SETTINGS)
    glass = grants.break_glass(session, mia, bolt, "personal", "Payroll is failing for the whole company.",
                               datetime(2026, 3, 2, 10, 0))
    grants.confirm_break_glass(session, max_, glass, datetime(2026, 3, 2, 10, 5), grants.AccessSettings())
    grants.note_view(session, sam, request, "jobs", 7, datetime(2026, 3, 3, 9, 0))
    audit.append(session, "note", at=datetime(2026, 3, 3, 12, 0), detail='=HYPERLINK("http://evil.example")')
    session.commit()


@pytest.fixture
def site(web):
    web.extensions["clock"] = lambda: NOW
    with web.app_context():
        _entries(db.session)
        manager = factories.agent(db.session, "manager@desk.example", name="Manager Person", role="manager")
        manager.time_zone = "Europe/Paris"
        db.session.commit()
    return web


@pytest.fixture
def manager(site):
    client = site.test_client()
    assert sign_in(client, "manager@desk.example").status_code == 302
    return client


def ids(site) -> dict[str, int]:
    with site.app_context():
        found = dict(db.session.execute(select(Agent.email, Agent.id)).all())
        found.update(db.session.execute(select(Account.name, Account.id)).all())
        return found


def listed(client, query: str = "") -> list[str]:
    """Return the actions of the entries a page of the log shows, top to bottom."""
    page = client.get(f"/manage/audit{query}").get_data(as_text=True)
    return [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r'<td class="action">(.*?)</td>', page, re.S)]


def row_text(page: str, action: str) -> str:
    """Return the text of the table row of the entry with this action, without markup."""
    row = re.search(rf"<tr>\s*<td class=\"when\">(?:(?!</tr>).)*?{action}.*?</tr>", page, re.S).group(0)
    return re.sub(r"<[^>]+>", "", row)


def test_the_log_lists_entries_newest_first_with_every_column(manager):
    page = manager.get("/manage/audit").get_data(as_text=True)

    assert listed(manager) == ["note", "record viewed", "BREAK-GLASS opened", "BREAK-GLASS requested",
                               "access approved", "access requested"]
    approved = row_text(page, "access approved")
    assert "2026-03-02 00:30:00" in approved, "shown in the manager's time zone (Paris)"
    assert "boss@acme.example" in approved and "Acme" in approved and "#1" in approved
    viewed = row_text(page, "record viewed")
    assert "sam@desk.example" in viewed and "jobs 7" in viewed
    assert "6 entries · page 1 of 1" in page


def test_break_glass_entries_stand_out(manager):
    page = manager.get("/manage/audit").get_data(as_text=True)

    rows = re.findall(r'<tr class="break-glass">.*?</tr>', page, re.S)
    assert len(rows) == 2
    assert all('<strong class="alarm">BREAK-GLASS' in row for row in rows)


def test_filters_by_account_agent_action_and_days_in_the_managers_time_zone(site, manager):
    known = ids(site)

    assert listed(manager, f"?account={known['Bolt']}") == ["BREAK-GLASS opened", "BREAK-GLASS requested"]
    assert listed(manager, f"?agent={known['sam@desk.example']}") == ["record viewed", "access requested"]
    assert listed(manager, "?action=access+approved") == ["access approved"]
    # 23:30 UTC on 1 March is 00:30 on 2 March in Paris; 09:00 UTC on 3 March is 3 March there.
    assert listed(manager, "?from=2026-03-02&to=2026-03-02") == [
        "BREAK-GLASS opened", "BREAK-GLASS requested", "access approved"]
    assert listed(manager, "?from=2026-03-03") == ["note", "record viewed"]
    assert listed(manager, "?to=2026-03-01") == ["access requested"]
    assert listed(manager, f"?account={known['Acme']}&agent={known['sam@desk.example']}&from=2026-03-02") == [
        "record viewed"]
    assert listed(manager, "?action=no+such+action") == []


def test_pages_keep_the_filter_and_go_from_newest_to_oldest(site, manager):
    with site.app_context():
        db.session.scalar(select(Agent).where(Agent.email == "manager@desk.example")).page_size = 5
        db.session.commit()

    first = manager.get("/manage/audit?from=2026-03-01").get_data(as_text=True)

    assert "6 entries · page 1 of 2" in first and len(listed(manager, "?from=2026-03-01")) == 5
    older = re.search(r'<a rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "from=2026-03-01" in older and "page=2" in older
    assert listed(manager, older.removeprefix("/manage/audit")) == ["access requested"]


@pytest.mark.parametrize("query, problem", [
    ("?from=yesterday", "Not a valid date value"),
    ("?from=2026-03-03&to=2026-03-01", "The end date is before the start date."),
    ("?account=999999", "Not a valid choice"),
])
def test_a_malformed_filter_is_refused_with_the_reason(manager, query, problem):
    page = manager.get(f"/manage/audit{query}")
    assert page.status_code == 400 and problem in page.get_data(as_text=True)

    export = manager.get(f"/manage/audit.csv{query}")
    assert export.status_code == 400 and problem.rstrip(".") in export.get_data(as_text=True)


def exported(client, query: str = "") -> list[dict]:
    response = client.get(f"/manage/audit.csv{query or '?'}&use=team")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert re.fullmatch(r'attachment; filename=audit-log-20260304-120000\.csv',
                        response.headers["Content-Disposition"])
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_the_csv_export_holds_the_filtered_entries_with_utc_times(site, manager):
    rows = exported(manager, f"?account={ids(site)['Bolt']}")

    assert [r["action"] for r in rows] == ["BREAK-GLASS opened", "BREAK-GLASS requested"]
    opened = rows[0]
    assert opened["at_utc"] == "2026-03-02T10:05:00.000000" and opened["agent"] == "max@desk.example"
    assert opened["account"] == "Bolt" and opened["request_id"] == "2" and len(opened["hash"]) == 64
    assert list(opened) == ["id", "at_utc", "action", "agent", "contact", "account", "request_id",
                            "record_kind", "record_id", "detail", "hash"]


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_exported_as_text(manager):
    note = next(r for r in exported(manager) if r["action"] == "note")
    assert note["detail"] == "'=HYPERLINK(\"http://evil.example\")"


def test_exporting_is_written_to_the_audit_log_and_committed(site, manager):
    bolt = ids(site)["Bolt"]
    exported(manager, f"?account={bolt}&from=2026-03-01")

    with site.app_context():  # a session of its own: the entry was committed
        entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry.action == "audit exported" and entry.at == NOW
        assert entry.agent_id == ids(site)["manager@desk.example"] and entry.account_id == bolt
        assert entry.detail == ("2 entries as CSV; filter: account Bolt, from 2026-03-01, "
                                "days in Europe/Paris; for the support team's own use")
        assert audit.verify(db.session).ok

    everything = exported(manager)
    assert [r["action"] for r in everything][:2] == ["audit exported", "note"], \
        "the earlier export is listed; the export does not list its own entry"
    assert "audit exported" in listed(manager)
