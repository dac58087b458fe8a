"""Management pages of the privacy policy's notices: per version, how many company contacts
were told, which notices failed and why. The worker tries failed notices again at each of
its runs (``POLICY_NOTICE_INTERVAL_SECONDS``), so there is nothing to press here.
"""

from __future__ import annotations

from flask import abort, current_app, render_template

from app.extensions import db
from app.manage.views import bp
from app.runtime import now
from app.services import policy


@bp.get("/policy")
def policy_versions():
    history = policy.history(db.session, now().date())
    return render_template("manage/policy.html", history=history, counts=policy.notice_counts(db.session))


@bp.get("/policy/<int:version_id>")
def policy_notices(version_id: int):
    version = policy.version_with_id(db.session, version_id) or abort(404)
    overview = policy.notice_overview(db.session, version, now())
    return render_template("manage/policy_notices.html", overview=overview,
                           shown=policy.history(db.session, now().date()).of(version.id),
                           every=current_app.config["POLICY_NOTICE_INTERVAL_SECONDS"])
