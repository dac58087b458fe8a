"""The access policy as a table: pure, no database, the clock passed in."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.access.rules import Grant, can_view_records, end_reason, grant_in_force, remaining

NOON = datetime(2026, 3, 1, 12, 0)
AGENT, OTHER_AGENT, ACCOUNT, OTHER_ACCOUNT = 1, 2, 10, 20


def grant(**changes) -> Grant:
    fields = dict(id=1, agent_id=AGENT, account_id=ACCOUNT, scopes=("business",), status="approved",
                  starts_at=NOON - timedelta(hours=1), ends_at=NOON + timedelta(hours=1), ended_at=None)
    return Grant(**{**fields, **changes})


CASES = {
    "an approved grant in its window": (grant(), "business", True),
    "no grant at all": (None, "business", False),
    "a pending request": (grant(status="pending", starts_at=None, ends_at=None), "business", False),
    "a denied request": (grant(status="denied", starts_at=None, ends_at=None), "business", False),
    "an expired request": (grant(status="expired", starts_at=None, ends_at=None), "business", False),
    "a cancelled request": (grant(status="cancelled", starts_at=None, ends_at=None), "business", False),
    "a break-glass request not yet confirmed": (grant(status="awaiting_confirmation"), "business", False),
    "a grant past its end": (grant(ends_at=NOON), "business", False),
    "a grant not started yet": (grant(starts_at=NOON + timedelta(seconds=1)), "business", False),
    "a revoked grant": (grant(ended_at=NOON - timedelta(minutes=5)), "business", False),
    "a grant of the other scope": (grant(scopes=("personal",)), "business", False),
    "a grant for another account": (grant(account_id=OTHER_ACCOUNT), "business", False),
    "a grant held by another agent": (grant(agent_id=OTHER_AGENT), "business", False),
    "an unknown scope": (grant(scopes=("business", "personal")), "everything", False),
    "both scopes, asking for personal": (grant(scopes=("business", "personal")), "personal", True),
}


@pytest.mark.parametrize("case", CASES)
def test_records_open_only_under_an_approved_grant_in_force(case):
    given, scope, allowed = CASES[case]
    grants = [given] if given else []
    assert can_view_records(AGENT, ACCOUNT, scope, grants, NOON) is allowed


def test_the_clock_alone_ends_a_grant_to_the_microsecond():
    g = grant()
    assert can_view_records(AGENT, ACCOUNT, "business", [g], g.ends_at - timedelta(microseconds=1))
    assert not can_view_records(AGENT, ACCOUNT, "business", [g], g.ends_at)
    assert end_reason(g, g.ends_at) == "expired" and end_reason(g, NOON) is None


def test_remaining_time_counts_down_and_stops_at_zero():
    g = grant()
    assert remaining(g, NOON) == timedelta(hours=1)
    assert remaining(g, NOON + timedelta(hours=2)) == timedelta(0)


def test_of_several_grants_the_longest_in_force_is_used():
    short, long = grant(id=1), grant(id=2, ends_at=NOON + timedelta(hours=5))
    assert grant_in_force(AGENT, ACCOUNT, "business", [short, long], NOON).id == 2


def test_every_record_kind_has_a_table_and_every_table_a_kind():
    from app.access.rules import KIND_SCOPE, RECORD_KINDS, SCOPE_KINDS
    from app.models.record import RECORD_TABLES

    assert tuple(RECORD_TABLES) == RECORD_KINDS
    assert set(KIND_SCOPE) == set(RECORD_KINDS) == {k for kinds in SCOPE_KINDS.values() for k in kinds}
