"""Administration in the browser, for administrators only: the staff list, and resetting an
agent's two-factor sign-in when their phone is lost and their recovery codes are gone.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.auth.session import require_signed_in
from app.extensions import db
from app.models import Agent
from app.runtime import now
from app.services import two_factor

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def require_admin():
    """Every administration page needs a signed-in administrator."""
    refused = require_signed_in()
    if refused is not None:
        return refused
    if current_user.role != "admin":
        abort(403, description="Administration is for administrators; ask one if you need a change here.")
    return None


@bp.get("/agents")
def agents():
    staff = db.session.query(Agent).order_by(Agent.email).all()
    return render_template("admin/agents.html", staff=staff)


@bp.post("/agents/<int:agent_id>/reset-two-factor")
def reset_two_factor(agent_id: int):
    agent = db.session.get(Agent, agent_id) or abort(404)
    two_factor.reset(db.session, agent, now(), by=current_user._get_current_object())
    db.session.commit()
    flash(f"Two-factor sign-in of {agent.email} was removed and their sessions ended; "
          "they set it up again at their next sign-in.", "info")
    return redirect(url_for("admin.agents"))
