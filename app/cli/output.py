"""Printing helpers shared by the commands: JSON, tables, progress bars on standard error."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable

import click


def echo_json(data) -> None:
    """Print data as indented JSON on standard output."""
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def echo_table(rows: Iterable[dict], columns: list[str], empty: str | None = None) -> None:
    """Print rows as aligned columns with a header line; with no rows, the ``empty`` sentence if given."""
    rows = list(rows)
    if not rows and empty:
        click.echo(empty)
        return
    rows = [{c: "" if r.get(c) is None else str(r.get(c)) for c in columns} for r in rows]
    widths = {c: max([len(c), *(len(r[c]) for r in rows)]) for c in columns}
    click.echo("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for row in rows:
        click.echo("  ".join(row[c].ljust(widths[c]) for c in columns).rstrip())


def progressbar(length: int, label: str):
    """Return a progress bar on standard error, so standard output stays machine-readable."""
    return click.progressbar(length=length, label=label, file=sys.stderr,
                             show_pos=True, show_eta=True)
