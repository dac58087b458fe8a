"""``/cookies``: the public list of the cookies the product sets; no sign-in needed."""

from flask import Blueprint, current_app, render_template

from app.cookies.registry import cookies

bp = Blueprint("cookies", __name__)


@bp.get("/cookies")
def page():
    return render_template("cookies/page.html", cookies=cookies(current_app.config))
