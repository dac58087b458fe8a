"""The figures behind the management dashboard: mail volume, the ticket backlog and its age,
first-response times, volume per account, access requests, ingestion health per mailbox
folder, and request-log usage per account.

Every function takes the session and ``now`` (naive UTC) and counts in SQL. Python does
only what SQLite and PostgreSQL cannot do alike: percentiles, and folding days into weeks.
Days and weeks are UTC; a week starts on Monday, and the current day and week are
included while they run. A message happened at its Date header, else when it was archived,
as the ticket thread orders it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from app.models import (
    AccessRequest,
    Account,
    Mailbox,
    MailboxFolder,
    MailboxOAuth,
    Message,
    Ticket,
    TicketEvent,
)
from app.services.usage import AccountUsage, usage_per_account

DAYS = 30
WEEKS = 12
USAGE_DAYS = 7
TOP_ACCOUNTS = 10
# (label, upper bound of the age in days); the last bucket has no upper bound.
AGE_BUCKETS = (("< 1 day", 1), ("1–3 days", 3), ("3–7 days", 7), ("7–30 days", 30), ("> 30 days", None))
# (label, upper bound in hours) for the time an approver took to decide.
DECISION_BUCKETS = (("< 1 h", 1), ("1–4 h", 4), ("4–12 h", 12), ("12–24 h", 24), ("> 24 h", None))
OUTCOMES = ("approved", "denied", "expired", "cancelled", "pending")
BACKLOG_STATUSES = ("open", "pending")


@dataclass(frozen=True)
class Volume:
    start: date  # the day, or the Monday that starts the week
    inbound: int
    outbound: int


@dataclass(frozen=True)
class AgeBucket:
    label: str
    open: int
    pending: int


@dataclass(frozen=True)
class Spread:
    """How long something took: how many, the median and the 90th percentile, in hours."""

    count: int
    median_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True)
class ResponseWeek:
    start: date
    spread: Spread
    unanswered: int  # tickets first written to that week that have no reply yet


@dataclass(frozen=True)
class AccountVolume:
    account: str
    inbound: int
    outbound: int


@dataclass(frozen=True)
class AccountVolumes:
    top: list[AccountVolume]
    other_accounts: int
    other_messages: int
    unmatched: int


@dataclass(frozen=True)
class AccessFigures:
    outcomes: dict[str, int]
    decisions: Spread
    decision_histogram: list[tuple[str, int]]


@dataclass(frozen=True)
class FolderHealth:
    mailbox: str
    folder: str
    state: str  # "failing", "stale", "behind", "never polled" or "ok"
    last_success_at: datetime | None
    since_success: timedelta | None
    waiting: int | None  # messages on the server not archived yet, as seen at the last poll
    last_error: str | None
    last_error_at: datetime | None


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    days: list[Volume]
    weeks: list[Volume]
    ages: list[AgeBucket]
    responses: list[ResponseWeek]
    response_overall: Spread
    accounts: AccountVolumes
    access: AccessFigures
    folders: list[FolderHealth]
    usage: list[AccountUsage]


def build_dashboard(session: Session, now: datetime, *, stale_after: timedelta) -> Dashboard:
    """Return every figure of the dashboard as of ``now``."""
    days, weeks = message_volume(session, now)
    responses, overall = first_responses(session, now)
    return Dashboard(now, days, weeks, ticket_ages(session, now), responses, overall,
                     account_volumes(session, now), access_figures(session, now),
                     folder_health(session, now, stale_after), account_usage(session, now))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min)


def first_week(now: datetime) -> date:
    """Return the Monday that starts the oldest of the last ``WEEKS`` weeks."""
    today = now.date()
    return today - timedelta(days=today.weekday(), weeks=WEEKS - 1)


def _when(message=Message):
    return Message.when(message)


def message_volume(session: Session, now: datetime) -> tuple[list[Volume], list[Volume]]:
    """Return inbound and outbound messages per day (last 30 days) and per week (last 12)."""
    today = now.date()
    first_day, monday = today - timedelta(days=DAYS - 1), first_week(now)
    start = min(first_day, monday)
    day = func.date(_when())
    rows = session.execute(
        select(day, Message.direction, func.count(Message.id))
        .where(_when() >= _day_start(start), _when() < _day_start(today + timedelta(days=1)))
        .group_by(day, Message.direction))
    counts: dict[tuple[date, str], int] = {}
    for value, direction, n in rows:
        counts[date.fromisoformat(str(value)), direction] = n
    every_day = [start + timedelta(days=i) for i in range((today - start).days + 1)]
    days = [_volume(d, [d], counts) for d in every_day if d >= first_day]
    weeks = [_volume(m, [m + timedelta(days=i) for i in range(7)], counts)
             for m in (monday + timedelta(weeks=w) for w in range(WEEKS))]
    return days, weeks


def _volume(start: date, days: Iterable[date], counts: dict) -> Volume:
    days = list(days)
    return Volume(start, sum(counts.get((d, "inbound"), 0) for d in days),
                  sum(counts.get((d, "outbound"), 0) for d in days))


def ticket_ages(session: Session, now: datetime) -> list[AgeBucket]:
    """Return open and pending tickets per age bucket (age: now minus the ticket's creation)."""
    bucket = case(*[(Ticket.created_at > now - timedelta(days=upper), i)
                    for i, (_, upper) in enumerate(AGE_BUCKETS) if upper is not None],
                  else_=len(AGE_BUCKETS) - 1)
    # Grouped outside a subquery: PostgreSQL would see the CASE's parameters in the
    # GROUP BY as other values than those in the SELECT list.
    aged = (select(bucket.label("bucket"), Ticket.status.label("status"))
            .where(Ticket.status.in_(BACKLOG_STATUSES)).subquery())
    rows = session.execute(select(aged.c.bucket, aged.c.status, func.count())
                           .group_by(aged.c.bucket, aged.c.status))
    counts = {(int(b), status): n for b, status, n in rows}
    return [AgeBucket(label, counts.get((i, "open"), 0), counts.get((i, "pending"), 0))
            for i, (label, _) in enumerate(AGE_BUCKETS)]


def spread(hours: list[float]) -> Spread:
    """Return the count, median and 90th percentile (nearest rank) of durations in hours."""
    if not hours:
        return Spread(0, None, None)
    ordered = sorted(hours)
    p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]
    return Spread(len(ordered), round(statistics.median(ordered), 2), round(p90, 2))


