"""Writes the request log: one row per request, after the response is made.

A view that serves one account says so with ``note_account(account.id)``; nothing else
about the request is kept beyond what ``RequestLog`` holds, never the IP address, user
agent, signed-in agent, path or query string.
"""

from __future__ import annotations

from time import perf_counter

from flask import Flask, current_app, g, request
from flask.wrappers import Response
from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models.request_log import RequestLog
from app.models.time import utcnow


def init_app(app: Flask) -> None:
    # Registered before the other extensions' hooks, so requests they refuse are timed too,
    # and its teardown runs after theirs.
    app.before_request(_start_clock)
    app.after_request(_time_response)
    app.teardown_request(_write_entry)


def note_account(account_id: int) -> None:
    """Record that the current request served this account."""
    g.request_account_id = account_id


def _start_clock() -> None:
    g.request_started = perf_counter()


def _time_response(response: Response) -> Response:
    if request.endpoint == "static":  # page furniture, not usage
        return response
    started = g.get("request_started")
    g.request_log_entry = {
        "at": utcnow(),
        "route": request.url_rule.rule[:200] if request.url_rule else None,
        "method": request.method[:10],
        "status": response.status_code,
        "duration_ms": round((perf_counter() - started) * 1000, 3) if started else 0.0,
        "account_id": g.get("request_account_id"),
    }
    return response


def _write_entry(error: BaseException | None) -> None:
    """Write the entry once the view's session has given its connection back.

    The view's session is ended first (Flask-SQLAlchemy would end it a moment later, when
    the application context ends, rolling back whatever it left uncommitted), so that a
    request never holds two of the pool's connections: with a connection for the page
    and one for its log, 15 requests at once could each hold the first while waiting for
    the second, and the threaded server stalled until the pool's timeout.
    """
    entry = g.pop("request_log_entry", None)
    if entry is None:
        return
    db.session.remove()
    # A connection of its own, used after the page's: a log that cannot be written must
    # never cost the person their response.
    try:
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Usage figures, not records: the commit need not wait for the disk. A crash
                # may lose the last fraction of a second of entries, never anything archived;
                # at 70 requests a second the flushes cost as much CPU as the pages did.
                connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
            connection.execute(insert(RequestLog), entry)
    except SQLAlchemyError:
        current_app.logger.exception("the request log entry could not be written")
