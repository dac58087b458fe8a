"""A threaded server under many concurrent requests: each request holds at most one of the
pool's connections at a time, so every request answers and every one is in the request log,
whatever the pool's size."""

from __future__ import annotations

import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from app.models import RequestLog
from tests.conftest import app_settings, database_url, fresh_schema

REQUESTS = 100


@pytest.fixture
def small_pool_app(backend, tmp_path, request):
    settings = app_settings(database_url(backend, tmp_path, request), tmp_path)
    # Two connections and two more in a burst, and a request that waits 5 s for one fails:
    # far fewer than the requests running at once.
    settings |= {"DATABASE_POOL_SIZE": 2, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_timeout": 5}}
    application = create_app(settings)
    fresh_schema(application)
    yield application
    with application.app_context():
        db.engine.dispose()


def test_a_hundred_requests_at_once_all_answer_and_are_all_logged(small_pool_app):
    server = make_server("127.0.0.1", 0, small_pool_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/healthz"  # reads the database through the page's session
    start = threading.Barrier(REQUESTS, timeout=60)

    def fetch(_: int) -> int:
        start.wait()
        with urllib.request.urlopen(url, timeout=120) as response:
            return response.status

    try:
        with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
            statuses = list(pool.map(fetch, range(REQUESTS)))
    finally:
        server.shutdown()

    assert statuses == [200] * REQUESTS
    with small_pool_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RequestLog)) == REQUESTS
