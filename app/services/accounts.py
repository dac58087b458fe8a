"""Customer accounts, their mail domains and contacts, and the changes an administrator makes
to them, from the command line or the browser alike (the same checks, the same sentences).

Changes an administrator makes are written to the audit log with the account's id;
``add_account`` itself writes nothing there, so tests and the demo can build accounts
quietly, and ``create_account`` is the audited form the CLI and the browser use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import Account, AccountDomain, Agent, Contact
from app.services import audit
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
    name = _check_name(session, name)
    account = Account(name=name)
    for domain in _unique(_domain_form(d) for d in domains):
        _check_domain(session, domain)
        account.domains.append(AccountDomain(domain=domain))
    approver_set = {a.lower().strip() for a in approvers}
    for email in _unique(e.lower().strip() for e in [*contacts, *approvers]):
        _check_address(email)
        account.contacts.append(Contact(email=email, is_approver=email in approver_set))
    session.add(account)
    session.flush()
    return account


def create_account(session: Session, name: str, domains: list[str], contacts: list[str],
                   approvers: list[str], *, by: Agent | None, now: datetime) -> Account:
    """Create an account as ``add_account`` does, and write it to the audit log."""
    account = add_account(session, name, domains, contacts, approvers)
    _record(session, "account added", account, by, now, _summary(account))
    return account


@dataclass(frozen=True)
class AccountChanges:
    """What ``edit_account`` changes; empty lists change nothing."""

    rename: str | None = None
    add_domains: list[str] = field(default_factory=list)
    remove_domains: list[str] = field(default_factory=list)
    add_contacts: list[str] = field(default_factory=list)
    remove_contacts: list[str] = field(default_factory=list)
    approvers: list[str] = field(default_factory=list)
    not_approvers: list[str] = field(default_factory=list)


def edit_account(session: Session, account: Account, changes: AccountChanges, *, by: Agent | None,
                 now: datetime) -> Account:
    """Apply every change in order (rename, domains, contacts, approvers), or none if one is refused.

    An approver who is not a contact yet becomes one, as with ``flask accounts add``.
    The caller rolls back on ``ServiceError``.
    """
    if changes.rename is not None:
        rename_account(session, account, changes.rename, by=by, now=now)
    for domain in changes.add_domains:
        add_domain(session, account, domain, by=by, now=now)
    for domain in changes.remove_domains:
        remove_domain(session, account, domain, by=by, now=now)
    for email in changes.add_contacts:
        add_contact(session, account, email, approver=False, by=by, now=now)
    for email in changes.remove_contacts:
        remove_contact(session, account, email, by=by, now=now)
    for email in changes.approvers:
        if _contact(account, email) is None:
            add_contact(session, account, email, approver=True, by=by, now=now)
        else:
            set_approver(session, account, email, True, by=by, now=now)
    for email in changes.not_approvers:
        set_approver(session, account, email, False, by=by, now=now)
    return account


def rename_account(session: Session, account: Account, name: str, *, by: Agent | None,
                   now: datetime) -> Account:
    """Give the account another name, unique among accounts."""
    name = name.strip()
    if name == account.name:
        return account
    previous, account.name = account.name, _check_name(session, name)
    _record(session, "account renamed", account, by, now, f"from {previous!r} to {account.name!r}")
    return account


def add_domain(session: Session, account: Account, domain: str, *, by: Agent | None,
               now: datetime) -> AccountDomain:
    """Add a mail domain whose senders belong to the account."""
    domain = _domain_form(domain)
    if not domain:
        raise ServiceError("give a mail domain (for example: example.com)", "domain")
    _check_domain(session, domain)
    added = AccountDomain(domain=domain)
    account.domains.append(added)
    _record(session, "account domain added", account, by, now, domain)
    return added


def remove_domain(session: Session, account: Account, domain: str, *, by: Agent | None,
                  now: datetime) -> None:
    """Remove a mail domain from the account; mail archived already stays linked where it is."""
    domain = _domain_form(domain)
    found = next((d for d in account.domains if d.domain == domain), None)
    if found is None:
        raise ServiceError(f"{domain[:80]!r} is not a domain of {account.name}", "domain")
    account.domains.remove(found)
    _record(session, "account domain removed", account, by, now, domain)


def add_contact(session: Session, account: Account, email: str, *, approver: bool, by: Agent | None,
                now: datetime) -> Contact:
    """Add a person at the account; an approver may approve access requests."""
    email = email.lower().strip()
    _check_address(email)
    if _contact(account, email) is not None:
        raise ServiceError(f"{email} is a contact of {account.name} already", "contact")
    added = Contact(email=email, is_approver=approver)
    account.contacts.append(added)
    _record(session, "account contact added", account, by, now,
            f"{email}{' as an approver' if approver else ''}")
    return added


def remove_contact(session: Session, account: Account, email: str, *, by: Agent | None,
                   now: datetime) -> None:
    """Remove a contact (approver or not) from the account."""
    contact = _known_contact(account, email)
    account.contacts.remove(contact)
    _record(session, "account contact removed", account, by, now, contact.email)


def set_approver(session: Session, account: Account, email: str, approver: bool, *, by: Agent | None,
                 now: datetime) -> None:
    """Let a contact approve access requests, or no longer."""
    contact = _known_contact(account, email)
    if contact.is_approver == approver:
        return
    contact.is_approver = approver
    _record(session, "account approver added" if approver else "account approver removed",
            account, by, now, contact.email)


def choose_approvers(session: Session, account: Account, emails: list[str], *, by: Agent | None,
                     now: datetime) -> None:
    """Make exactly these contacts the account's approvers."""
    chosen = {e.lower().strip() for e in emails}
    for email in chosen:
        _known_contact(account, email)
    for contact in list(account.contacts):
        set_approver(session, account, contact.email, contact.email in chosen, by=by, now=now)


