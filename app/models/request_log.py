"""The request log: what was asked of the web application, in aggregate-friendly rows.

Per request it keeps the route (the URL rule such as ``/tickets/<int:ticket_id>``, not
the path), the method, the status, the duration and, when a view names one, the account
served. By design it has no column for the IP address, the user agent, the signed-in
agent, the path or the query string: the privacy policy says request logs identify at
most the company.
"""

from __future__ import annotations

from datetime import datetime

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
