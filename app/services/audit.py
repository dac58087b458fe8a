"""The audit log: appending hash-chained entries, verifying the chain, listing entries.

Each entry's ``hash`` is the SHA-256 of the previous entry's hash and the entry's own
fields in one canonical JSON form, so an entry changed, removed or slipped in breaks the
chain at that point (DESIGN rule 8). Services call ``append`` inside their own transaction
before they commit, so an entry is committed together with the change it records, or not
at all. Entries cut from the end leave a chain that is still whole; ``verify`` notices
that only when given an anchor, the hash of a later entry recorded outside the database.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Row, String, select, text, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import Account, Agent, AuditEntry
from app.services.errors import ServiceError

GENESIS = "0" * 64
# Every column but id, prev_hash and hash. The id is left out because it is only known
# after the insert; the order of entries is carried by prev_hash instead.
HASHED_FIELDS = ("at", "action", "agent_id", "contact_email", "account_id", "request_id",
                 "record_kind", "record_id", "detail")
APPEND_ATTEMPTS = 5
# PostgreSQL advisory locks are per database: desks sharing one database in separate
# schemas merely queue their appends together.
APPEND_LOCK_KEY = 0x6465736b_61756474  # "deskaudt"
VERIFY_CHUNK = 1000


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    problem: str | None
    last_id: int | None  # the last entry found sound, and its hash (GENESIS before any)
    last_hash: str

    @property
    def ok(self) -> bool:
        return self.problem is None


def entry_hash(prev_hash: str, fields: dict) -> str:
    """Return the SHA-256 hex of the previous hash and the entry's ``HASHED_FIELDS``."""
    payload = {name: fields[name] for name in HASHED_FIELDS}
    # Microseconds always, so the form is the same whatever the databases hand back.
    payload["at"] = _naive_utc(payload["at"]).isoformat(timespec="microseconds")
    payload["prev_hash"] = prev_hash
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def fields_of(entry: AuditEntry) -> dict:
    """Return the fields of an entry that its hash covers."""
    return {name: getattr(entry, name) for name in HASHED_FIELDS}


def append(session: Session, action: str, *, at: datetime, agent_id: int | None = None,
           contact_email: str | None = None, account_id: int | None = None,
           request_id: int | None = None, record_kind: str | None = None,
           record_id: int | None = None, detail: str = "") -> AuditEntry:
    """Add an entry after the current last one and flush it, in the caller's transaction.

    Call it before committing the change the entry records. Appenders wait for one
    another from here until their transaction ends, so keep that short. If a writer
    outside this queue appends after the same entry first, the unique ``prev_hash``
    refuses this insert; it is undone to a savepoint, leaving the caller's transaction
    usable, and tried again after the new last entry. That needs READ COMMITTED on
    PostgreSQL (its default), so each try sees the other writer's entry.
    """
    fields = {
        "at": _naive_utc(at), "action": action, "agent_id": _optional_int(agent_id),
        "contact_email": contact_email, "account_id": _optional_int(account_id),
        "request_id": _optional_int(request_id), "record_kind": record_kind,
        "record_id": _optional_int(record_id), "detail": detail or "",
    }
    _queue_for_the_tail(session)
    for _attempt in range(APPEND_ATTEMPTS):
        try:
            with session.begin_nested():
                prev_hash = _last_hash(session)
                entry = AuditEntry(**fields, prev_hash=prev_hash, hash=entry_hash(prev_hash, fields))
                session.add(entry)
                session.flush()
            return entry
        except IntegrityError as exc:
            if "prev_hash" not in str(exc.orig):
                raise
    raise ServiceError(f"the audit log is busy: another writer appended first {APPEND_ATTEMPTS} times "
                       "running; try again")


def verify(session: Session, *, anchor: str | None = None) -> VerifyResult:
    """Walk the entries in id order, re-hashing each and checking its link to the one before.

    Stops at the first problem. With ``anchor`` (a hash printed by an earlier run) the
    log is broken too when no entry has that hash any more: entries were cut from the end.
    """
    checked, last_id, last_hash, anchor_found = 0, None, GENESIS, anchor is None
    read_time = _time_reader(session)
    with _chain(session) as rows:
        for row in rows:
            checked += 1
            problem = _problem(row, read_time, last_id, last_hash)
            if problem:
                return VerifyResult(checked, problem, last_id, last_hash)
            last_id, last_hash = row.id, row.hash
            anchor_found = anchor_found or row.hash == anchor
    if not anchor_found:
        return VerifyResult(checked, f"no entry has the hash {anchor}: entries were removed from "
                            "the end of the log (or the hash is mistyped)", last_id, last_hash)
    return VerifyResult(checked, None, last_id, last_hash)


