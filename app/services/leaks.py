"""Customer links found in archived mail: they stop working, and their contacts get new ones.

An approver who answers our access-request email quotes it, link and all; a bounce
returns it whole; a colleague forwards it to the support address. Once that message is
archived, any agent could open it, copy the link and approve their own request. So the
archive looks in every message it takes in for the secrets of the links we sent
(``mailbox.tokens`` finds the candidates, ``burn_leaked_links`` compares their hashes)
and marks each one found as leaked in the same transaction that archives the message,
before any agent can see it; ``find_token`` then refuses it. ``replace_leaked_links``
later gives each such contact a new link by email, where the old one still had a use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.grants import Notice
from app.access.links import hash_token, new_consent_token, new_token
from app.access.queries import as_consent, as_grant
from app.access.rules import consent_in_force, is_in_force
from app.models import AccessToken, Message, utcnow
from app.rawstore import RawStore, RawStoreError
from app.services import audit
from app.services.rows import change_if
from mailbox.parse import token_candidates

_CHUNK = 500
PURPOSE_WORDS = {"decide": "decide", "revoke": "end-the-access", "log": "access-log",
                 "consent": "consent-decision", "withdraw": "withdraw-consent"}


def burn_leaked_links(session: Session, found: Iterable[tuple[Message, set[str]]]) -> int:
    """Mark every unleaked token whose secret stands in one of these messages as leaked; return how many.

    ``found`` pairs archived (flushed) messages with the token candidates read from them.
    """
    message_of = {hash_token(c): message for message, candidates in found for c in candidates}
    hashes = list(message_of)
    burned = 0
    for start in range(0, len(hashes), _CHUNK):
        tokens = session.scalars(select(AccessToken).where(
            AccessToken.token_hash.in_(hashes[start:start + _CHUNK]), AccessToken.leaked_at.is_(None)))
        for token in tokens:
            _burn(session, token, message_of[token.token_hash])
            burned += 1
    return burned


def _burn(session: Session, token: AccessToken, message: Message) -> None:
    now = utcnow()
    token.leaked_at, token.leaked_in_message_id = now, message.id
    audit.append(session, "link leaked", at=now, account_id=token.account_id, request_id=token.request_id,
                 detail=f"the {PURPOSE_WORDS[token.purpose]} link sent to {token.contact_email} was found in "
                        f"archived message {message.id} ({_kind_of(message)}); it no longer works, and "
                        f"{token.contact_email} is sent a new one")


def _kind_of(message: Message) -> str:
    if message.quarantined:
        return "unreadable as mail"
    who = message.from_addr or "an unknown sender"
    if message.auto_reason:
        return f"{message.auto_reason}, from {who}"
    return f"{message.direction}, from {who}"


def replace_leaked_links(session: Session, now: datetime, log_link_days: int) -> list[Notice]:
    """Create a new link for each leaked one that still has a use; return the emails that carry them.

    The caller sends them before committing, so a contact is never left without a link
    that the database thinks was sent; a failed send is tried again on the next call.
    """
    notices = []
    waiting = select(AccessToken).where(AccessToken.leaked_at.is_not(None), AccessToken.replaced_at.is_(None))
    for token in session.scalars(waiting.order_by(AccessToken.id)).all():
        if not change_if(session, token, [AccessToken.replaced_at.is_(None)], replaced_at=now):
            continue  # another process replaced it first
        expires_at = _still_useful_until(token, now)
        words = PURPOSE_WORDS[token.purpose]
        if expires_at is None:
            audit.append(session, "leaked link not replaced", at=now, account_id=token.account_id,
                         request_id=token.request_id, detail=f"the {words} link of {token.contact_email} "
                                                             "has no use any more")
            continue
        email = token.contact_email
        if token.consent is not None:
            raw = new_consent_token(session, token.consent, token.purpose, email, expires_at)
            notices.append(Notice("consent_relinked", email, token.consent, {token.purpose: raw}))
        else:
            raw = new_token(session, token.request, token.purpose, email, expires_at)
            notices.append(Notice("relinked", email, token.request, {token.purpose: raw}))
        audit.append(session, "link replaced", at=now, account_id=token.account_id,
                     request_id=token.request_id,
                     detail=f"a new {words} link was emailed to {token.contact_email}, as the old one was "
                            f"found in archived message {token.leaked_in_message_id}")
    session.flush()
    return notices


def _still_useful_until(token: AccessToken, now: datetime) -> datetime | None:
    """Return when a new link for this purpose should expire, or None when it would serve nothing."""
    request, consent = token.request, token.consent
    if token.purpose == "consent":
        return consent.decide_by if consent.status == "pending" and now < consent.decide_by else None
    if token.purpose == "withdraw":
        return token.expires_at if consent_in_force(as_consent(consent), now) else None
    if token.purpose == "decide":
        return request.decide_by if request.status == "pending" and now < request.decide_by else None
    if token.purpose == "revoke":
        return request.ends_at if is_in_force(as_grant(request), now) else None
    return token.expires_at if now < token.expires_at else None


def note_leaked_use(session: Session, token: AccessToken, agent_id: int | None, now: datetime) -> None:
    """Audit a form posted with a leaked link: whoever posts it read it in the archive, most likely."""
    who = "by a signed-in agent" if agent_id else "by someone not signed in to the console"
    audit.append(session, "leaked link tried", at=now, agent_id=agent_id, account_id=token.account_id,
                 request_id=token.request_id,
                 detail=f"the leaked {PURPOSE_WORDS[token.purpose]} link of {token.contact_email} was "
                        f"posted {who}, and refused")


def sweep_archive(session: Session, store: RawStore, progress: Callable[[int], None] | None = None) -> int:
    """Look for link tokens in every archived message, as archiving now does; return how many leaked.

    For an archive that took in mail before it looked for links: run once after upgrading.
    It commits a chunk of messages at a time.
    """
    burned, last_id = 0, 0
    while True:
        chunk = session.execute(select(Message.id, Message.sha256).where(Message.id > last_id)
                                .order_by(Message.id).limit(_CHUNK)).all()
        if not chunk:
            return burned
        found = []
        for message_id, sha in chunk:
            try:
                candidates = token_candidates(store.get(sha))
            except RawStoreError:
                continue  # `flask archive verify` names what is missing; the rest is still swept
            if candidates:
                found.append((session.get(Message, message_id), candidates))
        burned += burn_leaked_links(session, found)
        session.commit()
        last_id = chunk[-1].id
        if progress:
            progress(len(chunk))
