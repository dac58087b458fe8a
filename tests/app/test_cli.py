"""The command line as an administrator uses it: accounts, mailboxes, the archive, search,
and every wrong argument or broken part ending in one clear sentence that changes nothing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Mailbox, Message
from tests import factories
from tests.dovecot import free_port

MAIL = Path(__file__).resolve().parent.parent / "data" / "mail"
SECRET = "s3cret-Imap-Pa55word"


def invoke(app, *args: str):
    """Run a command the way a shell would, keeping any exception for the test to inspect."""
    return app.test_cli_runner().invoke(args=list(args))


def row_counts(session) -> dict[str, int]:
    session.rollback()  # count what is committed, as the next command would see it
    return {table.name: session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


def error_line(result) -> str:
    """Return the one error sentence of a failed command, checking it is alone and short."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and "Usage:" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    sentence = errors[0].removeprefix("Error: ")
    assert len(sentence) < 200 and sentence.endswith((".", ")")), sentence
    return sentence


def add_acme(cli):
    return cli("accounts", "add", "Acme Plumbing", "--domain", "acme.example",
               "--contact", "ops@acme.example", "--approver", "owner@acme.example")


def add_support_mailbox(cli, port: int = 993, *extra: str):
    return cli("mailbox", "add", "support", "--host", "127.0.0.1", "--port", str(port),
               "--security", "none", "--username", "support", "--password-env",
               factories.PASSWORD_ENV, "--no-check", *extra)


def fill_archive(cli, tmp_path: Path) -> Path:
    """Import three messages: linked with an attachment, unmatched, and unreadable."""
    add_acme(cli)
    folder = tmp_path / "mail"
    folder.mkdir()
    shutil.copy(MAIL / "attachment-rfc2231-filename.eml", folder / "a-invoice.eml")
    (folder / "b-pricing.eml").write_bytes(factories.message(
        1, sender="tom@prospect.example", subject="Pricing for forty technicians",
        body="We have forty field technicians."))
    shutil.copy(MAIL / "empty.eml", folder / "c-empty.eml")
    result = cli("mailbox", "import", str(folder), "--allow-non-mail")
    assert result.exit_code == 0, result.output
    return folder


# Accounts -----------------------------------------------------------------------------

def test_accounts_add_then_list_shows_the_account_with_its_domains_and_contacts(cli):
    added = add_acme(cli)
    listed = cli("accounts", "list", "--json")
    table = cli("accounts", "list")

    assert added.output.startswith("Added account Acme Plumbing (id ")
    rows = json.loads(listed.stdout)
    assert [{k: v for k, v in row.items() if k != "id"} for row in rows] == [{
        "name": "Acme Plumbing", "domains": ["acme.example"],
        "contacts": ["ops@acme.example", "owner@acme.example"], "approvers": ["owner@acme.example"],
    }]
    assert "Acme Plumbing" in table.output.splitlines()[1]


# Mailboxes ----------------------------------------------------------------------------

def test_mailbox_add_then_list_shows_the_settings_and_never_the_password(
        session, cli, monkeypatch):
    monkeypatch.setenv(factories.PASSWORD_ENV, SECRET)

    added = add_support_mailbox(cli, 993, "--folder", "INBOX", "--folder", "Archive")
    listed = cli("mailbox", "list", "--json")
    table = cli("mailbox", "list")

    assert added.exit_code == 0, added.output
    assert json.loads(listed.stdout) == [{
        "name": "support", "kind": "password", "host": "127.0.0.1", "port": 993, "security": "none",
        "username": "support", "password_env": factories.PASSWORD_ENV,
        "folders": ["INBOX", "Archive"], "state": "active",
    }]
    everything_stored = [
        str(row) for table_ in db.metadata.sorted_tables
        for row in session.execute(select(table_)).all()
    ]
    assert everything_stored and not [row for row in everything_stored if SECRET in row]
    assert SECRET not in added.output + listed.output + table.output


