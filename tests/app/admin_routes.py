"""Access-matrix rows for the administration pages and the password link page:
(endpoint, method) -> who -> outcome.

Only administrators reach administration: agents and managers get 403 on every route,
anyone not signed in (or disabled) is sent to sign in. A POST here carries a valid CSRF
token and an empty form: a form that needs input answers 400 with its errors, a button
acts and redirects. The password link page answers 400 to everyone for the world's
made-up token, never a sign-in redirect.
"""

REDIRECT = "redirect"


def admins_only(outcome):
    return {"anonymous": "login", "disabled": "login", "agent": 403, "manager": 403, "admin": outcome}


ADMIN_ROUTES: dict = {
    ("admin.home", "GET"): admins_only(REDIRECT),
    ("admin.agents", "GET"): admins_only(200),
    ("admin.agent", "GET"): admins_only(200),
    ("admin.invite_agent", "POST"): admins_only(400),
    ("admin.set_role", "POST"): admins_only(400),
    ("admin.disable", "POST"): admins_only(REDIRECT),
    ("admin.enable", "POST"): admins_only(REDIRECT),
    # The world's agent has a password, so there is no invitation to send again; the reset
    # link is written to the development outbox folder (SMTP_URL=file://...).
    ("admin.resend_invitation", "POST"): admins_only(400),
    ("admin.reset_password", "POST"): admins_only(REDIRECT),
    ("admin.reset_two_factor", "POST"): admins_only(REDIRECT),
    ("admin.accounts", "GET"): admins_only(200),
    ("admin.account", "GET"): admins_only(200),
    ("admin.add_account", "POST"): admins_only(400),
    ("admin.rename_account", "POST"): admins_only(400),
    ("admin.add_domain", "POST"): admins_only(400),
    ("admin.remove_domain", "POST"): admins_only(400),
    ("admin.add_contact", "POST"): admins_only(400),
    ("admin.remove_contact", "POST"): admins_only(400),
    ("admin.set_contact_language", "POST"): admins_only(400),
    # No contact ticked: the account is left without approvers.
    ("admin.choose_approvers", "POST"): admins_only(REDIRECT),
    # The world's mailbox signs in with a password: nothing to connect, back to its page.
    ("admin.connect_mailbox", "POST"): admins_only(REDIRECT),
    # No sign-in was begun in this session: the page says so.
    ("admin.oauth_callback", "GET"): admins_only(400),
    # Mailboxes, on a paused mailbox whose server is not there: adding with no kind shows the
    # choice of kinds, an empty edit or folder choice shows the form again with what is wrong,
    # the connection test shows its steps, and pausing and resuming answer with its page.
    ("admin.mailboxes_list", "GET"): admins_only(200),
    ("admin.new_mailbox", "GET"): admins_only(200),
    ("admin.new_mailbox", "POST"): admins_only(200),
    ("admin.mailbox", "GET"): admins_only(200),
    ("admin.edit_mailbox", "GET"): admins_only(200),
    ("admin.edit_mailbox", "POST"): admins_only(200),
    ("admin.test_mailbox", "POST"): admins_only(200),
    ("admin.pause_mailbox", "POST"): admins_only(REDIRECT),
    ("admin.resume_mailbox", "POST"): admins_only(REDIRECT),
    ("admin.mailbox_folders", "GET"): admins_only(200),
    ("admin.mailbox_folders", "POST"): admins_only(200),
    # The privacy policy: an empty form publishes nothing and says what is missing.
    ("admin.policy", "GET"): admins_only(200),
    ("admin.publish_policy", "POST"): admins_only(400),
    # Response targets: the desk's form needs a time zone and each day's hours; an account's
    # empty form means "as the desk" and is saved; clearing an account's settings redirects.
    ("admin.targets", "GET"): admins_only(200),
    ("admin.save_targets", "POST"): admins_only(400),
    ("admin.account_targets", "GET"): admins_only(200),
    ("admin.account_targets", "POST"): admins_only(REDIRECT),
    ("admin.clear_account_targets", "POST"): admins_only(REDIRECT),
}

EVERYONE = ("anonymous", "agent", "manager", "admin", "disabled")

PASSWORD_LINK_ROUTES: dict = {
    ("password.set_password", "GET"): dict.fromkeys(EVERYONE, 400),
    ("password.set_password", "POST"): dict.fromkeys(EVERYONE, 400),
}
