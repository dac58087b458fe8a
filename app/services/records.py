"""An account's records: importing them from a JSON file, and summarising them without content.

The summary is computed in SQL and returns per kind only a count and a byte total (the
UTF-8 length of the text fields), never a value. Import errors name a position in the
file (``jobs[3].title``) and a JSON type, never what the record says.
"""

from __future__ import annotations

import json
import operator
from dataclasses import dataclass
from functools import reduce

from sqlalchemy import Integer, String, func, literal, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from app.access.rules import RECORD_KINDS
from app.models import Account
from app.models.record import RECORD_TABLES
from app.services.accounts import account_named
from app.services.errors import ServiceError


@dataclass(frozen=True)
class RecordKindSummary:
    kind: str
    count: int
    bytes: int


class utf8_length(FunctionElement):
    """The length of a text value in bytes of UTF-8 (the databases' encoding)."""

    type = Integer()
    inherit_cache = True


@compiles(utf8_length)
def _octet_length(element, compiler, **kw) -> str:
    return f"octet_length({compiler.process(element.clauses, **kw)})"


@compiles(utf8_length, "sqlite")
def _sqlite_byte_length(element, compiler, **kw) -> str:
    # SQLite's length() counts characters of text but bytes of a blob; octet_length()
    # arrived only in SQLite 3.43.
    return f"length(CAST({compiler.process(element.clauses, **kw)} AS BLOB))"


def record_summary(session: Session, account: Account) -> list[RecordKindSummary]:
    """Return, per record kind, how many records the account has and the bytes their text holds."""
    totals = {kind: (0, 0) for kind in RECORD_KINDS}
    for kind, count, size in session.execute(union_all(*(
        _kind_totals(kind, account.id) for kind in RECORD_KINDS
    ))):
        totals[kind] = (int(count), int(size))
    return [RecordKindSummary(kind, *totals[kind]) for kind in RECORD_KINDS]


def _kind_totals(kind: str, account_id: int):
    model, fields = RECORD_TABLES[kind]
    size = reduce(operator.add, (func.coalesce(utf8_length(getattr(model, f)), 0) for f in fields))
    return select(
        literal(kind, String).label("kind"),
        func.count(model.id).label("count"),
        func.coalesce(func.sum(size), 0).label("bytes"),
    ).where(model.account_id == account_id)


def parse_import_file(raw: bytes, name: str) -> object:
    """Decode an import file's bytes as UTF-8 JSON, or say where it is broken."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ServiceError(f"{name} is not UTF-8 text (byte {exc.start} cannot be decoded)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # exc.msg describes the syntax only ("Expecting ',' delimiter"), never the text.
        raise ServiceError(f"{name} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                           f"column {exc.colno}")


def import_records(session: Session, data: object) -> tuple[Account, dict[str, int]]:
    """Add the records of a parsed import file to its account; return how many per kind.

    Everything is checked before anything is added, so a bad file adds nothing.
    """
    account = _import_account(session, data)
    rows = {kind: _kind_rows(kind, data.get(kind)) for kind in RECORD_KINDS}
    for kind, values in rows.items():
        model = RECORD_TABLES[kind][0]
        session.add_all(model(account_id=account.id, **fields) for fields in values)
    session.flush()
    return account, {kind: len(values) for kind, values in rows.items()}


def _import_account(session: Session, data: object) -> Account:
    if not isinstance(data, dict):
        raise ServiceError(f"the file must hold a JSON object with an \"account\", not {_type(data)}")
    name = data.get("account")
    if not isinstance(name, str) or not name.strip():
        raise ServiceError("the file needs an \"account\": the name of an existing account")
    return account_named(session, name.strip())


def _kind_rows(kind: str, items: object) -> list[dict[str, str]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise ServiceError(f"\"{kind}\" must be a list of objects, not {_type(items)}")
    return [_record_fields(kind, n, item) for n, item in enumerate(items)]


def _record_fields(kind: str, n: int, item: object) -> dict[str, str]:
    """Return the known text fields of one record; other fields are ignored."""
    if not isinstance(item, dict):
        raise ServiceError(f"{kind}[{n}] must be an object, not {_type(item)}")
    fields = RECORD_TABLES[kind][1]
    values = {field: _text(kind, n, field, item.get(field)) for field in fields}
    if not values[fields[0]].strip():
        raise ServiceError(f"{kind}[{n}] needs a non-empty \"{fields[0]}\"")
    return values


def _text(kind: str, n: int, field: str, value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ServiceError(f"{kind}[{n}].{field} must be text, not {_type(value)}")
    if "\x00" in value:
        # PostgreSQL cannot store NUL in text; refuse it on SQLite too, so both agree.
        raise ServiceError(f"{kind}[{n}].{field} contains a NUL character, which cannot be stored")
    return value


def _type(value: object) -> str:
    """Name a JSON value's type, never its content."""
    names = {dict: "an object", list: "a list", str: "text", bool: "true or false",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), "something else")


def read_records(session: Session, account_id: int, kind: str) -> list:
    """Return the account's records of one kind. Only views behind ``require_grant`` call this."""
    model = RECORD_TABLES[kind][0]
    return list(session.scalars(select(model).where(model.account_id == account_id).order_by(model.id)))


def read_record(session: Session, account_id: int, kind: str, record_id: int):
    """Return one record of the account, or None. Only views behind ``require_grant`` call this."""
    model = RECORD_TABLES[kind][0]
    record = session.get(model, record_id)
    return record if record is not None and record.account_id == account_id else None
