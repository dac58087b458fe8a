"""The search index in PostgreSQL, shared by every machine (SEARCH_BACKEND=postgresql).

Two applications with instance folders of their own stand for two machines on one
database: what one archives, the other finds at once, without a worker and without a
folder of its own; the archiving transaction is the indexing transaction.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import Message
from app.search.query import matching_ids
from app.services.indexing import documents_for, index_pending
from config import ConfigError
from mailbox.ingest import Archiver, Seen
from tests import factories
from tests.conftest import app_settings, fresh_schema
from tests.web import sign_in


@pytest.fixture
def machines(postgres_schema_url, tmp_path):
    """Two applications on one PostgreSQL database, each with its own instance folder."""
    first, second = (create_app(app_settings(postgres_schema_url, tmp_path / name, "postgresql"))
                     for name in ("one", "two"))
    fresh_schema(first)
    yield first, second
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()


def found(client, words: str) -> int:
    page = client.get("/search", query_string={"q": words}).text
    total = re.search(r"<strong>([\d,]+)</strong> messages? match", page)
    return int(total.group(1).replace(",", "")) if total else 0


def test_mail_archived_on_one_machine_is_found_on_the_other_when_its_transaction_commits(machines):
    one, two = machines
    with two.app_context():
        factories.agent(db.session, "sam@desk.example")
        db.session.commit()
    client = two.test_client()
    sign_in(client, "sam@desk.example")
    with one.app_context():
        archiver = Archiver(db.session, one.extensions["raw_store"], tag_prefix="SD")
        raw = factories.message(1, subject="Boiler", body="The flange gasket leaks again.")
        archiver.archive([(raw, Seen(source="test:one"))])
        db.session.flush()
        assert found(client, "gasket") == 0  # archived, not committed: nobody sees it yet
        db.session.commit()
        assert found(client, "gasket leaks") == 1  # no worker ran: it was indexed in that commit
        message = db.session.scalar(select(Message))
        assert message.indexed_at is not None
    assert not Path(two.config["INDEX_PATH"]).exists()  # no index folder on either machine
    assert not Path(one.config["INDEX_PATH"]).exists()


def test_an_indexing_failure_leaves_the_archive_committed_and_the_message_queued(machines, monkeypatch):
    one, _ = machines
    index = one.extensions["search_index"]

    def broken(*args, **kwargs):
        raise RuntimeError("the search tables are locked")

    with one.app_context():
        monkeypatch.setattr(index, "write", broken)
        message = factories.archived(db.session, factories.message(2, body="A pump that hums."))
        assert message.indexed_at is None  # waits in the queue; the worker indexes it
        monkeypatch.undo()
        assert matching_ids(index, "pump") == []
        assert index_pending(db.session, index) == 1
        assert matching_ids(index, "pump") == [message.id]


def test_check_and_reindex_work_on_the_shared_tables(machines):
    one, two = machines
    with one.app_context():
        for n in range(3):
            factories.archived(db.session, factories.message(n, body=f"Valve number {n} sticks."))
        ids = sorted(db.session.scalars(select(Message.id)))
    check = two.test_cli_runner().invoke(args=["search", "check"])
    assert check.exit_code == 0, check.output
    assert "3 messages in both" in check.output
    with two.app_context():  # a stray document, as a message removed by hand would leave
        stray = replace(documents_for(db.session, ids[:1])[0], id=999_999)
        two.extensions["search_index"].write([stray])
    assert two.test_cli_runner().invoke(args=["search", "check"]).exit_code == 1
    rebuilt = one.test_cli_runner().invoke(args=["search", "reindex"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "Rebuilt the index in the database" in rebuilt.output and "from 3 message(s)" in rebuilt.output
    assert two.test_cli_runner().invoke(args=["search", "check"]).exit_code == 0
    with two.app_context():
        assert sorted(matching_ids(two.extensions["search_index"], "valve")) == ids


@pytest.mark.parametrize(("settings", "sentence"), [
    ({"SEARCH_BACKEND": "elastic"}, "SEARCH_BACKEND must be whoosh or postgresql, not 'elastic'"),
    ({"SEARCH_BACKEND": "postgresql", "SQLALCHEMY_DATABASE_URI": "sqlite://"},
     "SEARCH_BACKEND=postgresql keeps the index in the database, so DATABASE_URL must name a "
     "PostgreSQL database"),
])
def test_a_search_backend_that_cannot_run_is_refused_in_one_sentence(tmp_path, settings, sentence):
    with pytest.raises(ConfigError) as refused:
        create_app(app_settings("sqlite://", tmp_path) | settings)
    assert str(refused.value) == sentence


def test_a_second_reindex_anywhere_is_refused_while_one_runs(machines):
    one, two = machines
    with one.app_context(), one.extensions["search_index"].rebuilding():  # a rebuild on machine one
        refused = two.test_cli_runner().invoke(args=["search", "reindex"])
    assert refused.exit_code == 1
    assert "Error: Another `flask search reindex` is running; let it finish." in refused.output
    assert two.test_cli_runner().invoke(args=["search", "reindex"]).exit_code == 0  # and once it ended
