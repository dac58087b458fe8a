"""Polling over TLS (implicit and STARTTLS) against Dovecot with its own certificate."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.models import Message
from app.services.mailboxes import add_mailbox
from tests import factories
from tests.dovecot import USER


def tls_mailbox(session, port: int, security: str) -> None:
    add_mailbox(session, "secure", host="127.0.0.1", port=port, security=security,
                username=USER, password_env=factories.PASSWORD_ENV, folders=["INBOX"])
    session.commit()


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_mail_is_polled_over_tls_when_the_server_certificate_is_trusted(
        app, session, cli, tls_dovecot, security):
    tls_dovecot.append([factories.message(n) for n in range(3)])
    port = tls_dovecot.imaps_port if security == "ssl" else tls_dovecot.port
    tls_mailbox(session, port, security)
    app.config["IMAP_CA_FILE"] = str(tls_dovecot.certificate)

    result = cli("mailbox", "poll", "--once")

    assert "fetched 3, archived 3" in result.output
    assert session.scalar(select(func.count(Message.id))) == 3


def test_an_untrusted_certificate_is_refused_in_one_sentence_and_nothing_is_archived(
        app, session, tls_dovecot):
    tls_dovecot.append([factories.message(1)])
    tls_mailbox(session, tls_dovecot.imaps_port, "ssl")

    result = app.test_cli_runner().invoke(args=["mailbox", "poll", "--once"])

    assert result.exit_code == 1
    assert "TLS failed" in result.output and "CERTIFICATE_VERIFY_FAILED" in result.output
    assert "Traceback" not in result.output
    assert session.scalar(select(func.count(Message.id))) == 0
