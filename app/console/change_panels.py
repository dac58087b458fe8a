"""What the ticket page shows of moving, merging, linking and undoing: the link form of an
unmatched message, the merge form, and the Undo buttons beside the history's changes.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from app.console import change_forms, forms
from app.extensions import db
from app.models import Message, Ticket
from app.runtime import now
from app.services import account_links, changes
from app.services.accounts import account_names


def undo_window() -> timedelta:
    """Return how long after it is made a change can be undone (``UNDO_MINUTES``)."""
    return timedelta(minutes=current_app.config["UNDO_MINUTES"])


def link_form(message: Message, *, submitted: bool = True) -> change_forms.LinkForm:
    """Return the link form of an unmatched message: no account chosen until the agent chooses."""
    form = change_forms.LinkForm() if submitted else change_forms.LinkForm(formdata=None)
    form.account.choices = change_forms.link_choices(account_names(db.session),
                                                     account_links.sender_domain(message))
    return form


def history_changes(ticket: Ticket) -> dict:
    """Return what the ticket page needs to offer Undo beside its history and to link its mail."""
    return {"changes": changes.changes_beside(db.session, ticket), "undo_form": forms.ButtonForm(),
            "can_undo": lambda change: changes.can_undo(change, now(), undo_window()),
            "link_form_for": lambda message: link_form(message, submitted=False)}
