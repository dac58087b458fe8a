"""``/healthz`` for monitors: the database answers; no message content."""

from flask import Blueprint, jsonify

from app.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    db.session.execute(db.select(1))
    return jsonify(status="ok")
