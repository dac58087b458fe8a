"""Unbound Flask extensions, bound to an application in ``create_app``."""

import sqlite3

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine, MetaData, event

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))


@event.listens_for(Engine, "connect")
def _sqlite_write_ahead_log(dbapi_connection, _record) -> None:
    # SQLite in write-ahead-log mode: readers (web requests) and the writer (the worker)
    # no longer block each other on one database file, and a commit costs one fsync of
    # the log instead of several of the journal and the database. Commits stay as
    # durable as before (synchronous stays FULL). An in-memory database ignores it.
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA journal_mode=WAL")


@event.listens_for(Engine, "connect")
def _sqlite_unicode_lower(dbapi_connection, _record) -> None:
    # SQLite's own lower() folds ASCII letters only; desk_lower folds every letter, as
    # PostgreSQL's lower() does, so a case-insensitive match finds "Ålice" on either.
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("desk_lower", 1, lambda text: None if text is None else text.lower(),
                                         deterministic=True)


migrate = Migrate()
csrf = CSRFProtect()
# No default limits: only the views that name a limit are limited (sign-in, for now).
# Flask-Limiter keeps its storage on this object, built from the last app's config.
limiter = Limiter(key_func=get_remote_address)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"
