"""The audit log's keyed hash chain on SQLite and PostgreSQL: appends link from the genesis
hash, ``flask audit verify`` passes an intact log, and each way an attacker with database
access but not AUDIT_KEY might rewrite it (raw SQL, then commit; honest SHA-256 hashes
recomputed) is caught and named by entry; a rewrite by someone holding the key is caught
against the anchors that approvers' emails state.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Account, AuditEntry
from app.services.audit import (
    GENESIS,
    Anchor,
    append,
    audit_key,
    entry_hash,
    fields_of,
    list_entries,
    verify,
)
from tests import factories

# Microseconds on purpose: both databases must hand them back for the hashes to hold.
AT = datetime(2026, 3, 14, 15, 9, 26, 535897)


@pytest.fixture
def chain(session) -> list[int]:
    """Five committed entries with every kind of field; returns their ids in order."""
    account = factories.account(session)
    staff = factories.agent(session)
    for n in range(5):
        by_agent = n % 2 == 1
        append(session, "records.viewed" if by_agent else "grant.approved", at=AT + timedelta(minutes=n),
               agent_id=staff.id if by_agent else None,
               contact_email=None if by_agent else "owner@customer.example",
               account_id=account.id, record_kind="job", record_id=n + 1, detail=f"Entry № {n} – café ✓")
    session.commit()
    return list(session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))


def tamper(session, sql: str, **params) -> None:
    """Change the log behind the application's back, as someone with database access could."""
    session.execute(text(sql), params)
    session.commit()


def problem(session) -> str:
    session.rollback()  # see what is committed, as the next command would
    result = verify(session)
    assert not result.ok
    return result.problem


def test_entries_link_from_the_genesis_hash_and_keep_their_microseconds(session, chain):
    session.expire_all()
    entries = [session.get(AuditEntry, id_) for id_ in chain]
    assert entries[0].prev_hash == GENESIS
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert entries[0].at == AT
    assert all(entry_hash(e.prev_hash, fields_of(e), audit_key()) == e.hash for e in entries)


def test_an_intact_log_verifies_and_reports_how_many_entries_were_checked(session, chain):
    result = verify(session)
    assert result.ok and result.problem is None
    assert result.checked == 5
    assert result.last_id == chain[-1]
    assert result.last_hash == session.get(AuditEntry, chain[-1]).hash


def test_an_empty_log_verifies(session):
    result = verify(session)
    assert result.ok and result.checked == 0 and result.last_hash == GENESIS


def test_a_time_with_a_zone_is_stored_as_naive_utc(session):
    at = datetime(2026, 3, 14, 17, 0, 0, 1, tzinfo=timezone(timedelta(hours=2)))
    entry = append(session, "grant.approved", at=at)
    session.commit()
    session.expire_all()
    assert entry.at == datetime(2026, 3, 14, 15, 0, 0, 1)
    assert verify(session).ok


def test_an_entry_commits_with_the_change_it_records_or_not_at_all(session):
    account = factories.account(session)
    # The entry as the transaction's first write: on SQLite its savepoint must not be
    # the transaction, or releasing it would commit the entry on its own.
    append(session, "account.viewed", at=AT, account_id=account.id)
    session.rollback()
    assert session.scalar(select(func.count(AuditEntry.id))) == 0

    session.add(Account(name="Rolled Back Co"))
    append(session, "account.added", at=AT, account_id=account.id)
    session.rollback()
    assert session.scalar(select(func.count(AuditEntry.id))) == 0
    assert session.scalar(select(func.count(Account.id))) == 1

    session.add(Account(name="Kept Co"))
    append(session, "account.added", at=AT, account_id=account.id)
    append(session, "account.added", at=AT, account_id=account.id)  # in one transaction, still a chain
    session.commit()
    assert session.scalar(select(func.count(Account.id))) == 2
    assert verify(session).checked == 2 and verify(session).ok


def test_an_entry_whose_detail_was_changed_is_named_as_altered(session, chain):
    tamper(session, "UPDATE audit_entry SET detail = 'nothing to see' WHERE id = :id", id=chain[2])
    assert problem(session) == (f"entry {chain[2]} was altered or forged "
                                "(its hash does not match its contents)")


def test_an_entry_whose_time_was_changed_is_named_as_altered(session, chain):
    tamper(session, "UPDATE audit_entry SET at = (SELECT at FROM audit_entry WHERE id = :other) "
                    "WHERE id = :id", id=chain[3], other=chain[4])
    assert problem(session).startswith(f"entry {chain[3]} was altered")


