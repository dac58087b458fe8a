"""Fixtures: an application on SQLite and on PostgreSQL, a private Dovecot, a CLI runner,
a loopback SMTP server, and the application on a live server with a headless Chromium;
for OAuth2 mailboxes, an authorization server with a Dovecot and an SMTP server that take
its tokens.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from argon2 import PasswordHasher, profiles
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from app import MIGRATIONS, create_app, passwords
from app.extensions import db
from tests import factories
from tests.browser import CHROMIUM_ARGS, LiveServer, keep_on_loopback
from tests.dovecot import PASSWORD, Dovecot
from tests.oauth_server import OAuthServer
from tests.parts import chromium_binary, dovecot_binary, missing, postgres_url, sync_playwright
from tests.smtp import SmtpServer

BACKENDS = ["sqlite", "postgresql"]
# The search backends over the databases they run on: Whoosh on either, PostgreSQL's own
# full-text search on PostgreSQL. Tests of what a query finds run on all three.
SEARCHES = [("sqlite", "whoosh"), ("postgresql", "whoosh"), ("postgresql", "postgresql")]
SEARCH_IDS = ["sqlite-whoosh", "postgresql-whoosh", "postgresql-search"]
BROWSER_TIMEOUT_MS = 10_000  # Playwright's default of 30 s only slows a failing test down


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes():
    """Hash passwords with argon2's cheapest profile in the tests: the defaults take about
    half a second a hash on these machines, and a console test creates five agents. The
    test of rehashing at sign-in puts the defaults back (``production_password_hashes``)."""
    replaced = passwords.use_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))
    yield
    passwords.use_hasher(replaced)


@pytest.fixture
def production_password_hashes():
    """The hasher the application uses outside the tests, for the tests of its parameters."""
    cheap = passwords.use_hasher(PasswordHasher())
    yield
    passwords.use_hasher(cheap)


def database_url(backend: str, tmp_path: Path, request) -> str:
    if backend == "postgresql":
        return request.getfixturevalue("postgres_schema_url")
    return f"sqlite:///{tmp_path / 'desk.db'}"


@pytest.fixture(scope="session")
def postgres_schema_url():
    """A schema of our own in the PostgreSQL test database, so test runs never collide.

    Several runs (developers, CI, benchmarks) may share one database; each run works
    in its own schema, named for its process, through the connection's search_path.
    """
    base = postgres_url()
    schema = f"desk_test_{os.getpid()}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


def app_settings(url: str, tmp_path: Path, search: str = "whoosh") -> dict:
    """Return the settings of a test application whose files live under ``tmp_path``."""
    return {
        "TESTING": True,
        "SEARCH_BACKEND": search,
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "RAW_STORE_PATH": str(tmp_path / "instance" / "raw"),
        "INDEX_PATH": str(tmp_path / "instance" / "index"),
        "IMAP_TIMEOUT_SECONDS": 10,
        # Staff of every role sign in with a password alone here; tests/app/test_two_factor.py
        # runs the default (managers and administrators need a code) against every route.
        "TWO_FACTOR_ROLES": (),
    }


def fresh_schema(app) -> None:
    """Give the application's database the schema the project's migrations build, and no rows.

    The migrations run once per kind of database in each test process, as they take one to
    two seconds: after that a SQLite database becomes a copy of the file they built, and a
    PostgreSQL schema whose tables, columns, indexes, constraints, triggers and functions
    are what they built is emptied with one TRUNCATE. Anything else (a test that migrated
    down and stopped halfway, say) is dropped and built again.
    """
    with app.app_context():
        engine = db.engine
        sqlite_file = engine.url.database if engine.dialect.name == "sqlite" else None
        if sqlite_file and sqlite_file != ":memory:":
            _copy_built_sqlite(engine, Path(sqlite_file))
        elif (engine.dialect.name == "postgresql" and "postgresql" in _BUILT
              and _built_postgres_schema(engine) == _BUILT["postgresql"]):
            _empty_postgres_schema(engine)
        else:
            _build_schema(engine)
            if engine.dialect.name == "postgresql" and not _rows_left(engine):
                _BUILT["postgresql"] = _built_postgres_schema(engine)


# What the migrations built, once per test process: a SQLite file's copy, a PostgreSQL fingerprint.
_BUILT: dict[str, object] = {}


def _build_schema(engine) -> None:
    db.drop_all()
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        if engine.dialect.name == "postgresql":  # the search tables, outside the models
            conn.execute(text("DROP TABLE IF EXISTS search_chunk, search_document"))
    upgrade(directory=MIGRATIONS)


def _copy_built_sqlite(engine, database: Path) -> None:
    engine.dispose()
    built = _BUILT.get("sqlite")
    if built is None:
        for leftover in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            leftover.unlink(missing_ok=True)
        _build_schema(engine)
        with engine.connect() as conn:  # the whole database in the file, none in the log
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        built = Path(tempfile.mkdtemp(prefix="desk-schema-")) / "built.db"
        shutil.copyfile(database, built)
        _BUILT["sqlite"] = built
        return
    for leftover in (Path(f"{database}-wal"), Path(f"{database}-shm")):
        leftover.unlink(missing_ok=True)
    database.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built, database)


_POSTGRES_SCHEMA = """
SELECT c.relname || ' ' || c.relkind::text || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
 WHERE n.nspname = current_schema()
