"""Per-application objects built from configuration: the raw store, the search index,
and the poller's settings.  They live in ``app.extensions`` so tests that create two
applications never share them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask, current_app

from app.access.grants import AccessSettings
from app.models.time import utcnow
from app.rawstore import DatabaseRawStore, RawStore
from app.search.backend import SearchBackend
from app.search.index import SearchIndex
from app.secretbox import SecretBox
from app.services.oauth import tokens_for
from app.services.outbound import ReplySettings, outbound_transport
from config import read_secret
from mailbox.poller import PollSettings


def init_app(app: Flask) -> None:
    app.extensions["raw_store"] = raw_store_of_kind(app, app.config["RAW_STORE"])
    app.extensions["search_index"] = _search_backend(app)
    app.extensions["secret_box"] = SecretBox(app.config["ENCRYPTION_KEY"])


def raw_store_of_kind(app: Flask, kind: str) -> RawStore | DatabaseRawStore:
    """Return the raw store of that kind ("files" or "database") for the application."""
    if kind == "database":
        from app.extensions import db

        with app.app_context():
            return DatabaseRawStore(db.engine)
    return RawStore(app.config["RAW_STORE_PATH"], fsync=app.config["RAW_STORE_FSYNC"])


def _search_backend(app: Flask) -> SearchBackend:
    if app.config["SEARCH_BACKEND"] == "postgresql":
        from app.extensions import db
        from app.search.postgres import PostgresIndex
        from app.services.indexing import index_archived_on_commit

        index_archived_on_commit(db.session)
        with app.app_context():
            return PostgresIndex(db.engine)
    return SearchIndex(app.config["INDEX_PATH"])


def now() -> datetime:
    """Return the current naive UTC time; tests put their own clock in ``app.extensions["clock"]``."""
    return current_app.extensions.get("clock", utcnow)()


def raw_store() -> RawStore | DatabaseRawStore:
    """Return the current application's raw store."""
    return current_app.extensions["raw_store"]


def search_index() -> SearchBackend:
    """Return the current application's search index."""
    return current_app.extensions["search_index"]


def secret_box() -> SecretBox:
    """Return what encrypts and decrypts the secrets the database keeps (``ENCRYPTION_KEY``)."""
    return current_app.extensions["secret_box"]


def reply_settings() -> ReplySettings:
    """Return how the current application sends replies; SMTP_URL is checked when one is sent."""
    config = current_app.config
    return ReplySettings(
        server=outbound_transport(config["SMTP_URL"], config["SMTP_TIMEOUT_SECONDS"]),
        support_address=config["SUPPORT_ADDRESS"],
        tag_prefix=config["TICKET_TAG_PREFIX"],
        tokens_for=tokens_for,
        read_password=read_secret,
        attachment_max_bytes=config["REPLY_ATTACHMENT_MAX_MB"] * 2 ** 20,
    )


def access_settings() -> AccessSettings:
    """Return the limits of access requests for the current application."""
    config = current_app.config
    return AccessSettings(config["ACCESS_MAX_HOURS"], config["ACCESS_DECISION_HOURS"],
                          config["ACCESS_LOG_LINK_DAYS"])


def poll_settings() -> PollSettings:
    """Return the poller's settings for the current application."""
    config = current_app.config
    return PollSettings(
        store=raw_store(),
        tag_prefix=config["TICKET_TAG_PREFIX"],
        batch_size=config["IMAP_FETCH_BATCH"],
        timeout=config["IMAP_TIMEOUT_SECONDS"],
        ca_file=config["IMAP_CA_FILE"],
        read_password=read_secret,
        tokens_for=tokens_for,
        lease=timedelta(seconds=config["LEASE_SECONDS"]),
    )


def presence_window() -> timedelta:
    """Return how long an agent's last sign on a ticket page counts as having it open."""
    return timedelta(seconds=current_app.config["PRESENCE_WINDOW_SECONDS"])