def account_with_id(session: Session, account_id: int) -> Account | None:
    """Return the account with this id, or None."""
    return session.get(Account, account_id)


def _check_name(session: Session, name: str) -> str:
    name = name.strip()
    if not name:
        raise ServiceError("the account needs a name", "name")
    # Checked here: PostgreSQL refuses an over-long value with an unreadable error.
    if len(name) > 200:
        raise ServiceError("the account name is longer than 200 characters", "name")
    if session.scalar(select(Account).where(Account.name == name)):
        raise ServiceError(f"an account named {name!r} exists already", "name")
    return name


def _check_domain(session: Session, domain: str) -> None:
    if not _DOMAIN.match(domain):
        raise ServiceError(f"{domain[:80]!r} is not a mail domain (for example: example.com)", "domain")
    if domain in PUBLIC_MAIL_DOMAINS:
        raise ServiceError(f"{domain} is a public mail provider; add the people as contacts instead",
                           "domain")
    owner = session.scalar(select(AccountDomain).where(AccountDomain.domain == domain))
    if owner is not None:
        raise ServiceError(f"the domain {domain} belongs to {owner.account.name} already", "domain")


def _check_address(email: str) -> None:
    if not _EMAIL.match(email):
        raise ServiceError(f"{email[:80]!r} is not an email address", "contact")
    if len(email) > 320:
        raise ServiceError(f"the address {email[:40]}... is longer than 320 characters", "contact")


def _domain_form(domain: str) -> str:
    return domain.lower().strip().lstrip("@")


def _contact(account: Account, email: str) -> Contact | None:
    email = email.lower().strip()
    return next((c for c in account.contacts if c.email == email), None)


def _known_contact(account: Account, email: str) -> Contact:
    contact = _contact(account, email)
    if contact is None:
        raise ServiceError(f"{email.strip()[:80]!r} is not a contact of {account.name}", "contact")
    return contact


def _summary(account: Account) -> str:
    parts = [f"domains: {', '.join(d.domain for d in account.domains) or 'none'}",
             f"contacts: {', '.join(c.email for c in account.contacts) or 'none'}",
             f"approvers: {', '.join(c.email for c in account.approvers) or 'none'}"]
    return "; ".join(parts)


def _record(session: Session, action: str, account: Account, by: Agent | None, now: datetime,
            detail: str) -> None:
    session.flush()
    who = f"by {by.email}" if by is not None else "from the command line"
    audit.append(session, action, at=now, agent_id=by.id if by else None, account_id=account.id,
                 detail=f"{detail}, {who}")


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
