"""The language an agent reads the console in: chosen on Settings among the languages the
desk has a catalogue for, each named in its own words, and used on every console page.
"""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Agent
from tests.app import console_world
from tests.web import sign_in, submit

SETTINGS = {"page_size": "25", "time_zone": "UTC", "default_queue": "mine", "signature": ""}


@pytest.fixture
def agent(web):
    console_world.build(web)
    client = web.test_client()
    sign_in(client, "agent@desk.example")
    return client


def language_of(web, email: str = "agent@desk.example") -> str:
    with web.app_context():
        return db.session.scalar(db.select(Agent.language).where(Agent.email == email))


def test_the_settings_offer_each_language_with_a_catalogue_in_its_own_words(agent):
    page = agent.get("/settings").text
    assert '<option selected value="en">English</option>' in page
    assert '<option value="de">Deutsch</option>' in page
    assert '<option value="ja">日本語</option>' in page


def test_an_agent_who_picks_deutsch_reads_the_queue_in_german(web, agent):
    submit(agent, "/settings", "/settings", {**SETTINGS, "language": "de"})
    assert language_of(web) == "de"
    queue = agent.get("/tickets?queue=all").text
    assert '<html lang="de">' in queue
    assert 'aria-current="page">Alle <span class="count">2</span>' in queue
    assert ">Betreff</th>" in queue and "2 Tickets · Seite 1 von 1" in queue
    assert "Einstellungen gespeichert." in queue  # the flash of the settings just saved


def test_an_agent_who_picks_japanese_reads_the_queue_in_japanese(agent):
    submit(agent, "/settings", "/settings", {**SETTINGS, "language": "ja"})
    queue = agent.get("/tickets").text
    assert '<html lang="ja">' in queue and "このビューに「未対応」のチケットはありません。" in queue


def test_an_unknown_language_is_refused_with_one_sentence_and_the_old_one_kept(web, agent):
    refused = submit(agent, "/settings", "/settings", {**SETTINGS, "language": "xx"}).text
    assert '<span class="field-error" id="language-error">Not a valid choice.</span>' in refused
    assert language_of(web) == "en"


def test_a_new_agent_reads_english(web, agent):
    assert '<html lang="en">' in agent.get("/tickets").text
