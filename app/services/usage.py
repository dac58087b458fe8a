"""Usage totals from the request log: requests and mean duration per account per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Account
from app.models.request_log import RequestLog


@dataclass(frozen=True)
class UsageDay:
    day: str
    account: str | None
    requests: int
    mean_ms: float


def usage_report(session: Session, days: int, now: datetime) -> list[UsageDay]:
    """Total the requests of the last ``days`` UTC days (today included) per day and account."""
    since = datetime.combine((now - timedelta(days=days - 1)).date(), time.min)
    day = func.date(RequestLog.at)
    rows = session.execute(
        select(day, Account.name, func.count(RequestLog.id), func.avg(RequestLog.duration_ms))
        .outerjoin(Account, Account.id == RequestLog.account_id)
        .where(RequestLog.at >= since)
        .group_by(day, Account.id, Account.name)
    )
    report = [UsageDay(str(d), name, int(n), round(float(mean), 1)) for d, name, n, mean in rows]
    # Sorted here: the databases disagree on where NULL (no account) sorts.
    return sorted(report, key=lambda r: (r.day, r.account is not None, r.account or ""))
