"""The console in headless Chromium: an agent works a ticket from mail polled off a real
Dovecot and replies through a real SMTP server, and the customer's answer threads back;
and hostile mail HTML runs no script and loads nothing remote until the agent asks.
"""

from __future__ import annotations

import threading
from email.utils import make_msgid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.extensions import db
from app.models import Message, Ticket
from tests import factories
from tests.browser import record_requests, record_scripts, sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)

EMAIL = "sam@desk.example"


@pytest.fixture
def sam(live_server):
    with live_server.app.app_context():
        factories.account(db.session, "Customer Co", domains=["customer.example"])
        return factories.agent(db.session, EMAIL, name="Sam Agent").id


def poll(live_server) -> str:
    result = live_server.app.test_cli_runner().invoke(args=["mailbox", "poll", "--once"])
    assert result.exit_code == 0, result.output
    return result.output


def test_an_agent_replies_in_the_browser_and_the_customers_answer_threads_back(
        page, live_server, sam, dovecot, smtp_server):
    app = live_server.app
    app.config["SMTP_URL"] = smtp_server.url
    with app.app_context():
        factories.imap_mailbox(db.session, dovecot)
    dovecot.append([factories.message(1, subject="The export stops at the 14th")])
    poll(live_server)
    scripts = record_scripts(page)

    sign_in(page, live_server, EMAIL, factories.AGENT_PASSWORD)
    page.click("nav.tabs >> text=Unassigned")
    page.click("a.ticket-link >> text=The export stops at the 14th")
    page.fill("#reply textarea", "Fixed: the export now runs to the end of the month.")
    page.click("#reply >> text=Send reply")

    assert "Reply sent." in page.inner_text("main")
    assert "Fixed: the export now runs to the end of the month." in page.inner_text(".message-outbound")
    sent = smtp_server.wait_for(1)[0].message()
    assert sent["In-Reply-To"] == "<test-1@customer.example>"
    ticket_id = int(page.url.rsplit("/", 1)[1].split("?")[0])
    assert sent["Subject"] == f"Re: The export stops at the 14th [SD-{ticket_id}]"

    answer = factories.message(2, subject=f"Re: {sent['Subject']}", body="Works now, thanks!",
                               message_id=make_msgid(domain="customer.example"),
                               in_reply_to=sent["Message-ID"], references=[sent["Message-ID"]])
    dovecot.append([answer])
    poll(live_server)
    page.reload()
    assert "Works now, thanks!" in page.inner_text(".thread")
    with app.app_context():
        reply = db.session.query(Message).filter_by(subject=f"Re: {sent['Subject']}").one()
        assert reply.ticket_id == ticket_id
        assert reply.thread_reason.startswith("reply: In-Reply-To names")
        assert db.session.get(Ticket, ticket_id).status == "open"  # the answer reopened it
    assert scripts.nothing_ran and live_server.errors == []


class Tracker(BaseHTTPRequestHandler):
    """A remote image host on loopback that counts who asked for what."""

    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's hook name)
        Tracker.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/gif")
        self.end_headers()
        self.wfile.write(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

    def log_message(self, *args):
        pass


@pytest.fixture
def tracker():
    Tracker.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Tracker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def hostile_html(tracker: str) -> str:
    return f"""
<html><head>
<style>body {{ background: url({tracker}/css-background.gif); width: expression(alert(1)); }}</style>
<script>console.log("MARKER-script"); alert("MARKER-alert")</script></head>
<body onload="console.log('MARKER-onload')">
<p>Hello, please see <a href="javascript:console.log('MARKER-href')">this link</a>.</p>
<img src="x" onerror="console.log('MARKER-onerror')">
<svg><script>console.log("MARKER-svg")</script><circle onload="console.log('MARKER-svg-onload')"/></svg>
<div style="width: expression(console.log('MARKER-css'));
 background-image: url({tracker}/style.gif)">styled</div>
<iframe src="javascript:console.log('MARKER-iframe')"></iframe>
<img src="{tracker}/pixel.gif?open=1" width="1" height="1">
</body></html>"""


def test_hostile_html_runs_no_script_and_nothing_remote_loads_until_the_agent_asks(
        page, live_server, sam, tracker):
    with live_server.app.app_context():
        message = factories.archived(db.session, factories.html_message(7, html=hostile_html(tracker)))
        ticket_id = message.ticket_id
    scripts = record_scripts(page)
    requests = record_requests(page)
    sign_in(page, live_server, EMAIL, factories.AGENT_PASSWORD)

    page.goto(f"{live_server.url}/tickets/{ticket_id}")
    page.wait_for_load_state("networkidle")
    frame = page.frame_locator("iframe.mail-body")
    assert "Hello, please see" in frame.locator("body").inner_text()
    for link in frame.locator("a").all():
        assert not (link.get_attribute("href") or "").lower().startswith("javascript")
    frame.locator("a").first.click()
    page.wait_for_load_state("networkidle")
    assert scripts.dialogs == [] and scripts.errors == []
    assert not [text for _, text in scripts.console if "MARKER" in text]
    assert Tracker.hits == [] and requests.to(tracker) == []
    assert "remote image" in page.inner_text(".remote")

    page.click("text=Load remote content for this message")
    page.wait_for_load_state("networkidle")
    pixel = page.frame_locator("iframe.mail-body").locator("img[src*='pixel.gif']")
    pixel.wait_for(state="attached")
    assert "/pixel.gif?open=1" in Tracker.hits
    assert not any("css-background" in hit or "style.gif" in hit for hit in Tracker.hits)
    assert scripts.dialogs == [] and not [text for _, text in scripts.console if "MARKER" in text]


def test_the_queue_keys_move_through_tickets_and_open_one(page, live_server, sam):
    with live_server.app.app_context():
        for n in range(3):
            factories.archived(db.session, factories.message(n, subject=f"Keyboard ticket {n}"))
    sign_in(page, live_server, EMAIL, factories.AGENT_PASSWORD)
    page.goto(f"{live_server.url}/tickets?queue=all")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert "Keyboard ticket 2" in page.inner_text("tr.selected")
    page.keyboard.press("r")
    page.wait_for_url("**/tickets/*#reply")
    assert "Keyboard ticket 2" in page.inner_text("h1")
    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.name") == "body"
