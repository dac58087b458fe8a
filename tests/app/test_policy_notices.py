"""Privacy policy versions and their notices, on SQLite and PostgreSQL: publishing (command line
and administration form) with the notice period, which version is in force, the notice owed
to every company contact, claimed once, retried after the mail server failed, and shown to
managers; every email to a company contact links the policy.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.access import grants, links
from app.extensions import db
from app.models import AuditEntry, PolicyNotice, PolicyVersion
from app.services import access_notices, policy
from app.services.audit import verify
from app.services.policy_notices import OUTBOX, send_policy_notices
from tests import factories
from tests.dovecot import free_port
from tests.web import sign_in, submit

NOW = datetime(2026, 3, 2, 9, 30)
TODAY = NOW.date()
PUBLIC = "https://desk.example.com"
NOT_A_DAY = "is not a day: write the effective date as YYYY-MM-DD, for example 2027-01-31."


@pytest.fixture
def clock(app):
    """The application's clock, which a test moves by setting ``clock["now"]``."""
    moving = {"now": NOW}
    app.extensions["clock"] = lambda: moving["now"]
    return moving


@pytest.fixture
def contacts(session) -> list[str]:
    factories.account(session, "Acme Plumbing", domains=["acme.example"],
                      contacts=["office@acme.example"], approvers=["owner@acme.example"])
    factories.account(session, "Birch Bakery", domains=["birch.example"],
                      contacts=["hello@birch.example", "books@birch.example"])
    return ["books@birch.example", "hello@birch.example", "office@acme.example", "owner@acme.example"]


def publish(session, effective: date, summary: str = "We now keep recordings of phone calls.",
            now: datetime = NOW) -> PolicyVersion:
    version = policy.publish_version(session, "Section 1.\n\nSection 2.", summary, effective, by=None,
                                     now=now, notice_days=30)
    session.commit()
    return version


def notices_of(session, version: PolicyVersion) -> dict[str, PolicyNotice]:
    session.expire_all()
    rows = session.scalars(select(PolicyNotice).where(PolicyNotice.version_id == version.id))
    return {row.email: row for row in rows}


def test_publishing_owes_one_notice_to_each_contact_of_each_account_and_is_audited(session, contacts):
    version = publish(session, TODAY + timedelta(days=30))

    owed = notices_of(session, version)
    assert sorted(owed) == contacts
    assert {n.account.name for n in owed.values()} == {"Acme Plumbing", "Birch Bakery"}
    assert all(n.sent_at is None and n.attempts == 0 for n in owed.values())
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "policy published"))
    assert entry.detail == (f"version {version.id}, in effect from {TODAY + timedelta(days=30)}; notices "
                            "owed to 4 contacts; what changed: We now keep recordings of phone calls.")
    assert verify(session).ok


@pytest.mark.parametrize(("effective", "sentence"), [
    ("2026-03-31", "The effective date 2026-03-31 is too soon: company contacts must be told 30 days ahead, "
                   "so choose 2026-04-01 or later."),
    ("2026-02-28", "The effective date 2026-02-28 is too soon: company contacts must be told 30 days ahead, "
                   "so choose 2026-04-01 or later."),
    ("01/04/2026", f"'01/04/2026' {NOT_A_DAY}"),
    ("2026-04-31", f"'2026-04-31' {NOT_A_DAY}"),
])
def test_the_command_line_refuses_an_effective_date_inside_the_notice_period_in_one_sentence(
        app, session, cli, clock, contacts, tmp_path, effective, sentence):
    text = tmp_path / "policy.txt"
    text.write_text("The new policy.", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["policy", "publish", "--text-file", str(text), "--summary",
                                                "Calls are recorded.", "--effective", effective])

    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {sentence}"
    assert session.scalar(select(func.count(PolicyVersion.id))) == 0
    assert session.scalar(select(func.count(PolicyNotice.id))) == 0

    done = cli("policy", "publish", "--text-file", str(text), "--summary", "Calls are recorded.",
               "--effective", "2026-04-01")
    assert done.output == ("Published version 1, in effect from 2026-04-01; the worker emails its notice to "
                           "4 contacts.\n")


