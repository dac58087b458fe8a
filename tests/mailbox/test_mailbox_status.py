"""`flask mailbox status`: what waits on the server, the checkpoint, and errors in words."""

from __future__ import annotations

import json

from tests import factories


def status(cli) -> dict:
    rows = json.loads(cli("mailbox", "status", "--json").output)
    assert len(rows) == 1
    return rows[0]


def test_status_counts_what_waits_on_the_server_until_it_is_polled(session, cli, dovecot):
    dovecot.append([factories.message(n) for n in range(5)])
    factories.imap_mailbox(session, dovecot)

    before = status(cli)
    assert before["not_yet_archived"] == 5
    assert before["last_success"] is None and before["checkpoint"] == 0

    cli("mailbox", "poll", "--once")
    dovecot.append([factories.message(9)])
    after = status(cli)
    assert after["not_yet_archived"] == 1
    assert after["checkpoint"] == 5
    assert after["uidvalidity"] and after["last_success"] and after["last_error"] is None


def test_status_reports_an_unreachable_server_and_the_last_poll_error_in_words(
        app, session, cli, dovecot):
    factories.imap_mailbox(session, dovecot)
    dovecot.stop()
    runner = app.test_cli_runner()

    poll = runner.invoke(args=["mailbox", "poll", "--once"])
    row = status(cli)

    assert poll.exit_code == 1
    assert "connection refused" in row["server_check"]
    assert "connection refused" in row["last_error"]
    assert row["not_yet_archived"] is None
