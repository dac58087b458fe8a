"""``flask access list`` and ``flask access revoke`` for operators."""

from __future__ import annotations

import json

from app.access import grants
from app.models import AccessRequest, AccessToken
from app.models.time import utcnow
from tests import factories


def granted(session, agent, account) -> AccessRequest:
    request, _ = grants.request_access(session, agent, account, "business", "Export check", 4, utcnow(),
                                       grants.AccessSettings())
    token = session.query(AccessToken).filter_by(request_id=request.id).one()
    grants.decide(session, token, True, 1, utcnow(), grants.AccessSettings())
    session.commit()
    return request


def test_operators_list_requests_and_revoke_a_grant(app, session, cli):
    app.config["SMTP_URL"] = None  # notices cannot be sent: revoking must work all the same
    sam = factories.agent(session)
    acme = factories.account(session, "Acme", domains=["acme.example"], approvers=["boss@acme.example"])
    request = granted(session, sam, acme)

    listed = json.loads(cli("access", "list", "--account", "Acme", "--json").output)
    assert [(r["id"], r["state"], r["agent"]) for r in listed] == [(request.id, "active", "sam@desk.example")]
    assert "Export check" not in json.dumps(listed)

    result = cli("access", "revoke", str(request.id))
    assert result.exit_code == 0 and f"Grant {request.id} revoked" in result.output
    session.expire_all()
    assert grants.describe(session.get(AccessRequest, request.id), utcnow()).startswith("revoked at")
    again = cli("access", "revoke", str(request.id))
    assert again.exit_code == 1 and "is not active" in again.output
    missing = cli("access", "revoke", "999")
    assert missing.exit_code == 1 and "There is no access request 999" in missing.output