def test_a_version_cannot_take_effect_before_the_one_published_before_it(session, contacts):
    publish(session, TODAY + timedelta(days=60))
    with pytest.raises(policy.ServiceError) as refused:
        publish(session, TODAY + timedelta(days=40))
    assert str(refused.value) == ("version 1 takes effect on 2026-05-01, and a newer version cannot take "
                                  "effect before it: choose that day or later")


def test_a_policy_file_that_is_not_utf8_is_refused_in_one_sentence(app, session, clock, tmp_path):
    text = tmp_path / "policy.txt"
    text.write_bytes("Politique de confidentialit\u00e9".encode("latin-1"))
    result = app.test_cli_runner().invoke(args=["policy", "publish", "--text-file", str(text),
                                                "--summary", "x", "--effective", "2026-05-01"])
    assert result.exit_code == 1
    sentence = f"{text} is not UTF-8 text; save the policy as UTF-8 and try again."
    assert result.output.strip() == f"Error: {sentence}"


def test_the_administration_form_refuses_an_early_date_beside_its_field_and_publishes_a_good_one(web):
    web.extensions["clock"] = lambda: NOW
    with web.app_context():
        factories.agent(db.session, "admin@desk.example", name="Ada Admin", role="admin")
        factories.account(db.session, "Acme Plumbing", contacts=["office@acme.example"])
    client = web.test_client()
    sign_in(client, "admin@desk.example")
    form = {"text": "Section 1.\r\n\r\nSection 2.", "summary": "Calls are recorded.",
            "effective": "2026-03-20"}

    refused = submit(client, "/admin/policy", "/admin/policy", form)
    assert refused.status_code == 400
    assert ('<span class="field-error" id="effective-error">The effective date 2026-03-20 is too soon: '
            "company contacts must be told 30 days ahead, so choose 2026-04-01 or later.</span>"
            ) in refused.text
    assert "Calls are recorded." in refused.text, "what was typed stays in the form"

    published = submit(client, "/admin/policy", "/admin/policy", {**form, "effective": "2026-04-01"},
                       follow_redirects=True)
    assert ("Version 1 is published and takes effect on 2026-04-01; the worker emails its notice to "
            "1 company contact.") in published.text
    with web.app_context():
        version = db.session.get(PolicyVersion, 1)
        assert version.text == "Section 1.\n\nSection 2."
        assert version.published_by.email == "admin@desk.example"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "policy published"))
        assert entry.agent_id == version.published_by_id


def test_the_version_in_force_is_the_newest_whose_day_has_come(session, contacts):
    first = publish(session, date(2026, 4, 1))
    second = publish(session, date(2026, 6, 1), summary="Chats are kept too.", now=datetime(2026, 4, 15))

    assert policy.history(session, date(2026, 3, 31)).current is None
    on_may_1 = policy.history(session, date(2026, 5, 1))
    assert on_may_1.current.version == first
    assert [s.version for s in on_may_1.upcoming] == [second]
    assert on_may_1.of(second.id).words == "takes effect on 2026-06-01"
    on_june_1 = policy.history(session, date(2026, 6, 1))
    assert on_june_1.current.version == second and on_june_1.upcoming == []
    replaced = on_june_1.of(first.id).words
    assert replaced == "in force from 2026-04-01 until version 2 replaced it on 2026-06-01"


