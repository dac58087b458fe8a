"""The privacy policy's versions: publishing one, which is in force, and how its notices stand.

The policy promises that changes are announced (its Notices provision), so a version takes
effect no sooner than ``POLICY_NOTICE_DAYS`` after it is published, and publishing it owes
a notice to every contact of every account, one ``PolicyNotice`` row each, which the
worker sends (``app.services.policy_notices``). Versions are never edited: a new version
replaces the one before from its effective date, and every version stays readable at its
own address. Dates are UTC days. The same checks and sentences serve the administration
page and ``flask policy``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import Account, Agent, Contact, PolicyNotice, PolicyVersion
from app.services import audit
from app.services.errors import ServiceError

MAX_TEXT_CHARS = 200_000
MAX_SUMMARY_CHARS = 2_000
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NOTICE_STATES = ("failed", "sending", "waiting", "sent", "no longer a contact")


def read_date(text: str | date | None) -> date:
    """Return the day written as YYYY-MM-DD, or say how to write it."""
    if isinstance(text, date):
        return text
    written = (text or "").strip()
    if not written:
        raise ServiceError("give the day the version takes effect, as YYYY-MM-DD", field="effective")
    if _DAY.match(written):
        try:
            return date.fromisoformat(written)
        except ValueError:  # a month or day that does not exist: 2026-02-30
            pass
    raise ServiceError(f"{written[:40]!r} is not a day: write the effective date as YYYY-MM-DD, "
                       "for example 2027-01-31", field="effective")


def check_effective_date(effective: date, today: date, notice_days: int,
                         latest: PolicyVersion | None) -> None:
    """Refuse a day sooner than the notice period allows, or before the latest version's own."""
    earliest = today + timedelta(days=notice_days)
    if effective < earliest:
        raise ServiceError(f"the effective date {effective} is too soon: company contacts must be told "
                           f"{notice_days} days ahead, so choose {earliest} or later", field="effective")
    if latest is not None and effective < latest.effective_on:
        raise ServiceError(f"version {latest.id} takes effect on {latest.effective_on}, and a newer version "
                           "cannot take effect before it: choose that day or later", field="effective")


def publish_version(session: Session, text: str, summary: str, effective: str | date, *,
                    by: Agent | None, now: datetime, notice_days: int) -> PolicyVersion:
    """Publish a new version, owe its notice to every contact, and write it to the audit log."""
    text = _checked_text(text, "text", MAX_TEXT_CHARS)
    summary = _checked_text(summary, "summary", MAX_SUMMARY_CHARS)
    effective = read_date(effective)
    check_effective_date(effective, now.date(), notice_days, latest_version(session))
    version = PolicyVersion(text=text, summary=summary, effective_on=effective, published_at=now,
                            published_by_id=by.id if by else None)
    session.add(version)
    session.flush()
    owed = owe_notices(session, version, now)
    audit.append(session, "policy published", at=now, agent_id=by.id if by else None,
                 detail=f"version {version.id}, in effect from {effective}; notices owed to {owed} "
                        f"contacts; what changed: {summary}")
    return version


def _checked_text(value: str | None, field: str, limit: int) -> str:
    words = {"text": "the policy's text", "summary": "a summary of what changed"}[field]
    # Browsers send CRLF from a textarea; the versions keep one form of line ending.
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not value:
        raise ServiceError(f"give {words}", field=field)
    if len(value) > limit:
        raise ServiceError(f"{words} is {len(value):,} characters long; the most is {limit:,}", field=field)
    return value


