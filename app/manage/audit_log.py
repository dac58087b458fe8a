"""Reading the audit log for the viewer and its CSV export: one filter (account, agent, action,
time), pages of entries newest first, and the export as CSV lines.

Only reads; writing the log is ``app.services.audit.append`` alone. Entries come with the
agent's address and the account's name joined in, as ``describe_entries`` names them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from tempfile import SpooledTemporaryFile

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.models import Account, Agent, AuditEntry

CSV_COLUMNS = ("id", "at_utc", "action", "agent", "contact", "account", "request_id", "record_kind",
               "record_id", "detail", "hash")
# Cells a spreadsheet would read as a formula (CSV injection); such a cell gets a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_CHUNK = 1000
CSV_IN_MEMORY = 8 * 1024 * 1024


@dataclass(frozen=True)
class AuditFilter:
    account_id: int | None = None
    agent_id: int | None = None
    action: str | None = None
    since: datetime | None = None  # naive UTC, inclusive
    until: datetime | None = None  # naive UTC, exclusive


@dataclass(frozen=True)
class AuditRow:
    entry: AuditEntry
    agent: str | None
    account: str | None

    @property
    def break_glass(self) -> bool:
        return self.entry.action.startswith("BREAK-GLASS")


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    total: int
    page: int
    pages: int


def _filtered(query: Select, wanted: AuditFilter) -> Select:
    for column, value in ((AuditEntry.account_id, wanted.account_id), (AuditEntry.agent_id, wanted.agent_id),
                          (AuditEntry.action, wanted.action)):
        if value is not None:
            query = query.where(column == value)
    if wanted.since is not None:
        query = query.where(AuditEntry.at >= wanted.since)
    if wanted.until is not None:
        query = query.where(AuditEntry.at < wanted.until)
    return query


def _named_entries(wanted: AuditFilter) -> Select:
    query = (select(AuditEntry, Agent.email, Account.name)
             .outerjoin(Agent, Agent.id == AuditEntry.agent_id)
             .outerjoin(Account, Account.id == AuditEntry.account_id))
    return _filtered(query, wanted).order_by(AuditEntry.id.desc())


def count_entries(session: Session, wanted: AuditFilter, upto_id: int | None = None) -> int:
    """Return how many entries the filter matches (up to ``upto_id``, when given)."""
    query = _filtered(select(func.count(AuditEntry.id)), wanted)
    if upto_id is not None:
        query = query.where(AuditEntry.id <= upto_id)
    return session.scalar(query)


def page_of_entries(session: Session, wanted: AuditFilter, page: int, size: int) -> AuditPage:
    """Return one page of the matching entries, newest first."""
    total = count_entries(session, wanted)
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    rows = session.execute(_named_entries(wanted).limit(size).offset((page - 1) * size)).all()
    return AuditPage([AuditRow(*row) for row in rows], total, page, pages)


def last_entry_id(session: Session) -> int:
    """Return the id of the newest entry (0 for an empty log)."""
    return session.scalar(select(func.max(AuditEntry.id))) or 0


def actions(session: Session) -> list[str]:
    """Return every action the log holds, in alphabetical order."""
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def csv_lines(session: Session, wanted: AuditFilter, upto_id: int) -> Iterator[str]:
    """Yield the CSV export of the matching entries up to ``upto_id``, header first, newest first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    query = _named_entries(wanted).where(AuditEntry.id <= upto_id).execution_options(yield_per=CSV_CHUNK)
    for n, (entry, agent, account) in enumerate(session.execute(query), start=1):
        writer.writerow([entry.id, entry.at.isoformat(timespec="microseconds"), _cell(entry.action),
                         _cell(agent), _cell(entry.contact_email), _cell(account), entry.request_id,
                         entry.record_kind, entry.record_id, _cell(entry.detail), entry.hash])
        if n % 100 == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def csv_file(session: Session, wanted: AuditFilter, upto_id: int) -> SpooledTemporaryFile:
    """Return the CSV export as a file read from its start, UTF-8.

    Spooled rather than streamed: the file is whole before a response starts, and a long
    log moves from memory to a temporary file instead of holding a cursor open meanwhile.
    """
    spool = SpooledTemporaryFile(max_size=CSV_IN_MEMORY)
    for chunk in csv_lines(session, wanted, upto_id):
        spool.write(chunk.encode("utf-8"))
    spool.seek(0)
    return spool


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _cell(value: str | None) -> str | None:
    if value and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
