"""Two people acting on one request at the same moment: exactly one wins, the other is told
who won and when, and nothing else changes. And every approver of the account, not only the
one who decided, may end a grant and read its access log, break-glass included.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select

from app.access import grants
from app.extensions import db
from app.models import AccessRequest, AccessToken, Account, Agent, AuditEntry
from tests import factories
from tests.app.test_access import PUBLIC, Clock
from tests.app.test_console_access import client_for
from tests.web import form_token, submit

APPROVERS = ("boss@race.example", "deputy@race.example")
ROUNDS = 20


@pytest.fixture
def race(web, smtp_server):
    web.extensions["clock"] = Clock()
    # Every approver here is one client on loopback: more links than a person opens in a minute.
    web.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=PUBLIC, CUSTOMER_LINK_RATE_LIMIT="1000 per minute")
    with web.app_context():
        factories.account(db.session, "Race Co", domains=["race.example"], approvers=list(APPROVERS))
        factories.agent(db.session, "agent@desk.example", name="Agent Person")
    return web


def new_request(web) -> tuple[int, dict[str, str]]:
    """Ask Race Co's approvers for access, without emailing them; return the request's id and each
    approver's decide path."""
    with web.app_context():
        session = db.session
        account = session.scalar(select(Account).where(Account.name == "Race Co"))
        agent = session.scalar(select(Agent).where(Agent.email == "agent@desk.example"))
        request, notices = grants.request_access(session, agent, account, "business", "Checking the export",
                                                 4, web.extensions["clock"](), grants.AccessSettings())
        session.commit()
        return request.id, {n.to: f"/customer/decide/{n.links['decide']}" for n in notices}


def at_once(*actions: Callable[[], object]) -> list:
    """Run the actions in threads released together; return their results in order."""
    barrier = threading.Barrier(len(actions))
    results: list = [None] * len(actions)

    def run(index: int, action) -> None:
        barrier.wait()
        results[index] = action()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def poster(web, path: str, data: dict):
    """Return a function that posts ``data`` to ``path`` from a client that has the page open."""
    client = web.test_client()
    token = form_token(client, path)
    return lambda: client.post(path, data={"csrf_token": token, **data})


def audited(web, request_id: int) -> list[str]:
    with web.app_context():
        return list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.request_id == request_id)
                                       .order_by(AuditEntry.id)))


def test_approve_and_deny_posted_at_once_by_two_approvers_make_exactly_one_decision(race):
    boss, deputy = APPROVERS
    for _ in range(ROUNDS):
        request_id, decide = new_request(race)
        approving = poster(race, decide[boss], {"approve": "Approve", "hours": "4"})
        denying = poster(race, decide[deputy], {"deny": "Deny", "hours": "4"})

        answers = at_once(approving, denying)

        assert sorted(a.status_code for a in answers) == [200, 409], [a.text[:300] for a in answers]
        won = 0 if answers[0].status_code == 200 else 1
        status, winner = ("approved", boss) if won == 0 else ("denied", deputy)
        loser = answers[1 - won].text
        said = rf"already decided: it is {status}, by {re.escape(winner)} at \d{{4}}-\d\d-\d\d \d\d:\d\d"
        assert re.search(said, loser), loser
        with race.app_context():
            request = db.session.get(AccessRequest, request_id)
            assert (request.status, request.decided_by) == (status, winner)
            used = db.session.scalars(select(AccessToken.contact_email).where(
                AccessToken.request_id == request_id, AccessToken.used_at.is_not(None))).all()
            assert used == [winner]
        assert audited(race, request_id) == ["access requested", f"access {status}"]


def approved_request(race, smtp_server) -> tuple[int, dict[str, str]]:
    """A request the boss approved; return its id and each approver's revoke path."""
    boss, _ = APPROVERS
    before = len(smtp_server.received)
    request_id, decide = new_request(race)
    assert poster(race, decide[boss], {"approve": "Approve", "hours": "4"})().status_code == 200
    mails = smtp_server.wait_for(before + len(APPROVERS))[before:]
    revoke = {}
    for mail in mails:
        found = re.search(r"/customer/revoke/\S+", mail.message().get_content())
        if found:
            revoke[mail.recipients[0]] = found.group(0)
    return request_id, revoke


def test_two_approvers_revoking_at_once_end_the_grant_once(race, smtp_server):
    boss, deputy = APPROVERS
    for _ in range(ROUNDS):
        request_id, revoke = approved_request(race, smtp_server)

        answers = at_once(poster(race, revoke[boss], {}), poster(race, revoke[deputy], {}))

        assert sorted(a.status_code for a in answers) == [200, 409]
        loser = next(a for a in answers if a.status_code == 409).text
        assert "not active any more (revoked at" in loser and " by " in loser
        assert audited(race, request_id).count("grant revoked") == 1


