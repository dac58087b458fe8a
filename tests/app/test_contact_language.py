# ruff: noqa: F811 (the fixtures of test_access.py, imported by name)
"""Each company contact's language: chosen by an administrator, else learnt from the
Content-Language of the mail they send or the Accept-Language of the browser they act
from; an administrator's choice wins over what is learnt, and a language the desk has no
catalogue for leaves English. The access emails and pages are written in that language.
"""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Contact
from app.runtime import raw_store
from app.services import contact_languages
from mailbox.ingest import Archiver, Seen
from tests.app.test_access import agent, approve, ask, clock, links, world  # noqa: F401 (fixtures)
from tests.app.test_console_access import client_for
from tests.web import submit

BOSS = "boss@leaky.example"


def contact(web, email: str = BOSS) -> Contact:
    with web.app_context():
        found = db.session.scalar(select(Contact).where(Contact.email == email))
        db.session.expunge(found)
        return found


def choose(web, world, language: str, email: str = BOSS):
    admin = client_for(web, "admin")
    page = f"/admin/accounts/{world.account_id}"
    return submit(admin, page, f"{page}/contacts/language", {"contact": email, "language": language})


def receive(web, raw: bytes, *, learn: bool = True, source: str = "test:1") -> None:
    with web.app_context():
        archiver = Archiver(db.session, raw_store(), tag_prefix="DESK", learn_languages=learn)
        archiver.archive([(raw, Seen(source=source))])
        db.session.commit()


def mail_from(sender: str, language: str, subject: str = "Hallo") -> bytes:
    return (f"From: {sender}\r\nTo: support@desk.example\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}.{language}@leaky.example>\r\nContent-Language: {language}\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\nBody of {subject}.\r\n").encode()


def test_an_administrator_chooses_a_contacts_language_in_the_browser(web, world):
    assert choose(web, world, "de").status_code == 302
    boss = contact(web)
    assert (boss.language, boss.language_source) == ("de", contact_languages.ADMINISTRATOR)
    page = client_for(web, "admin").get(f"/admin/accounts/{world.account_id}").text
    assert '<option value="de" selected>Deutsch</option>' in page and "日本語" in page


def test_a_language_without_a_catalogue_cannot_be_chosen(web, world):
    response = choose(web, world, "fr")
    assert response.status_code == 400 and "no translation for the language" in response.text
    assert contact(web).language is None


def test_the_mail_a_contact_sends_teaches_the_desk_their_language(web, world):
    receive(web, mail_from(BOSS, "ja-JP"))
    boss = contact(web)
    assert (boss.language, boss.language_source) == ("ja", contact_languages.MAIL)


def test_mail_in_a_language_the_desk_has_no_catalogue_for_leaves_english(web, world):
    receive(web, mail_from(BOSS, "fr-FR, fr"))
    assert contact(web).language is None


def test_imported_old_mail_teaches_no_language(web, world):
    receive(web, mail_from(BOSS, "de"), learn=False)
    assert contact(web).language is None


def test_an_administrators_choice_wins_over_the_language_of_the_mail(web, world):
    choose(web, world, "de")
    receive(web, mail_from(BOSS, "ja", subject="later"))
    assert contact(web).language == "de"
    choose(web, world, "")  # automatic again: the next mail teaches the language
    receive(web, mail_from(BOSS, "ja", subject="again"), source="test:2")
    assert (contact(web).language, contact(web).language_source) == ("ja", contact_languages.MAIL)


def test_the_access_request_email_is_written_in_the_approvers_language(web, world, agent, smtp_server):
    choose(web, world, "de")
    ask(agent, world)
    mail = smtp_server.wait_for(1)[0].message()
    text = mail.get_content()
    words = " ".join(text.split())  # as read, wherever the lines were wrapped
    assert mail["Subject"] == "Zugriffsanfrage für Leaky Widgets: bitte genehmigen oder ablehnen"
    assert text.startswith("Guten Tag,")
    assert "die Geschäfts- und Personaldaten von Leaky Widgets 4 Stunden lang einsehen" in words
    assert "Ohne Ihre Genehmigung kann niemand in unserem Unternehmen diese Daten sehen." in words
    assert "Entscheidet bis 2. Juni 2026, 09:00 UTC niemand, gilt die Anfrage als abgelehnt." in words


def test_the_decision_page_follows_the_contact_and_an_unknown_one_reads_their_browsers(
        web, world, agent, smtp_server):
    ask(agent, world)
    path = links(smtp_server, 1)[0]
    customer = web.test_client()
    german = customer.get(path, headers={"Accept-Language": "de-CH, de;q=0.9"}).text
    assert '<html lang="de">' in german and "Zugriffsanfrage für Leaky Widgets" in german
    assert contact(web).language is None, "opening a link (a mail scanner may) teaches nothing"
    english = customer.get(path, headers={"Accept-Language": "fr"}).text
    assert '<html lang="en">' in english and "Access request for Leaky Widgets" in english


def test_acting_on_a_page_teaches_the_desk_the_browsers_language_unless_an_administrator_chose(
        web, world, agent, smtp_server):
    ask(agent, world)
    path = links(smtp_server, 1)[0]
    customer = web.test_client()
    customer.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ja,en;q=0.5"
    page = approve(customer, path, "1").text
    assert '<html lang="ja">' in page and "承認されました" in page
    boss = contact(web)
    assert (boss.language, boss.language_source) == ("ja", contact_languages.VISIT)
    confirmation = smtp_server.wait_for(2)[1].message()
    assert "承認されました" in confirmation["Subject"] and confirmation.get_content().startswith("ご担当者様")