def test_an_entry_rewritten_with_a_new_keyed_hash_breaks_the_link_to_the_next(session, chain):
    entry = session.get(AuditEntry, chain[2])
    fields = {**fields_of(entry), "detail": "nothing to see"}
    tamper(session, "UPDATE audit_entry SET detail = :detail, hash = :hash WHERE id = :id",
           detail=fields["detail"], hash=entry_hash(entry.prev_hash, fields, audit_key()), id=chain[2])
    assert problem(session).startswith(f"entry {chain[3]} does not follow entry {chain[2]} ")


def unkeyed_hash(prev_hash: str, fields: dict) -> str:
    """The hash anyone can compute without AUDIT_KEY: SHA-256 of the same canonical form."""
    payload = {**fields, "at": fields["at"].isoformat(timespec="microseconds"), "prev_hash": prev_hash}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_an_entry_appended_with_a_correctly_computed_unkeyed_hash_is_named_as_forged(session, chain):
    last = session.get(AuditEntry, chain[-1])
    fields = {**fields_of(last), "action": "access approved", "detail": "approved by the customer"}
    tamper(session, "INSERT INTO audit_entry (at, action, detail, prev_hash, hash) "
                    "VALUES (:at, :action, :detail, :prev, :hash)",
           at=fields["at"], action=fields["action"], detail=fields["detail"], prev=last.hash,
           hash=unkeyed_hash(last.hash, {**fields, "agent_id": None, "contact_email": None,
                                          "account_id": None, "record_kind": None, "record_id": None}))
    forged_id = session.scalar(select(func.max(AuditEntry.id)))
    assert problem(session) == (f"entry {forged_id} was altered or forged "
                                "(its hash does not match its contents)")


def test_the_whole_chain_rewritten_with_unkeyed_hashes_is_named_at_its_first_entry(session, chain):
    session.expire_all()
    rows = [session.get(AuditEntry, id_) for id_ in chain]
    prev = GENESIS
    for row in rows:
        fields = {**fields_of(row), "detail": "rewritten" if row.id == chain[1] else row.detail}
        new = unkeyed_hash(prev, fields)
        session.execute(text("UPDATE audit_entry SET detail = :d, prev_hash = :p, hash = :h WHERE id = :id"),
                        {"d": fields["detail"], "p": prev, "h": new, "id": row.id})
        prev = new
    session.commit()
    assert problem(session).startswith(f"entry {chain[0]} was altered or forged")


def test_a_chain_rewritten_by_someone_holding_the_key_is_caught_against_an_anchor(session, chain):
    anchor = Anchor(session.get(AuditEntry, chain[3]).hash, chain[3])
    session.expire_all()
    prev = GENESIS
    for row in [session.get(AuditEntry, id_) for id_ in chain]:
        fields = {**fields_of(row), "detail": "rewritten" if row.id == chain[1] else row.detail}
        new = entry_hash(prev, fields, audit_key())
        session.execute(text("UPDATE audit_entry SET detail = :d, prev_hash = :p, hash = :h WHERE id = :id"),
                        {"d": fields["detail"], "p": prev, "h": new, "id": row.id})
        prev = new
    session.commit()
    assert verify(session).ok  # a whole chain under the right key
    result = verify(session, anchors=[anchor])
    assert not result.ok
    assert result.problem.startswith(f"entry {chain[3]} does not hold the hash {anchor.hash}")


def test_a_chain_verified_with_another_key_fails_at_its_first_entry(session, chain):
    result = verify(session, key=b"not the key")
    assert not result.ok and result.problem.startswith(f"entry {chain[0]} was altered or forged")


def test_a_removed_entry_is_named_by_the_entry_after_the_gap(session, chain):
    tamper(session, "DELETE FROM audit_entry WHERE id = :id", id=chain[2])
    assert problem(session) == (f"entry {chain[3]} does not follow entry {chain[1]} (an entry between them "
                                f"was removed, or entry {chain[1]} was rewritten or inserted)")


def test_removing_the_first_entry_leaves_an_entry_that_does_not_start_the_chain(session, chain):
    tamper(session, "DELETE FROM audit_entry WHERE id = :id", id=chain[0])
    assert problem(session).startswith(f"entry {chain[1]} does not start the chain")


def test_a_forged_entry_with_a_made_up_hash_is_named(session, chain):
    tamper(session, "INSERT INTO audit_entry (at, action, detail, prev_hash, hash) "
                    "SELECT at, 'grant.approved', 'forged', hash, :forged FROM audit_entry WHERE id = :last",
           forged="f" * 64, last=chain[-1])
    forged_id = session.scalar(select(func.max(AuditEntry.id)))
    assert problem(session).startswith(f"entry {forged_id} was altered or forged")


