"""Administration in the browser and its command-line twin: who reaches which page, CSRF on
every POST, invitations and password resets by an emailed link (through a real SMTP
server on loopback), the last administrator kept, and account editing refused in the
same sentences as ``flask accounts``. Every change lands in the audit log.
"""

from __future__ import annotations

import html
import logging
import re

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select

from app.extensions import db
from app.models import Account, Agent, AuditEntry
from app.services import password_links
from app.services.accounts import AccountChanges, account_named, edit_account
from app.services.agents import agent_with_email, change_role, disable_agent
from app.services.errors import ServiceError
from tests import factories
from tests.app import console_world
from tests.app.admin_routes import ADMIN_ROUTES, PASSWORD_LINK_ROUTES
from tests.app.test_access import START, Clock
from tests.app.test_console_access import WHO, client_for, outcome, routes, token_for, url_for_rule
from tests.web import form_token, sign_in, submit

PUBLIC = "http://desk.test"
NEW_PASSWORD = "a brand new pass phrase"


@pytest.fixture
def clock(web):
    web.extensions["clock"] = clock = Clock()
    return clock


@pytest.fixture
def world(web, clock, smtp_server):
    web.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=PUBLIC)
    return console_world.build(web)


@pytest.fixture
def admin(web, world):
    return client_for(web, "admin")


def admin_routes(app) -> list[tuple[str, str, object]]:
    return [(e, m, r) for e, m, r in routes(app) if e.startswith(("admin.", "password."))]


def audit_entries(web) -> list[tuple[str, str]]:
    with web.app_context():
        return db.session.execute(select(AuditEntry.action, AuditEntry.detail).order_by(AuditEntry.id)).all()


def link_in(smtp_server, count: int) -> str:
    """Return the path of the password link in the ``count``-th email the server received."""
    body = smtp_server.wait_for(count)[count - 1].message().get_content()
    return re.search(re.escape(PUBLIC) + r"(/password/\S+)", body).group(1)


def alert(response) -> str:
    return html.unescape(re.search(r'role="alert">([^<]*)<', response.text).group(1))


def errors(response) -> list[str]:
    found = re.findall(r'class="(?:field-error|notice notice-error)"[^>]*>([^<]*)<', response.text)
    return [html.unescape(sentence) for sentence in found]


def invite(admin, email="new@desk.example", name="New Person", role="agent", **kwargs):
    return submit(admin, "/admin/agents", "/admin/agents/invite",
                  {"email": email, "name": name, "role": role}, **kwargs)


def loads_unsafe(token: str) -> list:
    """Read a token's payload without checking its signature, as anyone holding the link can."""
    return URLSafeSerializer("unknown", salt=password_links.SALT).loads_unsafe(token)[1]


def agent_id(web, email: str) -> int:
    with web.app_context():
        return agent_with_email(db.session, email).id


# --- who reaches what -------------------------------------------------------------------

def test_the_admin_table_names_every_admin_route_and_no_other(web):
    served = {(endpoint, method) for endpoint, method, _ in admin_routes(web)}
    assert served == ADMIN_ROUTES.keys() | PASSWORD_LINK_ROUTES.keys()
    assert len(ADMIN_ROUTES) >= 18


@pytest.mark.parametrize("who", WHO)
def test_every_admin_route_answers_each_role_as_the_table_says(web, world, who):
    client = client_for(web, who)
    token = token_for(client, who)
    seen = {}
    for endpoint, method, rule in admin_routes(web):
        url = url_for_rule(rule, world)
        response = client.get(url) if method == "GET" else client.post(url, data={"csrf_token": token})
        seen[endpoint, method] = outcome(response)
    expected = {key: rows[who] for key, rows in {**ADMIN_ROUTES, **PASSWORD_LINK_ROUTES}.items()}
    assert seen == expected
    if who in ("agent", "manager"):
        assert {seen[key] for key in ADMIN_ROUTES} == {403}


