"""Agents as an administrator manages them with ``flask agents``, and how their passwords
are kept: argon2id hashes, never the password, each command failing in one sentence.
"""

from __future__ import annotations

import json

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from app.extensions import db
from app.models import Agent
from app.passwords import verify_password
from app.services.agents import authenticate, set_language, update_settings
from app.services.errors import ServiceError
from tests import factories

PASSWORD = "a long enough pass phrase"


def run(app, *args: str, input: str | None = None):
    """Run a command as a shell would, with what the person types on standard input."""
    return app.test_cli_runner().invoke(args=list(args), input=input)


def one_error(result) -> str:
    """Return the single error sentence of a failed command."""
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert errors[0].endswith((".", ")")), errors[0]
    return errors[0].removeprefix("Error: ")


def agent_count(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(Agent))


def stored_rows(session) -> list[str]:
    return [str(row) for table in db.metadata.sorted_tables for row in session.execute(select(table))]


def test_agents_add_asks_for_the_password_twice_then_list_shows_the_agent(app, session):
    added = run(app, "agents", "add", "Kim@Desk.Example", "--name", "Kim Lee", "--role", "manager",
                input=f"{PASSWORD}\n{PASSWORD}\n")
    listed = run(app, "agents", "list", "--json")
    table = run(app, "agents", "list")

    assert added.exit_code == 0, added.output
    assert PASSWORD not in added.output
    assert "Added manager kim@desk.example (id " in added.output
    row, = json.loads(listed.stdout)
    assert {k: row[k] for k in ("email", "name", "role", "disabled")} == {
        "email": "kim@desk.example", "name": "Kim Lee", "role": "manager", "disabled": False}
    assert "password" not in " ".join(row) and "$argon2" not in listed.output + table.output
    assert "kim@desk.example" in table.output.splitlines()[1]


def test_agents_add_reads_the_password_from_the_named_environment_variable(app, session, monkeypatch):
    monkeypatch.setenv("NEW_AGENT_PASSWORD", PASSWORD)

    result = run(app, "agents", "add", "kim@desk.example", "--name", "Kim", "--role", "agent",
                 "--password-env", "NEW_AGENT_PASSWORD")

    assert result.exit_code == 0, result.output
    assert authenticate(session, "kim@desk.example", PASSWORD) is not None


def test_a_mistyped_confirmation_adds_no_agent(app, session):
    result = run(app, "agents", "add", "kim@desk.example", "--name", "Kim", "--role", "agent",
                 input=f"{PASSWORD}\n{PASSWORD}x\n")

    assert result.exit_code != 0
    assert "do not match" in result.output
    assert agent_count(session) == 0


def test_the_password_is_stored_only_as_a_salted_argon2id_hash(session):
    kim = factories.agent(session, "kim@desk.example", password=PASSWORD)
    lee = factories.agent(session, "lee@desk.example", password=PASSWORD)

    assert kim.password_hash.startswith("$argon2id$")
    assert kim.password_hash != lee.password_hash  # each hash has its own salt
    assert verify_password(kim.password_hash, PASSWORD)
    assert not verify_password(kim.password_hash, PASSWORD + "!")
    assert not [row for row in stored_rows(session) if PASSWORD in row]


def test_a_hash_made_with_weaker_parameters_is_replaced_at_the_next_sign_in(
        session, production_password_hashes):
    kim = factories.agent(session, "kim@desk.example", password=PASSWORD)
    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    kim.password_hash = weak
    session.commit()

    signed_in = authenticate(session, "kim@desk.example", PASSWORD)

    assert signed_in is kim
    assert kim.password_hash != weak and "m=65536,t=3" in kim.password_hash
    assert verify_password(kim.password_hash, PASSWORD)


def test_sign_in_is_refused_for_a_wrong_password_an_unknown_address_and_a_disabled_agent(session):
    factories.agent(session, "kim@desk.example", password=PASSWORD)
    factories.agent(session, "gone@desk.example", password=PASSWORD).disabled = True
    session.commit()

    assert authenticate(session, "KIM@desk.example ", PASSWORD) is not None
    assert authenticate(session, "kim@desk.example", "not the pass phrase") is None
    assert authenticate(session, "nobody@desk.example", PASSWORD) is None
    assert authenticate(session, "gone@desk.example", PASSWORD) is None


def test_agents_disable_marks_the_agent_and_revokes_every_cookie_issued_before(app, session):
    kim = factories.agent(session, "kim@desk.example")
    identity_before = kim.get_id()

    result = run(app, "agents", "disable", "kim@desk.example")

    session.refresh(kim)
    assert result.exit_code == 0, result.output
    assert kim.disabled and not kim.is_active
    assert kim.get_id() != identity_before
    assert json.loads(run(app, "agents", "list", "--json").stdout)[0]["disabled"] is True


