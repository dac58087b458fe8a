"""``/healthz`` for monitors, and ``/`` until the console takes it over; no message content."""

from flask import Blueprint, jsonify, render_template

from app.extensions import db
from app.services.archive import archive_stats

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    db.session.execute(db.select(1))
    return jsonify(status="ok")


@bp.get("/")
def index():
    return render_template("health/index.html", stats=archive_stats(db.session))
