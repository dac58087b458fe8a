"""Two-factor sign-in with an authenticator app (TOTP, RFC 6238) and single-use recovery codes:
set up in the console and on the command line, required of managers and administrators by
default, refused when wrong, reused or expired, rate-limited like the password, and reset by
an administrator when a phone is lost.
"""

from __future__ import annotations

import re
from datetime import UTC

import pyotp
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Agent, AuditEntry
from app.runtime import secret_box
from app.secretbox import SecretBox, SecretUnreadable
from tests.app import console_world
from tests.app.test_access import Clock
from tests.app.test_console_access import routes, url_for_rule
from tests.web import form_token, sign_in, submit

SETUP = "/account/two-factor"
REQUIRED = ("manager", "admin")


@pytest.fixture
def clock(web):
    web.extensions["clock"] = clock = Clock()
    return clock


@pytest.fixture
def world(web, clock):
    web.config["TWO_FACTOR_ROLES"] = REQUIRED  # the default of every other configuration
    return console_world.build(web)


def code_at(secret: str, clock: Clock, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.now.replace(tzinfo=UTC).timestamp() + 30 * steps)


def set_up(client, clock) -> tuple[str, list[str]]:
    """Set up two-factor sign-in in the console as the signed-in agent; return the key and recovery codes."""
    submit(client, SETUP, f"{SETUP}/begin")
    page = client.get(SETUP).text
    secret = re.search(r"Key: <code>([A-Z2-7]+)</code>", page).group(1)
    assert 'src="data:image/svg+xml' in page  # the QR code, drawn inline
    done = submit(client, SETUP, f"{SETUP}/confirm", {"code": code_at(secret, clock)})
    assert done.status_code == 200, done.text
    return secret, re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", done.text)


def password_then(client, email: str, code: str | None):
    """Sign in with the password, then (if given) the code; return the last response."""
    first = sign_in(client, email)
    assert first.status_code == 302 and first.location.endswith("/login/code"), first.location
    if code is None:
        return first
    return submit(client, "/login/code", "/login/code", {"code": code})


def test_a_manager_reaches_no_page_but_the_setup_before_setting_it_up(web, world):
    manager = web.test_client()
    sign_in(manager, "manager@desk.example")
    token = form_token(manager, SETUP)
    reached = {}
    for endpoint, method, rule in routes(web):
        # Pages reached by an emailed link (customers', setting a password) need no sign-in,
        # nor does the public cookie list.
        if endpoint in ("auth.logout", "health.healthz", "cookies.page") or \
                endpoint.startswith(("two_factor.", "customer.", "auth.", "password.")):
            continue
        url = url_for_rule(rule, world)
        response = manager.get(url) if method == "GET" else manager.post(url, data={"csrf_token": token})
        reached[endpoint, method] = response.status_code, response.location
    assert len(reached) >= 30
    assert {key: answer for key, answer in reached.items() if answer != (302, SETUP)} == {}
    assert manager.get("/cookies").status_code == 200, "the cookie list is public"
    agent = web.test_client()
    sign_in(agent, "agent@desk.example")
    assert agent.get("/tickets").status_code == 200  # agents are not required to, by default


def test_setting_up_then_signing_in_needs_the_code_and_refuses_wrong_reused_and_expired_ones(
        web, world, clock):
    manager = web.test_client()
    sign_in(manager, "manager@desk.example")
    secret, recovery = set_up(manager, clock)
    assert len(recovery) == 10 and len(set(recovery)) == 10
    assert manager.get("/tickets").status_code == 200
    clock.advance(seconds=30)

    browser = web.test_client()
    password_then(browser, "manager@desk.example", None)
    assert browser.get("/tickets").status_code == 302  # not signed in on the password alone
    wrong = submit(browser, "/login/code", "/login/code", {"code": "000000"})
    assert wrong.status_code == 200 and "That code is wrong, expired or used already" in wrong.text
    expired = submit(browser, "/login/code", "/login/code", {"code": code_at(secret, clock, -2)})
    assert "That code is wrong" in expired.text
    right = submit(browser, "/login/code", "/login/code", {"code": code_at(secret, clock)})
    assert right.status_code == 302 and browser.get("/tickets").status_code == 200

    again = web.test_client()
    reused = password_then(again, "manager@desk.example", code_at(secret, clock))
    assert "That code is wrong, expired or used already" in reused.text
    # The next step's code (a phone whose clock runs a little ahead) is accepted, once.
    assert submit(again, "/login/code", "/login/code", {"code": code_at(secret, clock, 1)}).status_code == 302


