"""Pure rules of access: the vocabulary of roles, scopes and record kinds, and what a grant
allows at a given time. No Flask, no database, the clock passed in.

Everything else in the product names roles, scopes and record kinds through this module,
so each is written once. A grant allows its requesting agent, for one account and its
scopes, from ``starts_at`` until ``ends_at`` unless it ended earlier (revoked or ended by
the agent). Everything else is refused: no role, not even a manager's or an
administrator's, opens records without a grant. ``grant_in_force`` is the one question
every record route asks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

# Staff roles, from least to most. Managers also search, export and audit; administrators
# also configure mailboxes, agents and accounts.
AGENT, MANAGER, ADMIN = "agent", "manager", "admin"
ROLES = (AGENT, MANAGER, ADMIN)
ROLE_WORDS = {AGENT: "Agent: works tickets", MANAGER: "Manager: also searches and audits",
              ADMIN: "Administrator: also configures the desk"}
# Who may see the dashboard, the audit log and the whole archive's search exports.
MANAGING_ROLES = (MANAGER, ADMIN)

# The kinds of records an account keeps, by the scope a grant names to open them.
JOBS, TASKS, TODOS, EMPLOYEES = "jobs", "tasks", "todos", "employees"
BUSINESS, PERSONAL, BOTH = "business", "personal", "both"
SCOPES = (BUSINESS, PERSONAL)
SCOPE_KINDS = {BUSINESS: (JOBS, TASKS, TODOS), PERSONAL: (EMPLOYEES,)}
RECORD_KINDS = tuple(kind for kinds in SCOPE_KINDS.values() for kind in kinds)
KIND_SCOPE = {kind: scope for scope, kinds in SCOPE_KINDS.items() for kind in kinds}
# What an agent may ask for: one scope or both.
REQUEST_SCOPES = (*SCOPES, BOTH)
SCOPE_WORDS = {BUSINESS: "business records (jobs, tasks, todos)", PERSONAL: "personal records (employees)",
               BOTH: "business and personal records"}


def request_scopes(scope: str) -> tuple[str, ...]:
    """Return the scopes a request for ``scope`` covers ("both" is each of them)."""
    return SCOPES if scope == BOTH else (scope,)


def scope_words(scope: str) -> str:
    """Say in words which records a requested scope covers."""
    return SCOPE_WORDS[scope]


def role_words(role: str) -> str:
    """Say a role with its article: "an agent", "a manager", "an admin"."""
    return f"{'an' if role[0] in 'aeiou' else 'a'} {role}"


def is_managing(role: str) -> bool:
    """Say whether a role sees the dashboard, the audit log and search exports."""
    return role in MANAGING_ROLES


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
