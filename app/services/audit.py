"""The audit log: appending hash-chained entries, verifying the chain, listing entries.

Each entry's ``hash`` is an HMAC-SHA256, keyed with ``AUDIT_KEY``, of the previous entry's
hash and the entry's own fields in one canonical JSON form, so an entry changed, removed
or slipped in breaks the chain at that point (DESIGN rule 8). The key lives in the
configuration, never in the database: someone who can write to the database but does
not hold the key cannot compute the hash of a forged or rewritten entry, and ``verify``
names the first entry that does not hold.

Entries cut from the end leave a chain that is still whole, and someone holding the key
as well could rewrite it entirely; ``verify`` notices both against anchors, the id and
hash of an entry as recorded outside the database. Every email to a customer's approver
states the head of the chain when it was sent (``head``), so customers keep anchors of
their own. Services call ``append`` inside their own transaction before they commit, so
an entry is committed together with the change it records, or not at all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
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


@dataclass(frozen=True)
class Anchor:
    """An entry's hash as recorded outside the database, with its id when that was recorded too."""

    hash: str
    entry_id: int | None = None

    def __str__(self) -> str:
        return self.hash if self.entry_id is None else f"{self.entry_id}:{self.hash}"


_ANCHOR = re.compile(r"^(?:(?:entry\s*)?(\d+)\s*[:,]?\s*(?:hash\s*)?)?([0-9a-f]{64})$")


def read_anchor(text: str) -> Anchor:
    """Read an anchor written as ``HASH``, ``ID:HASH`` or as an email states it ("entry ID, hash HASH")."""
    found = _ANCHOR.match(" ".join(text.lower().split()))
    if found is None:
        raise ServiceError(f"{text.strip()[:80]!r} is not an anchor: give the 64-character hash, "
                           "or ID:HASH, as `flask audit verify` or an approver's email states it")
    return Anchor(found.group(2), int(found.group(1)) if found.group(1) else None)


def audit_key() -> bytes:
    """Return the chain's key, ``AUDIT_KEY`` of the application's configuration."""
    return current_app.config["AUDIT_KEY"].encode("utf-8")


def entry_hash(prev_hash: str, fields: dict, key: bytes) -> str:
    """Return the HMAC-SHA256 hex, under ``key``, of the previous hash and the entry's ``HASHED_FIELDS``."""
    payload = {name: fields[name] for name in HASHED_FIELDS}
    # Microseconds always, so the form is the same whatever the databases hand back.
    payload["at"] = _naive_utc(payload["at"]).isoformat(timespec="microseconds")
    payload["prev_hash"] = prev_hash
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()


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
    key = audit_key()
    _queue_for_the_tail(session)
    for _attempt in range(APPEND_ATTEMPTS):
        try:
            with session.begin_nested():
                prev_hash = _last_hash(session)
                entry = AuditEntry(**fields, prev_hash=prev_hash, hash=entry_hash(prev_hash, fields, key))
                session.add(entry)
                session.flush()
            return entry
        except IntegrityError as exc:
            if "prev_hash" not in str(exc.orig):
                raise
    raise ServiceError(f"the audit log is busy: another writer appended first {APPEND_ATTEMPTS} times "
                       "running; try again")


def verify(session: Session, *, anchors: Iterable[Anchor] = (), key: bytes | None = None) -> VerifyResult:
    """Walk the entries in id order, re-hashing each and checking its link to the one before.

    Stops at the first problem. Each anchor (an id and hash printed by an earlier run or
    stated in an approver's email) must still be in the chain: if its entry holds another
    hash, the log was rewritten up to there; if no entry has it, entries were cut from the end.
    """
    key = key or audit_key()
    wanted = {a.entry_id: a for a in anchors if a.entry_id is not None}
    loose = {a.hash for a in anchors if a.entry_id is None}
    checked, last_id, last_hash = 0, None, GENESIS
    read_time = _time_reader(session)
    with _chain(session) as rows:
        for row in rows:
            checked += 1
            problem = _problem(row, read_time, last_id, last_hash, key) or _anchor_problem(row, wanted)
            if problem:
                return VerifyResult(checked, problem, last_id, last_hash)
            last_id, last_hash = row.id, row.hash
            wanted.pop(row.id, None)
            loose.discard(row.hash)
    missing = [str(a) for a in wanted.values()] + sorted(loose)
    if missing:
        return VerifyResult(checked, f"no entry has the anchor {missing[0]}: entries were removed from "
                            "the end of the log (or the anchor is mistyped)", last_id, last_hash)
    return VerifyResult(checked, None, last_id, last_hash)


def head(session: Session) -> Anchor | None:
    """Return the last entry the session sees (its own flushed entries included) as an anchor."""
    last = select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    row = session.execute(last).first()
    return Anchor(row.hash, row.id) if row else None


def _anchor_problem(row: Row, wanted: dict[int, Anchor]) -> str | None:
    anchor = wanted.get(row.id)
    if anchor is None or anchor.hash == row.hash:
        return None
    return (f"entry {row.id} does not hold the hash {anchor.hash} recorded of it elsewhere: the log was "
            f"rewritten up to entry {row.id} by someone holding the key (or the anchor is mistyped)")


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
            "record": _record_words(e.record_kind, e.record_id),
            "detail": e.detail, "hash": e.hash,
        }
        for e in entries
    ]


def _record_words(kind: str | None, record_id: int | None) -> str | None:
    if kind is None:
        return None
    return f"the list of {kind}" if record_id is None else f"{kind} {record_id}"


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


def _problem(row: Row, read_time, prev_id: int | None, prev_hash: str, key: bytes) -> str | None:
    fields = dict(row._mapping)
    try:
        if isinstance(fields["at"], str) and read_time is not None:
            fields["at"] = read_time(fields["at"])
        intact = hmac.compare_digest(entry_hash(row.prev_hash, fields, key), row.hash)
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