def first_responses(session: Session, now: datetime) -> tuple[list[ResponseWeek], Spread]:
    """Return per week the time from each ticket's first inbound message to the first reply after it.

    A ticket belongs to the week of its first inbound message; tickets without a reply
    yet are counted apart, not as a time. A forward to someone else answers nobody.
    """
    monday = first_week(now)
    since = _day_start(monday)
    earlier = aliased(Message)
    # Customer messages of these weeks, of tickets with none before them: read through
    # ix_message_when and ix_message_ticket_direction_when, not over the whole archive.
    first_in = (select(Message.ticket_id.label("ticket_id"), func.min(_when()).label("at"))
                .where(Message.direction == "inbound", Message.ticket_id.is_not(None), _when() >= since,
                       ~select(earlier.id).where(earlier.ticket_id == Message.ticket_id,
                                                 earlier.direction == "inbound", _when(earlier) < since)
                       .exists())
                .group_by(Message.ticket_id).subquery())
    reply = aliased(Message)
    rows = session.execute(
        select(first_in.c.at, func.min(_when(reply)))
        .select_from(first_in)
        .outerjoin(reply, and_(reply.ticket_id == first_in.c.ticket_id, reply.direction == "outbound",
                               _when(reply) >= first_in.c.at, ~_forwarded(reply)))
        .group_by(first_in.c.ticket_id, first_in.c.at))
    hours: dict[date, list[float]] = {}
    unanswered: dict[date, int] = {}
    for asked, answered in rows:
        week = asked.date() - timedelta(days=asked.date().weekday())
        if answered is None:
            unanswered[week] = unanswered.get(week, 0) + 1
        else:
            hours.setdefault(week, []).append((answered - asked).total_seconds() / 3600)
    weeks = [monday + timedelta(weeks=w) for w in range(WEEKS)]
    every = [h for week in weeks for h in hours.get(week, [])]
    return [ResponseWeek(w, spread(hours.get(w, [])), unanswered.get(w, 0)) for w in weeks], spread(every)


def _forwarded(message):
    """Whether an outbound message is a forward of its ticket (to someone other than the customer)."""
    return select(TicketEvent.id).where(TicketEvent.message_id == message.id, TicketEvent.kind == "forward") \
        .exists()


