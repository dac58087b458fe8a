"""The guards views call, one per kind of permission. Each answers 403 with a sentence
saying what is needed, and each asks at this very request: nothing is cached, so a
revocation, an expiry or a change of role takes effect at the agent's next request.

- ``require_role``: staff pages by role (administration, management, exports);
- ``require_grant``: record content, under a grant the customer gave
  (``app.access.rules.grant_in_force`` with the account's grants and the clock).
"""

from __future__ import annotations

from collections.abc import Collection

from flask import abort
from flask_login import current_user

from app.access.queries import grant_for
from app.access.rules import KIND_SCOPE
from app.extensions import db
from app.models import AccessRequest
from app.runtime import now


def require_role(roles: Collection[str], refusal: str) -> None:
    """Abort 403 with ``refusal`` unless the signed-in agent has one of ``roles``."""
    if not current_user.is_authenticated or current_user.role not in roles:
        abort(403, description=refusal)


def require_grant(account_id: int, kind: str) -> AccessRequest:
    """Return the grant that lets the signed-in agent open this kind of record now, or abort 403."""
    scope = KIND_SCOPE.get(kind)
    if scope is None or not current_user.is_authenticated:
        abort(403)
    grant = grant_for(db.session, current_user._get_current_object(), account_id, scope, now())
    if grant is None:
        abort(403, description="These records need the customer's permission: request access on the "
                               "account page. A grant that was revoked or has expired no longer opens them.")
    return grant
