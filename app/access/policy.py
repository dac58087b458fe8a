"""Pure rules of access to an account's records: no Flask, no database, the clock passed in.

A grant allows its requesting agent, for one account and its scopes, from ``starts_at``
until ``ends_at`` unless it ended earlier (revoked or ended by the agent). Everything
else is refused: no role, not even a manager's or an administrator's, opens records
without a grant. ``grant_in_force`` is the one question every record route asks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

SCOPES = ("business", "personal")
# Which scope a record kind belongs to.
KIND_SCOPE = {"jobs": "business", "tasks": "business", "todos": "business", "employees": "personal"}


@dataclass(frozen=True)
class Grant:
    """What the policy needs to know of an access request."""

    id: int
    agent_id: int
    account_id: int
    scopes: tuple[str, ...]
    status: str
    starts_at: datetime | None
    ends_at: datetime | None
    ended_at: datetime | None


def is_in_force(grant: Grant, now: datetime) -> bool:
    """Say whether the grant allows access at ``now``: approved, started, not ended, not expired."""
    if grant.status != "approved" or grant.starts_at is None or grant.ends_at is None:
        return False
    if grant.ended_at is not None and grant.ended_at <= now:
        return False
    return grant.starts_at <= now < grant.ends_at


def grant_in_force(agent_id: int, account_id: int, scope: str, grants: Iterable[Grant],
                   now: datetime) -> Grant | None:
    """Return the grant that lets this agent open this account's records of ``scope`` now, or None."""
    if scope not in SCOPES:
        return None
    usable = [g for g in grants if g.agent_id == agent_id and g.account_id == account_id
              and scope in g.scopes and is_in_force(g, now)]
    # The one that lasts longest, so the console shows the most generous remaining time.
    return max(usable, key=lambda g: g.ends_at, default=None)


def can_view_records(agent_id: int, account_id: int, scope: str, grants: Iterable[Grant],
                     now: datetime) -> bool:
    """Say whether the agent may open the account's records of ``scope`` at ``now``."""
    return grant_in_force(agent_id, account_id, scope, grants, now) is not None


def remaining(grant: Grant, now: datetime) -> timedelta:
    """Return how long the grant still runs at ``now`` (zero once it has ended)."""
    if not is_in_force(grant, now):
        return timedelta(0)
    return grant.ends_at - now


def end_reason(grant: Grant, now: datetime) -> str | None:
    """Say why an approved grant no longer allows access ("expired"), or None while it does."""
    if grant.status == "approved" and grant.ended_at is None and grant.ends_at is not None \
            and now >= grant.ends_at:
        return "expired"
    return None