def test_a_recovery_code_signs_in_once(web, world, clock):
    manager = web.test_client()
    sign_in(manager, "manager@desk.example")
    _, recovery = set_up(manager, clock)

    first = password_then(web.test_client(), "manager@desk.example", recovery[3].upper().replace("-", " "))
    second = password_then(web.test_client(), "manager@desk.example", recovery[3])

    assert first.status_code == 302
    assert second.status_code == 200 and "That code is wrong, expired or used already" in second.text
    with web.app_context():
        (used,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "recovery code used"))
        assert used.detail == "9 left"


def test_wrong_codes_are_rate_limited_like_the_password(web, world, clock):
    web.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    manager = web.test_client()
    sign_in(manager, "manager@desk.example")
    secret, _ = set_up(manager, clock)
    browser = web.test_client()
    password_then(browser, "manager@desk.example", None)
    answers = [submit(browser, "/login/code", "/login/code", {"code": "123456"}).status_code
               for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = submit(browser, "/login/code", "/login/code", {"code": code_at(secret, clock, 1)})
    assert refused.status_code == 429 and "Too many failed sign-ins" in refused.text


def test_the_code_must_follow_the_password_within_five_minutes(web, world, clock):
    manager = web.test_client()
    sign_in(manager, "manager@desk.example")
    secret, _ = set_up(manager, clock)
    browser = web.test_client()
    password_then(browser, "manager@desk.example", None)
    clock.advance(minutes=5, seconds=1)
    late = browser.post("/login/code", data={"csrf_token": form_token(browser, "/login"),
                                             "code": code_at(secret, clock)})
    assert late.status_code == 302 and late.location.startswith("/login")
    assert browser.get("/tickets").status_code == 302


def test_turning_it_on_ends_remembered_sign_ins_made_without_it(web, world, clock):
    old_laptop = web.test_client()
    sign_in(old_laptop, "manager@desk.example", remember=True)
    manager = web.test_client()
    sign_in(manager, "manager@desk.example")
    set_up(manager, clock)

    assert old_laptop.get("/tickets").status_code == 302
    assert manager.get("/tickets").status_code == 200


def test_the_secret_is_stored_encrypted_under_the_encryption_key(web, world, clock):
    manager = web.test_client()
    sign_in(manager, "manager@desk.example")
    secret, _ = set_up(manager, clock)
    with web.app_context():
        stored = db.session.scalar(select(Agent.totp_secret).where(Agent.email == "manager@desk.example"))
        assert secret not in stored and secret_box().decrypt(stored) == secret
        with pytest.raises(SecretUnreadable):
            SecretBox("another key").decrypt(stored)
        assert SecretBox(f"another key, {web.config['ENCRYPTION_KEY']}").decrypt(stored) == secret


def test_an_administrator_resets_a_lost_phone_in_the_console(web, world, clock):
    manager = web.test_client()
    sign_in(manager, "manager@desk.example")
    set_up(manager, clock)
    admin = web.test_client()
    sign_in(admin, "admin@desk.example")
    secret, _ = set_up(admin, clock)
    with web.app_context():
        manager_id = db.session.scalar(select(Agent.id).where(Agent.email == "manager@desk.example"))
    staff_page = admin.get("/admin/agents").text
    assert "password and authenticator" in staff_page

    submit(admin, "/admin/agents", f"/admin/agents/{manager_id}/reset-two-factor")

    assert manager.get("/tickets").status_code == 302  # their sessions ended
    fresh = web.test_client()
    assert sign_in(fresh, "manager@desk.example").location.endswith("/tickets")
    assert fresh.get("/tickets").location == SETUP  # set it up again before anything else
    with web.app_context():
        (entry,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "two-factor reset"))
        assert entry.detail == "for manager@desk.example, by admin@desk.example"


def test_the_command_line_sets_it_up_and_resets_it(web, world, clock):
    runner = web.test_cli_runner()
    begun = runner.invoke(args=["agents", "setup-two-factor", "admin@desk.example"])
    secret = re.search(r"authenticator app of admin@desk.example: ([A-Z2-7]+)", begun.output).group(1)
    wrong = runner.invoke(args=["agents", "setup-two-factor", "admin@desk.example", "--code", "000000"])
    assert wrong.exit_code == 1 and "That code does not match" in wrong.output

    done = runner.invoke(args=["agents", "setup-two-factor", "admin@desk.example",
                               "--code", code_at(secret, clock)])

    assert done.exit_code == 0, done.output
    assert len(re.findall(r"^  [a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$", done.output, re.M)) == 10
    listed = runner.invoke(args=["agents", "list", "--json"]).output
    assert '"two_factor": true' in listed
    clock.advance(seconds=30)
    assert password_then(web.test_client(), "admin@desk.example", code_at(secret, clock)).status_code == 302

    reset = runner.invoke(args=["agents", "reset-two-factor", "admin@desk.example"])

    assert reset.exit_code == 0 and "was removed and their sessions ended" in reset.output
    fresh = web.test_client()
    sign_in(fresh, "admin@desk.example")
    assert fresh.get("/tickets").location == SETUP
