"""Who may reach what: an access matrix generated from the application's URL map, the
CSRF refusal of every POST route, and the leak test that no page shows record content.

The matrix names every (endpoint, method) the application serves; a route added
without an entry here fails ``test_the_matrix_names_every_route``, so nobody can add
a page without deciding who may see it.
"""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Message, TicketEvent
from app.services.agents import disable_agent
from tests.app import console_world
from tests.app.admin_routes import ADMIN_ROUTES, PASSWORD_LINK_ROUTES
from tests.app.manage_routes import MANAGE_ROUTES
from tests.app.search_routes import SEARCH_ROUTES
from tests.web import form_token, sign_in, submit

WHO = ("anonymous", "agent", "manager", "admin", "disabled")
LOGIN = "login"  # a redirect to the sign-in page
REDIRECT = "redirect"  # a redirect anywhere else


def staff(outcome):
    """Signed-in staff of every role get ``outcome``; everyone else is sent to sign in."""
    return {"anonymous": LOGIN, "disabled": LOGIN, "agent": outcome, "manager": outcome, "admin": outcome}


def everyone(outcome):
    return dict.fromkeys(WHO, outcome)


# (endpoint, method) -> who -> outcome. POSTs carry a valid CSRF token and an empty form.
MATRIX = {
    ("health.healthz", "GET"): everyone(200),
    ("cookies.page", "GET"): everyone(200),
    ("auth.login", "GET"): {**everyone(200), "agent": REDIRECT, "manager": REDIRECT, "admin": REDIRECT},
    ("auth.login", "POST"): {**everyone(200), "agent": REDIRECT, "manager": REDIRECT, "admin": REDIRECT},
    ("auth.logout", "POST"): everyone(LOGIN),
    # The code step of sign-in, with no password passed first, starts sign-in over.
    ("auth.code", "GET"): everyone(LOGIN),
    ("auth.code", "POST"): everyone(LOGIN),
    # One's own two-factor sign-in: the empty forms carry no code, and nobody here has it on.
    ("two_factor.page", "GET"): staff(200),
    ("two_factor.begin", "POST"): staff(REDIRECT),
    ("two_factor.confirm", "POST"): staff(400),
    ("two_factor.recovery_codes", "POST"): staff(400),
    ("two_factor.reset", "POST"): staff(400),
    ("console.home", "GET"): staff(REDIRECT),
    ("console.queue", "GET"): staff(200),
    ("console.ticket", "GET"): staff(200),
    # A refused reply is shown again on the ticket's page, each error beside its field.
    ("console.reply", "POST"): staff(400),
    ("console.add_note", "POST"): staff(REDIRECT),
    ("console.set_status", "POST"): staff(REDIRECT),
    ("console.assign", "POST"): staff(REDIRECT),
    ("console.take", "POST"): staff(REDIRECT),
    # Bulk actions from the queue: the empty form selects no ticket, and is refused on the queue.
    ("bulk.apply", "POST"): staff(REDIRECT),
    # Moving, merging and linking: the world's message is linked already, and the empty forms
    # name no ticket, so each answers with the ticket page and a sentence; no change 999 exists.
    ("changes.move_preview", "GET"): staff(REDIRECT),
    ("changes.move", "POST"): staff(REDIRECT),
    ("changes.merge_preview", "GET"): staff(REDIRECT),
    ("changes.merge", "POST"): staff(REDIRECT),
    ("changes.link_page", "GET"): staff(REDIRECT),
    ("changes.link", "POST"): staff(REDIRECT),
    ("changes.undo", "POST"): staff(404),
    ("console.accounts", "GET"): staff(200),
    ("console.account", "GET"): staff(200),
    ("console.settings", "GET"): staff(200),
    ("console.settings", "POST"): staff(200),
    ("console.message_body", "GET"): staff(200),
    ("console.message_raw", "GET"): staff(200),
    ("console.attachment", "GET"): staff(200),
    # A draft saved from an empty form is no draft; a heartbeat must say viewing or replying.
    ("drafts.save", "POST"): staff(REDIRECT),
    ("drafts.discard", "POST"): staff(REDIRECT),
    ("presence.beat", "POST"): staff(400),
    # Saved replies: the world has none, so each one's address is not found.
    ("saved_replies.page", "GET"): staff(200),
    ("saved_replies.create", "POST"): staff(400),
    ("saved_replies.edit", "GET"): staff(404),
    ("saved_replies.edit", "POST"): staff(404),
    ("saved_replies.delete", "POST"): staff(404),
    # One's own notifications; the world's URL names a notification nobody has.
    ("notifications.page", "GET"): staff(200),
    ("notifications.read", "POST"): staff(404),
    ("notifications.read_all", "POST"): staff(REDIRECT),
    ("notifications.save_preferences", "POST"): staff(REDIRECT),
    # Logging a call, chat or meeting: the empty form is refused with a message on the page.
    ("communications.log_on_ticket", "POST"): staff(REDIRECT),
    ("communications.log_on_account", "POST"): staff(REDIRECT),
    ("communications.correct", "POST"): staff(REDIRECT),
    ("communications.message", "GET"): staff(REDIRECT),
    # Archived messages take no edit and no deletion, from anyone.
    ("communications.message", "DELETE"): staff(405),
    ("communications.message", "PATCH"): staff(405),
    ("communications.message", "PUT"): staff(405),
    # The public contact form: the empty form is refused, and asks for what is missing.
    ("contact.page", "GET"): everyone(200),
    ("contact.send", "POST"): everyone(400),
    ("contact.sent", "GET"): everyone(200),
    # Access: asking, cancelling, ending and break-glass answer with the account page and a
    # message; no role opens records without a grant, and the world has none.
    ("access.ask", "POST"): staff(REDIRECT),
    ("access.cancel", "POST"): staff(REDIRECT),
    ("access.end", "POST"): staff(REDIRECT),
    ("access.break_glass", "POST"): staff(REDIRECT),
    ("access.confirm", "POST"): staff(REDIRECT),
    ("access.records", "GET"): staff(403),
    ("access.record", "GET"): staff(403),
    # Customer links: the world's URLs carry a token that does not exist.
    ("customer.decide", "GET"): everyone(404),
    ("customer.decide", "POST"): everyone(404),
    ("customer.revoke", "GET"): everyone(404),
    ("customer.revoke", "POST"): everyone(404),
    ("customer.log", "GET"): everyone(404),
    ("customer.consent", "GET"): everyone(404),
    ("customer.consent", "POST"): everyone(404),
    ("customer.withdraw", "GET"): everyone(404),
    ("customer.withdraw", "POST"): everyone(404),
    # Sharing: an empty forward form is refused on the ticket page; the export question and
    # the export consent request need the address of an export.
    ("sharing.forward", "POST"): staff(REDIRECT),
    ("sharing.export_question", "GET"): {**staff(400), "agent": 403},
    ("sharing.ask_export_consent", "POST"): {**staff(400), "agent": 403},
    # The privacy policy is public: the version in force, every version, and the list of them.
    ("policy.current", "GET"): everyone(200),
    ("policy.versions", "GET"): everyone(200),
    ("policy.version", "GET"): everyone(200),
    **MANAGE_ROUTES,
    **ADMIN_ROUTES,
    **PASSWORD_LINK_ROUTES,
    **SEARCH_ROUTES,
}


