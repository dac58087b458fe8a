"""Searching the archive for people: result pages with snippets, saved searches, and
exports of a whole result (CSV of the list, mbox of the messages), which are audited.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Account, Agent, Message, SavedSearch
from app.rawstore import RawStore
from app.search import query as search_query
from app.search.backend import SearchBackend
from app.search.errors import QueryError
from app.services import audit
from app.services.errors import ServiceError

SORTS = ("relevance", "date")
EXPORT_BATCH = 500


def run_search(session: Session, index: SearchBackend, text: str, *, page: int, pagelen: int,
               sort: str, snippets: bool = True) -> search_query.Results:
    """Return one page of results, with snippets cut from the messages' text (or none)."""
    if sort not in SORTS:
        raise QueryError(f"sort by {' or '.join(SORTS)}, not {sort!r}")
    return search_query.search_messages(index, text, page=page, pagelen=pagelen, sort=sort,
                                        texts=lambda ids: _bodies(session, ids), snippets=snippets)


def _bodies(session: Session, ids: list[int]) -> dict[int, str]:
    return dict(session.execute(select(Message.id, Message.body_text).where(Message.id.in_(ids))).all())


def saved_searches(session: Session, agent: Agent) -> list[SavedSearch]:
    """Return the agent's saved searches by name."""
    return list(session.scalars(select(SavedSearch).where(SavedSearch.agent_id == agent.id)
                                .order_by(SavedSearch.name)))


def save_search(session: Session, agent: Agent, name: str, text: str, sort: str) -> SavedSearch:
    """Keep a query under a name for the agent; the same name replaces the old query."""
    name, text = name.strip(), text.strip()
    if not name or not text:
        raise ServiceError("a saved search needs a name and a query")
    if sort not in SORTS:
        sort = "relevance"
    found = session.scalar(select(SavedSearch).where(SavedSearch.agent_id == agent.id,
                                                     SavedSearch.name == name[:100]))
    if found is None:
        found = SavedSearch(agent_id=agent.id, name=name[:100])
        session.add(found)
    found.query, found.sort = text, sort
    session.flush()
    return found


def delete_saved_search(session: Session, agent: Agent, saved_id: int) -> None:
    """Delete one of the agent's own saved searches."""
    found = session.get(SavedSearch, saved_id)
    if found is None or found.agent_id != agent.id:
        raise ServiceError("no such saved search of yours")
    session.delete(found)
    session.flush()


def export_ids(session: Session, index: SearchBackend, agent: Agent, text: str, kind: str,
               now: datetime, for_whom: str) -> list[int]:
    """Return every message a query matches, and write the export, and whom it is for, to the audit log."""
    ids = search_query.matching_ids(index, text)
    audit.append(session, f"search exported ({kind})", at=now, agent_id=agent.id,
                 detail=f"{len(ids)} messages matching: {text[:500]}; {for_whom}")
    return ids


def csv_lines(session: Session, ids: list[int]) -> Iterator[str]:
    """Yield the result list as CSV: one row per message, no bodies."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["message_id", "date_utc", "from", "to", "subject", "account", "ticket", "direction",
                     "channel"])
    accounts = dict(session.execute(select(Account.id, Account.name)).all())
    for start in range(0, len(ids), EXPORT_BATCH):
        rows = session.scalars(select(Message).where(Message.id.in_(ids[start:start + EXPORT_BATCH])))
        by_id = {m.id: m for m in rows}
        for message_id in ids[start:start + EXPORT_BATCH]:
            m = by_id.get(message_id)
            if m is None:
                continue
            date = m.date_utc.isoformat() if m.date_utc else ""
            writer.writerow([m.id, date, _cell(m.from_addr), _cell(m.to_addrs), _cell(m.subject),
                             _cell(accounts.get(m.account_id, "")), m.ticket_id or "", m.direction,
                             m.channel])
        yield out.getvalue()
        out.seek(0)
        out.truncate()


def _cell(text: str) -> str:
    # A cell starting with = + - @ is a formula to spreadsheets: mail subjects are hostile.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def mbox_chunks(session: Session, store: RawStore, ids: list[int]) -> Iterator[bytes]:
    """Yield the messages as an mboxrd file: LF line ends, "From " lines quoted with ">"."""
    for start in range(0, len(ids), EXPORT_BATCH):
        rows = session.execute(select(Message.id, Message.sha256, Message.from_addr, Message.archived_at)
                               .where(Message.id.in_(ids[start:start + EXPORT_BATCH]))).all()
        by_id = {row.id: row for row in rows}
        for message_id in ids[start:start + EXPORT_BATCH]:
            row = by_id.get(message_id)
            if row is not None:
                yield _mbox_entry(store.get(row.sha256), row.from_addr, row.archived_at)


def _mbox_entry(raw: bytes, sender: str, when: datetime) -> bytes:
    body = raw.replace(b"\r\n", b"\n")
    lines = [b">" + line if line.lstrip(b">").startswith(b"From ") else line for line in body.split(b"\n")]
    envelope = f"From {sender or 'MAILER-DAEMON'} {when:%a %b %d %H:%M:%S %Y}\n".encode()
    text = b"\n".join(lines)
    return envelope + text + (b"\n" if text.endswith(b"\n") else b"\n\n")