def test_agents_enable_lets_a_disabled_agent_sign_in_again(app, session):
    factories.agent(session, "kim@desk.example", password=PASSWORD)
    run(app, "agents", "disable", "kim@desk.example")

    result = run(app, "agents", "enable", "kim@desk.example")

    assert result.exit_code == 0, result.output
    assert authenticate(session, "kim@desk.example", PASSWORD) is not None


ADD = ["agents", "add", "new@desk.example", "--name", "New Agent", "--role", "agent",
       "--password-env", "NEW_AGENT_PASSWORD"]

WRONG_ARGUMENTS = {
    "duplicate address": (["agents", "add", "Existing@desk.example", *ADD[3:]], PASSWORD,
                          "An agent with the address existing@desk.example exists already"),
    "bad role": ([*ADD[:6], "owner", *ADD[7:]], PASSWORD, "Invalid value for '--role'"),
    "short password": (ADD, "elevenchars", "The password is shorter than 12 characters"),
    "empty password": (ADD, "", "The password is empty"),
    "blank password": (ADD, " " * 14, "The password is empty"),
    "unset password variable": (ADD, None, "The environment variable NEW_AGENT_PASSWORD is not set"),
    "bad address": (["agents", "add", "new-at-desk.example", *ADD[3:]], PASSWORD,
                    "'new-at-desk.example' is not an email address"),
    "empty name": ([*ADD[:4], " ", *ADD[5:]], PASSWORD, "The agent needs a name"),
    "missing name": ([*ADD[:3], *ADD[5:]], PASSWORD, "Missing option '--name'"),
    "disable an unknown address": (["agents", "disable", "nobody@desk.example"], PASSWORD,
                                   "No agent has the address 'nobody@desk.example'"),
    "enable an unknown address": (["agents", "enable", "nobody@desk.example"], PASSWORD,
                                  "No agent has the address 'nobody@desk.example'"),
}


@pytest.mark.parametrize(("args", "password", "phrase"), WRONG_ARGUMENTS.values(),
                         ids=WRONG_ARGUMENTS.keys())
def test_a_wrong_agents_argument_fails_with_one_sentence_and_adds_nobody(
        app, session, monkeypatch, args, password, phrase):
    factories.agent(session, "existing@desk.example")
    if password is None:
        monkeypatch.delenv("NEW_AGENT_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("NEW_AGENT_PASSWORD", password)

    result = run(app, *args)

    assert phrase in one_error(result)
    assert agent_count(session) == 1
    assert not session.scalar(select(Agent).where(Agent.email == "existing@desk.example")).disabled


def test_a_duplicate_address_is_refused_before_the_password_is_asked_for(app, session):
    factories.agent(session, "existing@desk.example")

    result = run(app, "agents", "add", "existing@desk.example", "--name", "X", "--role", "agent",
                 input=f"{PASSWORD}\n{PASSWORD}\n")

    assert "exists already" in one_error(result)
    assert "Password" not in result.output


def test_a_new_agent_starts_with_default_settings_and_may_change_them(session):
    kim = factories.agent(session, "kim@desk.example")
    defaults = (kim.page_size, kim.time_zone, kim.default_queue)

    update_settings(session, kim, page_size=50, time_zone="Europe/Berlin", default_queue="unassigned")
    session.commit()
    session.expire_all()

    assert defaults == (25, "UTC", "mine")
    assert (kim.page_size, kim.time_zone, kim.default_queue) == (50, "Europe/Berlin", "unassigned")


@pytest.mark.parametrize(("change", "phrase"), [
    ({"page_size": 0}, "the page size must be between 5 and 200"),
    ({"time_zone": "Mars/Olympus"}, "'Mars/Olympus' is not a time zone"),
    ({"time_zone": "../../etc/passwd"}, "is not a time zone"),
    ({"default_queue": "everything"}, "the default queue must be one of mine, unassigned"),
], ids=["page size", "unknown zone", "zone that is a path", "queue"])
def test_settings_refuse_a_bad_value_and_keep_the_old_ones(session, change, phrase):
    kim = factories.agent(session, "kim@desk.example")
    settings = {"page_size": 25, "time_zone": "UTC", "default_queue": "mine", **change}

    with pytest.raises(ServiceError, match=phrase):
        update_settings(session, kim, **settings)

    session.rollback()
    assert (kim.page_size, kim.time_zone, kim.default_queue) == (25, "UTC", "mine")


def test_an_agent_may_choose_only_a_language_the_desk_speaks(session):
    kim = factories.agent(session, "kim@desk.example")
    assert kim.language == "en"

    set_language(session, kim, "ja", ["en", "de", "ja"])
    with pytest.raises(ServiceError, match="'fr' is not a language the desk speaks"):
        set_language(session, kim, "fr", ["en", "de", "ja"])

    assert kim.language == "ja"
