"""Saved replies through their service: who sees and changes which, placeholders filled and
checked, and changes to shared replies written to the audit log.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from app.models import AuditEntry
from app.services import saved_replies
from app.services.compose import signed
from app.services.errors import ServiceError
from tests import factories

NOW = datetime(2026, 11, 30, 12, 0)


@pytest.fixture
def sam(session):
    return factories.agent(session, "sam@desk.example", name="Sam Agent")


@pytest.fixture
def kim(session):
    return factories.agent(session, "kim@desk.example", name="Kim Agent")


@pytest.fixture
def mia(session):
    return factories.agent(session, "mia@desk.example", name="Mia Manager", role="manager")


def test_each_agent_sees_the_shared_replies_and_their_own_never_anothers(session, sam, kim, mia):
    shared = saved_replies.create(session, sam, "Welcome", "Hello {customer_name}!", True, NOW)
    mine = saved_replies.create(session, sam, "Apology", "Sorry for the wait.", False, NOW)
    session.commit()
    assert saved_replies.visible(session, sam) == [mine, shared]
    assert saved_replies.visible(session, kim) == [shared]
    assert saved_replies.find(session, kim, mine.id) is None
    assert saved_replies.find(session, mia, mine.id) is None, "not even a manager sees a personal one"
    assert saved_replies.find(session, kim, shared.id) is shared


def test_a_shared_reply_is_changed_by_its_author_and_managers_a_personal_one_by_its_author(
        session, sam, kim, mia):
    shared = saved_replies.create(session, sam, "Welcome", "Hello!", True, NOW)
    mine = saved_replies.create(session, sam, "Apology", "Sorry.", False, NOW)
    with pytest.raises(ServiceError, match="only its author"):
        saved_replies.update(session, kim, shared, "Welcome", "Changed by Kim", True, NOW)
    with pytest.raises(ServiceError, match="only its author"):
        saved_replies.delete(session, mia, mine, NOW)
    with pytest.raises(ServiceError, match="only its author can make a shared reply personal"):
        saved_replies.update(session, mia, shared, "Welcome", "Hello there!", False, NOW)
    saved_replies.update(session, mia, shared, "Welcome", "Hello there!", True, NOW)
    saved_replies.delete(session, sam, mine, NOW)
    session.commit()
    assert [r.body for r in saved_replies.visible(session, sam)] == ["Hello there!"]
    audited = [(e.action, e.agent_id) for e in session.query(AuditEntry).order_by(AuditEntry.id)]
    assert audited == [("saved reply added", sam.id), ("saved reply changed", mia.id)], \
        "personal replies are the agent's own business"


def test_placeholders_are_filled_and_unknown_ones_refused_when_saved(session, sam):
    text = "Dear {customer_name}, ticket {ticket_number} is fixed. {agent_name} {braces as written}"
    filled = saved_replies.fill(text, customer_name="Ann Archer", ticket_number=42, agent_name="Sam Agent")
    assert filled == "Dear Ann Archer, ticket 42 is fixed. Sam Agent {braces as written}"
    with pytest.raises(ServiceError, match=r"\{ticket\} is not a placeholder the desk fills"):
        saved_replies.create(session, sam, "Typo", "Ticket {ticket}", False, NOW)
    with pytest.raises(ServiceError, match="give the reply a title"):
        saved_replies.create(session, sam, "  ", "Text", False, NOW)
    assert saved_replies.visible(session, sam) == []


def test_a_signature_goes_below_the_text_after_the_delimiter_line():
    assert signed("Fixed.\n\n", "Sam\nSupport") == "Fixed.\n\n-- \nSam\nSupport"
    assert signed("Fixed.", "  \n") == "Fixed."
