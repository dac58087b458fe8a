"""Which account a message belongs to, which ticket it joins, and why.

The decisions are pure functions over a ``Directory`` (who is who) and lookup
callables, so the table of linking and threading cases is testable without a
database; ``mailbox.ingest`` supplies the lookups from the archive.

Linking: the sender's address is a contact of exactly one account, else the
sender's domain belongs to an account, else the message is unmatched.
Threading: a reply (In-Reply-To, then References, then the original named in a
delivery report) joins the referenced message's ticket; a subject tag of our own
form joins that ticket only when the sender belongs to the ticket's account; any
other message opens a new ticket.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Link:
    account_id: int | None
    reason: str


@dataclass(frozen=True)
class Thread:
    ticket_id: int | None  # None: open a new ticket
    reason: str


@dataclass
class Directory:
    """Contacts and domains of every account, loaded once per batch."""

    contacts: dict[str, set[int]] = field(default_factory=dict)
    domains: dict[str, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)

    @classmethod
    def build(cls, accounts: Iterable[tuple[int, str]], contacts: Iterable[tuple[int, str]],
              domains: Iterable[tuple[int, str]]) -> Directory:
        """Build a directory from (id, name), (account id, email) and (account id, domain) rows."""
        directory = cls(names=dict(accounts))
        for account_id, email in contacts:
            directory.contacts.setdefault(email.lower(), set()).add(account_id)
        for account_id, domain in domains:
            directory.domains[domain.lower()] = account_id
        return directory


def link_account(sender: str, directory: Directory) -> Link:
    """Decide which account a sender belongs to, with the reason in words."""
    sender = sender.lower()
    if not sender:
        return Link(None, "unmatched: the message names no sender address")
    owners = directory.contacts.get(sender, set())
    if len(owners) == 1:
        account_id = next(iter(owners))
        return Link(account_id, f"sender {sender} is a contact of {directory.names.get(account_id)}")
    if len(owners) > 1:
        names = ", ".join(sorted(directory.names.get(a, str(a)) for a in owners))
        return Link(None, f"unmatched: sender {sender} is a contact of several accounts ({names})")
    domain = sender.rpartition("@")[2]
    account_id = directory.domains.get(domain)
    if account_id is not None:
        return Link(account_id, f"sender domain {domain} belongs to {directory.names.get(account_id)}")
    return Link(None, f"unmatched: no account has the contact {sender} or the domain {domain}")


def ticket_tag(prefix: str, ticket_id: int) -> str:
    """Return the subject tag that threads a customer's answer back, e.g. "[SD-42]"."""
    return f"[{prefix}-{ticket_id}]"


def tagged_ticket_ids(prefix: str, subject: str) -> list[int]:
    """Return the ticket numbers tagged in a subject, in order of appearance."""
    pattern = re.compile(r"\[" + re.escape(prefix) + r"-(\d{1,12})\]", re.IGNORECASE)
    return [int(n) for n in pattern.findall(subject)]


def choose_thread(
    *,
    in_reply_to: Iterable[str],
    references: Iterable[str],
    report_refs: Iterable[str],
    subject: str,
    account_id: int | None,
    tag_prefix: str,
    ticket_for_message_id: Callable[[str], int | None],
    account_of_ticket: Callable[[int], int | None | bool],
) -> Thread:
    """Decide which ticket a message joins; ``account_of_ticket`` returns False for no such ticket."""
    # In-Reply-To names the direct parent; References lists the thread newest last.
    candidates = [("In-Reply-To", i) for i in in_reply_to]
    candidates += [("References", r) for r in reversed(list(references))]
    candidates += [("the delivery report", r) for r in report_refs]
    for header, message_id in candidates:
        ticket_id = ticket_for_message_id(message_id)
        if ticket_id is not None:
            return Thread(ticket_id, f"reply: {header} names <{message_id}> in ticket {ticket_id}")
    for ticket_id in tagged_ticket_ids(tag_prefix, subject):
        owner = account_of_ticket(ticket_id)
        if owner is False:
            continue
        if owner is not None and owner == account_id:
            tag = ticket_tag(tag_prefix, ticket_id)
            return Thread(ticket_id, f"subject tag {tag} from the ticket's account")
        return Thread(
            None,
            f"new ticket: subject tag {ticket_tag(tag_prefix, ticket_id)} ignored, "
            "the sender does not belong to that ticket's account",
        )
    return Thread(None, "new ticket: not a reply to archived mail")
