"""Pure rules of access: the vocabulary of roles, scopes and record kinds, what a grant
allows at a given time, and what a consent lets leave the product. No Flask, no
database, the clock passed in.

Everything else in the product names roles, scopes and record kinds through this module,
so each is written once. A grant allows its requesting agent, for one account and its
scopes, from ``starts_at`` until ``ends_at`` unless it ended earlier (revoked or ended by
the agent). Everything else is refused: no role, not even a manager's or an
administrator's, opens records without a grant. ``grant_in_force`` is the one question
every record route asks. ``consent_for`` is the one question every forward and every
export for someone outside the support team asks: a grant is not a consent to share.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

# Staff roles, from least to most. Managers also search, export and audit; administrators
# also configure mailboxes, agents and accounts.
AGENT, MANAGER, ADMIN = "agent", "manager", "admin"
ROLES = (AGENT, MANAGER, ADMIN)
ROLE_WORDS = {AGENT: "Agent: works tickets", MANAGER: "Manager: also exports, sees the dashboard and audits",
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
    return grant.status == "approved" and _runs(grant.starts_at, grant.ends_at, grant.ended_at, now)


def _runs(starts_at: datetime | None, ends_at: datetime | None, stopped_at: datetime | None,
          now: datetime) -> bool:
    """Say whether a permission that runs from ``starts_at`` to ``ends_at``, unless stopped
    earlier (revoked, ended, withdrawn), runs at ``now``: grants and consents alike."""
    if starts_at is None or ends_at is None:
        return False
    if stopped_at is not None and stopped_at <= now:
        return False
    return starts_at <= now < ends_at


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


# Sharing: what may leave the product, to whom, under a consent a company contact gave.
TICKET, MESSAGE, EXPORT = "ticket", "message", "export"
CONTENT_KINDS = (TICKET, MESSAGE, EXPORT)
# How long an agent may ask a consent to last, in days; the approver may shorten it.
CONSENT_DAYS = (1, 7, 30, 90)
MAX_PURPOSE_CHARS = 2000


@dataclass(frozen=True)
class ConsentTerms:
    """What the rules need to know of a consent."""

    id: int
    account_id: int
    recipient: str
    content_kind: str
    content_ref: str
    status: str
    decided_at: datetime | None
    ends_at: datetime | None
    withdrawn_at: datetime | None
    decide_by: datetime


def normalise_address(address: str) -> str:
    """Return an address as consents compare it: trimmed and lower-cased."""
    return address.strip().lower()


def domain_of(address: str) -> str:
    """Return the domain of an address, lower-cased ("" when it has none)."""
    return normalise_address(address).rpartition("@")[2]


def is_outside(address: str, inside_domains: Iterable[str]) -> bool:
    """Say whether mail to ``address`` leaves the account and the support team.

    ``inside_domains`` are the account's own mail domains and the support team's; a
    subdomain of one (mail.acme.example of acme.example) is inside too.
    """
    domain = domain_of(address)
    return not any(domain == d or domain.endswith("." + d) for d in (d.lower() for d in inside_domains) if d)


def consent_in_force(consent: ConsentTerms, now: datetime) -> bool:
    """Say whether a consent allows a sending at ``now``: given, not withdrawn, not expired."""
    return consent.status == "given" and _runs(consent.decided_at, consent.ends_at, consent.withdrawn_at, now)


def consent_for(account_id: int, recipient: str, content_kind: str, content_ref: str,
                consents: Iterable[ConsentTerms], now: datetime) -> ConsentTerms | None:
    """Return the consent that lets this content of this account go to ``recipient`` now, or None.

    A consent covers exactly the recipient and the content it names: another address, or
    another ticket, needs a consent of its own.
    """
    recipient = normalise_address(recipient)
    usable = [c for c in consents if c.account_id == account_id and c.recipient == recipient
              and c.content_kind == content_kind and c.content_ref == content_ref
              and consent_in_force(c, now)]
    return max(usable, key=lambda c: c.ends_at, default=None)


def consent_state(consent: ConsentTerms, now: datetime) -> str:
    """Say in a few words where a consent stands at ``now``."""
    if consent.status == "given":
        if consent.withdrawn_at is not None:
            return f"withdrawn at {consent.withdrawn_at:%Y-%m-%d %H:%M} UTC"
        if now >= consent.ends_at:
            return f"expired at {consent.ends_at:%Y-%m-%d %H:%M} UTC"
        return f"given until {consent.ends_at:%Y-%m-%d %H:%M} UTC"
    if consent.status == "pending" and now >= consent.decide_by:
        return "expired without a decision"
    return consent.status
