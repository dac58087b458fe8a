"""The guards views call, one per kind of permission. Each answers 403 with a sentence
saying what is needed, and each asks at this very request: nothing is cached, so a
revocation, an expiry or a change of role takes effect at the agent's next request.

- ``require_role``: staff pages by role (administration, management, exports);
- ``require_grant``: record content, under a grant the customer gave
  (``app.access.rules.grant_in_force`` with the account's grants and the clock);
- ``require_consent``: an account's data leaving for someone outside the support team,
  under a consent the customer gave (``app.access.rules.consent_for``). A refusal is
  written to the audit log before the 403.
"""

from __future__ import annotations

from collections.abc import Collection

from flask import abort
from flask_login import current_user
from werkzeug.exceptions import Forbidden

from app.access import consents
from app.access.queries import consent_in_force_for, grant_for
from app.access.rules import KIND_SCOPE
from app.extensions import db
from app.models import AccessRequest, Account, Consent
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


class ConsentRequired(Forbidden):
    """403: no consent in force lets this content go to this recipient. A view that can show
    the sentence beside its form catches it; uncaught, it is the 403 page."""


def require_consent(account: Account, recipient: str, content_kind: str, content_ref: str,
                    what: str) -> Consent:
    """Return the consent that lets ``what`` of the account go to ``recipient`` now, or raise
    ``ConsentRequired``.

    The refusal is audited and committed first: the log shows every sharing that was tried.
    """
    agent = current_user._get_current_object()
    consent = consent_in_force_for(db.session, account.id, recipient, content_kind, content_ref, now())
    if consent is None:
        consents.note_refusal(db.session, agent, account, f"{what} to {recipient}", "no consent in force",
                              now())
        db.session.commit()
        sentence = (f"{what} cannot go to {recipient}: that address is outside {account.name} and the "
                    f"support team, and no consent of {account.name}'s contacts allows it. Ask for their "
                    "consent first; it names the recipient, the content and the purpose.")
        raise ConsentRequired(description=sentence[:1].upper() + sentence[1:])
    return consent