def test_a_revocation_racing_the_agent_ending_the_grant_ends_it_once(race, smtp_server):
    boss, _ = APPROVERS
    agent = client_for(race, "agent")
    for _ in range(ROUNDS):
        request_id, revoke = approved_request(race, smtp_server)

        revoked, ended = at_once(poster(race, revoke[boss], {}), ender(race, agent, request_id))

        endings = [a for a in audited(race, request_id) if a in ("grant revoked", "grant ended")]
        assert len(endings) == 1, endings
        with race.app_context():
            request = db.session.get(AccessRequest, request_id)
        if endings == ["grant revoked"]:
            assert revoked.status_code == 200 and "not active" in ended.text
            assert request.ended_by == boss
        else:
            assert revoked.status_code == 409 and f"by {'agent@desk.example'}" in revoked.text
            assert request.ended_by == "agent@desk.example"


def ender(web, agent, request_id: int, action: str = "end"):
    """Return a function with which the agent presses "End access now" (or "Cancel") on the account page."""
    with web.app_context():
        page = f"/accounts/{db.session.get(AccessRequest, request_id).account_id}"
    token = form_token(agent, page)
    return lambda: agent.post(f"/access/{request_id}/{action}", data={"csrf_token": token},
                              follow_redirects=True)


def test_the_agent_withdrawing_a_request_while_the_approver_approves_it_makes_one_outcome(race):
    boss, _ = APPROVERS
    agent = client_for(race, "agent")
    for _ in range(ROUNDS):
        request_id, decide = new_request(race)

        approved, cancelled = at_once(poster(race, decide[boss], {"approve": "Approve", "hours": "4"}),
                                      ender(race, agent, request_id, "cancel"))

        outcomes = [a for a in audited(race, request_id) if a in ("access approved", "request cancelled")]
        assert len(outcomes) == 1, outcomes
        with race.app_context():
            status = db.session.get(AccessRequest, request_id).status
        if outcomes == ["access approved"]:
            assert status == "approved" and "not pending" in cancelled.text
        else:
            assert status == "cancelled" and approved.status_code == 409
            assert "already decided: it is cancelled, by agent@desk.example" in approved.text


def test_every_approver_gets_their_own_links_to_end_the_grant_and_read_its_log(race, smtp_server):
    boss, deputy = APPROVERS
    request_id, decide = new_request(race)
    poster(race, decide[boss], {"approve": "Approve", "hours": "4"})()
    mails = {m.recipients[0]: m.message() for m in smtp_server.wait_for(2)}

    assert mails[boss]["Subject"] == "You approved access to Race Co's records"
    assert mails[deputy]["Subject"] == "Access to Race Co's records was approved"
    assert f"{boss} approved access for Agent Person" in mails[deputy].get_content()
    deputy_links = dict(re.findall(r"/customer/(revoke|log)/(\S+)", mails[deputy].get_content()))
    customer = race.test_client()
    assert customer.get(f"/customer/log/{deputy_links['log']}").status_code == 200
    revoke = f"/customer/revoke/{deputy_links['revoke']}"
    assert submit(customer, revoke, revoke, {}).status_code == 200
    with race.app_context():
        request = db.session.get(AccessRequest, request_id)
        assert (request.end_reason, request.ended_by) == ("revoked", deputy)


def test_the_break_glass_email_carries_links_to_end_the_access_and_read_its_log(race, smtp_server):
    with race.app_context():
        factories.agent(db.session, "manager@desk.example", name="First Manager", role="manager")
        factories.agent(db.session, "second@desk.example", name="Second Manager", role="manager")
        account_id = db.session.scalar(select(Account.id).where(Account.name == "Race Co"))
    first, second = client_for(race, "manager"), race.test_client()
    from tests.web import sign_in

    sign_in(second, "second@desk.example")
    page = f"/accounts/{account_id}"
    submit(first, page, f"{page}/break-glass",
           {"scope": "business", "reason": "Payroll fails tonight for every employee of the customer."})
    with race.app_context():
        request_id = db.session.scalar(select(AccessRequest.id).where(AccessRequest.break_glass.is_(True)))
    submit(second, page, f"/access/{request_id}/confirm", {})
    alerts = {m.recipients[0]: m.message().get_content() for m in smtp_server.wait_for(2)}
    assert set(alerts) == set(APPROVERS)

    customer = race.test_client()
    links = dict(re.findall(r"/customer/(revoke|log)/(\S+)", alerts[APPROVERS[1]]))
    assert customer.get(f"/customer/log/{links['log']}").status_code == 200
    revoke = f"/customer/revoke/{links['revoke']}"
    assert submit(customer, revoke, revoke, {}).status_code == 200
    assert first.get(f"{page}/records/jobs").status_code == 403