def test_entries_cut_from_the_end_are_caught_only_against_an_anchor(session, chain):
    result = verify(session)
    tamper(session, "DELETE FROM audit_entry WHERE id = :id", id=chain[-1])
    assert verify(session).ok  # the chain that is left is whole
    for anchor in (Anchor(result.last_hash), Anchor(result.last_hash, result.last_id)):
        cut = verify(session, anchors=[anchor])
        assert not cut.ok and cut.problem.startswith(f"no entry has the anchor {anchor}"), cut.problem
    assert verify(session, anchors=[Anchor(session.get(AuditEntry, chain[1]).hash, chain[1])]).ok


# Only SQLite: PostgreSQL's timestamp column refuses such a value in the first place.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_time_that_is_not_a_time_is_named_not_raised(backend, session, chain):
    tamper(session, "UPDATE audit_entry SET at = 'yesterday' WHERE id = :id", id=chain[2])
    assert problem(session) == (f"entry {chain[2]} was altered or forged (its contents cannot be read: "
                                "Invalid isoformat string: 'yesterday')")


def test_verify_command_exits_0_on_an_intact_log(cli, session, chain):
    result = cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "Audit log intact: 5 entries checked."
    anchor = session.get(AuditEntry, chain[-1]).hash
    assert f"Last entry: {chain[-1]}, hash {anchor} " in result.output
    assert f"--anchor {chain[-1]}:{anchor}" in result.output
    for written in (anchor, f"{chain[-1]}:{anchor}", f"entry {chain[-1]}, hash {anchor.upper()}"):
        first = session.get(AuditEntry, chain[0]).hash
        again = cli("audit", "verify", "--anchor", written, "--anchor", first)
        assert again.exit_code == 0 and "5 entries checked, 2 anchors found." in again.output, again.output


def test_verify_command_refuses_an_anchor_it_cannot_read(app, session, chain):
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--anchor", "12:abc"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: '12:abc' is not an anchor: give the 64-character hash")


def test_verify_command_exits_1_naming_the_altered_entry(app, session, chain):
    tamper(session, "UPDATE audit_entry SET detail = 'nothing to see' WHERE id = :id", id=chain[1])
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.strip() == (f"Error: Audit log broken: entry {chain[1]} was altered or forged "
                                     "(its hash does not match its contents).")


def test_list_command_filters_by_account_and_prints_json(app, cli, session, chain):
    other = factories.account(session, "Other Co", domains=("other.example",))
    append(session, "grant.approved", at=AT, account_id=other.id, detail="elsewhere")
    session.commit()
    result = cli("audit", "list", "--account", "Customer Co", "--json", "--limit", "2")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["id"] for r in rows] == [chain[4], chain[3]]
    assert rows[0]["account"] == "Customer Co" and rows[0]["contact"] == "owner@customer.example"
    assert rows[1]["agent"] == "sam@desk.example" and rows[1]["record"] == "job 4"
    assert rows[0]["at"] == (AT + timedelta(minutes=4)).isoformat(timespec="microseconds")
    assert "Customer Co" in cli("audit", "list").output
    unknown = app.test_cli_runner().invoke(args=["audit", "list", "--account", "Nobody"])
    assert unknown.exit_code == 1 and "Traceback" not in unknown.output
    assert "No account is named 'Nobody'" in unknown.output


def test_list_entries_filters_by_action_and_time(session, chain):
    assert [e.id for e in list_entries(session, action="grant.approved")] == [chain[4], chain[2], chain[0]]
    since, until = AT + timedelta(minutes=1), AT + timedelta(minutes=3)
    assert [e.id for e in list_entries(session, since=since, until=until)] == [chain[2], chain[1]]
    aware = since.replace(tzinfo=UTC)
    assert [e.id for e in list_entries(session, since=aware, limit=1)] == [chain[4]]


# Only PostgreSQL: on SQLite an appender holds the write lock before it reads the last
# entry, so no writer can get in between (see the test of a second writer).
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_an_append_that_loses_a_race_retries_after_the_winner(backend, app, session):
    account = factories.account(session)
    engine = db.engine
    raced = []

    def other_writer_first(conn, cursor, statement, *args):
        # A writer that skips append's queue (a script, say) commits an honest entry after
        # the same last entry, between this append's read of it and its insert.
        if raced or not statement.startswith("INSERT INTO audit_entry"):
            return
        raced.append(True)
        with engine.begin() as other:
            prev_hash = other.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
            fields = {"at": AT, "action": "grant.approved", "agent_id": None, "contact_email": None,
                      "account_id": None, "request_id": None, "record_kind": None, "record_id": None,
                      "detail": "the winner"}
            other.execute(AuditEntry.__table__.insert().values(
                **fields, prev_hash=prev_hash, hash=entry_hash(prev_hash, fields, audit_key())))

    append(session, "grant.approved", at=AT, detail="before the race")
    session.commit()
    session.add(Account(name="Changed Co"))  # the caller's own change, which must survive the retry
    event.listen(engine, "before_cursor_execute", other_writer_first)
    try:
        entry = append(session, "grant.approved", at=AT, account_id=account.id, detail="the loser")
    finally:
        event.remove(engine, "before_cursor_execute", other_writer_first)
    session.commit()
    winner = session.scalar(select(AuditEntry).where(AuditEntry.detail == "the winner"))
    assert raced and entry.prev_hash == winner.hash
    assert session.scalar(select(Account).where(Account.name == "Changed Co")) is not None
    assert verify(session).ok and verify(session).checked == 3


