"""The request log: what was asked of the web application, in aggregate-friendly rows.

Per request it keeps the route (the URL rule such as ``/tickets/<int:ticket_id>``, not
the path), the method, the status, the duration and, when a view names one, the account
served. By design it has no column for the IP address, the user agent, the signed-in
agent, the path or the query string: the privacy policy says request logs identify at
most the company.

Raw rows are kept for ``REQUEST_LOG_DAYS`` and then rolled up into ``RequestLogDay``:
one row per day, account, route, method and status with the number of requests and
their total and longest duration (``app.services.usage``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.time import utcnow


class RequestLog(db.Model):
    # SQLite assigns row ids only to INTEGER PRIMARY KEY; PostgreSQL gets room to grow.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    route: Mapped[str | None] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    status: Mapped[int]
    duration_ms: Mapped[float]
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)


class RequestLogDay(db.Model):
    """The requests of one UTC day that share account, route, method and status, totalled.

    A key may have several rows (a request logged after its day was rolled up is rolled
    up in a later run); reports add them up. The total is kept in whole microseconds, the
    resolution of ``RequestLog.duration_ms``, so that sums are exact and a report gives
    the same figures from these rows as from the raw rows they replaced.
    """

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    day: Mapped[date] = mapped_column(index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    route: Mapped[str | None] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    status: Mapped[int]
    requests: Mapped[int]
    total_us: Mapped[int] = mapped_column(BigInteger)
    max_ms: Mapped[float]
