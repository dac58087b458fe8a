"""Customer permission before records open: requests emailed to approvers through a real SMTP
server, decisions and revocations only by POST from the linked page, tokens refused when
forged, truncated, expired, used, for another purpose or another account, grants that end
by the clock alone, break-glass with a second manager, and a sweep of every record route.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AccessRequest, AccessToken, AuditEntry
from app.services import audit
from tests import factories
from tests.app import console_world
from tests.app.test_console_access import WHO, client_for, outcome, routes
from tests.web import form_token, submit

PUBLIC = "http://desk.test"
START = datetime(2026, 6, 1, 9, 0)


class Clock:
    """The application's clock in these tests: it moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(web):
    web.extensions["clock"] = clock = Clock()
    return clock


@pytest.fixture
def world(web, clock, smtp_server):
    web.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=PUBLIC)
    return console_world.build(web)


def ask(client, world, scope="both", hours="4", reason="The export misses March; I need to see the jobs."):
    page = f"/accounts/{world.account_id}"
    return submit(client, page, f"{page}/access", {"scope": scope, "hours": hours, "reason": reason},
                  follow_redirects=True)


def links(smtp_server, count: int) -> list[str]:
    """Return the customer links (paths) in the newest email, waiting for ``count`` emails in all."""
    body = smtp_server.wait_for(count)[count - 1].message().get_content()
    return re.findall(re.escape(PUBLIC) + r"(/customer/\S+)", body)


def state(web) -> tuple:
    """Everything a link could change: requests, tokens and the audit log."""
    with web.app_context():
        requests = db.session.execute(select(
            AccessRequest.id, AccessRequest.status, AccessRequest.ends_at, AccessRequest.ended_at,
        ).order_by(AccessRequest.id)).all()
        tokens = db.session.execute(
            select(AccessToken.id, AccessToken.used_at).order_by(AccessToken.id)).all()
        entries = db.session.scalar(select(func.count(AuditEntry.id)))
        return requests, tokens, entries


def approve(customer, path: str, hours: str | None = None):
    data = {"approve": "Approve"}
    if hours:
        data["hours"] = hours
    else:
        data["hours"] = re.search(r'<option selected value="([^"]+)"', customer.get(path).text).group(1)
    return submit(customer, path, path, data)


@pytest.fixture
def agent(web, world):
    return client_for(web, "agent")


def test_a_request_emails_every_approver_with_the_agent_reason_scope_and_a_link(
        web, world, agent, smtp_server):
    page = ask(agent, world).text
    assert "Access requested: the approvers were emailed." in page
    mail = smtp_server.wait_for(1)[0]
    text = mail.message().get_content()
    assert mail.recipients == ("boss@leaky.example",)
    assert "Agent Person" in text and "The export misses March" in text
    assert "business and personal records" in text and "for 4 hours" in text
    assert mail.message()["Auto-Submitted"] == "auto-generated"
    (decide,) = links(smtp_server, 1)
    assert decide.startswith("/customer/decide/")


def test_opening_any_emailed_link_with_get_or_head_changes_nothing(web, world, agent, smtp_server):
    ask(agent, world)
    (decide,) = links(smtp_server, 1)
    customer = web.test_client()
    before = state(web)
    assert customer.get(decide).status_code == 200 and customer.head(decide).status_code == 200
    assert state(web) == before
    approve(customer, decide, "1")
    revoke, log = links(smtp_server, 2)
    before = state(web)
    for path in (decide, revoke, log):
        assert customer.get(path).status_code == 200, path
        assert customer.head(path).status_code == 200, path
    assert state(web) == before


