"""Access-matrix rows for the management pages: (endpoint, method) -> who -> outcome.

Managers and administrators see the dashboard, the audit log and its CSV export, and the
privacy policy's notices;
agents are refused with 403, and anyone not signed in (or disabled) is sent to sign in.
"""

MANAGERS_ONLY = {"anonymous": "login", "disabled": "login", "agent": 403, "manager": 200, "admin": 200}

MANAGE_ROUTES: dict = {
    ("manage.dashboard", "GET"): dict(MANAGERS_ONLY),
    ("manage.audit_entries", "GET"): dict(MANAGERS_ONLY),
    # Without saying who it is for, the export sends the browser to the question first.
    ("manage.audit_csv", "GET"): {**MANAGERS_ONLY, "manager": "redirect", "admin": "redirect"},
    ("manage.policy_versions", "GET"): dict(MANAGERS_ONLY),
    ("manage.policy_notices", "GET"): dict(MANAGERS_ONLY),
}