UNION ALL
SELECT 'index ' || i.indexrelid::regclass::text || ' ' || pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema()
UNION ALL
SELECT 'constraint ' || c.conname || ' ' || pg_get_constraintdef(c.oid)
  FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = current_schema()
UNION ALL
SELECT 'trigger ' || t.tgname || ' ' || t.tgenabled::text || ' ' || pg_get_triggerdef(t.oid)
  FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid JOIN pg_namespace n ON n.oid = r.relnamespace
 WHERE n.nspname = current_schema() AND NOT t.tgisinternal
UNION ALL
SELECT 'function ' || p.proname || ' ' || md5(p.prosrc)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema()
UNION ALL
SELECT 'revision ' || version_num FROM alembic_version
"""


def _built_postgres_schema(engine) -> frozenset[str] | None:
    with engine.connect() as conn:
        if conn.scalar(text("SELECT to_regclass('alembic_version')")) is None:
            return None
        return frozenset(conn.scalars(text(_POSTGRES_SCHEMA)))


def _tables(conn) -> list[str]:
    return list(conn.scalars(text("SELECT quote_ident(tablename) FROM pg_tables "
                                  "WHERE schemaname = current_schema() AND tablename <> 'alembic_version'")))


def _rows_left(engine) -> bool:
    with engine.connect() as conn:
        return any(conn.scalar(text(f"SELECT EXISTS (SELECT FROM {table})")) for table in _tables(conn))


def _empty_postgres_schema(engine) -> None:
    # DELETE, not TRUNCATE: a TRUNCATE of some forty small tables gives each a new file and
    # takes ten times as long. With the session as a replica, neither the foreign keys nor
    # the triggers that guard the archive against deletion fire.
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in _tables(conn):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n "
                          "ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = current_schema()"))


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def app(backend, tmp_path, request):
    application = create_app(app_settings(database_url(backend, tmp_path, request), tmp_path))
    fresh_schema(application)
    with application.app_context():
        yield application
        db.session.remove()
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def web(backend, tmp_path, request):
    """An application for requests, with no application context held open.

    Inside the ``app`` fixture every request would share that one context and its
    ``flask.g`` (Flask reuses a pushed context), so the signed-in agent and other
    per-request state would leak from one request into the next. Here each request
    gets its own context, as under a real server; tests use ``web.app_context()``
    for their own database work.
    """
    application = create_app(app_settings(database_url(backend, tmp_path, request), tmp_path))
    fresh_schema(application)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def session(app):
    return db.session


@pytest.fixture
def cli(app):
    """Invoke ``flask`` commands in-process against the test application."""
    runner = app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=list(args), catch_exceptions=False)

    return invoke


def running_dovecot(monkeypatch, kind: str, **options):
    """Start a private Dovecot with ``options``, yield it with its password in the environment,
    then stop it and remove its folder."""
    # Not under tmp_path: pytest makes that private to us, and Dovecot's own
    # unprivileged processes must read the configuration and password file.
    root = Path(tempfile.mkdtemp(prefix=f"desk-dovecot-{kind}"))
    server = Dovecot(root, dovecot_binary(), **options)
    server.start()
    monkeypatch.setenv(factories.PASSWORD_ENV, PASSWORD)
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def dovecot(monkeypatch):
    yield from running_dovecot(monkeypatch, "")


@pytest.fixture
def oauth_server():
    """A loopback OAuth2 authorization server (tests.oauth_server.OAuthServer), tokens valid an hour.

    Set ``oauth_server.access_token_seconds`` lower to have tokens expire during a test.
    """
    server = OAuthServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def tls_dovecot(monkeypatch):
    """A private Dovecot speaking TLS (IMAPS, and STARTTLS on its plain port) with a
    self-signed certificate; clients trust it through ``tls_dovecot.certificate``."""
    if shutil.which("openssl") is None:
        missing("openssl is not installed to make a test certificate")
    yield from running_dovecot(monkeypatch, "tls-", tls=True)


@pytest.fixture
def oauth_dovecot(oauth_server, monkeypatch):
    """A private Dovecot that signs in with ``oauth_server``'s tokens (XOAUTH2, OAUTHBEARER).

    Its password login stays, for ``append`` and ``fetch_all``.
    """
    yield from running_dovecot(monkeypatch, "oauth-",
                               oauth2_introspection_url=oauth_server.introspect_url_with_credentials)


@pytest.fixture
def oauth_smtp_server(oauth_server):
    """A loopback SMTP server that takes only ``oauth_server``'s tokens (AUTH XOAUTH2, OAUTHBEARER)."""
    server = SmtpServer(oauth2_introspection_url=oauth_server.introspect_url_with_credentials)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def subprocess_env(app, tmp_path) -> dict:
    """The environment for running ``flask`` as a separate process on the same data."""
    settings = app.config
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings["SQLALCHEMY_DATABASE_URI"],
        DESK_INSTANCE_PATH=settings["INSTANCE_PATH"],
        RAW_STORE_PATH=settings["RAW_STORE_PATH"],
        INDEX_PATH=settings["INDEX_PATH"],
        FLASK_APP="wsgi",
        IMAP_TIMEOUT_SECONDS="10",
    )
    return env


