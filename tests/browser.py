"""Browser tests' parts: the application on a real HTTP server, Debian's Chromium driven by
Playwright, and recorders of what a page did.

The live server runs the test's application in a thread of this process, so a test
writes its data through ``live_server.app.app_context()`` and the browser reads it over
HTTP. Pages only ever reach loopback: every other request is recorded and aborted, so a
test of injected markup can see that a request was attempted without it leaving the
machine.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from flask import got_request_exception
from werkzeug.serving import make_server

if TYPE_CHECKING:
    from flask import Flask
    from playwright.sync_api import BrowserContext, ConsoleMessage, Dialog, Page, Request, Response, Route

HOST = "127.0.0.1"
# Chromium's own network (updates, safe browsing, field trials) stays off, and the
# sandbox needs privileges a container's root does not have.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
]


class LiveServer:
    """A Flask application served over HTTP on a free loopback port, in a background thread.

    Exceptions the application raises while answering are kept in ``errors``; a browser
    only sees the 500 page, so a test can assert that none happened.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.errors: list[BaseException] = []
        self._server = make_server(HOST, 0, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-server", daemon=True)

    @property
    def url(self) -> str:
        """The server's base URL, without a trailing slash: ``http://127.0.0.1:PORT``."""
        return f"http://{HOST}:{self._server.server_port}"

    def start(self) -> None:
        got_request_exception.connect(self._keep_error, self.app)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
        got_request_exception.disconnect(self._keep_error, self.app)

    def _keep_error(self, sender, exception: BaseException, **extra) -> None:
        self.errors.append(exception)


def is_loopback(url: str) -> bool:
    """Say whether ``url`` names a host on this machine (data: and about: URLs count too)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "about", "blob"):
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def keep_on_loopback(context: BrowserContext) -> None:
    """Abort every request of ``context`` that would leave the machine."""

    def route(route: Route) -> None:
        if is_loopback(route.request.url):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    context.route("**/*", route)


def sign_in(page: Page, live_server: LiveServer, email: str, password: str, *,
            remember: bool = False) -> Response | None:
    """Fill in and submit the sign-in form as a person would; return the last page's response."""
    page.goto(f"{live_server.url}/login")
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', password)
    if remember:
        page.check('input[name="remember"]')
    with page.expect_navigation() as navigation:
        page.click('form [type="submit"]')
    return navigation.value


@dataclass
class ScriptLog:
    """What a page's scripts did that shows: console output, dialogs and uncaught errors.

    The browser's own console notes (a resource that failed to load, a script the
    Content-Security-Policy refused) are kept apart in ``notes``: they say what was
    stopped, not that a script ran. Chromium passes them with no arguments, whereas a
    script's ``console.log(...)`` always has some. Dialogs (alert, confirm, prompt) are
    dismissed once recorded, so a page never waits for a person.
    """

    console: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    dialogs: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def nothing_ran(self) -> bool:
        """Say whether no script wrote to the console, opened a dialog or threw."""
        return not (self.console or self.dialogs or self.errors)

    def _console(self, message: ConsoleMessage) -> None:
        kept = self.console if message.args else self.notes
        kept.append((message.type, message.text))

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append((dialog.type, dialog.message))
        dialog.dismiss()

    def _error(self, error: Exception) -> None:
        self.errors.append(str(error))


def record_scripts(page: Page) -> ScriptLog:
    """Start recording the console messages, dialogs and uncaught script errors of ``page``."""
    log = ScriptLog()
    page.on("console", log._console)
    page.on("dialog", log._dialog)
    page.on("pageerror", log._error)
    return log


@dataclass
class RequestLog:
    """Every request the pages of a browser context issued, aborted ones included, in order."""

    requests: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [url for _, url, _ in self.requests]

    def to(self, prefix: str) -> list[str]:
        """Return the URLs requested that start with ``prefix``."""
        return [url for url in self.urls if url.startswith(prefix)]

    def leaving_loopback(self) -> list[str]:
        """Return the URLs requested of any host other than this machine."""
        return [url for url in self.urls if not is_loopback(url)]

    def _request(self, request: Request) -> None:
        self.requests.append((request.method, request.url, request.resource_type))


def record_requests(page: Page) -> RequestLog:
    """Start recording every request of ``page`` and of any page it opens (popups, frames).

    A request can start after the action that caused it returns: wait for the page to
    settle, ``page.wait_for_load_state("networkidle")``, before asserting that none was made.
    """
    log = RequestLog()
    page.context.on("request", log._request)
    return log


@pytest.fixture
def sqlite_only() -> str:
    """A browser test module's ``backend``: ``from tests.browser import sqlite_only as backend``.

    What a browser sees does not depend on the database; the services' and data layer's
    tests run on PostgreSQL too, the browser tests once.
    """
    return "sqlite"