def account_volumes(session: Session, now: datetime) -> AccountVolumes:
    """Return the ten accounts with the most messages in the last 30 days, and the rest in sum."""
    since = _day_start(now.date() - timedelta(days=DAYS - 1))
    recent = and_(_when() >= since, _when() < _day_start(now.date() + timedelta(days=1)))
    inbound = func.sum(case((Message.direction == "inbound", 1), else_=0))
    outbound = func.sum(case((Message.direction == "outbound", 1), else_=0))
    top = [AccountVolume(name, int(i), int(o)) for name, i, o in session.execute(
        select(Account.name, inbound, outbound)
        .join(Message, Message.account_id == Account.id).where(recent)
        .group_by(Account.id, Account.name)
        .order_by(func.count(Message.id).desc(), Account.name).limit(TOP_ACCOUNTS))]
    accounts, linked, unmatched = session.execute(
        select(func.count(func.distinct(Message.account_id)), func.count(Message.account_id),
               func.count(Message.id) - func.count(Message.account_id)).where(recent)).one()
    shown = sum(a.inbound + a.outbound for a in top)
    return AccountVolumes(top, accounts - len(top), linked - shown, unmatched)


def access_figures(session: Session, now: datetime) -> AccessFigures:
    """Return the outcomes of access requests made in the last 12 weeks, and how long decisions took.

    An undecided request past its decision time counts as expired, as it is denied
    whether or not the worker has marked it yet. Time to decision is counted for
    approvals and denials (a customer's, or a second manager's for break-glass).
    """
    since = _day_start(first_week(now))
    undecided = AccessRequest.status.in_(("pending", "awaiting_confirmation"))
    outcome = case((and_(undecided, AccessRequest.decide_by <= now), "expired"),
                   (undecided, "pending"), else_=AccessRequest.status)
    made = select(outcome.label("outcome")).where(AccessRequest.requested_at >= since).subquery()
    counts = dict(session.execute(select(made.c.outcome, func.count()).group_by(made.c.outcome)).all())
    decided = session.execute(
        select(AccessRequest.requested_at, AccessRequest.decided_at)
        .where(AccessRequest.requested_at >= since, AccessRequest.status.in_(("approved", "denied")),
               AccessRequest.decided_at.is_not(None))).all()
    hours = [(decided_at - asked).total_seconds() / 3600 for asked, decided_at in decided]
    return AccessFigures({o: counts.get(o, 0) for o in OUTCOMES}, spread(hours),
                         _histogram(hours, DECISION_BUCKETS))


def _histogram(values: list[float], buckets) -> list[tuple[str, int]]:
    counts = [0] * len(buckets)
    for value in values:
        counts[next(i for i, (_, upper) in enumerate(buckets) if upper is None or value < upper)] += 1
    return [(label, n) for (label, _), n in zip(buckets, counts, strict=True)]


def folder_health(session: Session, now: datetime, stale_after: timedelta) -> list[FolderHealth]:
    """Return every mailbox folder's last success, lag and last error, worst first."""
    rows = session.execute(select(Mailbox.name, MailboxFolder, MailboxOAuth.failed_at, MailboxOAuth.failure)
                           .join(MailboxFolder, MailboxFolder.mailbox_id == Mailbox.id)
                           .outerjoin(MailboxOAuth, MailboxOAuth.mailbox_id == Mailbox.id)
                           .where(MailboxFolder.removed_at.is_(None))
                           .order_by(Mailbox.name, MailboxFolder.name)).all()
    folders = [_health(name, folder, now, stale_after, refused_at, refusal)
               for name, folder, refused_at, refusal in rows]
    order = ("failing", "stale", "behind", "never polled", "ok")
    return sorted(folders, key=lambda f: order.index(f.state))


def _health(mailbox: str, folder: MailboxFolder, now: datetime, stale_after: timedelta,
            refused_at: datetime | None = None, refusal: str | None = None) -> FolderHealth:
    since = now - folder.last_success_at if folder.last_success_at else None
    if refused_at is not None:  # an OAuth2 mailbox whose provider refused its sign-in
        return FolderHealth(mailbox, folder.name, "failing", folder.last_success_at, since,
                            folder.server_pending, f"needs reconnecting: {refusal}", refused_at)
    if folder.last_error:  # the poller clears it at the next success
        state = "failing"
    elif folder.last_success_at is None:
        state = "never polled"
    elif since > stale_after:
        state = "stale"
    elif folder.server_pending:
        state = "behind"
    else:
        state = "ok"
    return FolderHealth(mailbox, folder.name, state, folder.last_success_at, since, folder.server_pending,
                        folder.last_error, folder.last_error_at if folder.last_error else None)


def account_usage(session: Session, now: datetime) -> list[AccountUsage]:
    """Return requests and mean duration per account from the request log, last 7 UTC days."""
    return usage_per_account(session, now.date() - timedelta(days=USAGE_DAYS - 1))