def owe_notices(session: Session, version: PolicyVersion, now: datetime) -> int:
    """Add a notice of ``version`` for every contact who has none yet; return how many were added.

    One statement that leaves out the rows another worker added meanwhile, so two
    workers adding latecomers at once add each row once.
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    told = select(PolicyNotice.id).where(PolicyNotice.version_id == version.id,
                                         PolicyNotice.account_id == Contact.account_id,
                                         PolicyNotice.email == Contact.email)
    unnoticed = select(literal(version.id), Contact.account_id, Contact.email, literal(now),
                       literal(0)).where(~told.exists())
    statement = (insert(PolicyNotice)
                 .from_select(["version_id", "account_id", "email", "created_at", "attempts"], unnoticed)
                 .on_conflict_do_nothing(index_elements=["version_id", "account_id", "email"])
                 .returning(PolicyNotice.id))
    # Counted from RETURNING: drivers disagree on the rowcount of an INSERT ... SELECT.
    return len(session.execute(statement).all())


def latest_version(session: Session) -> PolicyVersion | None:
    """Return the version published last, in force or not."""
    return session.scalar(select(PolicyVersion).order_by(PolicyVersion.id.desc()).limit(1))


def all_versions(session: Session) -> list[PolicyVersion]:
    """Return every version, newest first."""
    return list(session.scalars(select(PolicyVersion).order_by(PolicyVersion.id.desc())))


def version_with_id(session: Session, version_id: int) -> PolicyVersion | None:
    """Return the version with that id, or None."""
    return session.get(PolicyVersion, version_id)


def version_numbered(session: Session, number: int | None) -> PolicyVersion:
    """Return that version (the latest when None), or say there is none."""
    version = latest_version(session) if number is None else version_with_id(session, number)
    if version is None:
        raise ServiceError("no version of the privacy policy has been published yet: publish one with "
                           "`flask policy publish`" if number is None else
                           f"there is no version {number} of the privacy policy; `flask policy list` "
                           "lists them")
    return version


@dataclass(frozen=True)
class VersionState:
    """Where a version stands on a day: in force, upcoming, or replaced (by which, from when)."""

    version: PolicyVersion
    state: str  # "in force", "upcoming" or "replaced"
    replaced_by: PolicyVersion | None = None

    @property
    def words(self) -> str:
        if self.state == "in force":
            return f"in force since {self.version.effective_on}"
        if self.state == "upcoming":
            return f"takes effect on {self.version.effective_on}"
        if self.replaced_by.effective_on == self.version.effective_on:
            return f"replaced by version {self.replaced_by.id} before it took effect"
        return (f"in force from {self.version.effective_on} until version {self.replaced_by.id} "
                f"replaced it on {self.replaced_by.effective_on}")


@dataclass(frozen=True)
class PolicyHistory:
    """Every version as it stands on one day, newest first."""

    states: list[VersionState]

    @property
    def current(self) -> VersionState | None:
        return next((s for s in self.states if s.state == "in force"), None)

    @property
    def upcoming(self) -> list[VersionState]:
        """The versions published but not in force yet, the soonest first."""
        return sorted((s for s in self.states if s.state == "upcoming"), key=lambda s: s.version.id)

    def of(self, version_id: int) -> VersionState | None:
        return next((s for s in self.states if s.version.id == version_id), None)


def policy_history(versions: list[PolicyVersion], today: date) -> PolicyHistory:
    """Say where each version (newest first) stands on ``today``.

    The newest version whose day has come is in force.
    """
    current = next((v for v in versions if v.effective_on <= today), None)
    states = []
    for version in versions:
        if version.effective_on > today:
            states.append(VersionState(version, "upcoming"))
        elif version is current:
            states.append(VersionState(version, "in force"))
        else:
            # Effective dates never go back, so the next version replaced this one.
            successor = min((v for v in versions if v.id > version.id and v.effective_on <= today),
                            key=lambda v: v.id)
            states.append(VersionState(version, "replaced", successor))
    return PolicyHistory(states)


def history(session: Session, today: date) -> PolicyHistory:
    """Return every version as it stands on ``today``."""
    return policy_history(all_versions(session), today)


def owe_notices_to_new_contacts(session: Session, now: datetime) -> int:
    """Owe the latest version's notice to contacts added since it was published, until it takes effect.

    A contact added once it is in force comes under it from the start, like any new
    customer, and finds it linked from every email and page; only a change still ahead
    is announced.
    """
    version = latest_version(session)
    if version is None or version.effective_on <= now.date():
        return 0
    return owe_notices(session, version, now)


@dataclass(frozen=True)
class NoticeRow:
    notice: PolicyNotice
    account: str
    state: str  # one of NOTICE_STATES


@dataclass(frozen=True)
class NoticeOverview:
    """How the notices of one version stand: each row, and how many are in each state."""

    version: PolicyVersion
    rows: list[NoticeRow]

    def count(self, state: str) -> int:
        return sum(1 for row in self.rows if row.state == state)

    @property
    def counts(self) -> dict[str, int]:
        return {state: self.count(state) for state in NOTICE_STATES}

    @property
    def failed(self) -> list[NoticeRow]:
        return [row for row in self.rows if row.state == "failed"]


def notice_overview(session: Session, version: PolicyVersion, now: datetime) -> NoticeOverview:
    """Return the notices of ``version`` with their states, failed first, then by account and address."""
    query = (select(PolicyNotice, Account.name, Contact.id)
             .join(Account, Account.id == PolicyNotice.account_id)
             .outerjoin(Contact, and_(Contact.account_id == PolicyNotice.account_id,
                                      Contact.email == PolicyNotice.email))
             .where(PolicyNotice.version_id == version.id)
             .order_by(Account.name, PolicyNotice.email))
    rows = [NoticeRow(notice, account, _state(notice, contact_id is not None, now))
            for notice, account, contact_id in session.execute(query)]
    rows.sort(key=lambda row: NOTICE_STATES.index(row.state))
    return NoticeOverview(version, rows)


def _state(notice: PolicyNotice, still_a_contact: bool, now: datetime) -> str:
    if notice.sent_at is not None:
        return "sent"
    if not still_a_contact:
        return "no longer a contact"
    # A notice that failed stays failed while a worker tries it again, until it is sent.
    if notice.last_error:
        return "failed"
    return "sending" if notice.lease_until is not None and notice.lease_until > now else "waiting"


def notice_counts(session: Session) -> dict[int, dict[str, int]]:
    """Return, per version id, how many notices it owes, how many were sent, and how many are failing."""
    failing = case((and_(PolicyNotice.sent_at.is_(None), PolicyNotice.last_error.is_not(None)), 1), else_=0)
    query = (select(PolicyNotice.version_id, func.count(PolicyNotice.id), func.count(PolicyNotice.sent_at),
                    func.coalesce(func.sum(failing), 0))
             .group_by(PolicyNotice.version_id))
    return {version_id: {"owed": owed, "sent": sent, "failing": failing}
            for version_id, owed, sent, failing in session.execute(query)}