def routes(app) -> list[tuple[str, str, object]]:
    """Return (endpoint, method, rule) for every route but static files; sign-out last."""
    found = [(rule.endpoint, method, rule) for rule in app.url_map.iter_rules()
             if rule.endpoint != "static" for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return sorted(found, key=lambda r: (r[0] == "auth.logout", r[0], r[1]))


ID_ARGUMENTS = ("ticket_id", "message_id", "attachment_id", "account_id", "record_id", "request_id",
                "saved_id", "agent_id", "mailbox_id", "version_id", "notification_id", "change_id")


def url_for_rule(rule, world: console_world.World, **changed) -> str:
    values = {"ticket_id": world.ticket_id, "message_id": world.message_id,
              "attachment_id": world.attachment_id, "account_id": world.account_id,
              "kind": "jobs", "record_id": world.job_id, "request_id": world.request_id,
              "raw": "no-such-token", "saved_id": 999, "agent_id": world.agent_id,
              "mailbox_id": world.mailbox_id, "version_id": world.policy_version_id,
              "notification_id": 999, "change_id": 999, **changed}
    return rule.build({arg: values[arg] for arg in rule.arguments})[1]


def send(client, method: str, url: str, token: str):
    """Make the route's own request: a GET, or a POST (PUT, DELETE...) with a valid CSRF token."""
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data={"csrf_token": token})


def outcome(response) -> int | str:
    if response.status_code in (301, 302, 303):
        return LOGIN if response.location.startswith("/login") else REDIRECT
    return response.status_code


def token_for(client, who: str) -> str:
    """Return a valid CSRF token of the client's session, from a form it can see."""
    return form_token(client, "/settings" if who in console_world.ROLES else "/login")


def client_for(app, who: str):
    client = app.test_client()
    if who == "anonymous":
        return client
    assert sign_in(client, f"{who}@desk.example").status_code == 302
    if who == "disabled":
        with app.app_context():
            disable_agent(db.session, "disabled@desk.example")
            db.session.commit()
    return client


@pytest.fixture
def world(web):
    return console_world.build(web)


def test_the_matrix_names_every_route(web):
    served = {(endpoint, method) for endpoint, method, _ in routes(web)}
    assert served - MATRIX.keys() == set(), "routes without an entry in the access matrix"
    assert MATRIX.keys() - served == set(), "matrix entries for routes that no longer exist"


