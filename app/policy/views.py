"""The privacy policy, public: no sign-in, linked from every customer page and email.

``/privacy`` shows the version in force (the newest whose effective date has come) and
says when a newer one is published and when it takes effect; every version, earlier and
upcoming, keeps its own address, ``/privacy/versions/<id>``, which is what the notice
emails link to.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from app.extensions import db
from app.runtime import now
from app.services import policy
from app.services.policy_notices import PUBLIC_PATH

bp = Blueprint("policy", __name__, url_prefix=PUBLIC_PATH)


@bp.get("")
def current():
    history = policy.history(db.session, now().date())
    status = 200 if history.states else 404
    return render_template("policy/current.html", history=history, paragraphs=_paragraphs), status


@bp.get("/versions")
def versions():
    return render_template("policy/versions.html", history=policy.history(db.session, now().date()))


@bp.get("/versions/<int:version_id>")
def version(version_id: int):
    history = policy.history(db.session, now().date())
    shown = history.of(version_id) or abort(404, description="There is no such version of the privacy "
                                                             "policy; the list of versions has every one.")
    return render_template("policy/version.html", history=history, shown=shown, paragraphs=_paragraphs)


def _paragraphs(text: str) -> list[str]:
    """Split a version's text at its blank lines; each paragraph keeps its own line breaks."""
    return [part.strip("\n") for part in text.split("\n\n") if part.strip()]