def test_of_two_workers_reaching_one_notice_only_the_first_claims_it(app, session, contacts):
    version = publish(session, TODAY + timedelta(days=30))
    notice_id = min(n.id for n in notices_of(session, version).values())
    session.commit()
    one, two = Session(db.engine), Session(db.engine)
    try:
        # Both workers read the notice unsent.
        theirs, mine = one.get(PolicyNotice, notice_id), two.get(PolicyNotice, notice_id)
        lease = timedelta(minutes=2)
        assert OUTBOX.claim(one, theirs, NOW, lease, "machine-one:1")
        one.commit()
        assert not OUTBOX.claim(two, mine, NOW, lease, "machine-two:2")
        two.rollback()
        assert mine.claimed_by == "machine-one:1" and mine.attempts == 1
        # Once the lease has run out without the notice being sent, another worker may take it.
        assert OUTBOX.claim(two, mine, NOW + lease, lease, "machine-two:2")
        two.commit()
        assert mine.attempts == 2
    finally:
        one.close()
        two.close()


def test_a_notice_the_mail_server_could_not_take_is_recorded_failed_and_sent_by_a_later_run_once(
        app, session, clock, contacts, smtp_server):
    version = publish(session, TODAY + timedelta(days=30))
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there: the server is down

    first = send_policy_notices(session, lambda: clock["now"])

    assert (first.sent, first.failed) == (0, 3), "three failures in a row end the run"
    failed = [n for n in notices_of(session, version).values() if n.last_error]
    assert len(failed) == 3
    assert all("cannot be reached" in n.last_error for n in failed)
    assert all(n.attempts == 1 and n.lease_until is None for n in failed)
    overview = policy.notice_overview(session, version, NOW)
    assert (overview.counts["failed"], overview.counts["waiting"], overview.counts["sent"]) == (3, 1, 0)

    app.config["SMTP_URL"] = smtp_server.url
    clock["now"] = NOW + timedelta(minutes=1)
    second = send_policy_notices(session, lambda: clock["now"])
    third = send_policy_notices(session, lambda: clock["now"])

    assert (second.sent, second.failed, third.sent) == (4, 0, 0)
    received = sorted(r for m in smtp_server.received for r in m.recipients)
    assert received == contacts
    sent = notices_of(session, version)
    assert all(n.sent_at == NOW + timedelta(minutes=1) for n in sent.values())
    assert sorted(n.attempts for n in sent.values()) == [1, 2, 2, 2]


def test_the_notice_says_what_changed_from_when_where_to_read_it_and_whom_to_ask(
        app, session, clock, contacts, smtp_server):
    app.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=PUBLIC)
    publish(session, date(2026, 4, 1), summary="We now keep recordings of phone calls.\nAsk us for a copy.")
    send_policy_notices(session, lambda: clock["now"])

    mail = next(m for m in smtp_server.wait_for(4) if m.recipients == ("office@acme.example",)).message()
    assert mail["Subject"] == "Our privacy policy changes on April 1, 2026"
    assert mail["From"] == "Example Support <support@desk.example>"
    assert mail["Auto-Submitted"] == "auto-generated"
    body = mail.get_content().replace("\r\n", "\n")
    assert "You are a contact of Acme Plumbing" in body
    assert "Version 1 takes effect on\n2026-04-01 (UTC)" in body
    assert "    We now keep recordings of phone calls.\n    Ask us for a copy.\n" in body
    assert f"\n{PUBLIC}/privacy/versions/1\n" in body
    assert "write to us at\nsupport@desk.example." in body
    assert body.rstrip().endswith(f"Our privacy policy: {PUBLIC}/privacy")


