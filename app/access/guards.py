"""Flask glue for the policy: the one guard every view that shows record content calls.

``require_grant`` asks ``app.access.policy`` with the signed-in agent, the account, the
scope, the account's grants and the clock, and answers 403 unless a grant is in force
at this very request. Nothing is cached: a revocation or an expiry takes effect at the
agent's next request.
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from app.access.policy import KIND_SCOPE
from app.extensions import db
from app.models import AccessRequest
from app.runtime import now
from app.services.access import grant_for


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
