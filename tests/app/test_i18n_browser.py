"""The approval journey in the approver's language, in headless Chromium with a real SMTP
server on loopback: an administrator sets the approver's language on the account page, an
agent asks for access, the request email is written in that language (its dates too),
the approver's decision page says so on its <html lang>, and the approval and its
confirmation email are in that language. One run per language; screenshots are kept (in
``$DESK_SCREENSHOTS`` when set, else in the test's temporary folder).
"""

from __future__ import annotations

import pytest

from tests.app import console_world
from tests.app.test_access import Clock
from tests.app.test_access_browser import approver_browser, ask_for_access, customer_link
from tests.app.test_manage_browser import LAPTOP, screenshot_folder
from tests.browser import sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)
from tests.factories import AGENT_PASSWORD

BOSS = "boss@leaky.example"
# What each language must say, at each step; the clock stands at 2026-06-01 09:00 UTC.
EXPECTED = {
    "de": {
        "name": "Deutsch",
        "subject": "Zugriffsanfrage für Leaky Widgets: bitte genehmigen oder ablehnen",
        "request": ["Guten Tag,",
                    "Ohne Ihre Genehmigung kann niemand in unserem Unternehmen diese Daten sehen.",
                    "Entscheidet bis 2. Juni 2026, 09:00 UTC niemand, gilt die Anfrage als abgelehnt.",
                    "Das Öffnen des Links allein ändert nichts"],
        "heading": "Zugriffsanfrage für Leaky Widgets",
        "approve": "Genehmigen",
        "approved": ["Diese Anfrage ist aktiv",
                     "Genehmigt: Agent Person darf Ihre Geschäfts- und Personaldaten bis 01.06.2026,"
                     " 10:00 UTC einsehen"],
        "confirmation": "Sie haben den Zugriff auf die Daten von Leaky Widgets genehmigt",
        "confirmed": "bis 1. Juni 2026, 10:00 UTC genehmigt",
    },
    "ja": {
        "name": "日本語",
        "subject": "Leaky Widgets へのアクセス依頼：承認または拒否をお願いします",
        "request": ["ご担当者様", "ご承認がない限り、当社の誰もこれらの記録を見ることはできません。",
                    "2026年6月2日 9:00 UTC までにどなたも決定しない場合、この依頼は拒否されます。",
                    "リンクを開くだけでは何も変わりません。"],
        "heading": "Leaky Widgets へのアクセス依頼",
        "approve": "承認する",
        "approved": ["この依頼は有効です（決定者：boss@leaky.example）。",
                     "2026/06/01 10:00 UTC まで貴社の業務記録と人事記録を閲覧でき"],
        "confirmation": "Leaky Widgets の記録へのアクセスを承認されました",
        "confirmed": "2026年6月1日 10:00 UTC まで承認されました。",
    },
}


@pytest.mark.parametrize("language", EXPECTED)
def test_an_approver_decides_in_their_own_language(page, browser, live_server, smtp_server, tmp_path,
                                                   language):
    expected, shots = EXPECTED[language], screenshot_folder(tmp_path)
    app = live_server.app
    app.extensions["clock"] = Clock()
    app.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=live_server.url)
    world = console_world.build(app)
    account_page = f"{live_server.url}/admin/accounts/{world.account_id}"

    page.set_viewport_size(LAPTOP)
    sign_in(page, live_server, "admin@desk.example", AGENT_PASSWORD)
    page.goto(account_page)
    page.select_option(f"select[aria-label='Language of {BOSS}']", label=expected["name"])
    page.click(f"button[aria-label='Save the language of {BOSS}']")
    assert "The contact's language was saved." in page.inner_text("main")
    page.screenshot(path=str(shots / f"i18n-{language}-1-admin.png"), full_page=True)

    console = approver_browser(browser).new_page()  # the agent's own browser
    sign_in(console, live_server, "agent@desk.example", AGENT_PASSWORD)
    ask_for_access(console, f"{live_server.url}/accounts/{world.account_id}", "both")
    request = smtp_server.wait_for(1)[0].message()
    assert request["Subject"] == expected["subject"]
    assert request["Content-Type"].startswith("text/plain")
    for sentence in expected["request"]:
        assert sentence in read(request), sentence

    decide = approver_browser(browser).new_page()
    decide.set_viewport_size(LAPTOP)
    decide.goto(customer_link(smtp_server, 1, live_server.url, "decide"))
    assert decide.get_attribute("html", "lang") == language
    assert decide.inner_text("h1") == expected["heading"]
    decide.screenshot(path=str(shots / f"i18n-{language}-2-decide.png"), full_page=True)
    decide.select_option("select[name=hours]", "1")
    decide.click(f"input[type=submit][value='{expected['approve']}']")
    shown = decide.inner_text("main")
    for sentence in expected["approved"]:
        assert sentence in shown, shown
    assert decide.get_attribute("html", "lang") == language
    decide.screenshot(path=str(shots / f"i18n-{language}-3-approved.png"), full_page=True)

    confirmation = smtp_server.wait_for(2)[1].message()
    assert confirmation["Subject"] == expected["confirmation"]
    assert expected["confirmed"] in read(confirmation)


def read(email) -> str:
    """Return an email's text as read, whatever the lines it was wrapped into."""
    return " ".join(email.get_content().split())