def test_approval_opens_records_to_the_requesting_agent_only_and_the_log_lists_each_view(
        web, world, agent, smtp_server, clock):
    ask(agent, world)
    (decide,) = links(smtp_server, 1)
    customer = web.test_client()
    page = approve(customer, decide, "1").text
    assert "This request is active" in page or "approved" in page
    _, log = links(smtp_server, 2)
    jobs = f"/accounts/{world.account_id}/records/jobs"
    listing = agent.get(jobs)
    assert listing.status_code == 200 and "Quetzal-Job-Title-4471" in listing.text
    assert "1 h</strong>" in listing.text
    assert agent.get(f"{jobs}/{world.job_id}").status_code == 200
    for who in ("manager", "admin"):
        assert client_for(web, who).get(jobs).status_code == 403
    views = customer.get(log).text
    assert "Agent Person" in views and f"job #{world.job_id}" in views and "the list of jobs" in views
    clock.advance(minutes=59, seconds=59)
    assert agent.get(jobs).status_code == 200
    clock.advance(seconds=1)
    assert agent.get(jobs).status_code == 403
    account_page = agent.get(f"/accounts/{world.account_id}").text
    assert "Quetzal" not in account_page and "expired at" in account_page


def test_record_pages_and_customer_pages_are_never_kept_in_a_cache(web, world, agent, smtp_server):
    ask(agent, world)
    (decide,) = links(smtp_server, 1)
    customer = web.test_client()
    approve(customer, decide, "1")
    revoke, log = links(smtp_server, 2)
    jobs = f"/accounts/{world.account_id}/records/jobs"
    pages = {url: agent.get(url) for url in (jobs, f"{jobs}/{world.job_id}")}
    pages |= {url: customer.get(url) for url in (decide, revoke, log, "/customer/decide/no-such-token")}
    for url, response in pages.items():
        assert response.headers["Cache-Control"] == "no-store", url
    assert pages[f"{jobs}/{world.job_id}"].status_code == 200 and pages[log].status_code == 200


def test_the_first_decision_wins_and_a_later_post_is_refused(web, world, agent, smtp_server):
    ask(agent, world)
    (decide,) = links(smtp_server, 1)
    customer = web.test_client()
    token = form_token(customer, decide)
    customer.post(decide, data={"csrf_token": token, "deny": "Deny", "hours": "4"})
    before = state(web)
    again = customer.post(decide, data={"csrf_token": token, "approve": "Approve", "hours": "4"})
    assert again.status_code == 409 and "already decided: it is denied" in again.text
    assert state(web) == before
    assert "This request is denied" in customer.get(decide).text


def test_bad_tokens_are_refused_with_a_clear_page_and_change_nothing(web, world, agent, smtp_server, clock):
    ask(agent, world)
    (decide,) = links(smtp_server, 1)
    raw = decide.rsplit("/", 1)[1]
    customer = web.test_client()
    token = form_token(customer, decide)
    before = state(web)
    cases = {
        "forged": (f"/customer/decide/{'A' * len(raw)}", 404, "not valid"),
        "truncated": (f"/customer/decide/{raw[:-4]}", 404, "not valid"),
        "other purpose": (f"/customer/revoke/{raw}", 403, "for another page"),
    }
    log_page = customer.get(f"/customer/log/{raw}")
    assert log_page.status_code == 403 and "for another page" in log_page.text
    for name, (path, status, words) in cases.items():
        for response in (customer.get(path), customer.post(path, data={"csrf_token": token, "approve": "1"})):
            assert response.status_code == status, name
            assert words in response.text and "Nothing was changed" in response.text, name
    assert state(web) == before
    clock.advance(hours=24)
    expired = customer.post(decide, data={"csrf_token": token, "approve": "Approve", "hours": "4"})
    assert expired.status_code == 410 and "expired" in expired.text
    assert state(web) == before


def test_a_used_revoke_link_and_a_token_of_one_account_never_act_on_another(web, world, agent, smtp_server):
    with web.app_context():
        other = factories.account(db.session, "Other Co", domains=["other.example"],
                                  approvers=["chief@other.example"])
        factories.records(db.session, "Other Co", jobs=[{"title": "Other-Secret-Job", "description": "x"}])
        other_id = other.id
    ask(agent, world)
    (decide,) = links(smtp_server, 1)
    customer = web.test_client()
    approve(customer, decide, "1")
    revoke, _ = links(smtp_server, 2)
    # Leaky Widgets' approver approved Leaky Widgets only: Other Co stays closed.
    refused = agent.get(f"/accounts/{other_id}/records/jobs")
    assert refused.status_code == 403 and "Other-Secret-Job" not in refused.text
    assert agent.get(f"/accounts/{world.account_id}/records/jobs").status_code == 200
    token = form_token(customer, revoke)
    customer.post(revoke, data={"csrf_token": token})
    before = state(web)
    again = customer.post(revoke, data={"csrf_token": token})
    assert again.status_code == 409 and "not active any more" in again.text
    assert state(web) == before


