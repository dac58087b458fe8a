"""Changing a row only while it is still in the state the change starts from.

Two people acting on one thing at once (two approvers deciding, an approver revoking
while the agent ends the grant, two sign-ins with one code) must not both win. Each such
change is one UPDATE whose WHERE clause names the state it starts from: the database
applies it to the row once, and whoever comes second changes nothing and is told so.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session


def change_if(session: Session, row, conditions, **values) -> bool:
    """Update ``row`` with ``values`` only while ``conditions`` hold; say whether it did.

    Either way ``row`` then shows the row as it stands, so a loser can say who won. The
    winner holds the row's lock until its transaction ends.
    """
    model = type(row)
    session.flush()
    changed = session.execute(
        update(model).where(model.id == row.id, *conditions).values(**values)
        .execution_options(synchronize_session=False)).rowcount == 1
    session.refresh(row)
    return changed
