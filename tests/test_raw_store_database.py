"""Raw messages in the database (RAW_STORE=database), and moving an archive between the
file store and the database with `flask archive migrate-store`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from app import create_app
from app.extensions import db
from app.models import Message, RawBlob
from app.rawstore import DatabaseRawStore, RawStore, RawStoreError, sha256_hex
from tests import factories
from tests.conftest import app_settings, database_url
from tests.web import sign_in


@pytest.fixture(params=["files", "database"])
def store(request, app, tmp_path):
    return RawStore(tmp_path / "raw") if request.param == "files" else DatabaseRawStore(db.engine)


def test_both_stores_keep_the_exact_bytes_by_their_hash_and_say_what_is_missing(store):
    data = b"From: a@b.example\r\n\r\nBytes \x00\xff as received.\r\n"
    sha = sha256_hex(data)
    written = [store.put(sha, data), store.put(sha, data)]  # the same bytes twice: stored once
    store.make_durable(written)

    assert store.get(sha) == data and store.verify(sha) is None
    assert store.missing([sha, "0" * 64]) == ["0" * 64]
    assert list(store) == [sha]
    with pytest.raises(RawStoreError, match=f"raw message {'0' * 64} is missing"):
        store.get("0" * 64)


def test_a_damaged_row_is_named_by_verify(app):
    store = DatabaseRawStore(db.engine)
    data = b"Subject: invoice\r\n\r\nThe invoice.\r\n"
    store.make_durable([store.put(sha256_hex(data), data)])
    db.session.execute(update(RawBlob).values(data=b"Subject: 1nvoice\r\n\r\nThe 1nvoice.\r\n"))
    db.session.commit()

    assert store.verify(sha256_hex(data)).startswith(f"raw message {sha256_hex(data)} now hashes to ")


@pytest.fixture
def in_database(app, backend, tmp_path, request):
    """The same archive (database and instance folder) with RAW_STORE=database."""
    settings = app_settings(database_url(backend, tmp_path, request), tmp_path)
    other = create_app(settings | {"RAW_STORE": "database"})
    yield other
    with other.app_context():
        db.engine.dispose()


def test_an_archive_moves_into_the_database_resumes_and_is_read_from_there(app, cli, in_database):
    messages = [factories.archived(db.session, factories.message(n, body=f"Bearing {n} is loud."))
                for n in range(5)]
    factories.agent(db.session, "sam@desk.example")
    db.session.commit()

    moved = cli("archive", "migrate-store", "--to", "database")
    assert moved.exit_code == 0, moved.output
    assert "Copied 5 raw message(s) from" in moved.output and "0 were there already" in moved.output
    assert "Set RAW_STORE=database and restart" in moved.output

    # An interrupted move left two behind: the next run copies only those.
    db.session.execute(delete(RawBlob).where(RawBlob.sha256.in_([m.sha256 for m in messages[:2]])))
    db.session.commit()
    resumed = cli("archive", "migrate-store", "--to", "database")
    assert "Copied 2 raw message(s)" in resumed.output and "3 were there already" in resumed.output

    for path in Path(app.config["RAW_STORE_PATH"]).rglob("*"):  # the files are no longer read
        if path.is_file():
            path.unlink()
    with in_database.app_context():
        verified = in_database.test_cli_runner().invoke(args=["archive", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "All 5 raw messages match their sha256." in verified.output
    client = in_database.test_client()
    sign_in(client, "sam@desk.example")
    download = client.get(f"/messages/{messages[3].id}/raw")
    assert download.status_code == 200
    assert download.data == factories.message(3, body="Bearing 3 is loud.")


def test_bytes_that_no_longer_match_their_hash_are_not_copied_and_the_move_says_so(app, cli):
    message = factories.archived(db.session, factories.message(1, body="A cracked housing."))
    raw_file, = Path(app.config["RAW_STORE_PATH"]).rglob(message.sha256)
    raw_file.write_bytes(raw_file.read_bytes().replace(b"cracked", b"crackeD"))

    moved = cli("archive", "migrate-store", "--to", "database")

    assert moved.exit_code == 1
    assert f"{message.sha256}: raw message {message.sha256} hashes to " in moved.output
    assert "1 raw message(s) could not be copied" in moved.output
    assert db.session.scalar(select(RawBlob.sha256)) is None


def test_mail_archived_with_raw_store_database_is_verified_and_leaves_no_files(in_database):
    with in_database.app_context():
        message = factories.archived(db.session, factories.message(7, body="Straight into a row."))
        assert db.session.scalar(select(RawBlob.size).where(RawBlob.sha256 == message.sha256)) == message.size
        assert db.session.get(Message, message.id) is not None
        verified = in_database.test_cli_runner().invoke(args=["archive", "verify"])
    assert verified.exit_code == 0, verified.output
    assert not any(p.is_file() for p in Path(in_database.config["RAW_STORE_PATH"]).rglob("*"))
