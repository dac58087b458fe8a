"""The one clock helper: every stored time is naive UTC (SQLite keeps no zone)."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time as naive UTC, the form every column stores."""
    return datetime.now(UTC).replace(tzinfo=None)
