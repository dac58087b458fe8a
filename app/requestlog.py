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
    # Registered before the other extensions' hooks, so requests they refuse are timed too.
    app.before_request(_start_clock)
    app.after_request(_write_entry)


def note_account(account_id: int) -> None:
    """Record that the current request served this account."""
    g.request_account_id = account_id


def _start_clock() -> None:
    g.request_started = perf_counter()


def _write_entry(response: Response) -> Response:
    if request.endpoint == "static":  # page furniture, not usage
        return response
    started = g.get("request_started")
    entry = {
        "at": utcnow(),
        "route": request.url_rule.rule[:200] if request.url_rule else None,
        "method": request.method[:10],
        "status": response.status_code,
        "duration_ms": round((perf_counter() - started) * 1000, 3) if started else 0.0,
        "account_id": g.get("request_account_id"),
    }
    _insert(entry)
    return response


def _insert(entry: dict) -> None:
    # A connection of its own: the view's session may hold work it means to roll back,
    # and a log that cannot be written must never cost the person their response.
    try:
        with db.engine.begin() as connection:
            connection.execute(insert(RequestLog), entry)
    except SQLAlchemyError:
        current_app.logger.exception("the request log entry could not be written")