def list_entries(session: Session, *, account_id: int | None = None, agent_id: int | None = None,
                 action: str | None = None, since: datetime | None = None,
                 until: datetime | None = None, limit: int = 100) -> list[AuditEntry]:
    """Return entries newest first, filtered by account, agent, action and time (until exclusive)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    for column, value in ((AuditEntry.account_id, account_id), (AuditEntry.agent_id, agent_id),
                          (AuditEntry.action, action)):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(AuditEntry.at >= _naive_utc(since))
    if until is not None:
        query = query.where(AuditEntry.at < _naive_utc(until))
    return list(session.scalars(query))


def describe_entries(session: Session, entries: list[AuditEntry]) -> list[dict]:
    """Return entries as dicts naming the agent by address and the account by name."""
    agents = _names(session, Agent.id, Agent.email, {e.agent_id for e in entries})
    accounts = _names(session, Account.id, Account.name, {e.account_id for e in entries})
    return [
        {
            "id": e.id, "at": e.at.isoformat(timespec="microseconds"), "action": e.action,
            "agent": agents.get(e.agent_id), "contact": e.contact_email,
            "account": accounts.get(e.account_id), "request_id": e.request_id,
            "record": f"{e.record_kind} {e.record_id}" if e.record_kind else None,
            "detail": e.detail, "hash": e.hash,
        }
        for e in entries
    ]


def _names(session: Session, id_column, name_column, ids: set) -> dict:
    ids.discard(None)
    if not ids:
        return {}
    return dict(session.execute(select(id_column, name_column).where(id_column.in_(ids))).all())


def _last_hash(session: Session) -> str:
    last = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    return last or GENESIS


def _queue_for_the_tail(session: Session) -> None:
    # Retrying alone starves: a writer that just committed reads the new last entry before
    # the writers it beat have rolled back, and wins again. So appenders queue on a lock
    # held to the end of their transaction; the unique prev_hash and the retry in
    # ``append`` still keep the chain whole against any writer that skips the queue.
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        # Python's sqlite3 opens a transaction only before its first INSERT, UPDATE or
        # DELETE. A SAVEPOINT issued before then opens one itself, and releasing it would
        # commit the entry at once, apart from the caller's change. BEGIN IMMEDIATE opens
        # the caller's transaction holding the write lock (a transaction that has written
        # already holds it), which is the queue.
        if not getattr(connection.connection.dbapi_connection, "in_transaction", True):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _chain(session: Session):
    columns = [getattr(AuditEntry, name) for name in HASHED_FIELDS if name != "at"]
    # The time comes as the database holds it and is read per entry (``_time_reader``): SQLite
    # keeps any text in a timestamp column, and one such entry must not stop the whole walk.
    at = type_coerce(AuditEntry.at, String).label("at")
    query = select(AuditEntry.id, AuditEntry.prev_hash, AuditEntry.hash, at, *columns).order_by(AuditEntry.id)
    return session.execute(query.execution_options(yield_per=VERIFY_CHUNK))


def _time_reader(session: Session):
    dialect = session.get_bind().dialect
    return AuditEntry.__table__.c.at.type.dialect_impl(dialect).result_processor(dialect, None)


def _problem(row: Row, read_time, prev_id: int | None, prev_hash: str) -> str | None:
    fields = dict(row._mapping)
    try:
        if isinstance(fields["at"], str) and read_time is not None:
            fields["at"] = read_time(fields["at"])
        intact = entry_hash(row.prev_hash, fields) == row.hash
    except (TypeError, ValueError) as exc:  # a value of the wrong type, written past the model
        return f"entry {row.id} was altered or forged (its contents cannot be read: {exc})"
    if not intact:
        return f"entry {row.id} was altered or forged (its hash does not match its contents)"
    if row.prev_hash == prev_hash:
        return None
    if prev_id is None:
        return f"entry {row.id} does not start the chain (the entries before it were removed)"
    return (f"entry {row.id} does not follow entry {prev_id} (an entry between them was removed, "
            f"or entry {prev_id} was rewritten or inserted)")


def _naive_utc(at: datetime) -> datetime:
    if not isinstance(at, datetime):
        raise TypeError(f"an audit time must be a datetime, not {type(at).__name__}")
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _optional_int(value) -> int | None:
    return None if value is None else int(value)

