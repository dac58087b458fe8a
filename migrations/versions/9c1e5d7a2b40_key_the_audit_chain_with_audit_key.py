"""key the audit chain with AUDIT_KEY

Entries were chained with plain SHA-256, which anyone with the database could recompute.
From now on each hash is an HMAC-SHA256 under AUDIT_KEY (app/services/audit.py). This
re-hashes the existing chain under the key, in order, and appends an entry saying so: how
many entries were re-hashed, the old head (so anchors kept from before can still be looked
up in that entry), and whether the old chain verified. A tampered old chain is not refused,
since an upgrade must not stop on it; the entry records what verification found, inside
the new keyed chain, where it can no longer be removed unseen.

The hashing is written out here, frozen as it is on this day, so later changes to the
application cannot change what this migration did.

Revision ID: 9c1e5d7a2b40
Revises: 4aae1e961632
Create Date: 2026-11-29 22:30:00

"""
import hashlib
import hmac
import json
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = '9c1e5d7a2b40'
down_revision = '4aae1e961632'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
FIELDS = ("at", "action", "agent_id", "contact_email", "account_id", "request_id", "record_kind",
          "record_id", "detail")
entries = sa.table(
    "audit_entry", sa.column("id", sa.Integer), sa.column("at", sa.DateTime), sa.column("action", sa.String),
    sa.column("agent_id", sa.Integer), sa.column("contact_email", sa.String),
    sa.column("account_id", sa.Integer), sa.column("request_id", sa.Integer),
    sa.column("record_kind", sa.String), sa.column("record_id", sa.Integer), sa.column("detail", sa.Text),
    sa.column("prev_hash", sa.String), sa.column("hash", sa.String),
)


def _canonical(row, prev_hash: str) -> bytes:
    payload = {name: row[name] for name in FIELDS}
    payload["at"] = payload["at"].isoformat(timespec="microseconds")
    payload["prev_hash"] = prev_hash
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _keyed(key: bytes | None):
    if key is None:
        return lambda row, prev: hashlib.sha256(_canonical(row, prev)).hexdigest()
    return lambda row, prev: hmac.new(key, _canonical(row, prev), hashlib.sha256).hexdigest()


def _old_chain_problem(rows, hash_of) -> str | None:
    prev = GENESIS
    for row in rows:
        if row["prev_hash"] != prev or hash_of(row, prev) != row["hash"]:
            return f"entry {row['id']} did not verify"
        prev = row["hash"]
    return None


def _rehash(rows, old, new) -> str:
    """Write every entry's hash again with ``new``; return the new head."""
    connection = op.get_bind()
    problem = _old_chain_problem(rows, old)
    prev = GENESIS
    for row in rows:
        value = new(row, prev)
        connection.execute(entries.update().where(entries.c.id == row["id"]).values(prev_hash=prev, hash=value))
        prev = value
    return problem


def upgrade():
    connection = op.get_bind()
    rows = connection.execute(sa.select(entries).order_by(entries.c.id)).mappings().all()
    if not rows:
        return
    key = current_app.config["AUDIT_KEY"].encode("utf-8")
    problem = _rehash(rows, _keyed(None), _keyed(key))
    last = rows[-1]
    detail = (f"{len(rows)} entries re-hashed with AUDIT_KEY; the unkeyed chain ended at entry {last['id']}, "
              f"hash {last['hash']}; " + (f"before keying, {problem}" if problem else "it verified before keying"))
    head = connection.execute(sa.select(entries.c.hash).order_by(entries.c.id.desc()).limit(1)).scalar()
    entry = {"at": datetime.utcnow(), "action": "audit chain keyed", "agent_id": None, "contact_email": None,
             "account_id": None, "request_id": None, "record_kind": None, "record_id": None, "detail": detail}
    connection.execute(entries.insert().values(**entry, prev_hash=head, hash=_keyed(key)(entry, head)))


def downgrade():
    connection = op.get_bind()
    connection.execute(entries.delete().where(entries.c.action == "audit chain keyed"))
    rows = connection.execute(sa.select(entries).order_by(entries.c.id)).mappings().all()
    key = current_app.config["AUDIT_KEY"].encode("utf-8")
    _rehash(rows, _keyed(key), _keyed(None))
