"""Records as ``flask records import`` loads them and as staff may see them without a grant:
per kind a count and a byte total, computed in SQL; no content in any output or error.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import func, select

from app.access.rules import RECORD_KINDS
from app.models.record import RECORD_TABLES
from app.services.records import RecordKindSummary, record_summary
from tests import factories

SECRET_TITLE = "Zebra-Quartz renovation at Mrs Ødegård's"
RECORDS = {
    "account": "Acme Plumbing",
    "jobs": [{"title": SECRET_TITLE, "description": "Replace the boiler, €1 200", "price": 1200},
             {"title": "Gutter repair", "description": None}],
    "tasks": [{"title": "Order parts", "notes": "Ask for the blue valves"}],
    "todos": [{"text": "Call back 🙂"}],
    "employees": [{"name": "Jürgen Nachtigall", "email": "jn@acme.example", "notes": ""}],
}


def utf8_bytes(records: list[dict], fields: tuple[str, ...]) -> int:
    return sum(len((r.get(f) or "").encode()) for r in records for f in fields)


def write(tmp_path, data, name: str = "records.json"):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    return str(path)


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def one_error(result) -> str:
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return errors[0].removeprefix("Error: ")


def record_rows(session) -> int:
    session.rollback()
    return sum(session.scalar(select(func.count()).select_from(model)) for model, _ in RECORD_TABLES.values())


@pytest.fixture
def acme(session):
    return factories.account(session, "Acme Plumbing", domains=["acme.example"])


def test_records_import_adds_every_kind_and_the_summary_counts_records_and_utf8_bytes(
        app, session, acme, tmp_path):
    result = run(app, "records", "import", write(tmp_path, RECORDS))

    summary = record_summary(session, acme)

    assert result.exit_code == 0, result.output
    assert result.output == "Added to Acme Plumbing: 2 jobs, 1 tasks, 1 todos, 1 employees.\n"
    assert summary == [
        RecordKindSummary(kind, len(RECORDS[kind]), utf8_bytes(RECORDS[kind], fields))
        for kind, (_, fields) in RECORD_TABLES.items()
    ]
    assert summary[0].bytes == len(SECRET_TITLE.encode()) + 28 + len("Gutter repair")
    assert len(SECRET_TITLE.encode()) > len(SECRET_TITLE)  # bytes, not characters, are counted


def test_the_summary_counts_only_the_accounts_own_records(app, session, acme, tmp_path):
    other = factories.account(session, "Birch & Co", domains=["birch.example"])
    run(app, "records", "import", write(tmp_path, RECORDS))
    run(app, "records", "import", write(tmp_path, {"account": "Birch & Co", "todos": [{"text": "abc"}]}))

    assert [(s.kind, s.count, s.bytes) for s in record_summary(session, other)] == [
        ("jobs", 0, 0), ("tasks", 0, 0), ("todos", 1, 3), ("employees", 0, 0)]
    assert record_summary(session, acme)[2] == RecordKindSummary("todos", 1, len("Call back 🙂".encode()))


def test_an_account_without_records_has_zero_of_every_kind(session, acme):
    assert record_summary(session, acme) == [RecordKindSummary(k, 0, 0) for k in RECORD_KINDS]


def test_a_summary_carries_a_kind_a_count_and_bytes_and_nothing_else():
    assert [f.name for f in dataclasses.fields(RecordKindSummary)] == ["kind", "count", "bytes"]


def test_kinds_may_be_left_out_and_fields_not_listed_are_ignored(app, session, acme, tmp_path):
    data = {"account": "Acme Plumbing", "exported_at": "2026-11-01",
            "todos": [{"text": "Only this", "due": "tomorrow", "done": False}]}

    result = run(app, "records", "import", write(tmp_path, data))

    assert result.exit_code == 0, result.output
    assert [s.count for s in record_summary(session, acme)] == [0, 0, 1, 0]


def test_records_summary_prints_counts_and_bytes_but_no_content(app, session, acme, tmp_path):
    run(app, "records", "import", write(tmp_path, RECORDS))

    table = run(app, "records", "summary", "Acme Plumbing")
    as_json = run(app, "records", "summary", "Acme Plumbing", "--json")

    assert json.loads(as_json.stdout)[1] == {"kind": "tasks", "count": 1, "bytes": 34}
    assert table.output.splitlines()[0].split() == ["KIND", "COUNT", "BYTES"]
    for text in ("Zebra", "Jürgen", "Order parts", "Call back"):
        assert text not in table.output + as_json.output


def test_importing_twice_adds_the_records_twice(app, session, acme, tmp_path):
    path = write(tmp_path, RECORDS)
    run(app, "records", "import", path)
    run(app, "records", "import", path)

    assert [s.count for s in record_summary(session, acme)] == [4, 2, 2, 2]


BAD_FILES = {
    "invalid JSON": (b'{"account": "Acme Plumbing", "jobs": [{"title": "Zebra-Quartz"}',
                     "records.json is not valid JSON: Expecting ',' delimiter at line 1, column"),
    "not UTF-8": ('{"account": "Acme Plumbing", "todos": [{"text": "Zebra-Quartz Ødegård"}]}'
                  .encode("latin-1"), "records.json is not UTF-8 text"),
    "unknown account": ({"account": "Zebra-Quartz Inc", "todos": []},
                        "No account is named 'Zebra-Quartz Inc'"),
    "no account": ({"todos": [{"text": "Zebra-Quartz"}]}, "The file needs an \"account\""),
    "a list at the top": ([{"text": "Zebra-Quartz"}], "must hold a JSON object"),
    "a kind that is no list": ({"account": "Acme Plumbing", "jobs": {"title": "Zebra-Quartz"}},
                               "\"jobs\" must be a list of objects, not an object"),
    "a record that is no object": ({"account": "Acme Plumbing", "todos": ["Zebra-Quartz"]},
                                   "todos[0] must be an object, not text"),
    "a field that is no text": (
        {"account": "Acme Plumbing", "jobs": [{"title": "ok"}, {"title": ["Zebra-Quartz"]}]},
        "jobs[1].title must be text, not a list"),
    "a record without its main field": (
        {"account": "Acme Plumbing", "todos": [{"text": "fine"}],
         "employees": [{"email": "zebra-quartz@acme.example"}]},
        "employees[0] needs a non-empty \"name\""),
    "a NUL character": ({"account": "Acme Plumbing", "tasks": [{"title": "Zebra-Quartz\u0000"}]},
                        "tasks[0].title contains a NUL character"),
}


@pytest.mark.parametrize(("data", "phrase"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_import_file_fails_with_one_sentence_that_quotes_no_record_and_adds_nothing(
        app, session, acme, tmp_path, data, phrase):
    result = run(app, "records", "import", write(tmp_path, data))

    error = one_error(result)
    assert phrase in error
    if "account" not in phrase:
        assert "Zebra" not in result.output and "zebra" not in result.output
    assert record_rows(session) == 0


def test_a_missing_import_file_is_named_in_the_error(app, tmp_path):
    result = run(app, "records", "import", str(tmp_path / "nowhere.json"))

    assert "does not exist" in one_error(result)