@pytest.fixture
def smtp_server():
    """A real SMTP server on loopback (tests.smtp.SmtpServer); point ``SMTP_URL`` at ``.url``."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live_server(web):
    """The ``web`` application served over HTTP on a free loopback port (tests.browser.LiveServer)."""
    server = LiveServer(web)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright; one per test module.

    Not one per run: while Playwright's synchronous API is started it leaves its event
    loop marked as running on the main thread, so a later test's ``asyncio.run`` would
    fail; stopping it at the end of each module confines that to browser tests.
    """
    executable = chromium_binary()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (no cookies, no storage) and one page in it, kept on loopback."""
    context = browser.new_context()
    keep_on_loopback(context)
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    yield context.new_page()
    context.close()


# Files whose tests take a minute or more: browsers, real worker processes, the corpora and
# the property tests. The suite's two workers take whole files in the order collected, so
# these go first; last, one of them would run on alone while the other has nothing left.
SLOW_FILES = re.compile(r"_browser\.py$|corpora|corpus|property|workers?\.py$|worker_jobs|two_machines"
                        r"|shared_rate_limits|cjk_table|query_table|poller_failures|searcher_memory"
                        r"|poller_imap|indexing_alongside")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: SLOW_FILES.search(item.path.name) is None)  # stable: file order kept
