"""Rolling the request log up: raw rows older than the kept days become daily totals.

Each day is rolled up in one transaction that writes its totals and deletes its raw rows,
so a crash leaves the day either wholly raw or wholly totalled, and a raw row is counted
once: by the totals of the run that deleted it. On PostgreSQL the rows a run totals are
the rows its DELETE removed (one statement, ``DELETE ... RETURNING`` feeding the INSERT),
so a request logged while the day is rolled up is either among them or left raw for the
next run, never both; runs in several processes take turns through a lock held until
each day's commit. On SQLite the database lets one writer in at a time, so the two
statements of a day's transaction see the same rows.

Reports add totals and raw rows up (``app.services.usage``), so they give the same
figures whichever of the two holds a day.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import BigInteger, Date, cast, delete, func, insert, literal, select
from sqlalchemy.orm import Session

from app.models.request_log import RequestLog, RequestLogDay
from app.services.errors import ServiceError

# Taken for each day's transaction on PostgreSQL: two runs at once total a day in turn.
_ROLLUP_LOCK = zlib.crc32(b"desk-request-log-rollup")
_KEY = ("account_id", "route", "method", "status")


@dataclass
class Rollup:
    """What one run did: the days it rolled up, and the requests and total rows of them."""

    kept_from: date  # the first day whose raw rows are kept
    days: list[date] = field(default_factory=list)
    requests: int = 0
    totals: int = 0


def duration_us(duration_ms):
    """Return the SQL expression of a duration in whole microseconds, for exact sums."""
    return cast(func.round(duration_ms * 1000), BigInteger)


def roll_up(session: Session, now: datetime, keep_days: int,
            should_stop: Callable[[], bool] = lambda: False) -> Rollup:
    """Roll up every day before the last ``keep_days`` days, oldest first, committing each."""
    done = Rollup(kept_from=now.date() - timedelta(days=keep_days))
    while not should_stop():
        day = _oldest_raw_day(session, done.kept_from)
        if day is None:
            break
        counts = _roll_up_day(session, day)
        session.commit()
        if counts and day not in done.days:  # empty when another run rolled it up meanwhile
            done.days.append(day)
        done.requests += sum(counts)
        done.totals += len(counts)
    return done


def _oldest_raw_day(session: Session, before: date) -> date | None:
    oldest = session.scalar(select(func.min(RequestLog.at))
                            .where(RequestLog.at < datetime.combine(before, time.min)))
    # Ends the read before the day's write: on SQLite a read transaction that then
    # writes fails when another connection wrote in between.
    session.commit()
    return oldest.date() if oldest else None


def _roll_up_day(session: Session, day: date) -> list[int]:
    """Total ``day``'s raw rows and delete them in the current transaction; return each total's count."""
    start = datetime.combine(day, time.min)
    in_day = (RequestLog.at >= start, RequestLog.at < start + timedelta(days=1))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_ROLLUP_LOCK)))
        gone = delete(RequestLog).where(*in_day).returning(
            *(getattr(RequestLog, k) for k in _KEY), RequestLog.duration_ms).cte("gone")
        return list(session.scalars(_insert_totals(day, gone).add_cte(gone)))
    counts = list(session.scalars(_insert_totals(day, select(RequestLog).where(*in_day).subquery())))
    deleted = session.execute(delete(RequestLog).where(*in_day)
                              .execution_options(synchronize_session=False)).rowcount
    if deleted != sum(counts):  # one writer at a time makes this impossible; never lose a row
        session.rollback()
        raise ServiceError(f"the request log of {day} changed while it was rolled up; run again")
    return counts


def _insert_totals(day: date, rows):
    keys = [rows.c[k] for k in _KEY]
    totals = select(literal(day, Date), *keys, func.count(), func.sum(duration_us(rows.c.duration_ms)),
                    func.max(rows.c.duration_ms)).group_by(*keys)
    columns = ["day", *_KEY, "requests", "total_us", "max_ms"]
    return insert(RequestLogDay).from_select(columns, totals).returning(RequestLogDay.requests)
