"""The search page: the whole communications history, for every agent; exports of a result
(CSV of the list, mbox of the messages) for managers and administrators, audited.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from app.access.guards import require_role
from app.access.rules import MANAGING_ROLES, is_managing
from app.auth.session import require_signed_in
from app.console import forms, sharing
from app.extensions import db
from app.models import Account
from app.runtime import now, raw_store, search_index
from app.search import query as search_query
from app.search.errors import QueryError, SearchError
from app.services import search as search_service
from app.services.errors import ServiceError
from app.services.sharing import single_account

bp = Blueprint("search", __name__)
bp.before_request(require_signed_in)


def me():
    return current_user._get_current_object()


@bp.get("/search")
def page():
    text = request.args.get("q", "").strip()
    sort = request.args.get("sort", "relevance")
    results, error = None, None
    if text:
        try:
            results = search_service.run_search(db.session, search_index(), text,
                                                page=request.args.get("page", 1, type=int),
                                                pagelen=me().page_size, sort=sort)
        except SearchError as exc:  # a query it cannot read, or an index that cannot answer
            error = str(exc)
    return render_template("search/page.html", text=text, sort=sort, results=results, error=error,
                           search_href=_search_href(),
                           saved=search_service.saved_searches(db.session, me()),
                           save_form=forms.SaveSearchForm(query=text, sort=sort), button=forms.ButtonForm(),
                           can_export=is_managing(me().role)), 400 if error else 200


def _search_href():
    # A link to another search, for each facet (a hundred on a large archive): the route's
    # URL is built once, where url_for would match the URL map again for every link.
    base = url_for("search.page")
    return lambda **args: f"{base}?{urlencode(args, safe=URL_SAFE)}"


URL_SAFE = "!$'()*,/:;?@"  # what url_for leaves unquoted in a query string, so links read alike


@bp.post("/search/saved")
def save():
    form = forms.SaveSearchForm()
    if form.validate_on_submit():
        try:
            search_service.save_search(db.session, me(), form.name.data, form.query.data, form.sort.data)
            db.session.commit()
            flash(f"Saved as “{form.name.data.strip()}”.", "info")
        except ServiceError as exc:
            db.session.rollback()
            flash(f"Not saved: {exc}.", "error")
    else:
        flash("Not saved: give the search a name.", "error")
    return redirect(url_for("search.page", q=form.query.data, sort=form.sort.data))


@bp.post("/search/saved/<int:saved_id>/delete")
def delete_saved(saved_id: int):
    try:
        search_service.delete_saved_search(db.session, me(), saved_id)
        db.session.commit()
        flash("Saved search deleted.", "info")
    except ServiceError as exc:
        db.session.rollback()
        flash(f"Not deleted: {exc}.", "error")
    return redirect(url_for("search.page"))


def _export_ids(kind: str) -> list[int]:
    require_role(MANAGING_ROLES, "Exports of search results are for managers and administrators.")
    text = request.args.get("q", "").strip()
    if not text:
        abort(400, description="Give a query to export its results.")
    try:
        for_whom = sharing.for_whom(f"search.export_{kind}")
        ids = search_service.export_ids(db.session, search_index(), me(), text, kind, now(), for_whom)
    except QueryError as exc:
        abort(400, description=f"The query cannot be exported: {exc}.")
    db.session.commit()  # the audit entry stands even if the download is interrupted
    return ids


@bp.get("/search.csv")
def export_csv():
    ids = _export_ids("csv")
    # Streamed in batches with the request's context kept, so a large result never sits in memory.
    return Response(stream_with_context(search_service.csv_lines(db.session, ids)), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=search-results.csv"})


@bp.get("/search.mbox")
def export_mbox():
    ids = _export_ids("mbox")
    chunks = search_service.mbox_chunks(db.session, raw_store(), ids)
    return Response(stream_with_context(chunks), mimetype="application/mbox",
                    headers={"Content-Disposition": "attachment; filename=search-results.mbox"})


def _account_of_results(args) -> Account | None:
    """The one account whose mail a query's results are, or None."""
    try:
        ids = search_query.matching_ids(search_index(), args.get("q", ""))
    except QueryError:
        return None
    return single_account(db.session, ids)


def _results_words(kind: str):
    what = "list" if kind == "csv" else "messages"
    return lambda args: f"the {what} ({kind}) of mail matching \u201c{args.get('q', '')[:200]}\u201d"


for _kind in ("csv", "mbox"):
    sharing.register_export(f"search.export_{_kind}", _account_of_results, _results_words(_kind))
