"""The access vocabulary as a company contact reads it, in the language being rendered: which
records a request covers, and where a request or a consent stands. ``rules`` and ``grants``
keep the English words the console, the CLI and the audit log use; these are the customer's.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext, lazy_gettext

from app.access import rules
from app.i18n import when
from app.models import AccessRequest, Consent

SCOPES = {
    rules.BUSINESS: lazy_gettext("business records (jobs, tasks, todos)"),
    rules.PERSONAL: lazy_gettext("personal records (employees)"),
    rules.BOTH: lazy_gettext("business and personal records"),
}
STATUSES = {
    "pending": lazy_gettext("pending"),
    "awaiting_confirmation": lazy_gettext("awaiting confirmation"),
    "approved": lazy_gettext("approved"),
    "denied": lazy_gettext("denied"),
    "cancelled": lazy_gettext("cancelled"),
    "expired": lazy_gettext("expired"),
    "given": lazy_gettext("given"),
    "refused": lazy_gettext("refused"),
    "active": lazy_gettext("active"),
    "revoked": lazy_gettext("revoked"),
    "ended": lazy_gettext("ended"),
}

# The kinds of records the access log names, one and many.
KINDS = {
    "jobs": (lazy_gettext("job"), lazy_gettext("the list of jobs")),
    "tasks": (lazy_gettext("task"), lazy_gettext("the list of tasks")),
    "todos": (lazy_gettext("todo"), lazy_gettext("the list of todos")),
    "employees": (lazy_gettext("employee"), lazy_gettext("the list of employees")),
}


def record(kind: str, record_id: int | None) -> str:
    """Name what the access log says was opened: "job #12", or "the list of jobs"."""
    one, listed = KINDS.get(kind, (kind[:-1], kind))
    return f"{one} #{record_id}" if record_id else str(listed)

# How a grant ended, with and without who ended it: "revoked at 2026-06-01 09:00 UTC by
# boss@example.com", as grants.describe says it in English.
ENDINGS = {
    "revoked": (lazy_gettext("revoked at %(when)s by %(who)s"), lazy_gettext("revoked at %(when)s")),
    "ended": (lazy_gettext("ended at %(when)s by %(who)s"), lazy_gettext("ended at %(when)s")),
    "expired": (lazy_gettext("expired at %(when)s by %(who)s"), lazy_gettext("expired at %(when)s")),
}


def scope(name: str) -> str:
    """Say which records a requested scope covers."""
    return str(SCOPES[name])


def status(name: str) -> str:
    """Say a request's or a consent's status; one without a translation stays as it is."""
    return str(STATUSES.get(name, name.replace("_", " ")))


def request_state(request: AccessRequest, now: datetime) -> str:
    """Say in a few words where a request stands at ``now``, as ``grants.describe`` does in English."""
    if request.status == "approved":
        if request.ended_at is not None:
            return _ended(request)
        if now >= request.ends_at:
            return gettext("expired at %(when)s", when=when(request.ends_at))
        return status("active")
    if request.status == "pending" and now >= request.decide_by:
        return gettext("expired without a decision")
    return status(request.status)


def _ended(request: AccessRequest) -> str:
    at = when(request.ended_at)
    by, alone = ENDINGS.get(request.end_reason, (None, None))
    if by is None:  # a reason without words of its own, as grants.describe says it
        return f"{request.end_reason} at {at}" + (f" by {request.ended_by}" if request.ended_by else "")
    return str(by) % {"when": at, "who": request.ended_by} if request.ended_by else str(alone) % {"when": at}


def consent_state(consent: Consent, now: datetime) -> str:
    """Say in a few words where a consent stands at ``now``, as ``consents.describe`` does in English."""
    if consent.status == "given":
        if consent.withdrawn_at is not None:
            return gettext("withdrawn at %(when)s", when=when(consent.withdrawn_at))
        if now >= consent.ends_at:
            return gettext("expired at %(when)s", when=when(consent.ends_at))
        return gettext("given until %(when)s", when=when(consent.ends_at))
    if consent.status == "pending" and now >= consent.decide_by:
        return gettext("expired without a decision")
    return status(consent.status)