def test_only_administrators_see_the_administration_link(web, world):
    for who in ("agent", "manager", "admin"):
        page = client_for(web, who).get("/settings").text
        assert ('href="/admin/agents"' in page) == (who == "admin"), who
    page = client_for(web, "admin").get("/admin/accounts").text
    assert 'aria-label="Administration"' in page and ">Agents<" in page and ">Accounts<" in page


def test_every_admin_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(web, world, admin,
                                                                                   smtp_server):
    before = audit_entries(web)
    posts = [(endpoint, rule) for endpoint, method, rule in admin_routes(web) if method == "POST"]
    assert len(posts) >= 14
    data = {"email": "csrf@desk.example", "name": "Csrf", "role": "admin", "domain": "csrf.example",
            "contact": "boss@leaky.example", "approver": "y", "approvers": "ops@leaky.example"}
    for endpoint, rule in posts:
        url = url_for_rule(rule, world)
        for token in ({}, {"csrf_token": "forged"}, {"csrf_token": token_for(admin, "admin") + "x"}):
            response = admin.post(url, data={**data, **token})
            assert response.status_code == 400, endpoint
            assert "security token is missing or has expired" in response.text, endpoint
    assert audit_entries(web) == before
    assert smtp_server.received == []
    with web.app_context():
        assert db.session.scalar(select(func.count(Agent.id))) == 4
        assert not agent_with_email(db.session, "agent@desk.example").disabled
    assert admin.get("/admin/agents").status_code == 200, "still signed in"


# --- invitations and password links -----------------------------------------------------

