"""Management pages: the dashboard and the audit log viewer, with its CSV export.

For managers and administrators only (checked once, before each request). The dashboard
draws its charts on the server as inline SVG, so it needs no script and asks no other
site for anything. Exporting the audit log is itself written to the audit log.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, render_template, request, send_file
from flask_babel import gettext as _
from flask_login import current_user

from app.access.guards import require_role
from app.access.rules import MANAGING_ROLES
from app.auth.session import require_signed_in
from app.console import sharing
from app.extensions import db
from app.i18n import DEFAULT, in_locale
from app.manage import audit_log, panels, target_panels
from app.manage.forms import AuditFilterForm
from app.models import Account
from app.requestlog import note_account
from app.runtime import now
from app.services import audit
from app.services.accounts import account_names
from app.services.agents import list_agents
from app.services.dashboard import build_dashboard
from app.services.targets import target_figures

bp = Blueprint("manage", __name__, url_prefix="/manage")

# A folder counts as stale when the poller has not succeeded for this many intervals.
STALE_POLLS = 3


@bp.before_request
def require_manager():
    """Every management page needs a signed-in manager or administrator."""
    refused = require_signed_in()
    if refused is not None:
        return refused
    require_role(MANAGING_ROLES, _("The dashboard and the audit log are for managers and administrators; "
                                   "you are signed in as an agent. Ask an administrator if you need them."))
    return None


@bp.get("/dashboard")
def dashboard():
    stale_after = timedelta(seconds=max(STALE_POLLS * current_app.config["POLL_INTERVAL_SECONDS"], 300))
    figures = build_dashboard(db.session, now(), stale_after=stale_after)
    targets = target_figures(db.session, figures.now)
    return render_template("manage/dashboard.html", figures=figures, charts=panels.charts(figures),
                           hours=panels.hours, short_date=panels.short_date, targets=targets,
                           target_charts=target_panels.charts(targets) if targets.any_target else {},
                           target_words=target_panels.words)


def _filter_form() -> AuditFilterForm:
    form = AuditFilterForm(formdata=request.args)
    form.fill_choices(account_names(db.session), list_agents(db.session), audit_log.actions(db.session))
    return form


@bp.get("/audit")
def audit_entries():
    form = _filter_form()
    if not form.validate():
        return render_template("manage/audit.html", form=form, page=None, query={}), 400
    wanted = form.audit_filter(current_user.time_zone)
    if wanted.account_id is not None:
        note_account(wanted.account_id)
    page = audit_log.page_of_entries(db.session, wanted, request.args.get("page", 1, type=int),
                                     current_user.page_size)
    query = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("manage/audit.html", form=form, page=page, query=query)


@bp.get("/audit.csv")
def audit_csv():
    form = _filter_form()
    if not form.validate():
        abort(400, description=_("The filter cannot be used: %(problems)s.", problems=form.problems()))
    wanted = form.audit_filter(current_user.time_zone)
    for_whom = sharing.for_whom("manage.audit_csv")
    # The export covers the log as it stands now; its own entry is written first, and
    # committed before a byte leaves, so no export goes unrecorded.
    upto, when, zone = audit_log.last_entry_id(db.session), now(), current_user.time_zone
    count = audit_log.count_entries(db.session, wanted, upto_id=upto)
    with in_locale(DEFAULT):  # the log is written in one language, whoever exports it
        described = form.describe(zone)
    audit.append(db.session, "audit exported", at=when, agent_id=current_user.id,
                 account_id=wanted.account_id, detail=f"{count} entries as CSV; {described}; {for_whom}")
    db.session.commit()
    return send_file(audit_log.csv_file(db.session, wanted, upto), mimetype="text/csv", as_attachment=True,
                     download_name=f"audit-log-{when:%Y%m%d-%H%M%S}.csv")


def _audit_account(args) -> Account | None:
    """The account an audit log export is filtered to, or None for all of them."""
    chosen = args.get("account", "")
    return db.session.get(Account, int(chosen)) if chosen.isdigit() else None


sharing.register_export("manage.audit_csv", _audit_account, lambda args: "the audit log (CSV)")
