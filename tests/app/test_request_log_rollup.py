"""Rolling the request log up: days older than REQUEST_LOG_DAYS become daily totals per
account, route, method and status, and their raw rows go, with every total kept; a second
run changes nothing; two runs at once, with requests logged meanwhile, count each request
once; a run killed halfway leaves whole days; and the usage reports read the same before
and after.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from collections import defaultdict
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, delete, func, insert, inspect, select, text

from app.extensions import db
from app.models import RequestLog, RequestLogDay, utcnow
from app.services.request_log import roll_up
from app.worker import _in_context, roll_up_request_log
from tests import factories
from tests.parts import REPO
from tests.waiting import until
from tests.web import sign_in

NOW = datetime(2026, 3, 4, 12, 0)
DEADLINE = 60.0  # for a busy machine, not a wait
ROUTES = ("/tickets", "/tickets/<int:ticket_id>", "/accounts/<int:account_id>", None)


def request(at: datetime, account_id: int | None, route: str | None = "/tickets", status: int = 200,
            us: int = 1500, method: str = "GET") -> dict:
    """One raw request log row; durations in whole microseconds, as the log rounds them."""
    return {"at": at, "account_id": account_id, "route": route, "method": method, "status": status,
            "duration_ms": us / 1000}


def log(session, rows: list[dict]) -> None:
    if rows:
        session.execute(insert(RequestLog), rows)
    session.commit()


def totals(session) -> dict:
    """Return (day, account, route, method, status) -> [requests, total µs, longest ms],
    from the daily totals and the raw rows together."""
    found = defaultdict(lambda: [0, 0, 0.0])
    for row in session.scalars(select(RequestLog)):
        kept = found[(row.at.date(), row.account_id, row.route, row.method, row.status)]
        kept[0] += 1
        kept[1] += round(row.duration_ms * 1000)
        kept[2] = max(kept[2], row.duration_ms)
    for row in session.scalars(select(RequestLogDay)):
        kept = found[(row.day, row.account_id, row.route, row.method, row.status)]
        kept[0] += row.requests
        kept[1] += row.total_us
        kept[2] = max(kept[2], row.max_ms)
    session.expunge_all()
    return dict(found)


def raw_days(session) -> set[date]:
    return {at.date() for at in session.scalars(select(RequestLog.at))}


def table_rows(session) -> tuple[list, list]:
    def plain(model):
        columns = [c for c in model.__table__.columns]
        return [tuple(r) for r in session.execute(select(*columns).order_by(model.id))]
    return plain(RequestLog), plain(RequestLogDay)


@pytest.fixture
def accounts(session) -> list[int | None]:
    acme = factories.account(session, "Acme Plumbing", domains=["acme.example"])
    birch = factories.account(session, "Birch & Co", domains=["birch.example"])
    return [acme.id, birch.id, None]


def forty_days(accounts) -> list[dict]:
    """Requests on each of the last 40 days, of each account, several routes and statuses."""
    rows = []
    for days_ago in range(40):
        for n, account in enumerate(accounts):
            for k in range(days_ago % 4 + 1):
                rows.append(request(NOW - timedelta(days=days_ago, hours=k * 5 + n), account,
                                    ROUTES[(k + n) % len(ROUTES)], (200, 302, 404)[k % 3],
                                    us=1000 * days_ago + 137 * k + n))
    return rows


def test_a_roll_up_keeps_every_total_per_account_day_and_route_and_deletes_the_raw_rows_of_old_days(
        session, accounts):
    log(session, forty_days(accounts))
    before = totals(session)

    done = roll_up(session, NOW, 30)

    assert totals(session) == before
    kept_from = date(2026, 2, 2)
    assert done.kept_from == kept_from
    assert min(raw_days(session)) == kept_from, "raw rows of the last 30 days and today stay"
    assert done.days == sorted({day for day, *_ in before if day < kept_from})
    assert done.days[0] == date(2026, 1, 23) and done.days[-1] == date(2026, 2, 1)
    assert done.requests == sum(n for (day, *_), (n, _, _) in before.items() if day < kept_from)
    assert session.scalar(select(func.count()).select_from(RequestLogDay)) == done.totals > 0


def test_a_second_roll_up_changes_nothing(session, accounts):
    log(session, forty_days(accounts))
    roll_up(session, NOW, 30)
    rows = table_rows(session)

    again = roll_up(session, NOW, 30)

    assert (again.days, again.requests, again.totals) == ([], 0, 0)
    assert table_rows(session) == rows


def test_a_request_logged_after_its_day_was_rolled_up_is_rolled_up_by_the_next_run(session, accounts):
    acme = accounts[0]
    log(session, [request(NOW - timedelta(days=40), acme, us=2000)])
    roll_up(session, NOW, 30)
    log(session, [request(NOW - timedelta(days=40), acme, us=5000)])

    later = roll_up(session, NOW, 30)

    assert later.requests == 1
    assert raw_days(session) == set()
    day = (NOW - timedelta(days=40)).date()
    assert totals(session) == {(day, acme, "/tickets", "GET", 200): [2, 7000, 5.0]}


days_and_rows = st.lists(
    st.tuples(st.integers(0, 12), st.integers(0, 86_399), st.sampled_from([0, 1, 2]),
              st.sampled_from(ROUTES), st.sampled_from(["GET", "POST"]),
              st.sampled_from([200, 302, 400, 500]),
              st.integers(0, 120_000_000)),
    max_size=40)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(generated=days_and_rows, keep_days=st.integers(1, 10))
def test_any_request_log_keeps_its_totals_and_reports_through_a_roll_up(clocked, session, cli, accounts,
                                                                       generated, keep_days):
    session.execute(delete(RequestLog))
    session.execute(delete(RequestLogDay))
    log(session, [request(NOW - timedelta(days=days_ago, seconds=second), accounts[who], route, status, us,
                          method)
                  for days_ago, second, who, route, method, status, us in generated])
    before, report = totals(session), cli("usage", "report", "--days", "14", "--json").stdout

    roll_up(session, NOW, keep_days)

    assert totals(session) == before
    assert all(day >= (NOW - timedelta(days=keep_days)).date() for day in raw_days(session))
    assert cli("usage", "report", "--days", "14", "--json").stdout == report


@pytest.fixture
def clocked(app):
    app.extensions["clock"] = lambda: NOW
    app.config["REQUEST_LOG_DAYS"] = 2
    return app


def test_flask_usage_rollup_says_what_it_did_and_then_that_nothing_was_left(clocked, session, cli, accounts):
    log(session, [request(NOW - timedelta(days=d), accounts[0]) for d in (3, 3, 5, 1)])

    first, second = cli("usage", "rollup").output, cli("usage", "rollup").output

    assert first == ("Rolled up 3 request(s) of 2 day(s) (2026-02-27 to 2026-03-01) into 2 daily total(s); "
                     "raw rows are kept from 2026-03-02 (REQUEST_LOG_DAYS=2).\n")
    assert second == "Nothing to roll up: raw rows are kept from 2026-03-02 (REQUEST_LOG_DAYS=2).\n"


def test_the_usage_report_reads_the_same_before_and_after_the_roll_up(clocked, session, cli, accounts):
    log(session, forty_days(accounts))
    before = [cli("usage", "report", *args).output
              for args in ([], ["--days", "40"], ["--days", "40", "--json"], ["--days", "3"])]

    assert "Rolled up" in cli("usage", "rollup").output

    after = [cli("usage", "report", *args).output
             for args in ([], ["--days", "40"], ["--days", "40", "--json"], ["--days", "3"])]
    assert after == before
    report = json.loads(after[2])
    assert len({r["day"] for r in report}) == 40
    assert {r["account"] for r in report} == {"Acme Plumbing", "Birch & Co", None}


def usage_panel(client) -> str:
    page = client.get("/manage/dashboard").get_data(as_text=True)
    return re.search(r'<section[^>]*aria-labelledby="usage-heading">.*?</section>', page, re.S).group(0)


def test_the_dashboard_shows_the_same_usage_before_and_after_the_roll_up(web):
    # A month ahead of the real clock: the requests this test makes itself, logged at the
    # real time, fall outside the seven days the panel shows.
    now = utcnow() + timedelta(days=30)
    web.extensions["clock"] = lambda: now
    with web.app_context():
        factories.agent(db.session, "manager@desk.example", name="Manager Person", role="manager")
        log(db.session, [request(now - timedelta(days=d, hours=h), None, us=1000 * d + h)
                         for d in range(10) for h in range(3)])
        ids = [factories.account(db.session, name, domains=[f"{name.lower()}.example"]).id
               for name in ("Acme", "Bolt")]
        log(db.session, [request(now - timedelta(days=d, hours=1), ids[d % 2], us=333 * d + 7)
                         for d in range(10)])
    client = web.test_client()
    assert sign_in(client, "manager@desk.example").status_code == 302
    before = usage_panel(client)

    with web.app_context():
        done = roll_up(db.session, now, 1)
    assert done.days, "days inside the panel's week were rolled up"

    assert usage_panel(client) == before
    assert "Acme" in before and "Bolt" in before and "(no account)" in before


def test_the_worker_job_rolls_up_the_request_log(clocked, session, accounts):
    log(session, [request(NOW - timedelta(days=10), accounts[1])])

    _in_context(clocked, roll_up_request_log, "roll-up-request-log")()

    assert raw_days(session) == set()
    assert session.scalar(select(func.sum(RequestLogDay.requests))) == 1


def test_two_roll_ups_at_once_while_requests_are_logged_count_every_request_once(app, session, accounts):
    rows = forty_days(accounts) * 8
    log(session, rows)
    straggling = [request(NOW - timedelta(days=31 + n % 9, minutes=n), accounts[n % 3], us=n)
                  for n in range(300)]
    expected = len(rows) + len(straggling)
    expected_us = sum(round(r["duration_ms"] * 1000) for r in rows + straggling)
    start = threading.Barrier(3)
    results, errors = [], []

    def in_thread(work):
        def run():
            try:
                with app.app_context():
                    start.wait(DEADLINE)
                    work()
                    db.session.remove()
            except Exception as exc:  # reported by the assertion below
                errors.append(exc)
        return threading.Thread(target=run)

    def rolling():
        results.append(roll_up(db.session, NOW, 30))

    def logging():
        for row in straggling:  # one request at a time, as the web processes log them
            log(db.session, [row])

    threads = [in_thread(rolling), in_thread(rolling), in_thread(logging)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE * 2)
    assert errors == []
    results.append(roll_up(session, NOW, 30))  # what came in after both runs passed its day

    assert sum(r.requests for r in results) == sum(
        1 for r in rows + straggling if r["at"].date() < date(2026, 2, 2))
    assert min(raw_days(session)) == date(2026, 2, 2)
    counted = session.execute(select(func.sum(RequestLogDay.requests),
                                     func.sum(RequestLogDay.total_us))).one()
    raw = session.execute(select(func.count(), func.sum(func.round(RequestLog.duration_ms * 1000)))).one()
    assert counted[0] + raw[0] == expected
    assert int(counted[1]) + int(raw[1]) == expected_us


def sessions(engine, condition: str = "") -> int:
    """Count the killed run's database sessions; a new transaction each time, as PostgreSQL
    shows a transaction one picture of pg_stat_activity."""
    with engine.connect() as connection:
        return connection.scalar(text("SELECT count(*) FROM pg_stat_activity "
                                      f"WHERE application_name = 'desk-rollup-killed' {condition}"))


# PostgreSQL only: the test holds a row lock to stop the run halfway, which SQLite has not.
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_roll_up_killed_halfway_leaves_each_day_whole_and_the_next_run_finishes(app, session, accounts,
                                                                                   backend, subprocess_env):
    now = utcnow()
    first, second = ((now - timedelta(days=n)).replace(hour=9, minute=0, second=0, microsecond=0)
                     for n in (40, 39))
    log(session, [request(first + timedelta(minutes=n), accounts[n % 3], us=n) for n in range(50)]
        + [request(second + timedelta(minutes=n), accounts[n % 3], us=n) for n in range(50)])
    before = totals(session)
    url = app.config["SQLALCHEMY_DATABASE_URI"] + "&application_name=desk-rollup-killed"
    blocker = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with blocker.connect() as holding:
        # The second day's first request stays locked: the run waits there, its first day committed.
        holding.execute(select(RequestLog.id).where(RequestLog.at == second).with_for_update())
        run = subprocess.Popen([sys.executable, "-m", "flask", "usage", "rollup"], cwd=REPO,
                               env={**subprocess_env, "DATABASE_URL": url}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
        try:
            assert until(lambda: sessions(blocker, "AND wait_event_type = 'Lock'") == 1, DEADLINE), \
                "the run reached the second day"
        finally:
            run.send_signal(signal.SIGKILL)
            run.wait(DEADLINE)
        holding.rollback()
    assert until(lambda: sessions(blocker) == 0, DEADLINE), "the killed run's session ended"
    blocker.dispose()

    assert raw_days(session) == {second.date()}, "the first day rolled up, the second wholly raw"
    assert totals(session) == before
    assert roll_up(session, now, 30).days == [second.date()]
    assert raw_days(session) == set() and totals(session) == before


def test_the_daily_totals_have_no_column_for_an_ip_address_user_agent_agent_or_path(web):
    with web.app_context():
        columns = {c["name"] for c in inspect(db.engine).get_columns("request_log_day")}

    assert columns == {"id", "day", "account_id", "route", "method", "status", "requests", "total_us",
                       "max_ms"}


def test_the_migration_removes_the_daily_totals_on_downgrade_and_adds_them_back(app, session, accounts):
    from flask_migrate import downgrade, upgrade

    from app import MIGRATIONS

    log(session, [request(NOW - timedelta(days=40), accounts[0])])
    roll_up(session, NOW, 30)
    session.remove()

    downgrade(directory=MIGRATIONS, revision="b9562e81e887-1")
    assert "request_log_day" not in inspect(db.engine).get_table_names()
    upgrade(directory=MIGRATIONS)

    assert "request_log_day" in inspect(db.engine).get_table_names()
    assert session.scalar(select(func.count()).select_from(RequestLogDay)) == 0
