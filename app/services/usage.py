"""Usage totals from the request log: requests and mean duration per account, per day or overall.

Every figure adds up two sources: the daily totals of days already rolled up
(``RequestLogDay``) and the raw rows of recent days (``RequestLog``). Durations are added
in whole microseconds on both sides, so a report reads the same before and after a day
is rolled up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from app.models import Account
from app.models.request_log import RequestLog, RequestLogDay
from app.services.request_log import duration_us


@dataclass(frozen=True)
class UsageDay:
    day: str
    account: str | None
    requests: int
    mean_ms: float


@dataclass(frozen=True)
class AccountUsage:
    account: str | None  # None: requests that served no one account (queues, sign-in...)
    requests: int
    mean_ms: float


def usage_report(session: Session, days: int, now: datetime) -> list[UsageDay]:
    """Total the requests of the last ``days`` UTC days (today included) per day and account."""
    both = _requests_since(now.date() - timedelta(days=days - 1))
    rows = session.execute(
        select(both.c.day, Account.name, func.sum(both.c.requests), func.sum(both.c.total_us))
        .outerjoin(Account, Account.id == both.c.account_id)
        .group_by(both.c.day, Account.id, Account.name))
    report = [UsageDay(str(day), name, int(n), _mean_ms(n, us)) for day, name, n, us in rows]
    # Sorted here: the databases disagree on where NULL (no account) sorts.
    return sorted(report, key=lambda r: (r.day, r.account is not None, r.account or ""))


def usage_per_account(session: Session, since: date) -> list[AccountUsage]:
    """Total the requests from the UTC day ``since`` on per account, busiest first."""
    both = _requests_since(since)
    rows = session.execute(
        select(Account.name, func.sum(both.c.requests), func.sum(both.c.total_us))
        .select_from(both).outerjoin(Account, Account.id == both.c.account_id)
        .group_by(Account.id, Account.name))
    usage = [AccountUsage(name, int(n), _mean_ms(n, us)) for name, n, us in rows]
    return sorted(usage, key=lambda u: (-u.requests, u.account is None, u.account or ""))


def _requests_since(since: date):
    """Return (day, account_id, requests, total_us) rows from the totals and the raw log."""
    day = func.date(RequestLog.at)
    raw = (select(day.label("day"), RequestLog.account_id, func.count().label("requests"),
                  func.sum(duration_us(RequestLog.duration_ms)).label("total_us"))
           .where(RequestLog.at >= datetime.combine(since, time.min))
           .group_by(day, RequestLog.account_id))
    totalled = (select(RequestLogDay.day, RequestLogDay.account_id, func.sum(RequestLogDay.requests),
                       func.sum(RequestLogDay.total_us))
                .where(RequestLogDay.day >= since)
                .group_by(RequestLogDay.day, RequestLogDay.account_id))
    return union_all(raw, totalled).subquery()


def _mean_ms(requests, total_us) -> float:
    return round(int(total_us) / (int(requests) * 1000), 1)