def test_a_password_typed_on_the_command_line_is_refused_without_being_echoed(app, session):
    before = row_counts(session)

    result = invoke(app, "mailbox", "add", "support", "--host", "imap.example", "--port", "993",
                    "--security", "ssl", "--username", "support", "--password", SECRET)

    assert "--password" in error_line(result)
    assert SECRET not in result.output
    assert row_counts(session) == before


# Archive ------------------------------------------------------------------------------

def test_archive_stats_counts_linked_unmatched_quarantined_tickets_attachments_and_bytes(
        cli, tmp_path):
    folder = fill_archive(cli, tmp_path)

    stats = json.loads(cli("archive", "stats", "--json").stdout)

    assert stats == {
        "messages": 3, "linked": 1, "unmatched": 1, "quarantined": 1, "tickets": 2,
        "attachments": 1, "raw_bytes": sum(p.stat().st_size for p in folder.iterdir()),
        "not_yet_indexed": 0,
    }


def test_archive_list_shows_messages_oldest_first_with_where_they_came_from(cli, tmp_path):
    folder = fill_archive(cli, tmp_path)

    rows = json.loads(cli("archive", "list", "--json", "--limit", "2").stdout)

    assert [(r["subject"], r["account"], r["quarantined"]) for r in rows] == [
        ("Invoice attached", "Acme Plumbing", False),
        ("Pricing for forty technicians", None, False),
    ]
    assert rows[0]["locations"][0]["source"].startswith(f"eml:{folder.resolve()}/a-invoice.eml")
    assert rows[1]["link_reason"].startswith("unmatched: ")


def alter(raw_file: Path) -> None:
    raw_file.write_bytes(raw_file.read_bytes().replace(b"invoice", b"1nvoice"))


@pytest.mark.parametrize(("damage", "problem"), [
    (alter, "raw message {sha} now hashes to "),
    (Path.unlink, "raw message {sha} is missing"),
], ids=["altered", "deleted"])
def test_archive_verify_passes_then_names_the_message_whose_raw_file_was_damaged(
        app, session, cli, tmp_path, damage, problem):
    fill_archive(cli, tmp_path)
    passed = cli("archive", "verify")
    victim = session.scalar(select(Message).where(Message.subject == "Invoice attached"))
    raw_file, = Path(app.config["RAW_STORE_PATH"]).rglob(victim.sha256)
    damage(raw_file)

    failed = invoke(app, "archive", "verify")

    assert passed.exit_code == 0 and "All 3 raw messages match their sha256." in passed.output
    assert f"message {victim.id}: " + problem.format(sha=victim.sha256) in failed.output
    assert error_line(failed) == "1 of 3 raw messages failed verification."


def test_search_finds_imported_mail_by_subject_and_body_as_json(cli, tmp_path):
    fill_archive(cli, tmp_path)

    invoice = json.loads(cli("search", "invoice", "--json", "--limit", "1").stdout)
    technicians = json.loads(cli("search", "technicians", "--json").stdout)

    assert invoice["total"] == 1 and invoice["hits"][0]["subject"] == "Invoice attached"
    assert invoice["hits"][0]["account"] == "Acme Plumbing"
    assert [h["subject"] for h in technicians["hits"]] == ["Pricing for forty technicians"]