def test_revocation_takes_effect_at_the_agents_very_next_request(web, world, agent, smtp_server):
    ask(agent, world)
    (decide,) = links(smtp_server, 1)
    customer = web.test_client()
    approve(customer, decide)
    revoke, _ = links(smtp_server, 2)
    jobs = f"/accounts/{world.account_id}/records/jobs"
    assert agent.get(jobs).status_code == 200
    submit(customer, revoke, revoke, {})
    refused = agent.get(jobs)
    assert refused.status_code == 403 and "Quetzal" not in refused.text
    assert "revoked at" in agent.get(f"/accounts/{world.account_id}").text
    ended = smtp_server.wait_for(3)[2].message()
    assert ended["Subject"] == "Access to Leaky Widgets's records has ended"


def test_an_undecided_request_expires_as_denied_and_the_worker_job_tidies_it(web, world, agent, smtp_server,
                                                                              clock):
    from app.worker import tidy_access

    ask(agent, world)
    clock.advance(hours=23, minutes=59)
    with web.app_context():
        tidy_access()
        asked = db.session.scalar(select(AccessRequest).order_by(AccessRequest.id.desc()).limit(1))
        assert asked.status == "pending"
    clock.advance(minutes=1)
    with web.app_context():
        tidy_access()
        asked = db.session.scalar(select(AccessRequest).order_by(AccessRequest.id.desc()).limit(1))
        assert asked.status == "expired"
        actions = [e.action for e in audit.list_entries(db.session, limit=20)]
        assert actions.count("request expired") == 1


def test_without_smtp_the_worker_says_once_that_notices_wait_and_sends_them_once_it_can(
        web, world, agent, smtp_server, clock, caplog):
    from app.worker import tidy_access

    ask(agent, world)
    (decide,) = links(smtp_server, 1)
    approve(web.test_client(), decide, "1")  # the request and the approval: two emails
    clock.advance(hours=1)
    web.config["SMTP_URL"] = None
    caplog.set_level(logging.INFO)
    with web.app_context():
        for _ in range(3):
            tidy_access()  # every minute in the worker; never raises
        noticed = db.session.scalar(select(AccessRequest.end_noticed_at))
    waiting = [r.getMessage() for r in caplog.records if "wait" in r.getMessage()]
    assert waiting == ["access notices wait, and are tried again every minute: outbound mail is not "
                       "configured: set SMTP_URL (e.g. smtp://mail.example:25)"]
    assert noticed is None  # the notice is still due

    web.config["SMTP_URL"] = smtp_server.url
    with web.app_context():
        tidy_access()
    ended = smtp_server.wait_for(3)
    assert ended[2].message()["Subject"] == "Access to Leaky Widgets's records has ended"
    assert "access notices are being sent again" in [r.getMessage() for r in caplog.records]


def test_break_glass_needs_a_second_manager_lasts_an_hour_and_tells_the_approvers(web, world, smtp_server,
                                                                                  clock):
    with web.app_context():
        factories.agent(db.session, "second@desk.example", name="Second Manager", role="manager")
    manager, second = client_for(web, "manager"), web.test_client()
    from tests.web import sign_in

    sign_in(second, "second@desk.example")
    page = f"/accounts/{world.account_id}"
    reason = "Payroll run fails tonight for all staff; the customer is unreachable by phone."
    submit(manager, page, f"{page}/break-glass", {"scope": "business", "reason": reason})
    with web.app_context():
        request_id = db.session.scalar(select(func.max(AccessRequest.id)))
    own = submit(manager, page, f"/access/{request_id}/confirm", {}, follow_redirects=True).text
    assert "needs a second manager" in own
    assert manager.get(f"{page}/records/jobs").status_code == 403
    submit(second, page, f"/access/{request_id}/confirm", {})
    alert = smtp_server.wait_for(1)[0].message()
    assert alert["Subject"] == "Emergency access to Leaky Widgets's records was opened"
    text = " ".join(alert.get_content().split())  # the reason may be wrapped at 78 characters
    assert reason in text and "Second Manager" in text
    assert manager.get(f"{page}/records/jobs").status_code == 200
    assert manager.get(f"{page}/records/employees").status_code == 403
    clock.advance(hours=1)
    assert manager.get(f"{page}/records/jobs").status_code == 403
    with web.app_context():
        actions = [e.action for e in audit.list_entries(db.session, limit=50)]
        assert "BREAK-GLASS requested" in actions and "BREAK-GLASS opened" in actions