def test_a_contact_added_before_the_version_takes_effect_is_told_and_one_removed_is_not(
        app, session, clock, contacts, smtp_server, cli):
    app.config["SMTP_URL"] = smtp_server.url
    version = publish(session, TODAY + timedelta(days=30))
    cli("accounts", "edit", "Birch Bakery", "--remove-contact", "books@birch.example",
        "--add-contact", "new@birch.example")
    clock["now"] = NOW + timedelta(days=2)
    from app.worker import send_policy_notices_due

    send_policy_notices_due()

    told = sorted(r for m in smtp_server.received for r in m.recipients)
    assert told == ["hello@birch.example", "new@birch.example", "office@acme.example", "owner@acme.example"]
    overview = policy.notice_overview(session, version, clock["now"])
    assert overview.counts == {"failed": 0, "sending": 0, "waiting": 0, "sent": 4, "no longer a contact": 1}
    # Once the version is in force, a new contact comes under it from the start: no notice.
    cli("accounts", "edit", "Acme Plumbing", "--add-contact", "late@acme.example")
    clock["now"] = datetime.combine(version.effective_on, NOW.time())
    send_policy_notices_due()
    assert len(smtp_server.received) == 4
    assert "late@acme.example" not in notices_of(session, version)


def test_managers_see_counts_and_each_failing_address_with_its_error(web, smtp_server):
    web.extensions["clock"] = lambda: NOW
    with web.app_context():
        factories.agent(db.session, "manager@desk.example", name="Mo Manager", role="manager")
        factories.account(db.session, "Acme Plumbing", contacts=["office@acme.example", "owner@acme.example"])
        version_id = publish(db.session, TODAY + timedelta(days=30)).id
        web.config["SMTP_URL"] = smtp_server.url
        smtp_server.refuse_recipients()
        send_policy_notices(db.session, lambda: NOW)
    client = web.test_client()
    sign_in(client, "manager@desk.example")

    page = client.get(f"/manage/policy/{version_id}").text
    figures = r"contacts<strong>2</strong>.*sent<strong>0</strong>.*failed<strong>2</strong>"
    assert re.search(figures, page, re.S)
    assert page.count("the mail server refused the recipient") == 2
    assert "office@acme.example" in page and "owner@acme.example" in page
    assert "The worker tries them again every 60 seconds" in page
    listing = client.get("/manage/policy").text
    assert f'href="/manage/policy/{version_id}"' in listing and '<strong class="alarm">2</strong>' in listing


def test_the_command_line_lists_versions_and_shows_a_versions_failed_notices(app, session, clock, contacts,
                                                                              smtp_server, cli):
    app.config["SMTP_URL"] = smtp_server.url
    publish(session, TODAY + timedelta(days=30))
    smtp_server.refuse_recipients()
    send_policy_notices(session, lambda: clock["now"])

    listed = cli("policy", "list", "--json").output
    assert '"state": "takes effect on 2026-04-01"' in listed and '"failing": 3' in listed
    status = cli("policy", "status").output
    assert status.startswith("Version 1, in effect from 2026-04-01: 4 notices: failed 3, sending 0, "
                             "waiting 1, sent 0, no longer a contact 0.\n"
                             "Failed (the worker tries them again at each run):\n")
    assert status.count("the mail server refused the recipient") == 3
    missing = app.test_cli_runner().invoke(args=["policy", "status", "7"])
    assert (missing.exit_code, missing.output.strip()) == (
        1, "Error: There is no version 7 of the privacy policy; `flask policy list` lists them.")


def test_every_email_to_a_company_contact_links_the_privacy_policy(app, session, smtp_server):
    app.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=PUBLIC)
    account = factories.account(session, "Acme Plumbing", approvers=["owner@acme.example"])
    agent = factories.agent(session)
    request, asked = grants.request_access(session, agent, account, "business", "Checking the export", 4,
                                           NOW, grants.AccessSettings())
    access_notices.send(asked)
    session.commit()
    decide = next(t for t in asked[0].links.values())
    token = links.find_token(session, decide, "decide", NOW)
    access_notices.send(grants.decide(session, token, False, 4, NOW, grants.AccessSettings()))
    session.commit()

    mails = smtp_server.wait_for(2)
    assert [m.message()["Subject"] for m in mails] == [
        "Access request for Acme Plumbing: please approve or deny",
        "You denied access to Acme Plumbing's records"]
    for mail in mails:
        assert f"Our privacy policy: {PUBLIC}/privacy" in mail.message().get_content()
