"""Bulk actions from the queue: assign the selected tickets, or move them to a status.

One POST with a CSRF token, from the queue's bulk form; afterwards the queue is shown
again with its filters (the ``next`` the form carried) and one sentence saying what was
done, or why nothing was. The changes go through ``app.services.bulk``, all or nothing.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request
from flask_login import current_user

from app.auth.session import require_signed_in, safe_next
from app.console.lookup import form_problems
from app.console.queue_forms import ME, bulk_form
from app.extensions import db
from app.models import Agent
from app.services import bulk
from app.services.errors import ServiceError
from app.services.tickets import enabled_agents

bp = Blueprint("bulk", __name__)
bp.before_request(require_signed_in)


@bp.post("/tickets/bulk")
def apply():
    me = current_user._get_current_object()
    form = bulk_form(enabled_agents(db.session))
    back = redirect(safe_next(request.form.get("next")))
    if not form.validate_on_submit():
        flash(f"Not done: {form_problems(form)}.", "error")
        return back
    try:
        done = _run(form, me)
        db.session.commit()
        flash(done, "info")
    except ServiceError as exc:
        db.session.rollback()  # all or nothing: a refusal midway undoes the tickets before it
        flash(f"Not done: {exc}.", "error")
    return back


def _run(form, me: Agent) -> str:
    ids = form.chosen_ids()
    if form.assign.data:
        assignee = _assignee_id(form.assignee.data, me)
        result = bulk.assign_all(db.session, me, ids, assignee)
        return bulk.summary(result, _assigned_to(assignee, me))
    if not (form.move.data or form.close.data):
        raise ServiceError("choose an action: assign, move or close")
    status = "closed" if form.close.data else form.status.data
    result = bulk.set_status_all(db.session, me, ids, status)
    return bulk.summary(result, "closed" if status == "closed" else f"moved to {status}")


def _assignee_id(choice: str, me: Agent) -> int | None:
    if choice == ME:
        return me.id
    return int(choice) if choice else None


def _assigned_to(assignee_id: int | None, me: Agent) -> str:
    if assignee_id is None:
        return "unassigned"
    if assignee_id == me.id:
        return "assigned to you"
    return f"assigned to {db.session.get(Agent, assignee_id).name}"
