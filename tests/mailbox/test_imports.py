"""``flask mailbox import`` over an mbox file, a Maildir and a folder of ``.eml`` files,
built here from ``factories.message()``: byte for byte, idempotent, and one clear sentence
for a path that holds no mail.  Also: which ``mailbox`` module is which.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import Account, Message, MessageLocation, Ticket
from app.runtime import raw_store
from mailbox import stdlib
from tests import factories

MAIL = Path(__file__).resolve().parent.parent / "data" / "mail"


def sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def write_mbox(path: Path, messages: list[bytes]) -> Path:
    """Write an mbox: a ``From `` line before each message and a blank line after it."""
    with path.open("wb") as fh:
        for raw in messages:
            fh.write(b"From sender@customer.example Thu Jan  1 09:00:00 2026\n" + raw + b"\n")
    return path


def write_maildir(path: Path, messages: list[bytes]) -> Path:
    """Write a Maildir with the first message unread in new/ and the rest read in cur/."""
    for sub in ("tmp", "new", "cur"):
        (path / sub).mkdir(parents=True)
    for n, raw in enumerate(messages):
        name = f"1767250800.M{n}P42.test" if n == 0 else f"1767250800.M{n}P42.test:2,S"
        (path / ("new" if n == 0 else "cur") / name).write_bytes(raw)
    return path


def write_eml_folder(path: Path, messages: list[bytes]) -> Path:
    """Write one .eml file per message, the last one in a subfolder."""
    (path / "older").mkdir(parents=True, exist_ok=True)
    for n, raw in enumerate(messages):
        folder = path / "older" if n == len(messages) - 1 else path
        (folder / f"message-{n}.eml").write_bytes(raw)
    return path


WRITERS = {"mbox": write_mbox, "maildir": write_maildir, "eml": write_eml_folder}


def build(kind: str, tmp_path: Path, messages: list[bytes], name: str = "source") -> Path:
    return WRITERS[kind](tmp_path / f"{name}-{kind}", messages)


def archived_hashes(session) -> list[str]:
    return sorted(session.scalars(select(Message.sha256)))


def count(session, column) -> int:
    return session.scalar(select(func.count(column)))


@pytest.mark.parametrize("kind", WRITERS)
def test_each_kind_of_source_is_archived_byte_for_byte(session, cli, tmp_path, kind):
    messages = [factories.message(n) for n in range(3)]
    path = build(kind, tmp_path, messages)

    result = cli("mailbox", "import", str(path))

    assert result.exit_code == 0, result.output
    assert f"{path}: read 3, archived 3, duplicates 0, quarantined 0" in result.output
    assert archived_hashes(session) == sorted(sha(raw) for raw in messages)
    store = raw_store()
    assert sorted(sha(store.get(sha(raw))) for raw in messages) == archived_hashes(session)


@pytest.mark.parametrize("kind", WRITERS)
def test_importing_the_same_source_twice_archives_nothing_twice(session, cli, tmp_path, kind):
    path = build(kind, tmp_path, [factories.message(n) for n in range(4)])
    cli("mailbox", "import", str(path))

    again = cli("mailbox", "import", str(path))

    assert again.exit_code == 0, again.output
    assert f"{path}: read 4, archived 0, duplicates 4, quarantined 0" in again.output
    assert count(session, Message.id) == 4
    assert count(session, MessageLocation.id) == 4


@pytest.mark.parametrize("kind", ["mbox", "eml"])
def test_a_source_rewritten_with_other_mail_at_the_same_places_archives_the_new_mail(
        session, cli, tmp_path, kind):
    # Mail clients compact an mbox after deleting, and export tools reuse file names:
    # a known place with different bytes is new mail, not mail seen before.
    path = build(kind, tmp_path, [factories.message(n) for n in range(2)])
    cli("mailbox", "import", str(path))
    replacement = [factories.message(n) for n in range(10, 12)]
    for file in [path] if kind == "mbox" else path.rglob("*.eml"):
        file.unlink()
    build(kind, tmp_path, replacement)

    result = cli("mailbox", "import", str(path))

    assert f"{path}: read 2, archived 2" in result.output
    assert count(session, Message.id) == 4
    assert set(archived_hashes(session)) >= {sha(raw) for raw in replacement}


def test_identical_bytes_in_two_sources_are_one_message_with_two_locations(session, cli, tmp_path):
    shared = factories.message(7)
    mbox = build("mbox", tmp_path, [shared, factories.message(8)])
    folder = build("eml", tmp_path, [shared])

    cli("mailbox", "import", str(mbox))
    second = cli("mailbox", "import", str(folder))

    assert f"{folder}: read 1, archived 0, duplicates 1, quarantined 0" in second.output
    assert count(session, Message.id) == 2
    message = session.scalar(select(Message).where(Message.sha256 == sha(shared)))
    sources = sorted(location.source for location in message.locations)
    assert len(sources) == 2
    assert sources[0].startswith(f"eml:{folder}") and sources[1].startswith(f"mbox:{mbox}")


def test_account_option_links_every_new_message_to_that_account(session, cli, tmp_path):
    factories.account(session, "Acme Plumbing", domains=["acme.example"])
    path = build("eml", tmp_path, [factories.message(n, sender="someone@unknown.example")
                                   for n in range(2)])

    result = cli("mailbox", "import", str(path), "--account", "Acme Plumbing")

    assert result.exit_code == 0, result.output
    acme = session.scalar(select(Account).where(Account.name == "Acme Plumbing"))
    messages = session.scalars(select(Message)).all()
    assert [m.account_id for m in messages] == [acme.id, acme.id]
    assert {m.link_reason for m in messages} == {"imported for the account Acme Plumbing"}
    assert {t.account_id for t in session.scalars(select(Ticket))} == {acme.id}


def test_a_single_eml_file_can_be_imported_by_its_path(session, cli, tmp_path):
    path = tmp_path / "one.eml"
    path.write_bytes(factories.message(3))

    result = cli("mailbox", "import", str(path))

    assert f"{path}: read 1, archived 1" in result.output
    assert archived_hashes(session) == [sha(path.read_bytes())]


def test_the_projects_quirk_mail_is_archived_whole_with_only_the_non_messages_quarantined(
        session, cli):
    files = sorted(MAIL.glob("*.eml"))
    refused = cli("mailbox", "import", str(MAIL))
    # The two files that are no mail are the two the parser cannot read either.
    assert refused.exit_code == 1 and archived_hashes(session) == []
    assert f"2 of {len(files)} messages are not mail: empty.eml (empty), not-an-email-binary.eml (binary)" \
        in refused.output

    result = cli("mailbox", "import", str(MAIL), "--allow-non-mail")

    assert result.exit_code == 0, result.output
    assert f"read {len(files)}, archived {len(files)}, duplicates 0, quarantined 2" in result.output
    assert archived_hashes(session) == sorted(sha(p.read_bytes()) for p in files)
    quarantined = session.scalars(select(Message).where(Message.quarantined.is_(True))).all()
    assert sorted(m.sha256 for m in quarantined) == sorted(
        sha((MAIL / name).read_bytes()) for name in ("empty.eml", "not-an-email-binary.eml"))
    assert all(m.parse_error for m in quarantined)
    nul = session.scalar(select(Message).where(Message.subject == "A body with NUL bytes"))
    assert "Before the NUL" in nul.body_text and "\x00" not in nul.body_text


def empty_folder(tmp_path: Path) -> Path:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("no mail in here")
    return tmp_path / "notes"


@pytest.mark.parametrize(("make_path", "sentence"), [
    (lambda tmp_path: tmp_path / "no-such-file.mbox", "{path} does not exist."),
    (empty_folder, "{path} holds no .eml files and is not a Maildir."),
], ids=["nonexistent path", "folder with no mail"])
def test_a_path_without_mail_fails_with_one_clear_sentence_and_archives_nothing(
        app, session, tmp_path, make_path, sentence):
    path = make_path(tmp_path)

    result = app.test_cli_runner().invoke(args=["mailbox", "import", str(path)])

    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.strip() == "Error: " + sentence.format(path=path.resolve())
    assert count(session, Message.id) == 0


def test_stdlib_load_returns_the_standard_library_mailbox_module():
    standard = stdlib.load()

    assert standard.mbox.__module__ == standard.__name__
    assert hasattr(standard, "Maildir") and hasattr(standard, "MaildirMessage")
    assert Path(standard.__file__).parent == Path(importlib.import_module("email").__file__).parent.parent


def test_import_mailbox_inside_the_project_means_our_package():
    ours = importlib.import_module("mailbox")

    assert Path(ours.__file__).parent.name == "mailbox"
    assert hasattr(importlib.import_module("mailbox.parse"), "parse_message")
    assert not hasattr(ours, "mbox")
