"""``flask demo seed``: sample accounts, mail, records and one agent per role whose published
passwords work; seeding twice changes nothing, and production gets no sample agents.
"""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Account, Agent, PolicyVersion
from app.services.agents import authenticate
from app.services.demo import AGENTS
from app.services.records import record_summary
from config import ProductionConfig


def row_counts(session) -> dict[str, int]:
    session.rollback()
    return {t.name: session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def test_demo_seed_creates_one_agent_per_role_whose_printed_password_signs_in(app, session, cli):
    result = cli("demo", "seed")

    assert result.exit_code == 0, result.output
    assert sorted(session.scalars(select(Agent.role))) == ["admin", "agent", "manager"]
    for email, _, role, password in AGENTS:
        assert f"{role:<8} {email:<22} {password}" in result.output
        assert authenticate(session, email, password).role == role


def test_demo_seed_gives_the_sample_accounts_records(app, session, cli):
    cli("demo", "seed")

    acme = session.scalar(select(Account).where(Account.name == "Acme Plumbing"))
    assert [(s.kind, s.count) for s in record_summary(session, acme)] == [
        ("jobs", 2), ("tasks", 1), ("todos", 2), ("employees", 1)]


def test_seeding_twice_changes_nothing(app, session, cli):
    cli("demo", "seed")
    before = row_counts(session)

    again = cli("demo", "seed")

    assert row_counts(session) == before
    assert "Sample records: 0 added." in again.output
    assert again.output.count("(existed already; password not changed)") == 3


def test_production_gets_no_sample_agents_with_published_passwords(app, session, cli):
    app.config["DEMO_AGENTS"] = ProductionConfig.DEMO_AGENTS

    result = cli("demo", "seed")

    assert "Sample agents: skipped" in result.output
    assert session.scalar(select(func.count()).select_from(Agent)) == 0


def test_the_sample_desk_has_a_privacy_policy_in_force_once(app, session, cli):
    assert cli("demo", "seed").exit_code == 0
    assert cli("demo", "seed").exit_code == 0
    page = app.test_client().get("/privacy")
    assert page.status_code == 200 and "prior consent" in page.get_data(as_text=True)
    assert session.scalar(select(func.count(PolicyVersion.id))) == 1
