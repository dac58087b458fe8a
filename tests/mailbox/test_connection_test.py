"""Testing a mailbox's connection step by step against a real Dovecot: the diagnosis names
the step that failed (DNS, TCP, TLS, login, a folder) in words, and never a password; the
CLI prints the same steps.
"""

from __future__ import annotations

from app.runtime import poll_settings
from app.services.mailboxes import add_mailbox
from mailbox.diagnosis import diagnose_connection
from tests import factories
from tests.dovecot import USER, free_port


def mailbox(session, host="127.0.0.1", port=143, security="none", folders=("INBOX",)):
    box = add_mailbox(session, "support", host=host, port=port, security=security, username=USER,
                      password_env=factories.PASSWORD_ENV, folders=list(folders))
    session.commit()
    return box


def by_name(steps) -> dict:
    return {step.name: step for step in steps}


def test_every_step_passes_and_each_folder_is_opened_read_only(session, dovecot):
    dovecot.append([factories.message(n) for n in range(3)])
    dovecot.append([factories.message(7)], folder="Archive")
    steps = diagnose_connection(mailbox(session, port=dovecot.port, folders=("INBOX", "Archive")),
                                poll_settings())

    assert [(s.name, s.status) for s in steps] == [
        ("DNS", "ok"), ("TCP", "ok"), ("TLS", "skipped"), ("login", "ok"),
        ("folder INBOX", "ok"), ("folder Archive", "ok")]
    assert "3 message(s), 3 not yet archived" in by_name(steps)["folder INBOX"].detail
    assert all(b"\\Seen" not in m["flags"] for m in dovecot.fetch_all().values()), "nothing marked seen"


def test_a_host_name_that_does_not_resolve_fails_at_dns_and_nothing_else_is_tried(session):
    steps = diagnose_connection(mailbox(session, host="imap.nowhere.invalid"), poll_settings())

    assert steps[0].name == "DNS" and steps[0].status == "failed"
    assert "imap.nowhere.invalid does not resolve" in steps[0].detail
    assert {s.status for s in steps[1:]} == {"not tried"}


def test_a_port_nothing_listens_on_fails_at_tcp(session):
    steps = by_name(diagnose_connection(mailbox(session, port=free_port()), poll_settings()))

    assert steps["DNS"].status == "ok"
    assert steps["TCP"].status == "failed" and "connection was refused" in steps["TCP"].detail
    assert steps["login"].status == "not tried"


def test_an_untrusted_certificate_fails_at_tls(session, tls_dovecot):
    steps = by_name(diagnose_connection(mailbox(session, port=tls_dovecot.imaps_port, security="ssl"),
                                        poll_settings()))

    assert steps["TCP"].status == "ok"
    assert steps["TLS"].status == "failed" and "certificate is not trusted" in steps["TLS"].detail


def test_starttls_with_a_trusted_certificate_passes_tls(app, session, tls_dovecot):
    app.config["IMAP_CA_FILE"] = str(tls_dovecot.certificate)
    steps = by_name(diagnose_connection(mailbox(session, port=tls_dovecot.port, security="starttls"),
                                        poll_settings()))

    assert steps["TLS"].status == "ok" and "trusted certificate" in steps["TLS"].detail
    assert steps["login"].status == "ok" and steps["folder INBOX"].status == "ok"


def test_tls_spoken_to_a_plain_imap_port_fails_at_tls(session, dovecot):
    steps = by_name(diagnose_connection(mailbox(session, port=dovecot.port, security="ssl"), poll_settings()))

    assert steps["TLS"].status == "failed" and "TLS handshake failed" in steps["TLS"].detail


def test_a_wrong_password_fails_at_login_with_the_servers_words_and_not_the_password(
        session, dovecot, monkeypatch):
    monkeypatch.setenv(factories.PASSWORD_ENV, "not-the-password")
    steps = diagnose_connection(mailbox(session, port=dovecot.port), poll_settings())
    login = by_name(steps)["login"]

    assert login.status == "failed" and "refused the login" in login.detail
    assert "not-the-password" not in repr(steps)
    assert by_name(steps)["folders"].status == "not tried"


def test_a_missing_folder_fails_on_that_folder_alone(session, dovecot):
    steps = by_name(diagnose_connection(mailbox(session, port=dovecot.port, folders=("INBOX", "Nope")),
                                        poll_settings()))

    assert steps["login"].status == "ok" and steps["folder INBOX"].status == "ok"
    assert steps["folder Nope"].status == "failed" and "no folder 'Nope'" in steps["folder Nope"].detail


def test_flask_mailbox_test_prints_each_step_and_fails_when_one_did(app, session, dovecot, monkeypatch):
    mailbox(session, port=dovecot.port)
    runner = app.test_cli_runner()

    ok = runner.invoke(args=["mailbox", "test", "support"])
    monkeypatch.setenv(factories.PASSWORD_ENV, "wrong")
    refused = runner.invoke(args=["mailbox", "test", "support"])

    assert ok.exit_code == 0, ok.output
    assert [line.split()[0] for line in ok.output.splitlines()] == ["DNS", "TCP", "TLS", "login", "folder"]
    assert refused.exit_code == 1 and "failed" in refused.output and "wrong" not in refused.output
