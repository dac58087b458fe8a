"""The language each company contact reads: chosen by an administrator, or learnt from the
contact, from the Content-Language of mail they send or the Accept-Language of their
browser when they act on a customer page. An administrator's choice always wins over what
is learnt; choosing "automatic" hands the contact back to detection. Only a language the
desk has a catalogue for is ever kept.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import i18n
from app.models import Account, Agent, Contact
from app.services import audit
from app.services.errors import ServiceError

ADMINISTRATOR = "administrator"
MAIL = "mail"
VISIT = "visit"


def choose(session: Session, account: Account, email: str, language: str, *, by: Agent | None,
           now: datetime) -> Contact:
    """Set the contact's language as an administrator; "" lets the desk learn it from the contact."""
    contact = next((c for c in account.contacts if c.email == email.lower().strip()), None)
    if contact is None:
        raise ServiceError(f"{email.strip()[:80]!r} is not a contact of {account.name}", "contact")
    if language and language not in i18n.available():
        raise ServiceError(f"the desk has no translation for the language {language[:16]!r}", "language")
    contact.language, contact.language_source = (language, ADMINISTRATOR) if language else (None, None)
    session.flush()
    who = f"by {by.email}" if by is not None else "from the command line"
    audit.append(session, "account contact language set", at=now, agent_id=by.id if by else None,
                 account_id=account.id, detail=f"{contact.email}: {language or 'automatic'}, {who}")
    return contact


def learn(contact: Contact | None, header: str | None, source: str) -> bool:
    """Keep the language a contact's header names, unless an administrator chose one; say if it changed."""
    if contact is None or contact.language_source == ADMINISTRATOR:
        return False
    language = i18n.from_header(header)
    if language is None or (contact.language, contact.language_source) == (language, source):
        return False
    contact.language, contact.language_source = language, source
    return True


def contact_at(session: Session, account_id: int, email: str) -> Contact | None:
    """Return the account's contact with this address, or None."""
    return session.scalar(select(Contact).where(Contact.account_id == account_id,
                                                Contact.email == email.lower().strip()))


def language_of(session: Session, account_id: int, email: str) -> str | None:
    """Return the language a contact's emails are written in (None: English)."""
    contact = contact_at(session, account_id, email)
    return contact.language if contact else None
