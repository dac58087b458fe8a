"""Configuration classes; the only module that reads the environment.

Every setting has an embedded default so the product starts on one machine with
nothing but SQLite and folders under ``instance/``.  Production deployments set
``DATABASE_URL`` (PostgreSQL), ``SECRET_KEY`` and the storage paths.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("DESK_INSTANCE_PATH", BASE_DIR / "instance"))


@dataclass(frozen=True)
class Unreadable:
    """A setting whose environment variable holds a value that cannot be used.

    The classes below are built when this module is imported, before anything could
    report a problem in one sentence; ``check_settings`` refuses to start with one.
    """

    problem: str


def _env_int(name: str, default: int, minimum: int = 0) -> int | Unreadable:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        return Unreadable(f"{name} must be a whole number, not {value!r}")
    if number < minimum:
        return Unreadable(f"{name} must be {minimum} or more, not {number}")
    return number


DEFAULT_SECRET_KEY = "dev-only-not-secret"
DEFAULT_AUDIT_KEY = "dev-only-audit-key"
DEFAULT_ENCRYPTION_KEY = "dev-only-encryption-key"


SEARCH_BACKENDS = ("whoosh", "postgresql")
RAW_STORES = ("files", "database")


class ConfigError(RuntimeError):
    """The configuration cannot run the application; the message says what to set."""


def read_secret(name: str) -> str | None:
    """Return the named environment variable; mailbox passwords are read here at poll time."""
    return os.environ.get(name)


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
    # Production refuses the development key: anyone could forge sessions with it.
    REQUIRE_SECRET_KEY = False
    # Keys the audit log's hash chain. Keep it out of the database and apart from SECRET_KEY,
    # and never change it: the entries written under it verify only with it.
    AUDIT_KEY = os.environ.get("AUDIT_KEY", DEFAULT_AUDIT_KEY)
    # Encrypts the secrets the database must keep (agents' authenticator secrets). Several
    # keys, comma-separated, rotate it: the first encrypts, every one of them decrypts.
    ENCRYPTION_KEY = os.environ.get("ENCRYPTION_KEY", DEFAULT_ENCRYPTION_KEY)
    # Roles that must sign in with a code from an authenticator app as well as a password.
    # Checked against the roles when the application is built (app.auth.two_factor).
    TWO_FACTOR_ROLES = tuple(role.strip() for role in os.environ.get("TWO_FACTOR_ROLES", "manager,admin")
                             .split(",") if role.strip())
    INSTANCE_PATH = str(INSTANCE_DIR)
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'desk.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # Database connections each process keeps open (PostgreSQL): one per request or job
    # running at once, and as many again in a burst, closed once it passes. Every web
    # and worker process together must stay within the server's max_connections.
    DATABASE_POOL_SIZE = _env_int("DATABASE_POOL_SIZE", 10, minimum=1)
    # Where raw messages live: "files" (under RAW_STORE_PATH, on this machine) or "database"
    # (rows every machine reads); `flask archive migrate-store` moves them from one to the other.
    RAW_STORE = os.environ.get("RAW_STORE", "files").strip().lower()
    RAW_STORE_PATH = os.environ.get("RAW_STORE_PATH", str(INSTANCE_DIR / "raw"))
    INDEX_PATH = os.environ.get("INDEX_PATH", str(INSTANCE_DIR / "index"))
    # Where the search index lives: "whoosh" (a folder, INDEX_PATH, on this machine) or
    # "postgresql" (in the database, shared by every machine; needs DATABASE_URL on PostgreSQL).
    SEARCH_BACKEND = os.environ.get("SEARCH_BACKEND", "whoosh").strip().lower()
    # fsync every stored raw message before its checkpoint moves; switch off only
    # for throwaway benchmarks on a disk you do not care about.
    RAW_STORE_FSYNC = os.environ.get("RAW_STORE_FSYNC", "1") != "0"
    POLL_INTERVAL_SECONDS = _env_int("POLL_INTERVAL_SECONDS", 60, minimum=1)
    INDEX_INTERVAL_SECONDS = _env_int("INDEX_INTERVAL_SECONDS", 2, minimum=1)
    ACCESS_TIDY_INTERVAL_SECONDS = _env_int("ACCESS_TIDY_INTERVAL_SECONDS", 60, minimum=1)
    # Whole UTC days the request log keeps its raw rows; older days are rolled up into daily
    # totals per account, route, method and status, and their raw rows deleted.
    REQUEST_LOG_DAYS = _env_int("REQUEST_LOG_DAYS", 30, minimum=1)
    # The worker rolls up once a day (and at its start); each run is safe to repeat.
    REQUEST_LOG_ROLLUP_SECONDS = 24 * 60 * 60
    # How often the worker emails the notices of a new privacy policy version that are due,
    # and tries again those the mail server did not take.
    POLICY_NOTICE_INTERVAL_SECONDS = _env_int("POLICY_NOTICE_INTERVAL_SECONDS", 60, minimum=1)
    IMAP_TIMEOUT_SECONDS = _env_int("IMAP_TIMEOUT_SECONDS", 30, minimum=1)
    # Extra CA certificates (PEM) to trust for IMAP over TLS; the system's are always trusted.
    IMAP_CA_FILE = os.environ.get("IMAP_CA_FILE") or None
    IMAP_FETCH_BATCH = _env_int("IMAP_FETCH_BATCH", 200, minimum=1)
    IMAP_IDLE = os.environ.get("IMAP_IDLE", "1") != "0"
    # How long a folder's lease lasts unless its poller renews it: after a worker dies
    # on another machine, its folders wait this long for the next worker.
    LEASE_SECONDS = _env_int("LEASE_SECONDS", 60, minimum=6)
    # The tag put in outbound subjects, e.g. "[SD-42]"; inbound mail carrying it
    # threads into ticket 42 when the sender belongs to that ticket's account.
    TICKET_TAG_PREFIX = os.environ.get("TICKET_TAG_PREFIX", "SD")
    # How long after a message is moved, two tickets merged or a message linked to an account
    # the change can be undone from the ticket's history.
    UNDO_MINUTES = _env_int("UNDO_MINUTES", 30, minimum=1)
    # Outbound mail: smtp://host:port (plain), smtp+starttls://user:password@host:587,
    # smtps://user:password@host:465, or file:///folder to write each message there as
    # an .eml file; unset, the console refuses to send and says why.
    SMTP_URL = os.environ.get("SMTP_URL") or None
    SMTP_TIMEOUT_SECONDS = _env_int("SMTP_TIMEOUT_SECONDS", 30, minimum=1)
    # Access to an account's records: the longest grant a request may ask for, and how
    # long approvers have to decide before a request expires as denied.
    ACCESS_MAX_HOURS = _env_int("ACCESS_MAX_HOURS", 72, minimum=1)
    ACCESS_DECISION_HOURS = _env_int("ACCESS_DECISION_HOURS", 24, minimum=1)
    # How long an approver's link to the access log keeps working.
    ACCESS_LOG_LINK_DAYS = _env_int("ACCESS_LOG_LINK_DAYS", 90, minimum=1)
    # How long the emailed link that invites an agent, or resets their password, keeps working.
    PASSWORD_LINK_HOURS = _env_int("PASSWORD_LINK_HOURS", 72, minimum=1)
    # A ticket page lists the other agents who have it open: those whose page gave a sign
    # (loading, or its script's heartbeat every PRESENCE_HEARTBEAT_SECONDS) in the last
    # PRESENCE_WINDOW_SECONDS. Keep the window a few heartbeats long.
    PRESENCE_WINDOW_SECONDS = _env_int("PRESENCE_WINDOW_SECONDS", 120, minimum=10)
    PRESENCE_HEARTBEAT_SECONDS = _env_int("PRESENCE_HEARTBEAT_SECONDS", 30, minimum=5)
    # Customer link pages per client: enough for a person, too few to guess tokens by trying.
    CUSTOMER_LINK_RATE_LIMIT = "30 per minute"
    # Messages sent through the public contact form, per client address: enough for a
    # person, too few for a robot. Flask-Limiter's notation; ";" separates limits.
    CONTACT_RATE_LIMIT = os.environ.get("CONTACT_RATE_LIMIT", "5 per minute; 50 per day")
    # The largest request the web processes read, in MiB: the files of a logged call or
    # meeting. Flask reads it as MAX_CONTENT_LENGTH, in bytes (set in create_app).
    UPLOAD_MAX_MB = _env_int("UPLOAD_MAX_MB", 25, minimum=1)
    # The most the files attached to one reply may weigh together, in MiB: mail servers
    # refuse large messages, and base64 makes each file a third larger on the wire. A reply
    # is one request too, so UPLOAD_MAX_MB above still bounds it.
    REPLY_ATTACHMENT_MAX_MB = _env_int("REPLY_ATTACHMENT_MAX_MB", 10, minimum=1)
    # Emailed links point here: the address customers reach this application at.
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")
    # The fewest days between publishing a privacy policy version and its taking effect,
    # so that every company contact is told in time (the policy's Notices provision).
    POLICY_NOTICE_DAYS = _env_int("POLICY_NOTICE_DAYS", 30)
    # The address replies come from and customers write to.
    SUPPORT_ADDRESS = os.environ.get("SUPPORT_ADDRESS", "support@desk.example")
    # The name the desk's own emails (access notices, consents, policy notices, links,
    # notifications to agents) come from, beside SUPPORT_ADDRESS: "Example Support
    # <support@desk.example>".
    DESK_NAME = os.environ.get("DESK_NAME", "Example Support").strip()
    # How often the worker emails the notifications agents chose to get by email, and
    # looks for grants about to end; and how long before its end an agent is told.
    NOTIFICATION_INTERVAL_SECONDS = _env_int("NOTIFICATION_INTERVAL_SECONDS", 30, minimum=1)
    GRANT_ENDING_NOTICE_MINUTES = _env_int("GRANT_ENDING_NOTICE_MINUTES", 30, minimum=1)
    # The support team's own mail domains besides SUPPORT_ADDRESS's, comma-separated: forwards
    # and exports to them are the team's own use; any other address outside the account's
    # domains needs the customer's consent.
    INTERNAL_DOMAINS = tuple(d.strip().lower() for d in os.environ.get("INTERNAL_DOMAINS", "").split(",")
                             if d.strip())
    # Cookies: out of reach of page scripts, and not sent on cross-site POSTs.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    # How many reverse proxies stand in front of the web processes, each adding itself to
    # X-Forwarded-For and setting X-Forwarded-Proto. With 0 those headers are ignored (a
    # client could write them); set it to the real number, or every client behind the proxy
    # is one client to the rate limits, and one client's failed sign-ins lock out everyone.
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)
    # Rate limits live in memory per process by default; several web processes share
    # them through e.g. redis://host:6379 (a `limits` storage URI; needs the redis package).
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # The start of this desk's keys in that store, so that several desks can share one Redis.
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "desk")
    # Set explicitly: Flask-Limiter would otherwise carry one app's setting to the next.
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    # Failed sign-ins per address and client, and per client across all addresses.
    LOGIN_RATE_LIMIT = "5 per minute"
    LOGIN_CLIENT_RATE_LIMIT = "30 per minute"
    # `flask demo seed` creates sample agents with published passwords, except in production.
    DEMO_AGENTS = True


class DevelopmentConfig(Config):
    DEBUG = True
    # Replies from the sample console land as .eml files here unless SMTP_URL names a server.
    SMTP_URL = os.environ.get("SMTP_URL") or f"file://{INSTANCE_DIR / 'outbox'}"


class TestingConfig(Config):
    TESTING = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")


class ProductionConfig(Config):
    REQUIRE_SECRET_KEY = True
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    DEMO_AGENTS = False


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_environment() -> type[Config]:
    """Return the configuration class named by ``DESK_ENV`` (default: development)."""
    name = os.environ.get("DESK_ENV", "development")
    if name not in CONFIGS:
        raise ConfigError(f"DESK_ENV must be one of {', '.join(CONFIGS)}, not {name!r}")
    return CONFIGS[name]


def check_settings(settings: Mapping) -> None:
    """Refuse settings the application must not run with, saying what to change."""
    for value in settings.values():
        if isinstance(value, Unreadable):
            raise ConfigError(value.problem)
    if settings.get("RAW_STORE", "files") not in RAW_STORES:
        raise ConfigError(f"RAW_STORE must be files or database, not {settings.get('RAW_STORE')!r}")
    backend = settings.get("SEARCH_BACKEND", "whoosh")
    if backend not in SEARCH_BACKENDS:
        raise ConfigError(f"SEARCH_BACKEND must be whoosh or postgresql, not {backend!r}")
    database = str(settings.get("SQLALCHEMY_DATABASE_URI", ""))
    if backend == "postgresql" and not database.startswith("postgresql"):
        raise ConfigError("SEARCH_BACKEND=postgresql keeps the index in the database, so DATABASE_URL "
                          "must name a PostgreSQL database")
    if not settings.get("REQUIRE_SECRET_KEY"):
        return
    for name, default in (("SECRET_KEY", DEFAULT_SECRET_KEY), ("AUDIT_KEY", DEFAULT_AUDIT_KEY),
                          ("ENCRYPTION_KEY", DEFAULT_ENCRYPTION_KEY)):
        if settings.get(name) in (default, "", None):
            raise ConfigError(
                f"{name} is unset or the development default; set {name} to a long random "
                "value (for example: python -c 'import secrets; print(secrets.token_hex(32))')"
            )
    keys = {name: settings[name] for name in ("SECRET_KEY", "AUDIT_KEY", "ENCRYPTION_KEY")}
    if len(set(keys.values())) < len(keys):
        raise ConfigError("SECRET_KEY, AUDIT_KEY and ENCRYPTION_KEY must be three different values; "
                          "give each its own")
