"""Every page checked with axe-core in headless Chromium: each GET page of the console,
management and administration, as the first of an agent, a manager and an administrator
that may open it, found by enumerating the application's URL map (so a page added later
is checked without touching this file), the public pages, and the customer pages reached from the links
their emails carry. A "serious" or "critical" violation fails the test, listing each
with the page, the rule and the elements. A screenshot of each page checked is kept
(``$DESK_SCREENSHOTS`` when set, else the test's temporary folder).

axe-core comes from the ``axe-playwright-python`` package, which bundles ``axe.min.js``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.access import consents, grants
from app.extensions import db
from app.models import Account, Agent, utcnow
from tests.app import console_world
from tests.app.test_access_browser import approver_browser
from tests.app.test_console_access import url_for_rule
from tests.app.test_manage_browser import LAPTOP, screenshot_folder
from tests.browser import sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)
from tests.factories import AGENT_PASSWORD

FAILING_IMPACTS = ("serious", "critical")
# Routes that answer with something other than a page a person reads: files, raw mail, the
# sandboxed frame of a message's HTML, the provider's return address, a monitor's probe.
NOT_PAGES = re.compile(r"raw|attachment|download|export|message_body|oauth_callback|healthz|static|logout")
FILES = re.compile(r"\.[a-z]+$")  # /manage/audit.csv and the like are downloads
# axe-core no longer reports duplicate ids, yet a label or aria-describedby pointing at a
# duplicated id names the wrong element for a screen reader: the page is checked for them too.
DUPLICATE_IDS = """[...document.querySelectorAll('[id]')].map(e => e.id)
    .filter((id, i, ids) => ids.indexOf(id) !== i)"""
# Blueprints whose pages need no sign-in; they are checked once, signed out.
PUBLIC = ("auth.login", "contact.page", "contact.sent", "policy.current", "policy.versions", "policy.version",
          "cookies.page")


def axe_script() -> str:
    axe = pytest.importorskip("axe_playwright_python", reason="axe-playwright-python is not installed "
                              "(scripts/setup --dev installs it)")
    return (Path(axe.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


class Checker:
    """Runs axe-core on pages and keeps the serious and critical violations it finds."""

    def __init__(self, folder: Path) -> None:
        self.script = axe_script()
        self.folder = folder
        self.found: list[str] = []
        self.checked: list[str] = []

    def check(self, page, label: str) -> None:
        page.wait_for_load_state("load")
        page.evaluate(self.script)
        # Mail bodies sit in sandboxed frames that run no script: axe checks the page around them.
        result = page.evaluate("axe.run(document, {resultTypes: ['violations'], iframes: false})")
        self.checked.append(f"{label} {page.url}")
        self.shoot(page, label)
        for duplicate in sorted(set(page.evaluate(DUPLICATE_IDS))):
            self.found.append(f"{label} {page.url}: serious duplicate-id (ids must be unique): #{duplicate}")
        for violation in result["violations"]:
            if violation["impact"] in FAILING_IMPACTS:
                targets = "; ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
                self.found.append(f"{label} {page.url}: {violation['impact']} {violation['id']} "
                                  f"({violation['help']}): {targets}")

    def shoot(self, page, label: str) -> None:
        name = re.sub(r"[^a-z0-9]+", "-", f"{label} {page.url.split('/', 3)[-1]}".lower()).strip("-")
        page.screenshot(path=str(self.folder / f"a11y-{name[:80]}.png"), full_page=True)

    def visit(self, page, url: str, label: str) -> None:
        page.goto(url)
        self.check(page, label)


def page_routes(app, world, public: bool) -> list[str]:
    """Return the URL of every GET page of the application (public ones or signed-in ones)."""
    urls = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        if ("GET" not in rule.methods or NOT_PAGES.search(rule.endpoint) or FILES.search(rule.rule)
                or rule.endpoint.startswith("customer.")):
            continue
        if (rule.endpoint in PUBLIC) == public:
            try:
                urls.append(url_for_rule(rule, world))
            except KeyError as missing:  # a new route's path parameter: give it a value there
                pytest.fail(f"{rule.rule}: tests/app/test_console_access.py url_for_rule has no value "
                            f"for {missing}", pytrace=False)
    return urls


@pytest.fixture
def world(live_server, smtp_server):
    app = live_server.app
    app.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=live_server.url)
    return console_world.build(app)


def test_every_staff_page_has_no_serious_accessibility_violation(browser, live_server, world, tmp_path):
    checker = Checker(screenshot_folder(tmp_path))
    base = live_server.url
    # Each page is checked once, as the first role (least privileged first) that may open it,
    # and the page that refuses a role once: the same template for another role adds nothing.
    opened, refusal_checked = set(), False
    for role in console_world.ROLES:
        context = browser.new_context(viewport=LAPTOP)
        page = context.new_page()
        sign_in(page, live_server, f"{role}@desk.example", AGENT_PASSWORD)
        for url in page_routes(live_server.app, world, public=False):
            if url in opened:
                continue
            refused = page.goto(base + url).status == 403
            if refused and refusal_checked:
                continue
            checker.check(page, role)
            refusal_checked |= refused
            if not refused:
                opened.add(url)
        context.close()
    assert refusal_checked
    signed_out = browser.new_context(viewport=LAPTOP).new_page()
    for url in page_routes(live_server.app, world, public=True):
        checker.visit(signed_out, base + url, "anonymous")
    signed_out.context.close()
    assert len(checker.checked) > 40
    assert checker.found == [], "\n".join(checker.found)
    assert live_server.errors == []


def links_in(smtp_server, count: int, base: str) -> list[str]:
    body = smtp_server.wait_for(count)[count - 1].message().get_body(("plain",)).get_content()
    return re.findall(re.escape(base) + r"/customer/\S+", body)


def test_every_customer_page_reached_from_an_email_has_no_serious_accessibility_violation(
        browser, live_server, world, smtp_server, tmp_path):
    app = live_server.app
    base = live_server.url
    checker = Checker(screenshot_folder(tmp_path))
    with app.app_context():
        agent = db.session.get(Agent, world.agent_id)
        account = db.session.get(Account, world.account_id)
        reason = "The March export misses jobs; I need to compare them."
        _, request_notices = grants.request_access(db.session, agent, account, "both", reason, 4, utcnow(),
                                                   grants.AccessSettings())
        _, consent_notices = consents.ask(db.session, agent, account, "repairs@carrier.example", "ticket",
                                          str(world.ticket_id), "Ticket 1: the export fails",
                                          "The carrier repairs the export machine.", 7, utcnow())
        decide = request_notices[0].links["decide"]
        consent = consent_notices[0].links["consent"]
        db.session.commit()
    customer = approver_browser(browser).new_page()
    customer.set_viewport_size(LAPTOP)

    checker.visit(customer, f"{base}/customer/decide/{decide}", "approver")
    customer.click("text=Approve")
    checker.check(customer, "approver, approved")
    for link in links_in(smtp_server, 1, base):
        checker.visit(customer, link, "approver")
    checker.visit(customer, f"{base}/customer/consent/{consent}", "approver")
    customer.click("text=I consent")
    checker.check(customer, "approver, consented")
    for link in links_in(smtp_server, 2, base):
        checker.visit(customer, link, "approver")
    checker.visit(customer, f"{base}/customer/decide/not-a-token", "approver")
    customer.context.close()
    assert len(checker.checked) >= 8
    assert checker.found == [], "\n".join(checker.found)
    assert live_server.errors == []