def test_search_limit_caps_the_hits_but_not_the_total(cli, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(4):
        (folder / f"{n}.eml").write_bytes(factories.message(n, subject=f"Export problem {n}"))
    cli("mailbox", "import", str(folder))

    found = json.loads(cli("search", "export", "--json", "--limit", "2").stdout)

    assert found["total"] == 4
    assert len(found["hits"]) == 2


# Errors: each is one sentence, a non-zero exit, and no change ---------------------------

MAILBOX_ADD = ["mailbox", "add", "support", "--host", "imap.example", "--username", "support",
               "--password-env", "SUPPORT_IMAP_PASSWORD"]

WRONG_ARGUMENTS = {
    "bad --security": (
        [*MAILBOX_ADD, "--port", "993", "--security", "tls"], "Invalid value for '--security'"),
    "port 0": ([*MAILBOX_ADD, "--port", "0", "--security", "ssl"], "0 is not in the range"),
    "port 99999": ([*MAILBOX_ADD, "--port", "99999", "--security", "ssl"], "99999 is not in the range"),
    "port that is not a number": (
        [*MAILBOX_ADD, "--port", "imaps", "--security", "ssl"], "'imaps' is not a valid integer"),
    "missing required option": (["mailbox", "add", "support", "--host", "imap.example"],
                                "Missing option"),
    "password env that is no variable name": (
        [*MAILBOX_ADD[:-1], "MY PASSWORD", "--port", "993", "--security", "ssl"],
        "'MY PASSWORD' is not an environment variable name"),
    "duplicate mailbox name": (
        ["mailbox", "add", "existing", "--host", "imap.example", "--port", "993", "--security",
         "ssl", "--username", "u", "--password-env", "P"], "A mailbox named 'existing' exists already"),
    "unknown mailbox name for poll": (
        ["mailbox", "poll", "--once", "nosuchbox"], "No mailbox is named 'nosuchbox'"),
    "unknown account for import": (
        ["mailbox", "import", str(MAIL / "missing-date.eml"), "--account", "Nobody Inc"],
        "No account is named 'Nobody Inc'"),
    "duplicate account name": (["accounts", "add", "Existing Co"],
                               "An account named 'Existing Co' exists already"),
    "bad domain": (["accounts", "add", "New Co", "--domain", "not a domain"],
                   "'not a domain' is not a mail domain"),
    "public mail domain": (["accounts", "add", "New Co", "--domain", "gmail.com"],
                           "gmail.com is a public mail provider"),
    "domain of another account": (["accounts", "add", "New Co", "--domain", "existing.example"],
                                  "The domain existing.example belongs to Existing Co already"),
    "bad contact address": (["accounts", "add", "New Co", "--contact", "ops-at-new.example"],
                            "'ops-at-new.example' is not an email address"),
    "account without a name": (["accounts", "add", "  "], "The account needs a name"),
    "mailbox without a name": (
        ["mailbox", "add", " ", *MAILBOX_ADD[3:], "--port", "993", "--security", "ssl"],
        "The mailbox needs a name"),
    "mailbox name too long": (
        ["mailbox", "add", "m" * 101, *MAILBOX_ADD[3:], "--port", "993", "--security", "ssl"],
        "The mailbox name is longer than 100 characters"),
    "empty host": (["mailbox", "add", "support", "--host", "", *MAILBOX_ADD[5:], "--port", "993",
                    "--security", "ssl"], "'' is not a host name"),
    "host with a space": (["mailbox", "add", "support", "--host", "imap .example", *MAILBOX_ADD[5:],
                           "--port", "993", "--security", "ssl"], "'imap .example' is not a host name"),
    "empty folder name": ([*MAILBOX_ADD, "--port", "993", "--security", "ssl", "--folder", ""],
                          "A folder name cannot be empty"),
    "password env starting with a digit": (
        [*MAILBOX_ADD[:-1], "1PASSWORD", "--port", "993", "--security", "ssl"],
        "'1PASSWORD' is not an environment variable name"),
    "account name too long": (["accounts", "add", "x" * 201],
                              "The account name is longer than 200 characters"),
    "contact address too long": (["accounts", "add", "New Co", "--contact", "a" * 320 + "@new.example"],
                                 "is longer than 320 characters"),
    "archive list limit 0": (["archive", "list", "--limit", "0"], "Invalid value for '--limit'"),
    "empty search": (["search", " "], "The query is empty"),
    "search limit 0": (["search", "export", "--limit", "0"], "Invalid value for '--limit'"),
    # The hint names the search group, whose help explains --sort, not its hidden query command.
    "search sort that does not exist": (["search", "--sort", "oldest", "invoice"], " search --help`"),
    "agent role that does not exist": (["agents", "add", "new@desk.example", "--name", "New",
                                        "--role", "superuser"], "Invalid value for '--role'"),
    "unknown option": (["accounts", "list", "--colour"],
                       "No such option '--colour'; see `"),
    "unknown option of a group": (["mailbox", "--verbose", "list"], "No such option '--verbose'"),
    "unknown command": (["mailbox", "delete", "support"], "No such command 'delete'"),
    "missing argument": (["accounts", "add"], "Missing argument 'NAME'"),
}


@pytest.mark.parametrize(("args", "phrase"), WRONG_ARGUMENTS.values(), ids=WRONG_ARGUMENTS.keys())
def test_a_wrong_argument_fails_with_one_short_sentence_and_changes_nothing(
        app, session, cli, args, phrase):
    cli("accounts", "add", "Existing Co", "--domain", "existing.example")
    cli("mailbox", "add", "existing", "--host", "imap.example", "--port", "993",
        "--security", "ssl", "--username", "u", "--password-env", "P", "--no-check")
    cli("mailbox", "import", str(MAIL / "missing-message-id.eml"))
    before = row_counts(session)

    result = invoke(app, *args)

    assert phrase in error_line(result)
    assert row_counts(session) == before


SHELL_LANGUAGE = ("DESK_LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


IN_ENGLISH = "Say what to change, e.g. --add-domain or --approver; see `flask accounts edit --help`."


@pytest.mark.parametrize("environ, sentence", [
    ({}, IN_ENGLISH),
    ({"LANG": "C.UTF-8"}, IN_ENGLISH),
    ({"DESK_LANGUAGE": "de", "LANG": "ja_JP.UTF-8"},
     "Geben Sie an, was geändert werden soll, z. B. --add-domain oder --approver; siehe "
     "`flask accounts edit --help`."),
    ({"LANG": "ja_JP.UTF-8"},
     "変更する内容を指定してください（例: --add-domain、--approver） (`flask accounts edit --help` を参照)"),
])
def test_a_command_writes_its_sentences_in_the_language_of_the_shell(app, environ, sentence):
    shell = {name: None for name in SHELL_LANGUAGE} | environ  # None: unset for the command
    result = app.test_cli_runner().invoke(args=["accounts", "edit", "Acme"], env=shell, prog_name="flask")
    assert error_line(result) == sentence


def poll_failure(app, session) -> tuple[str, str]:
    """Poll once; return the folder summary and its one error line, checking nothing changed."""
    before = row_counts(session)
    result = invoke(app, "mailbox", "poll", "--once")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert row_counts(session) == before
    summary, error = [line for line in result.stdout.splitlines() if line.startswith(("support/", "  - "))]
    assert len(error) < 200
    return summary, error.removeprefix("  - ")


def test_an_unreachable_server_is_reported_in_the_folder_summary_and_archives_nothing(
        app, session, cli, monkeypatch):
    monkeypatch.setenv(factories.PASSWORD_ENV, SECRET)
    add_support_mailbox(cli, free_port())

    summary, error = poll_failure(app, session)

    assert summary == "support/INBOX: fetched 0, archived 0, duplicates 0, quarantined 0, errors 1"
    assert error.startswith("cannot connect") and "(mailbox support)" in error
    assert SECRET not in error
    folder = session.scalar(select(Mailbox)).folders[0]
    assert folder.last_error == error and folder.checkpoint_uid == 0


def test_a_refused_login_is_reported_in_the_folder_summary_and_archives_nothing(
        app, session, cli, dovecot, monkeypatch):
    dovecot.append([factories.message(1)])
    factories.imap_mailbox(session, dovecot)
    monkeypatch.setenv(factories.PASSWORD_ENV, "not-the-password")

    summary, error = poll_failure(app, session)

    assert summary.endswith("fetched 0, archived 0, duplicates 0, quarantined 0, errors 1")
    assert error.startswith("the server refused the login for support")
    assert "not-the-password" not in error


def test_an_unset_password_variable_is_reported_by_name_and_archives_nothing(
        app, session, cli, monkeypatch):
    monkeypatch.delenv(factories.PASSWORD_ENV, raising=False)
    add_support_mailbox(cli, free_port())

    summary, error = poll_failure(app, session)

    assert summary.endswith("errors 1")
    assert error == (f"the environment variable {factories.PASSWORD_ENV} holding the password "
                     "is not set (mailbox support)")


# Checks before anything is kept for good ----------------------------------------------

def elf_and_csv(folder: Path) -> Path:
    folder.mkdir()
    (folder / "a-mail.eml").write_bytes(factories.message(1))
    (folder / "b-tool.eml").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4)
    (folder / "c-contacts.eml").write_bytes(b"name,email\r\nAnn,ann@customer.example\r\n")
    return folder


def test_importing_files_that_are_not_mail_is_refused_by_name_before_anything_is_archived(
        app, session, cli, tmp_path):
    folder = elf_and_csv(tmp_path / "export")
    before = row_counts(session)

    refused = invoke(app, "mailbox", "import", str(folder))

    sentence = error_line(refused)
    assert sentence == ("2 of 3 messages are not mail: b-tool.eml (binary), c-contacts.eml (no mail "
                        "header at the start); nothing was imported (--allow-non-mail archives them "
                        "anyway, for good)")
    assert row_counts(session) == before
    assert [p for p in Path(app.config["RAW_STORE_PATH"]).rglob("*") if p.is_file()] == []


def test_with_allow_non_mail_such_files_are_archived_raw_and_quarantined(session, cli, tmp_path):
    folder = elf_and_csv(tmp_path / "export")

    result = cli("mailbox", "import", str(folder), "--allow-non-mail")

    assert result.exit_code == 0, result.output
    assert "read 3, archived 3, duplicates 0, quarantined 2" in result.output


def test_a_single_file_that_is_not_mail_is_refused_too(app, session, tmp_path):
    path = tmp_path / "photo.eml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert "photo.eml (binary)" in error_line(invoke(app, "mailbox", "import", str(path)))


def add_checked(app, port: int, *extra: str):
    return invoke(app, "mailbox", "add", "support", "--host", "127.0.0.1", "--port", str(port),
                  "--security", "none", "--username", "support", "--password-env", factories.PASSWORD_ENV,
                  *extra)


def test_mailbox_add_connects_signs_in_and_opens_each_folder_before_saving(
        app, session, dovecot, monkeypatch):
    from tests.dovecot import PASSWORD

    before = row_counts(session)
    monkeypatch.setenv(factories.PASSWORD_ENV, "not-the-password")
    assert "refused the login" in error_line(add_checked(app, dovecot.port))
    assert "Cannot connect" in error_line(add_checked(app, free_port()))
    monkeypatch.delenv(factories.PASSWORD_ENV)
    unset = error_line(add_checked(app, dovecot.port))
    assert f"{factories.PASSWORD_ENV} holding the password is not set" in unset
    monkeypatch.setenv(factories.PASSWORD_ENV, PASSWORD)
    missing = error_line(add_checked(app, dovecot.port, "--folder", "INBOX", "--folder", "Archive"))
    assert "Archive" in missing and "--no-check" in missing and "nothing was saved" in missing
    assert row_counts(session) == before

    added = add_checked(app, dovecot.port)

    assert added.exit_code == 0, added.output
    assert session.scalar(select(Mailbox)).name == "support"


def test_mailbox_list_and_status_say_so_when_no_mailbox_is_configured(cli):
    for command in (("mailbox", "list"), ("mailbox", "status")):
        result = cli(*command)
        assert result.exit_code == 0
        assert result.output.startswith("No mailbox is configured yet: add one with `flask mailbox add`")
