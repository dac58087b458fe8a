"""Access-matrix rows for mailbox administration: (endpoint, method) -> who -> outcome.

Administrators only: managers and agents are refused with 403, and anyone not signed in
(or disabled) is sent to sign in. POSTs carry a valid CSRF token and an empty form, on a
mailbox whose server is not there: adding with no kind shows the choice of kinds, an
empty edit or folder choice shows the form again with what is wrong, the connection test
shows its steps, and pausing and resuming answer with the mailbox page.
"""

ADMIN_ONLY = {"anonymous": "login", "disabled": "login", "agent": 403, "manager": 403}


def admins(outcome) -> dict:
    return {**ADMIN_ONLY, "admin": outcome}


MAILBOX_ROUTES: dict = {
    ("admin.mailboxes_list", "GET"): admins(200),
    ("admin.new_mailbox", "GET"): admins(200),
    ("admin.new_mailbox", "POST"): admins(200),
    ("admin.mailbox", "GET"): admins(200),
    ("admin.edit_mailbox", "GET"): admins(200),
    ("admin.edit_mailbox", "POST"): admins(200),
    ("admin.test_mailbox", "POST"): admins(200),
    ("admin.pause_mailbox", "POST"): admins("redirect"),
    ("admin.resume_mailbox", "POST"): admins("redirect"),
    ("admin.mailbox_folders", "GET"): admins(200),
    ("admin.mailbox_folders", "POST"): admins(200),
}