GRANT_STATES = ("none", "pending", "denied", "expired", "revoked", "ended", "other scope", "other account",
                "other agent")


def make_state(web, world, name: str, clock) -> None:
    """Give the agent a request in the named state (or none); none of them opens business records."""
    from app.access import grants
    from app.models import Account, Agent

    if name == "none":
        return
    with web.app_context():
        session = db.session
        agent = session.scalar(select(Agent).where(Agent.email == "agent@desk.example"))
        if name == "other agent":
            agent = session.scalar(select(Agent).where(Agent.email == "manager@desk.example"))
        account = session.get(Account, world.account_id)
        if name == "other account":
            account = factories.account(session, "Other Co", domains=["other.example"],
                                        approvers=["chief@other.example"])
        scope = "personal" if name == "other scope" else "business"
        request, _ = grants.request_access(session, agent, account, scope, "reason", 1, clock(),
                                           grants.AccessSettings())
        token = session.scalar(select(AccessToken).where(AccessToken.request_id == request.id))
        if name != "pending":
            grants.decide(session, token, name != "denied", None, clock(), grants.AccessSettings())
        if name == "revoked":
            grants.revoke_by_operator(session, request, clock())
        if name == "ended":
            grants.end_grant(session, agent, request, clock())
        session.commit()
    if name == "expired":
        clock.advance(hours=2)


@pytest.mark.parametrize("grant_state", GRANT_STATES)
def test_every_record_route_refuses_every_role_without_a_grant_in_force(web, world, clock, grant_state):
    make_state(web, world, grant_state, clock)
    record_routes = [(e, rule) for e, method, rule in routes(web) if e.startswith("access.record")]
    assert len(record_routes) == 2
    for who in WHO:
        client = client_for(web, who)
        for _, rule in record_routes:
            for kind, record_id in (("jobs", world.job_id), ("tasks", 1), ("todos", 1), ("employees", 1)):
                url = rule.build({"account_id": world.account_id, "kind": kind, "record_id": record_id})[1]
                response = client.get(url)
                if (grant_state, who, kind) == ("other scope", "agent", "employees") or \
                        (grant_state, who) == ("other agent", "manager"):
                    continue  # that grant's own holder and scope: the point is that it opens nothing else
                assert outcome(response) in (403, 404, "login"), (who, url, grant_state)
                body = response.get_data().lower()
                assert not any(s.lower().encode() in body for s in console_world.RECORD_STRINGS), (who, url)


def test_when_a_grant_runs_out_the_worker_emails_the_approvers_once(web, world, agent, smtp_server, clock):
    from app.worker import tidy_access

    ask(agent, world)
    (decide,) = links(smtp_server, 1)
    approve(web.test_client(), decide, "1")
    clock.advance(hours=1)
    with web.app_context():
        tidy_access()
        tidy_access()
    ended = smtp_server.wait_for(3)
    assert len(ended) == 3 and ended[2].message()["Subject"] == "Access to Leaky Widgets's records has ended"
    assert ended[2].recipients == ("boss@leaky.example",)
    with web.app_context():
        assert [e.action for e in audit.list_entries(db.session, limit=1)] == ["grant expired"]


def test_customer_links_are_rate_limited_so_tokens_cannot_be_guessed_by_trying(web, world):
    web.config["CUSTOMER_LINK_RATE_LIMIT"] = "5 per minute"
    client = web.test_client()
    answers = [client.get(f"/customer/decide/guess-{n}").status_code for n in range(7)]
    assert answers[:5] == [404] * 5 and answers[5:] == [429, 429]
