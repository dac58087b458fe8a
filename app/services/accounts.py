"""Customer accounts, their mail domains and contacts."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import Account, AccountDomain, Contact
from app.services.errors import ServiceError

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Domains shared by the public: a sender there says nothing about the company.
PUBLIC_MAIL_DOMAINS = frozenset(
    "gmail.com googlemail.com outlook.com hotmail.com live.com msn.com yahoo.com icloud.com "
    "me.com aol.com gmx.com gmx.de web.de proton.me protonmail.com mail.com yandex.ru".split()
)


def add_account(session: Session, name: str, domains: list[str], contacts: list[str],
                approvers: list[str]) -> Account:
    """Create an account; approvers become contacts too."""
    name = name.strip()
    if not name:
        raise ServiceError("the account needs a name")
    # Checked here: PostgreSQL refuses an over-long value with an unreadable error.
    if len(name) > 200:
        raise ServiceError("the account name is longer than 200 characters")
    if session.scalar(select(Account).where(Account.name == name)):
        raise ServiceError(f"an account named {name!r} exists already")
    account = Account(name=name)
    for domain in _unique(d.lower().strip().lstrip("@") for d in domains):
        _check_domain(session, domain)
        account.domains.append(AccountDomain(domain=domain))
    approver_set = {a.lower().strip() for a in approvers}
    for email in _unique(e.lower().strip() for e in [*contacts, *approvers]):
        if not _EMAIL.match(email):
            raise ServiceError(f"{email!r} is not an email address")
        if len(email) > 320:
            raise ServiceError(f"the address {email[:40]}... is longer than 320 characters")
        account.contacts.append(Contact(email=email, is_approver=email in approver_set))
    session.add(account)
    session.flush()
    return account


def _check_domain(session: Session, domain: str) -> None:
    if not _DOMAIN.match(domain):
        raise ServiceError(f"{domain!r} is not a mail domain (for example: example.com)")
    if domain in PUBLIC_MAIL_DOMAINS:
        raise ServiceError(
            f"{domain} is a public mail provider; add the people as --contact instead"
        )
    owner = session.scalar(select(AccountDomain).where(AccountDomain.domain == domain))
    if owner is not None:
        raise ServiceError(f"the domain {domain} belongs to {owner.account.name} already")


def _unique(values) -> list[str]:
    return [v for v in dict.fromkeys(values) if v]


def account_names(session: Session) -> list[dict]:
    """Return every account's id and name, by name: what a choice of account shows."""
    return [{"id": i, "name": name} for i, name in session.execute(select(Account.id, Account.name)
                                                                   .order_by(Account.name))]


def list_accounts(session: Session) -> list[dict]:
    """Return every account with its domains and contacts, ready for printing or JSON."""
    # Domains and contacts in one query each, not two per account (the ticket page, the
    # audit log and the account list all list every account).
    accounts = session.scalars(select(Account).order_by(Account.name)
                               .options(selectinload(Account.domains), selectinload(Account.contacts))).all()
    return [
        {
            "id": a.id,
            "name": a.name,
            "domains": [d.domain for d in a.domains],
            "contacts": [c.email for c in a.contacts],
            "approvers": [c.email for c in a.approvers],
        }
        for a in accounts
    ]


def account_named(session: Session, name: str) -> Account:
    """Return the account with this name or raise ``ServiceError``."""
    account = session.scalar(select(Account).where(Account.name == name))
    if account is None:
        raise ServiceError(f"no account is named {name!r} (see `flask accounts list`)")
    return account
