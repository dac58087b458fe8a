"""Which language a page or an email is written in, and how it writes dates and durations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel import Locale
from flask import render_template, render_template_string
from markupsafe import escape

from app import create_app, i18n
from tests.conftest import app_settings


@pytest.fixture
def bare_app(tmp_path):
    """An application without a database: language choice needs none."""
    app = create_app(app_settings(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path))
    with app.test_request_context("/"):
        yield app


def test_english_is_the_default_language(bare_app):
    assert i18n.select_locale() == "en"
    assert i18n.html_lang() == "en"


def test_only_languages_with_a_catalogue_are_available(bare_app):
    assert i18n.available() == ["en", "de", "ja"]


@pytest.mark.parametrize("asked, chosen", [("de", "de"), ("de-AT", "de"), ("ja_JP", "ja"), ("JA", "ja"),
                                           ("fr", "en"), ("xx-unknown", "en"), ("", "en"), (None, "en")])
def test_a_language_without_a_catalogue_is_written_in_english(bare_app, asked, chosen):
    assert i18n.supported(asked) == chosen


@pytest.mark.parametrize("header, chosen", [
    ("de-DE,de;q=0.9,en;q=0.8", "de"),
    ("fr-FR, ja;q=0.7, en;q=0.5", "ja"),
    ("fr-CH, fr;q=0.9", None),
    ("en-GB", "en"),
    ("", None),
    ("*;q=0", None),
])
def test_a_header_names_the_best_language_the_desk_has(bare_app, header, chosen):
    assert i18n.from_header(header) == chosen


def test_a_view_writes_its_page_in_the_language_it_chose(bare_app):
    i18n.use_locale("ja-JP")
    assert i18n.html_lang() == "ja"
    i18n.use_locale("fr")
    assert i18n.html_lang() == "en"


def test_a_forced_locale_writes_a_block_in_that_language_and_then_goes_back(bare_app):
    i18n.use_locale("de")
    with i18n.in_locale("ja"):
        assert i18n.html_lang() == "ja"
    assert i18n.html_lang() == "de"


@pytest.mark.parametrize("language, rtl", [("ar", True), ("he", True), ("fa", True), ("de", False),
                                           ("ja", False), ("nonsense", False)])
def test_right_to_left_languages_are_known_from_babels_locale_data(language, rtl):
    assert i18n.is_rtl(language) is rtl
    assert (Locale.parse("ar").character_order == "right-to-left") is True


def test_a_right_to_left_page_says_so_on_its_html_element(bare_app, monkeypatch):
    # No right-to-left catalogue ships yet: pretend Arabic had one.
    monkeypatch.setattr(i18n, "available", lambda: ["en", "de", "ja", "ar"])
    i18n.use_locale("ar")
    html = render_template_string('<html lang="{{ html_lang() }}" dir="{{ text_direction() }}">')
    assert html == '<html lang="ar" dir="rtl">'
    i18n.use_locale("de")
    assert render_template_string('{{ text_direction() }}') == "ltr"


MOMENT = datetime(2026, 11, 30, 14, 5)  # stored naive, in UTC


@pytest.mark.parametrize("language, written, long", [
    ("en", "2026-11-30 14:05 UTC", "2026-11-30 14:05 UTC"),
    ("de", "30.11.2026, 14:05 UTC", "30. November 2026, 14:05 UTC"),
    ("ja", "2026/11/30 14:05 UTC", "2026年11月30日 14:05 UTC"),
])
def test_times_are_written_as_the_language_writes_them(bare_app, language, written, long):
    with i18n.in_locale(language):
        assert i18n.when(MOMENT) == written
        assert i18n.when(MOMENT.replace(tzinfo=UTC)) == written
        assert i18n.when(MOMENT, "long") == long


def test_an_email_writes_times_in_utc_whoever_renders_it(bare_app):
    with i18n.in_locale("de", "Europe/Berlin"):
        assert i18n.when(MOMENT) == "30.11.2026, 15:05 CET"
    with i18n.in_locale("de"):
        assert i18n.when(MOMENT) == "30.11.2026, 14:05 UTC"


@pytest.mark.parametrize("language, written", [("en", "2026-11-30"), ("de", "30. November 2026"),
                                               ("ja", "2026年11月30日")])
def test_days_are_written_as_the_language_writes_them(bare_app, language, written):
    with i18n.in_locale(language):
        assert i18n.day(date(2026, 11, 30)) == written


@pytest.mark.parametrize("language, minutes, written", [
    ("en", 180, "3 hours"), ("de", 180, "3 Stunden"), ("ja", 180, "3 時間"),
    ("en", 2 * 24 * 60, "2 days"), ("de", 45, "45 Minuten"),
])
def test_durations_are_written_as_the_language_writes_them(bare_app, language, minutes, written):
    with i18n.in_locale(language):
        assert i18n.how_long(minutes) == written
        assert i18n.how_long(timedelta(minutes=minutes)) == written


def fake(**fields):
    return SimpleNamespace(**fields)


def mail_context() -> dict:
    account = fake(name="Leaky Widgets")
    agent = fake(name="Agent Person")
    request = fake(agent=agent, account=account, minutes=240, reason="The export misses March.",
                   decide_by=MOMENT, ends_at=MOMENT, ended_at=MOMENT, decided_by="boss@leaky.example",
                   end_reason="revoked", confirmed_by=fake(name="Manager Person"))
    consent = fake(agent=agent, account=account, content="ticket 12", recipient="vendor@example.com",
                   purpose="Fix the export.", days=7, decide_by=MOMENT, ends_at=MOMENT, decided_by="boss@x",
                   withdrawn_by="boss@x", withdrawn_at=MOMENT)
    return {"request": request, "consent": consent, "scope": "business records", "reason": "revoked",
            "links": {"decide": "http://d/1", "revoke": "http://d/2", "log": "http://d/3",
                      "consent": "http://d/4", "withdraw": "http://d/5"},
            "audit_head": fake(entry_id=12, hash="9f" * 32), "notice": fake(account=account),
            "version": fake(id=3, effective_on=date(2026, 12, 15)), "ahead": True, "summary": "    Less.",
            "version_url": "http://d/privacy/3"}


CUSTOMER_MAIL = sorted(p.stem for p in (Path(__file__).parents[2] / "templates" / "mail").glob("*.txt")
                       if not p.stem.startswith(("_", "agent_")))


@pytest.mark.parametrize("template", CUSTOMER_MAIL)
def test_every_customer_email_renders_in_every_language(bare_app, template):
    written = {}
    for language in ("en", "de", "ja"):
        with i18n.in_locale(language):
            written[language] = render_template(f"mail/{template}.txt", **mail_context())
        assert "%(" not in written[language] and "Leaky Widgets" in written[language]
    assert written["en"].startswith("Hello,")
    assert written["de"].startswith("Guten Tag,") and written["ja"].startswith("ご担当者様")
@pytest.mark.parametrize("environ, chosen", [
    ({}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "POSIX"}, "en"),
    ({"LANG": "de_DE.UTF-8"}, "de"),
    ({"LANG": "de_AT.UTF-8@euro"}, "de"),
    ({"LANG": "fr_FR.UTF-8"}, "en"),
    ({"LANG": "de_DE.UTF-8", "LC_MESSAGES": "ja_JP.UTF-8"}, "ja"),
    ({"LC_MESSAGES": "ja_JP.UTF-8", "LC_ALL": "C"}, "en"),
    ({"LANG": "ja_JP.UTF-8", "DESK_LANGUAGE": "de"}, "de"),
    ({"LANG": "de_DE.UTF-8", "DESK_LANGUAGE": "en"}, "en"),
    ({"LANG": "de_DE.UTF-8", "DESK_LANGUAGE": ""}, "de"),
])
def test_the_command_line_speaks_the_language_of_its_shell(bare_app, environ, chosen):
    assert i18n.command_line_language(environ) == chosen


def test_a_lazy_translation_is_escaped_in_html_as_the_plain_string_is(bare_app):
    # Flask-Babel's own LazyString returns itself unescaped from __html__.
    text = "Give the agent's name."
    assert str(escape(i18n.lazy_gettext(text))) == str(escape(text)) == "Give the agent&#39;s name."
    with i18n.in_locale("de"):
        assert str(i18n.lazy_gettext(text)) == "Geben Sie den Namen des Agenten an."
