"""The request log keeps route, method, status, duration and account per request, and
nothing that identifies a person; ``flask usage report`` totals it per account per day.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from flask import Blueprint
from sqlalchemy import inspect, select

from app.extensions import db
from app.models import RequestLog, utcnow
from app.requestlog import note_account
from tests import factories

IP = "203.0.113.77"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) DistinctiveBrowser/99.1"


def logged_rows(web) -> list[RequestLog]:
    with web.app_context():
        rows = db.session.scalars(select(RequestLog).order_by(RequestLog.id)).all()
        db.session.expunge_all()
        return rows


def as_text(row: RequestLog) -> str:
    return " ".join(str(getattr(row, c.key)) for c in inspect(RequestLog).columns)


def test_the_request_log_has_no_column_for_an_ip_address_user_agent_agent_or_path(web):
    with web.app_context():
        columns = {c["name"] for c in inspect(db.engine).get_columns("request_log")}

    assert columns == {"id", "at", "route", "method", "status", "duration_ms", "account_id"}


def test_a_sign_in_is_logged_by_route_and_status_with_nothing_that_identifies_the_agent(web):
    with web.app_context():
        factories.agent(db.session, "sam@desk.example")
    client = web.test_client()
    person = {"environ_base": {"REMOTE_ADDR": IP}, "headers": {"User-Agent": USER_AGENT}}
    page = client.get("/login?next=/healthz&who=sam", **person).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    client.post("/login", data={"csrf_token": token, "email": "sam@desk.example",
                                "password": factories.AGENT_PASSWORD}, **person)

    rows = logged_rows(web)
    assert [(r.route, r.method, r.status, r.account_id) for r in rows] == [
        ("/login", "GET", 200, None), ("/login", "POST", 302, None)]
    assert all(0 < r.duration_ms < 60_000 for r in rows)
    assert all(abs(r.at - utcnow()) < timedelta(minutes=1) for r in rows)
    for row in rows:
        text = as_text(row)
        for trace in (IP, "DistinctiveBrowser", "sam@desk.example", "who=sam", "healthz"):
            assert trace not in text


def test_a_route_is_logged_by_its_rule_with_the_account_its_view_names(web):
    with web.app_context():
        account_id = factories.account(db.session, "Acme Plumbing", domains=["acme.example"]).id
    probe = Blueprint("probe", __name__)

    @probe.get("/probe/accounts/<int:account_id>")
    def account_page(account_id):
        note_account(account_id)
        return "ok"

    web.register_blueprint(probe)

    web.test_client().get(f"/probe/accounts/{account_id}")
    web.test_client().get("/healthz")

    assert [(r.route, r.account_id) for r in logged_rows(web)] == [
        ("/probe/accounts/<int:account_id>", account_id), ("/healthz", None)]


def test_an_unknown_path_is_logged_as_a_404_without_the_path(web):
    web.test_client().get("/no/such/page/secret-token-in-path")

    row, = logged_rows(web)
    assert (row.route, row.method, row.status) == (None, "GET", 404)
    assert "secret-token" not in as_text(row)


def test_refused_requests_are_logged_too(web):
    web.test_client().post("/logout")  # no CSRF token

    row, = logged_rows(web)
    assert (row.route, row.status) == ("/logout", 400)


def test_static_files_are_not_logged(web):
    response = web.test_client().get("/static/desk.css")

    assert response.status_code == 200
    assert logged_rows(web) == []


def log(session, at: datetime, account_id: int | None, duration_ms: float, route: str = "/"):
    session.add(RequestLog(at=at, route=route, method="GET", status=200, duration_ms=duration_ms,
                           account_id=account_id))


def test_usage_report_totals_requests_and_mean_duration_per_account_per_day(app, session, cli):
    acme = factories.account(session, "Acme Plumbing", domains=["acme.example"])
    birch = factories.account(session, "Birch & Co", domains=["birch.example"])
    now = utcnow()
    today, yesterday = now.replace(hour=0, minute=0), now.replace(hour=0, minute=0) - timedelta(days=1)
    for at, account, ms in [(today, acme.id, 10), (today, acme.id, 30), (today, birch.id, 5),
                            (today, None, 2), (yesterday, acme.id, 7),
                            (now - timedelta(days=8), acme.id, 1000)]:
        log(session, at, account, ms)
    session.commit()

    report = json.loads(cli("usage", "report", "--json").stdout)
    table = cli("usage", "report", "--days", "1").output.splitlines()

    day, previous = today.date().isoformat(), yesterday.date().isoformat()
    assert report == [
        {"day": previous, "account": "Acme Plumbing", "requests": 1, "mean_ms": 7.0},
        {"day": day, "account": None, "requests": 1, "mean_ms": 2.0},
        {"day": day, "account": "Acme Plumbing", "requests": 2, "mean_ms": 20.0},
        {"day": day, "account": "Birch & Co", "requests": 1, "mean_ms": 5.0},
    ]
    assert table[0].split() == ["DAY", "ACCOUNT", "REQUESTS", "MEAN_MS"]
    assert [line.split()[-2:] for line in table[1:]] == [["1", "2.0"], ["2", "20.0"], ["1", "5.0"]]
    assert "(no account)" in table[1]


def test_usage_report_says_so_when_there_were_no_requests(cli):
    assert cli("usage", "report").output == "No requests in the last 7 day(s).\n"


def test_usage_report_refuses_a_number_of_days_below_one(app):
    result = app.test_cli_runner().invoke(args=["usage", "report", "--days", "0"])

    assert result.exit_code != 0
    assert "Invalid value for '--days'" in result.output
