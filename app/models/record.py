"""An account's business and personal records: jobs, tasks, todos and employees.

Their content is shown to staff only under a grant (a later issue); without one, staff
see per kind how many records there are and how many bytes their text holds.
``RECORD_TABLES`` gives each kind (named in ``app.access.rules``) its model and its text
fields, so counting and importing stay in step with the tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.access.rules import EMPLOYEES, JOBS, TASKS, TODOS
from app.extensions import db
from app.models.time import utcnow


class _Record:
    """Columns every record kind has: the account it belongs to and when it was created."""

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(_Record, db.Model):
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")


class Task(_Record, db.Model):
    title: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")


class Todo(_Record, db.Model):
    text: Mapped[str] = mapped_column(Text, default="")


class Employee(_Record, db.Model):
    name: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")


# kind -> (model, text fields); the first field is the one a record cannot do without.
RECORD_TABLES: dict[str, tuple[type[db.Model], tuple[str, ...]]] = {
    JOBS: (Job, ("title", "description")),
    TASKS: (Task, ("title", "notes")),
    TODOS: (Todo, ("text",)),
    EMPLOYEES: (Employee, ("name", "email", "notes")),
}