def test_a_second_writer_waits_until_the_first_commits(backend, app, session):
    append(session, "grant.approved", at=AT, detail="first, not yet committed")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    engine = create_engine(url, connect_args={"timeout": 0.1}) if backend == "sqlite" else db.engine

    def impatient() -> Session:
        other = Session(engine)
        if backend == "postgresql":
            other.execute(text("SET LOCAL lock_timeout = '100ms'"))
        return other

    try:
        with impatient() as other, pytest.raises(OperationalError, match="lock"):
            append(other, "grant.approved", at=AT, detail="second")
        session.commit()
        with impatient() as other:
            append(other, "grant.approved", at=AT, detail="second")
            other.commit()
    finally:
        if backend == "sqlite":
            engine.dispose()
    assert verify(session).ok and verify(session).checked == 2


def test_concurrent_writers_never_fork_the_chain(app, session):
    engine, writers, each = db.engine, 4, 8
    start, errors = threading.Barrier(writers), []

    def write(n: int) -> None:
        try:
            with app.app_context(), Session(engine) as own:
                start.wait()
                for i in range(each):
                    append(own, "records.viewed", at=AT + timedelta(seconds=i), detail=f"writer {n}, {i}")
                    own.commit()
        except Exception as exc:  # reported below, as a thread's exception would be lost
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = verify(session)
    assert result.ok, result.problem
    assert result.checked == writers * each


def test_an_approvers_email_states_the_head_and_verify_accepts_it_as_an_anchor(
        app, session, cli, smtp_server):
    from app.access import grants
    from app.services import access_notices

    app.config["SMTP_URL"] = smtp_server.url
    account = factories.account(session, "Witness Co", domains=["witness.example"],
                                approvers=["boss@witness.example"])
    agent = factories.agent(session)
    request, asked = grants.request_access(session, agent, account, "business", "Checking the export", 4,
                                           AT, grants.AccessSettings())
    access_notices.send(asked)
    session.commit()
    body = smtp_server.wait_for(1)[0].message().get_content()
    line = re.search(r"entry (\d+), hash ([0-9a-f]{64})", body)
    requested = session.scalar(select(AuditEntry).where(AuditEntry.action == "access requested"))
    assert line and (int(line.group(1)), line.group(2)) == (requested.id, requested.hash)
    stated = f"entry {line.group(1)}, hash {line.group(2)}"
    assert cli("audit", "verify", "--anchor", stated).exit_code == 0

    fields = {**fields_of(requested), "detail": "business records for 4 h: nothing unusual"}
    tamper(session, "UPDATE audit_entry SET detail = :d, hash = :h WHERE id = :id", d=fields["detail"],
           h=entry_hash(requested.prev_hash, fields, audit_key()), id=requested.id)
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--anchor", stated])
    assert result.exit_code == 1
    assert f"entry {requested.id} does not hold the hash {line.group(2)}" in result.output


def test_upgrading_keys_an_unkeyed_chain_and_records_its_old_head(app, session):
    from flask_migrate import downgrade, upgrade

    from app import MIGRATIONS

    downgrade(directory=MIGRATIONS, revision="4aae1e961632")
    prev = GENESIS
    for n in range(3):
        fields = {"at": AT + timedelta(minutes=n), "action": "access requested", "agent_id": None,
                  "contact_email": None, "account_id": None, "request_id": None, "record_kind": None,
                  "record_id": None, "detail": f"unkeyed {n}"}
        old = unkeyed_hash(prev, fields)
        session.execute(AuditEntry.__table__.insert().values(**fields, prev_hash=prev, hash=old))
        prev = old
    session.commit()

    upgrade(directory=MIGRATIONS)

    session.expire_all()
    assert verify(session).ok and verify(session).checked == 4
    keyed = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert keyed.action == "audit chain keyed"
    assert keyed.detail == (f"3 entries re-hashed with AUDIT_KEY; the unkeyed chain ended at entry "
                            f"{keyed.id - 1}, hash {prev}; it verified before keying")
