"""Row ids as they arrive in addresses, query strings and forms.

A number past what the database's integer columns hold is no id of anything: SQLite
refuses to bind it (OverflowError) and PostgreSQL would compare it in vain, so such a
number answers 404 like any other id that names nothing, rather than 500.
"""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

# The largest signed 64-bit integer: SQLite's INTEGER, and beyond PostgreSQL's too.
MAX_ID = 2**63 - 1


class IdConverter(IntegerConverter):
    """Werkzeug's ``int`` converter, matching only numbers a database can hold."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 (werkzeug's parameter name)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def row_id(value: str) -> int:
    """Read an id from a query string or a form; raise ``ValueError`` for anything that names no row."""
    number = int(value)
    if not 0 < number <= MAX_ID:
        raise ValueError(f"{value} is no row id")
    return number