@pytest.mark.parametrize("who", WHO)
def test_every_route_answers_each_role_as_the_matrix_says(web, world, who):
    client = client_for(web, who)
    token = token_for(client, who)
    seen = {}
    for endpoint, method, rule in routes(web):
        url = url_for_rule(rule, world)
        response = send(client, method, url, token)
        seen[endpoint, method] = outcome(response)
    assert seen == {key: expected[who] for key, expected in MATRIX.items()}


def test_every_post_route_refuses_a_missing_or_forged_csrf_token_and_changes_nothing(web, world):
    client = client_for(web, "agent")
    posts = [(endpoint, rule) for endpoint, method, rule in routes(web) if method == "POST"]
    assert len(posts) >= 8
    for endpoint, rule in posts:
        url = url_for_rule(rule, world)
        for data in ({}, {"csrf_token": "forged"}, {"csrf_token": token_for(client, "agent") + "x"}):
            data = {**data, "text": "a note", "status": "closed", "ticket": str(world.unmatched_ticket_id),
                    "body": "a reply", "assignee": "", "account": str(world.account_id)}
            response = client.post(url, data=data)
            assert response.status_code == 400, endpoint
            assert "security token is missing or has expired" in response.text, endpoint
    with web.app_context():
        assert db.session.query(TicketEvent).count() == 0
    assert client.get("/tickets").status_code == 200, "the agent is still signed in"


@pytest.mark.parametrize("who", console_world.ROLES)
def test_no_page_or_response_shows_a_record_string(web, world, who):
    client = client_for(web, who)
    token = token_for(client, who)
    urls = {url_for_rule(rule, world) for _, method, rule in routes(web) if method == "GET"}
    account = world.account_id
    urls |= {f"/tickets?queue=all&account={account}", f"/tickets?queue=nonsense&account={account}",
             f"/tickets?status=closed&queue=all&account={account}", "/accounts/999999",
             f"/tickets/{world.ticket_id}?remote=1", f"/tickets/{world.ticket_id}?remote={world.message_id}"}
    bodies = {url: client.get(url, follow_redirects=True).get_data() for url in sorted(urls)}
    for _, method, rule in routes(web):
        if method == "POST" and rule.endpoint != "auth.logout":
            url = url_for_rule(rule, world)
            response = client.post(url, data={"csrf_token": token}, follow_redirects=True)
            bodies[f"POST {url}"] = response.get_data()
    for url, body in bodies.items():
        for secret in console_world.RECORD_STRINGS:
            assert secret.lower().encode() not in body.lower(), f"{secret} in {url}"
    account_page = bodies[f"/accounts/{world.account_id}"].decode()
    assert "Jobs" in account_page and "Employees" in account_page


HUGE_ID = "99999999999999999999"  # past every database's integer columns


def test_an_id_too_large_for_any_database_answers_404_on_every_route_that_takes_one(web, world):
    client = client_for(web, "admin")
    token = token_for(client, "admin")
    checked = 0
    for endpoint, method, rule in routes(web):
        for name in sorted(rule.arguments & set(ID_ARGUMENTS)):
            url = url_for_rule(rule, world, **{name: int(HUGE_ID)})
            response = send(client, method, url, token)
            assert response.status_code == 404, f"{method} {url} ({endpoint})"
            checked += 1
    assert checked >= 15
    for query in (f"/tickets?account={HUGE_ID}", "/tickets?account=0", "/tickets?account=-3",
                  "/tickets?account=abc", "/tickets?account=999999"):
        assert client.get(query).status_code == 404, query
    assert client.get(f"/tickets?page={HUGE_ID}").status_code == 200


def test_moving_a_message_to_a_ticket_number_too_large_for_any_database_is_refused(web, world):
    client = client_for(web, "agent")
    page = f"/tickets/{world.ticket_id}"
    response = submit(client, page, f"/messages/{world.message_id}/move", {"ticket": HUGE_ID},
                      follow_redirects=True)
    assert response.status_code in (200, 400)
    assert "Number must be between 1 and" in response.text
    with web.app_context():
        assert db.session.get(Message, world.message_id).ticket_id == world.ticket_id



@pytest.mark.parametrize("who", console_world.ROLES)
def test_every_page_a_signed_in_person_gets_is_sent_with_no_store(web, world, who):
    client = client_for(web, who)
    token = token_for(client, who)
    for endpoint, method, rule in routes(web):
        if endpoint == "auth.logout":
            continue
        url = url_for_rule(rule, world)
        response = send(client, method, url, token)
        assert response.headers.get("Cache-Control") == "no-store", f"{method} {url} ({endpoint})"
    assert client.get("/static/desk.css").headers.get("Cache-Control") != "no-store"
