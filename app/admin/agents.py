"""Agents in the browser: invite one, change their role, disable or enable them, reset their
password or two-factor sign-in, send an invitation again. Each change goes through the
services ``flask agents`` uses, is written to the audit log there, and needs the POST's
CSRF token. A change that sends a link is committed only once the mail server took it.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.access.rules import role_words
from app.admin import forms
from app.admin.views import bp, me, show_error
from app.extensions import db
from app.models import Agent
from app.passwords import is_password_hash
from app.runtime import now
from app.services import password_links, two_factor
from app.services.agents import change_role, disable_agent, enable_agent, is_last_administrator
from app.services.errors import ServiceError


@bp.get("/agents")
def agents():
    return _agents_page(forms.InviteForm())


@bp.post("/agents/invite")
def invite_agent():
    form = forms.InviteForm()
    if not form.validate_on_submit():
        return _agents_page(form, 400)
    try:
        link = password_links.invite_agent(db.session, form.email.data, form.name.data, form.role.data,
                                           by=me(), now=now())
        password_links.send_link(link)
    except ServiceError as exc:
        db.session.rollback()
        return _agents_page(show_error(form, exc), 400)
    db.session.commit()
    flash(_("%(email)s was invited: the link to set a password was emailed to them and works until %(until)s "
            "UTC.", email=link.agent.email, until=f"{link.expires_at:%Y-%m-%d %H:%M}"), "info")
    return redirect(url_for("admin.agent", agent_id=link.agent.id))


@bp.get("/agents/<int:agent_id>")
def agent(agent_id: int):
    return _agent_page(_agent_or_404(agent_id))


@bp.post("/agents/<int:agent_id>/role")
def set_role(agent_id: int):
    agent = _agent_or_404(agent_id)
    form = forms.RoleForm()
    if not form.validate_on_submit():
        return _agent_page(agent, role_form=form, status=400)
    try:
        change_role(db.session, agent.email, form.role.data, by=me(), now=now())
    except ServiceError as exc:
        db.session.rollback()
        return _agent_page(agent, role_form=show_error(form, exc), status=400)
    db.session.commit()
    flash(_("%(email)s is now %(role)s.", email=agent.email, role=role_words(agent.role)), "info")
    return redirect(url_for("admin.agent", agent_id=agent.id))


@bp.post("/agents/<int:agent_id>/disable")
def disable(agent_id: int):
    return _act(agent_id, "disable", lambda a: disable_agent(db.session, a.email, by=me(), now=now()),
                lambda a: _("%(email)s was disabled: they cannot sign in, and their sessions have ended.",
                            email=a.email))


@bp.post("/agents/<int:agent_id>/enable")
def enable(agent_id: int):
    return _act(agent_id, "enable", lambda a: enable_agent(db.session, a.email, by=me(), now=now()),
                lambda a: _("%(email)s may sign in again.", email=a.email))


@bp.post("/agents/<int:agent_id>/reset-password")
def reset_password(agent_id: int):
    return _act(agent_id, "reset_password", _emailing(password_links.reset_password),
                lambda a: _("The password of %(email)s was removed and their sessions ended; the link to set "
                            "a new one was emailed to them.", email=a.email))


@bp.post("/agents/<int:agent_id>/resend-invitation")
def resend_invitation(agent_id: int):
    return _act(agent_id, "resend_invitation", _emailing(password_links.resend_invitation),
                lambda a: _("A new invitation was emailed to %(email)s; the links sent before no longer "
                            "work.", email=a.email))


@bp.post("/agents/<int:agent_id>/reset-two-factor")
def reset_two_factor(agent_id: int):
    return _act(agent_id, "reset_two_factor", lambda a: two_factor.reset(db.session, a, now(), by=me()),
                lambda a: _("Two-factor sign-in of %(email)s was removed and their sessions ended; they set "
                            "it up again at their next sign-in.", email=a.email))


def _emailing(make_link: Callable) -> Callable[[Agent], None]:
    def change(agent: Agent) -> None:
        password_links.send_link(make_link(db.session, agent, by=me(), now=now()))
    return change


def _act(agent_id: int, action: str, change: Callable[[Agent], object], done: Callable[[Agent], str]):
    agent = _agent_or_404(agent_id)
    form = forms.ButtonForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        change(agent)
    except ServiceError as exc:
        db.session.rollback()
        return _agent_page(agent, errors={action: show_error(form, exc).form_errors}, status=400)
    db.session.commit()
    flash(done(agent), "info")
    return redirect(url_for("admin.agent", agent_id=agent.id))


def _agents_page(form: forms.InviteForm, status: int = 200):
    staff = db.session.scalars(select(Agent).order_by(Agent.email)).all()
    return render_template("admin/agents.html", staff=staff, form=form,
                           has_password=lambda a: is_password_hash(a.password_hash)), status


def _agent_page(agent: Agent, *, role_form: forms.RoleForm | None = None, errors: dict | None = None,
                status: int = 200):
    return render_template("admin/agent.html", agent=agent, button=forms.ButtonForm(),
                           role_form=role_form or forms.RoleForm(role=agent.role), errors=errors or {},
                           has_password=is_password_hash(agent.password_hash),
                           last_admin=is_last_administrator(db.session, agent)), status


def _agent_or_404(agent_id: int) -> Agent:
    return db.session.get(Agent, agent_id) or abort(404)