def test_an_invited_agent_sets_a_password_once_from_the_emailed_link_then_signs_in(web, world, admin,
                                                                                    smtp_server):
    response = invite(admin, email="New@Desk.Example", role="manager")
    assert response.status_code == 302
    assert response.location == f"/admin/agents/{agent_id(web, 'new@desk.example')}"
    (mail,) = smtp_server.wait_for(1)
    assert mail.recipients == ("new@desk.example",)
    assert mail.message()["Subject"] == "You are invited to the support desk: set your password"
    path = link_in(smtp_server, 1)
    newcomer = web.test_client()
    assert sign_in(newcomer, "new@desk.example", "").status_code == 200, "no password signs them in yet"

    page = newcomer.get(path)
    assert page.status_code == 200 and "new@desk.example" in page.text
    assert newcomer.get(path).status_code == 200, "opening the link spends nothing"
    short = submit(newcomer, path, path, {"password": "too short", "repeat": "too short"})
    assert short.status_code == 400 and errors(short) == ["The password is shorter than 12 characters."]
    differ = submit(newcomer, path, path, {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD + "!"})
    assert differ.status_code == 400 and "differ" in errors(differ)[0]
    done = submit(newcomer, path, path, {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert done.status_code == 302 and done.location == "/login"

    again = newcomer.get(path)
    assert again.status_code == 410
    assert alert(again).startswith("This link was used already")
    assert "Traceback" not in again.text and again.headers["Referrer-Policy"] == "no-referrer"
    assert sign_in(newcomer, "new@desk.example", NEW_PASSWORD).status_code == 302
    assert newcomer.get("/tickets").status_code == 200
    actions = [action for action, _ in audit_entries(web)]
    assert actions[-2:] == ["agent invited", "agent password set"]


def test_an_expired_link_is_refused_with_a_clear_page(web, world, admin, smtp_server, clock):
    invite(admin)
    path = link_in(smtp_server, 1)
    clock.advance(hours=web.config["PASSWORD_LINK_HOURS"], seconds=-1)
    assert web.test_client().get(path).status_code == 200
    clock.advance(seconds=1)
    late = web.test_client()
    form = {"csrf_token": form_token(late, "/login"), "password": NEW_PASSWORD, "repeat": NEW_PASSWORD}
    for response in (late.get(path), late.post(path, data=form)):
        assert response.status_code == 410
        assert alert(response) == "This link has expired. Ask an administrator to send a new one."
    with web.app_context():
        assert not agent_with_email(db.session, "new@desk.example").password_hash.startswith("$argon2")


@pytest.mark.parametrize("change", ["truncated", "tampered", "signed with another key"])
def test_a_forged_link_is_refused_with_a_clear_page(web, world, admin, smtp_server, change):
    invite(admin)
    path = link_in(smtp_server, 1)
    token = path.removeprefix("/password/")
    if change == "truncated":
        forged = token[:-3]
    elif change == "tampered":  # another agent's id, with the first link's signature
        payload, _, signature = token.partition(".")
        forged = URLSafeSerializer("x").dump_payload([1, *loads_unsafe(token)[1:]]).decode() + "." + signature
    else:
        forged = URLSafeSerializer("not the key", salt=password_links.SALT).dumps(loads_unsafe(token))
    response = web.test_client().get(f"/password/{forged}")
    assert response.status_code == 400
    assert alert(response).startswith("This link is not valid")


def test_a_link_for_a_disabled_agent_is_refused_and_a_reset_spends_earlier_links(web, world, admin,
                                                                                 smtp_server):
    invite(admin)
    first = link_in(smtp_server, 1)
    new_id = agent_id(web, "new@desk.example")
    page = f"/admin/agents/{new_id}"
    assert submit(admin, page, f"{page}/resend-invitation").status_code == 302
    second = link_in(smtp_server, 2)
    assert web.test_client().get(first).status_code == 410, "a new invitation replaces the old link"
    assert web.test_client().get(second).status_code == 200
    submit(admin, page, f"{page}/disable")
    refused = web.test_client().get(second)
    assert refused.status_code == 410 and "disabled" in alert(refused)


def test_resetting_a_password_ends_the_old_one_and_the_sessions_and_emails_a_link(web, world, admin,
                                                                                   smtp_server):
    victim = client_for(web, "agent")
    assert victim.get("/tickets").status_code == 200
    target = agent_id(web, "agent@desk.example")
    response = submit(admin, f"/admin/agents/{target}", f"/admin/agents/{target}/reset-password")
    assert response.status_code == 302
    assert victim.get("/tickets").status_code == 302, "the old session ended"
    assert sign_in(web.test_client(), "agent@desk.example").status_code == 200, "the old password fails"
    assert smtp_server.wait_for(1)[0].message()["Subject"] == "Set a new password for the support desk"
    path = link_in(smtp_server, 1)
    fresh = web.test_client()
    submit(fresh, path, path, {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert sign_in(fresh, "agent@desk.example", NEW_PASSWORD).status_code == 302
    assert [a for a, _ in audit_entries(web)][-2:] == ["agent password reset", "agent password set"]


def test_an_invitation_the_mail_server_refuses_adds_nobody(web, world, admin):
    web.config["SMTP_URL"] = "smtp://127.0.0.1:1"
    response = invite(admin)
    assert response.status_code == 400
    assert "cannot be reached" in errors(response)[0]
    with web.app_context():
        assert db.session.scalar(select(Agent).where(Agent.email == "new@desk.example")) is None


def test_an_invitation_is_refused_beside_its_field_in_the_cli_s_words(web, world, admin, smtp_server):
    taken = invite(admin, email="agent@desk.example")
    assert taken.status_code == 400
    assert errors(taken) == ["An agent with the address agent@desk.example exists already."]
    assert 'id="email-error"' in taken.text
    bad = invite(admin, email="not-an-address")
    assert errors(bad) == ["'not-an-address' is not an email address."]
    role = invite(admin, role="owner")
    assert errors(role) == ["The role must be one of agent, manager, admin, not 'owner'."]
    assert smtp_server.received == []


def test_the_cli_invites_and_resets_with_the_same_link(web, world, smtp_server):
    runner = web.test_cli_runner()
    result = runner.invoke(args=["agents", "invite", "cli@desk.example", "--name", "Cli Person",
                                 "--role", "manager"])
    assert result.exit_code == 0, result.output
    assert "Invited manager cli@desk.example" in result.output
    path = link_in(smtp_server, 1)
    client = web.test_client()
    submit(client, path, path, {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert sign_in(client, "cli@desk.example", NEW_PASSWORD).status_code == 302
    reset = runner.invoke(args=["agents", "reset-password", "cli@desk.example"])
    assert reset.exit_code == 0, reset.output
    assert sign_in(web.test_client(), "cli@desk.example", NEW_PASSWORD).status_code == 200
    assert link_in(smtp_server, 2) != path
    role = runner.invoke(args=["agents", "role", "cli@desk.example", "agent"])
    assert role.exit_code == 0 and "cli@desk.example is now an agent." in role.output
    assert [a for a, _ in audit_entries(web)][-3:] == ["agent password set", "agent password reset",
                                                         "agent role changed"]


# --- the last administrator ---------------------------------------------------------------

def test_the_service_refuses_to_demote_or_disable_the_last_administrator(app):
    factories.agent(db.session, "only@desk.example", role="admin")
    for attempt in (lambda: change_role(db.session, "only@desk.example", "manager"),
                    lambda: disable_agent(db.session, "only@desk.example")):
        with pytest.raises(ServiceError, match="only@desk.example is the last enabled administrator"):
            attempt()
        db.session.rollback()
    factories.agent(db.session, "second@desk.example", role="admin")
    change_role(db.session, "only@desk.example", "manager")
    db.session.commit()
    with pytest.raises(ServiceError, match="second@desk.example is the last enabled administrator"):
        disable_agent(db.session, "second@desk.example")


def test_a_disabled_administrator_does_not_count(app):
    factories.agent(db.session, "one@desk.example", role="admin")
    factories.agent(db.session, "two@desk.example", role="admin")
    disable_agent(db.session, "two@desk.example")
    db.session.commit()
    with pytest.raises(ServiceError, match="last enabled administrator"):
        change_role(db.session, "one@desk.example", "agent")


def test_the_cli_refuses_to_remove_the_last_administrator(app):
    factories.agent(db.session, "only@desk.example", role="admin")
    runner = app.test_cli_runner()
    for args in (["agents", "role", "only@desk.example", "agent"],
                 ["agents", "disable", "only@desk.example"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1
        assert result.output.startswith(
            "Error: only@desk.example is the last enabled administrator, and the desk needs one: "
            "make another agent an administrator first"), result.output
    db.session.rollback()
    assert agent_with_email(db.session, "only@desk.example").role == "admin"


def test_the_browser_refuses_to_remove_the_last_administrator(web, world, admin):
    me = agent_id(web, "admin@desk.example")
    page = f"/admin/agents/{me}"
    demoted = submit(admin, page, f"{page}/role", {"role": "manager"})
    assert demoted.status_code == 400
    assert errors(demoted)[0].startswith("admin@desk.example is the last enabled administrator")
    disabled = submit(admin, page, f"{page}/disable")
    assert disabled.status_code == 400 and "last enabled administrator" in errors(disabled)[0]
    assert admin.get("/admin/agents").status_code == 200, "still an administrator"
    other = agent_id(web, "manager@desk.example")
    promoted = submit(admin, f"/admin/agents/{other}", f"/admin/agents/{other}/role", {"role": "admin"})
    assert promoted.status_code == 302
    assert submit(admin, page, f"{page}/role", {"role": "manager"}).status_code == 302
    assert admin.get("/admin/agents").status_code == 403
    assert ("agent role changed", "admin@desk.example, from admin to manager, by admin@desk.example") \
        in audit_entries(web)


def test_disabling_an_agent_ends_their_sessions_and_enabling_lets_them_back(web, world, admin):
    victim = client_for(web, "agent")
    target = agent_id(web, "agent@desk.example")
    page = f"/admin/agents/{target}"
    assert submit(admin, page, f"{page}/disable").status_code == 302
    assert victim.get("/tickets").status_code == 302
    assert sign_in(web.test_client(), "agent@desk.example").status_code == 200
    assert submit(admin, page, f"{page}/enable").status_code == 302
    assert sign_in(web.test_client(), "agent@desk.example").status_code == 302
    assert [a for a, _ in audit_entries(web)][-2:] == ["agent disabled", "agent enabled"]


# --- accounts ------------------------------------------------------------------------------

ACCOUNT_REFUSALS = {
    # (form action, data): the sentence, as `flask accounts add/edit` prints it
    "public domain": ("domains", {"domain": "gmail.com"},
                      "gmail.com is a public mail provider; add the people as contacts instead."),
    "bad domain": ("domains", {"domain": "not a domain"},
                   "'not a domain' is not a mail domain (for example: example.com)"),
    "domain of another account": ("domains", {"domain": "other.example"},
                                  "The domain other.example belongs to Other Co already."),
    "bad address": ("contacts", {"contact": "ops-at-leaky.example"},
                    "'ops-at-leaky.example' is not an email address."),
    "contact twice": ("contacts", {"contact": "ops@leaky.example"},
                      "ops@leaky.example is a contact of Leaky Widgets already."),
    "taken name": ("rename", {"name": "Other Co"}, "An account named 'Other Co' exists already."),
    "long name": ("rename", {"name": "x" * 201}, None),
    "unknown domain": ("domains/remove", {"domain": "nowhere.example"},
                       "'nowhere.example' is not a domain of Leaky Widgets."),
    "unknown contact": ("contacts/remove", {"contact": "who@leaky.example"},
                        "'who@leaky.example' is not a contact of Leaky Widgets."),
}
CLI_EDIT = {
    "public domain": ["--add-domain", "gmail.com"], "bad domain": ["--add-domain", "not a domain"],
    "domain of another account": ["--add-domain", "other.example"],
    "bad address": ["--add-contact", "ops-at-leaky.example"],
    "contact twice": ["--add-contact", "ops@leaky.example"],
    "taken name": ["--rename", "Other Co"], "unknown domain": ["--remove-domain", "nowhere.example"],
    "unknown contact": ["--remove-contact", "who@leaky.example"],
}


@pytest.mark.parametrize("case", sorted(ACCOUNT_REFUSALS))
def test_account_editing_is_refused_in_the_browser_and_the_cli_in_the_same_words(web, world, admin, case):
    action, data, sentence = ACCOUNT_REFUSALS[case]
    with web.app_context():
        factories.account(db.session, "Other Co", domains=["other.example"])
    before = audit_entries(web)
    page = f"/admin/accounts/{world.account_id}"
    response = submit(admin, page, f"{page}/{action}", data)
    assert response.status_code == 400
    shown = errors(response)
    if sentence is None:
        assert shown and "200" in shown[0]
        return
    assert shown == [sentence]
    if case in CLI_EDIT:
        result = web.test_cli_runner().invoke(args=["accounts", "edit", "Leaky Widgets", *CLI_EDIT[case]])
        assert result.exit_code == 1 and result.output.strip() == f"Error: {sentence}"
    assert audit_entries(web) == before


def test_an_administrator_edits_an_account_and_each_change_is_audited(web, world, admin):
    page = f"/admin/accounts/{world.account_id}"
    for action, data in (("rename", {"name": "Leaky Widgets Ltd"}),
                         ("domains", {"domain": "@Leaky.Example.Org"}),
                         ("domains/remove", {"domain": "leaky.example"}),
                         ("contacts", {"contact": "New@Leaky.Example", "approver": "y"}),
                         ("contacts/remove", {"contact": "ops@leaky.example"})):
        response = submit(admin, page, f"{page}/{action}", data)
        assert response.status_code == 302, (action, errors(response))
    chosen = submit(admin, page, f"{page}/approvers", {"approvers": ["boss@leaky.example"]})
    assert chosen.status_code == 302
    with web.app_context():
        account = db.session.get(Account, world.account_id)
        assert account.name == "Leaky Widgets Ltd"
        assert [d.domain for d in account.domains] == ["leaky.example.org"]
        assert [(c.email, c.is_approver) for c in account.contacts] == [("boss@leaky.example", True),
                                                                      ("new@leaky.example", False)]
    actions = [a for a, _ in audit_entries(web)][-6:]
    assert actions == ["account renamed", "account domain added", "account domain removed",
                       "account contact added", "account contact removed", "account approver removed"]
    with web.app_context():
        assert db.session.scalar(select(AuditEntry.account_id).order_by(AuditEntry.id.desc()).limit(1)) \
            == world.account_id


def test_approvers_can_only_be_chosen_among_contacts(web, world, admin):
    page = f"/admin/accounts/{world.account_id}"
    response = submit(admin, page, f"{page}/approvers", {"approvers": ["stranger@else.example"]})
    assert response.status_code == 400
    assert errors(response) == ["'stranger@else.example' is not a contact of Leaky Widgets."]


def test_an_administrator_adds_an_account_in_the_browser(web, world, admin):
    response = submit(admin, "/admin/accounts", "/admin/accounts/add", {"name": "Brand New Co"})
    assert response.status_code == 302
    taken = submit(admin, "/admin/accounts", "/admin/accounts/add", {"name": "Brand New Co"})
    assert taken.status_code == 400 and errors(taken) == ["An account named 'Brand New Co' exists already."]
    assert audit_entries(web)[-1][0] == "account added"


def test_flask_accounts_edit_changes_everything_or_nothing(app):
    factories.account(db.session, "Acme", domains=["acme.example"], contacts=["a@acme.example"])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["accounts", "edit", "Acme", "--rename", "Acme Ltd",
                                 "--add-domain", "acme.test", "--remove-domain", "acme.example",
                                 "--add-contact", "b@acme.example",
                                 "--approver", "c@acme.example", "--approver", "a@acme.example",
                                 "--not-approver", "a@acme.example", "--remove-contact", "b@acme.example"])
    assert result.exit_code == 0, result.output
    assert result.output == ("Changed account Acme Ltd: domains acme.test; contacts a@acme.example, "
                             "c@acme.example; approvers c@acme.example.\n")
    refused = runner.invoke(args=["accounts", "edit", "Acme Ltd", "--rename", "Acme Again",
                                  "--add-domain", "gmail.com"])
    assert refused.exit_code == 1
    db.session.rollback()
    assert account_named(db.session, "Acme Ltd").name == "Acme Ltd"
    nothing = runner.invoke(args=["accounts", "edit", "Acme Ltd"])
    assert nothing.exit_code == 1 and "Say what to change" in nothing.output


def test_edit_account_service_adds_an_unknown_approver_as_a_contact(app):
    account = factories.account(db.session, "Acme", domains=["acme.example"])
    edit_account(db.session, account, AccountChanges(approvers=["Boss@Acme.Example"]), by=None, now=START)
    assert [(c.email, c.is_approver) for c in account.contacts] == [("boss@acme.example", True)]


def test_a_password_links_token_never_reaches_a_log_line(web, world, admin, smtp_server, caplog):
    invite(admin)
    path = link_in(smtp_server, 1)
    token = path.removeprefix("/password/")
    caplog.set_level(logging.INFO)
    logging.getLogger("werkzeug").info('127.0.0.1 - - "GET %s HTTP/1.1" 200 -', path)
    assert "/password/[token]" in caplog.text and token not in caplog.text
