"""Nothing leaves without prior consent: forwards of a customer's mail and exports of an
account's data to someone outside the account and the support team are refused until one
of the account's approvers consents, by an emailed link, to that recipient and that
content; they go (through a real SMTP server on loopback) and are archived and logged once
consent is given, and are refused again once it is withdrawn. Every export route of the
URL map asks who the export is for, and the audit log records each answer.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.access import links
from app.console.sharing import EXPORTS
from app.extensions import db
from app.models import AccessRequest, AuditEntry, Consent, Message
from app.runtime import raw_store
from app.services import audit
from tests import factories
from tests.app import test_access
from tests.app.test_console_access import client_for, routes
from tests.web import form_token, submit

PUBLIC = test_access.PUBLIC
# The fixtures of the access tests: their clock, and a world whose mail goes to the SMTP server.
clock, world = test_access.clock, test_access.world
VENDOR = "repairs@carrier.example"


def customer_links(smtp_server, count: int, to: str | None = None) -> list[str]:
    """Return the customer links (paths) in the newest email, waiting for ``count`` emails in all."""
    received = smtp_server.wait_for(count)[count - 1]
    if to is not None:
        assert received.message()["To"] == to
    body = received.message().get_content()
    return re.findall(re.escape(PUBLIC) + r"(/customer/\S+)", body)


def forward(client, world, recipient: str = VENDOR, button: str = "send", **fields):
    data = {"recipient": recipient, "content": "", "note": "Please look at the pump model.",
            "purpose": "The carrier repairs the pump under warranty.", "days": "7", button: "x", **fields}
    return submit(client, f"/tickets/{world.ticket_id}", f"/tickets/{world.ticket_id}/forward", data)


def refused(client, response) -> bool:
    """Whether a forward was refused for want of consent: back on the ticket, saying why."""
    if response.status_code != 302:
        return False
    return "cannot go to" in client.get(response.location).get_data(as_text=True)


def give(client, path: str, days: str = "7"):
    return submit(client, path, path, {"give": "I consent", "days": days})


def actions(web) -> list[str]:
    with web.app_context():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_forward_outside_waits_for_consent_goes_once_given_and_stops_when_withdrawn(web, world,
                                                                                     smtp_server):
    agent = client_for(web, "agent")

    first = forward(agent, world)
    page = agent.get(first.location).get_data(as_text=True)
    assert "Not forwarded. Ticket" in page and "no consent of Leaky Widgets" in page
    assert smtp_server.received == [] and actions(web)[-1] == "sharing refused"

    asked = forward(agent, world, button="ask")
    assert asked.status_code == 302
    [consent_path] = customer_links(smtp_server, 1, to="boss@leaky.example")
    assert consent_path.startswith("/customer/consent/")
    request_body = smtp_server.received[0].message().get_content()
    assert VENDOR in request_body and "The carrier repairs the pump under warranty." in request_body
    assert refused(agent, forward(agent, world)), "asking is not consenting"
    assert len(smtp_server.received) == 1

    customer = web.test_client()
    page = customer.get(consent_path).get_data(as_text=True)
    assert VENDOR in page and "The carrier repairs the pump under warranty." in page
    assert give(customer, consent_path).status_code == 200
    [withdraw_path] = customer_links(smtp_server, 2, to="boss@leaky.example")
    assert withdraw_path.startswith("/customer/withdraw/")

    sent = forward(agent, world)
    assert sent.status_code == 302
    delivered = smtp_server.wait_for(3)[2]
    assert delivered.recipients == (VENDOR,)
    email = delivered.message()
    assert email["To"] == VENDOR and email["Subject"].startswith("Fwd: ")
    assert "Please look at the pump model." in email.get_body(("plain",)).get_content()
    with web.app_context():
        original = db.session.get(Message, world.message_id)
        [attached] = [p for p in email.iter_attachments() if p.get_filename() == f"message-{original.id}.eml"]
        assert attached.get_content() == raw_store().get(original.sha256), "the exact archived bytes"
        archived = db.session.scalars(select(Message).where(Message.ticket_id == world.ticket_id,
                                                            Message.direction == "outbound")).one()
        assert archived.to_addrs == VENDOR and raw_store().get(archived.sha256) == delivered.raw
        consent = db.session.scalars(select(Consent)).one()
        assert (consent.status, consent.recipient) == ("given", VENDOR)
        assert consent.decided_by == "boss@leaky.example"
        assert audit.verify(db.session).ok
    assert actions(web)[-1] == "consent used"

    withdraw_page = customer.get(withdraw_path).get_data(as_text=True)
    assert f"forwarded as message {archived.id}" in withdraw_page, "what was sent under it"
    assert submit(customer, withdraw_path, withdraw_path, {}).status_code == 200
    smtp_server.wait_for(4)
    assert refused(agent, forward(agent, world)) and len(smtp_server.received) == 4
    assert actions(web)[-2:] == ["consent withdrawn", "sharing refused"]


def test_a_consent_covers_its_recipient_and_content_only_and_refusing_sends_nothing(web, world, smtp_server):
    agent = client_for(web, "agent")
    forward(agent, world, button="ask")
    [consent_path] = customer_links(smtp_server, 1)
    customer = web.test_client()
    assert submit(customer, consent_path, consent_path, {"refuse": "Refuse", "days": "7"}).status_code == 200
    assert "refused" in customer.get(consent_path).get_data(as_text=True)
    assert refused(agent, forward(agent, world))

    forward(agent, world, recipient="other@carrier.example", button="ask")
    [other] = customer_links(smtp_server, 3)
    give(customer, other)
    smtp_server.wait_for(4)
    assert refused(agent, forward(agent, world)), "a consent for another address"
    one_message = forward(agent, world, content=str(world.message_id), recipient="other@carrier.example")
    assert refused(agent, one_message), "a consent for the whole ticket is not one for a single message"
    assert forward(agent, world, recipient="other@carrier.example").status_code == 302
    assert smtp_server.wait_for(5)[4].recipients == ("other@carrier.example",)


def test_forwards_inside_the_account_or_the_support_team_need_no_consent(web, world, smtp_server):
    agent = client_for(web, "agent")
    web.config["INTERNAL_DOMAINS"] = ("partner-desk.example",)
    for n, recipient in enumerate(["ops@leaky.example", "ops@eu.leaky.example", "colleague@desk.example",
                                   "tier2@partner-desk.example"], start=1):
        assert forward(agent, world, recipient=recipient).status_code == 302
        assert smtp_server.wait_for(n)[n - 1].recipients == (recipient,)
    assert "consent used" not in actions(web) and "sharing refused" not in actions(web)
    for lookalike in ("ops@leaky.example.evil.example", "ops@notleaky.example"):
        assert refused(agent, forward(agent, world, recipient=lookalike))


def test_a_consent_ends_by_the_clock_and_its_link_cannot_be_used_twice(web, world, smtp_server, clock):
    agent = client_for(web, "agent")
    forward(agent, world, button="ask", days="1")
    [consent_path] = customer_links(smtp_server, 1)
    customer = web.test_client()
    token = form_token(customer, consent_path)
    give(customer, consent_path, days="1")
    smtp_server.wait_for(2)
    again = customer.post(consent_path, data={"csrf_token": token, "give": "I consent", "days": "1"})
    assert again.status_code == 409 and "already decided" in again.get_data(as_text=True)
    assert forward(agent, world).status_code == 302
    clock.advance(days=1)
    assert refused(agent, forward(agent, world))
    assert len(smtp_server.received) == 3


@pytest.mark.parametrize("address", ["not an address", "a@b", "x@y.example, z@w.example", "<a@b.example>"])
def test_a_malformed_recipient_is_refused_with_one_sentence(web, world, smtp_server, address):
    agent = client_for(web, "agent")
    response = forward(agent, world, recipient=address)
    assert response.status_code == 302
    page = agent.get(response.location).get_data(as_text=True)
    assert "Not forwarded:" in page and smtp_server.received == []


# For every export of the URL map: arguments that choose one account's data (Leaky Widgets's).
ONE_ACCOUNT_ARGUMENTS = {
    "search.export_csv": lambda built: {"q": 'export account:"Leaky Widgets"'},
    "search.export_mbox": lambda built: {"q": 'export account:"Leaky Widgets"'},
    "manage.audit_csv": lambda built: {"account": str(built.account_id)},
}
SEVERAL_ACCOUNTS_ARGUMENTS = {
    "search.export_csv": {"q": "export OR hello"},
    "search.export_mbox": {"q": "export OR hello"},
    "manage.audit_csv": {},
}


def export_routes(web) -> list[str]:
    """Every route of the URL map that downloads data as a file."""
    return sorted({endpoint for endpoint, method, rule in routes(web)
                   if method == "GET" and re.search(r"\.(csv|mbox|json|eml|zip)$", rule.rule)})


def test_every_download_route_of_the_url_map_is_a_guarded_export(web):
    found = export_routes(web)
    assert found and set(found) == set(EXPORTS) == set(ONE_ACCOUNT_ARGUMENTS)


@pytest.fixture
def indexed(web, world):  # noqa: F811 (the fixture above)
    with web.app_context():
        factories.index_queue(db.session)
    return world


def test_each_export_asks_for_whom_and_goes_outside_only_under_a_consent(web, indexed, smtp_server):
    built = indexed
    manager = client_for(web, "manager")
    customer = web.test_client()
    emails = 0
    for endpoint in export_routes(web):
        path = next(rule.rule for e, method, rule in routes(web) if e == endpoint)
        chosen = ONE_ACCOUNT_ARGUMENTS[endpoint](built)

        asked = manager.get(path, query_string=chosen)
        assert asked.status_code == 302 and asked.location.startswith("/exports/for-whom")
        question = manager.get(asked.location)
        assert question.status_code == 200 and "Who is this export for?" in question.get_data(as_text=True)

        team = download(manager, path, {**chosen, "use": "team"})
        assert team.status_code == 200 and team.data, endpoint
        assert _last_export(web).endswith("for the support team's own use")

        outside = {**chosen, "use": "outside", "recipient": "auditor@outside.example"}
        several = manager.get(path, query_string={**SEVERAL_ACCOUNTS_ARGUMENTS[endpoint], "use": "outside",
                                                  "recipient": "auditor@outside.example"})
        assert several.status_code == 403 and "data only" in several.get_data(as_text=True)
        before = actions(web)
        refused = manager.get(path, query_string=outside)
        assert refused.status_code == 403, endpoint
        assert actions(web) == before + ["sharing refused"], "refused: audited, and nothing exported"

        next_address = urlsplit(asked.location).query
        next_value = parse_qs(next_address)["next"][0]
        token = form_token(manager, asked.location)
        ask = manager.post("/exports/consent", data={
            "csrf_token": token, "next": next_value, "recipient": "auditor@outside.example",
            "purpose": "The yearly audit of our support.", "days": "7"})
        assert ask.status_code == 302
        emails += 1
        [consent_path] = customer_links(smtp_server, emails, to="boss@leaky.example")
        give(customer, consent_path)
        emails += 1
        [withdraw_path] = customer_links(smtp_server, emails)

        allowed = download(manager, path, outside)
        assert allowed.status_code == 200 and allowed.data.startswith(team.data[:20]), endpoint
        assert re.search(r"for auditor@outside\.example under consent \d+$", _last_export(web))
        assert "consent used" in actions(web)[-3:]

        submit(customer, withdraw_path, withdraw_path, {})
        emails += 1
        smtp_server.wait_for(emails)
        assert manager.get(path, query_string=outside).status_code == 403, endpoint


def download(client, path: str, query: dict):
    """GET an export and read it whole, as a browser does (a streamed response is closed only then)."""
    response = client.get(path, query_string=query)
    response.get_data()
    response.close()
    return response


def _last_export(web) -> str:
    with web.app_context():
        return db.session.scalars(select(AuditEntry.detail).where(AuditEntry.action.like("%exported%"))
                                  .order_by(AuditEntry.id.desc())).first()


def test_consents_are_listed_on_the_account_page_and_in_the_customers_access_log(web, world, smtp_server,
                                                                                 clock):
    agent = client_for(web, "agent")
    forward(agent, world, button="ask")
    [consent_path] = customer_links(smtp_server, 1)
    customer = web.test_client()
    give(customer, consent_path)
    smtp_server.wait_for(2)
    forward(agent, world)
    smtp_server.wait_for(3)

    account_page = agent.get(f"/accounts/{world.account_id}").get_data(as_text=True)
    consents = account_page[account_page.index('id="consents"'):]
    for words in (VENDOR, "The carrier repairs the pump under warranty.", "boss@leaky.example",
                  "given until"):
        assert words in consents

    with web.app_context():
        request = db.session.get(AccessRequest, world.request_id)
        log_link = links.new_token(db.session, request, "log", "boss@leaky.example",
                                   clock() + timedelta(days=1))
        db.session.commit()
    log = customer.get(f"/customer/log/{log_link}").get_data(as_text=True)
    shared = log[log.index('id="consents"'):]
    assert VENDOR in shared and "boss@leaky.example" in shared and "forwarded as message" in shared
