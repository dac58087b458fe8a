"""The forms of mailbox administration. They only carry what was typed: the checks, and
their sentences, are the service's (``app.services.mailboxes``), the same as the CLI's.
Flask-WTF adds the CSRF token.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from app.i18n import lazy_gettext
from app.services.oauth import OAuthSettings

SECURITY = [SelectChoice("", lazy_gettext("the provider's (for Microsoft 365 and Google)")),
            SelectChoice("ssl", lazy_gettext("TLS (usually port 993)")),
            SelectChoice("starttls", lazy_gettext("STARTTLS (usually port 143)")),
            SelectChoice("none", lazy_gettext("none (only on a trusted network)"))]
MECHANISM = [SelectChoice("", lazy_gettext("XOAUTH2 (the usual)")), SelectChoice("XOAUTH2", "XOAUTH2"),
             SelectChoice("OAUTHBEARER", "OAUTHBEARER")]
# Which field a service sentence is about, by the words it uses; anything else shows on top.
_FIELD_WORDS = (
    ("environment variable", "password_env"), ("client id", "client_id"), ("client secret", "client_secret"),
    ("tenant", "tenant"), ("authorization endpoint", "authorize_url"), ("token endpoint", "token_url"),
    ("device authorisation endpoint", "device_url"), ("scopes", "scopes"), ("SASL", "mechanism"),
    ("host name", "host"), ("TCP port", "port"), ("security", "security"), ("username", "username"),
    ("folder", "folders"), ("mailbox name", "name"), ("needs a name", "name"), ("a mailbox named", "name"),
)


class MailboxForm(FlaskForm):
    kind = HiddenField()
    name = StringField(lazy_gettext("Name (how the desk calls this mailbox)"))
    username = StringField(lazy_gettext("Username (the address it signs in as)"))
    host = StringField(lazy_gettext("IMAP host"))
    port = IntegerField(lazy_gettext("Port"), validators=[Optional()])
    security = SelectField(lazy_gettext("Security"), choices=SECURITY, default="")
    password_env = StringField(lazy_gettext("Environment variable holding the password"))
    client_id = StringField(lazy_gettext("Client id (application id)"))
    client_secret = PasswordField(lazy_gettext("Client secret"))
    tenant = StringField(lazy_gettext("Tenant (a domain, a tenant id, or organizations)"),
                         default="organizations")
    authorize_url = StringField(lazy_gettext("Authorization endpoint"))
    token_url = StringField(lazy_gettext("Token endpoint"))
    device_url = StringField(lazy_gettext("Device authorisation endpoint (optional)"))
    scopes = StringField(lazy_gettext("Scopes (separated by spaces)"))
    mechanism = SelectField(lazy_gettext("SASL mechanism"), choices=MECHANISM, default="")
    smtp_host = StringField(lazy_gettext("SMTP host for replies (optional)"))
    smtp_port = IntegerField(lazy_gettext("SMTP port"), validators=[Optional()])
    smtp_security = SelectField(lazy_gettext("SMTP security"), choices=SECURITY, default="")
    folders = TextAreaField(lazy_gettext("Folders to archive (one a line)"), default="INBOX")
    submit = SubmitField(lazy_gettext("Save"))

    def oauth_settings(self) -> OAuthSettings | None:
        """Return the OAuth2 application typed in, for OAuth2 kinds."""
        if self.kind.data == "password":
            return None
        return OAuthSettings(client_id=self.client_id.data or "",
                             client_secret=self.client_secret.data or None,
                             tenant=self.tenant.data or "organizations",
                             authorize_url=self.authorize_url.data, token_url=self.token_url.data,
                             device_url=self.device_url.data, scopes=self.scopes.data or None,
                             mechanism=self.mechanism.data or None)

    def folder_names(self) -> list[str]:
        return [line.strip() for line in (self.folders.data or "").splitlines() if line.strip()]

    def show_problem(self, text: str) -> bool:
        """Put a service sentence beside the field it is about; tell whether one was found."""
        for words, field in _FIELD_WORDS:
            if words.lower() in text.lower():
                self[field].errors = [*self[field].errors, text]
                return True
        return False


class FolderChoiceForm(FlaskForm):
    """The folders chosen among the server's; the checkboxes are drawn by the template."""

    confirm_removal = BooleanField(lazy_gettext("Yes, stop archiving the unchecked folders"))
    submit = SubmitField(lazy_gettext("Save folders"))


class ActionForm(FlaskForm):
    """A button that only posts (pause, resume, test): the CSRF token and nothing else."""
