"""The administration forms; Flask-WTF adds a CSRF token to each, and refuses a POST without one.

The forms check only the shape of what is typed (present, not too long); every rule of
the desk (addresses, roles, domains, the last administrator) is the services' to check,
so the browser and the command line refuse the same things in the same words.
"""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from app.access.rules import AGENT, ROLE_WORDS, ROLES
from app.i18n import lazy_gettext

ROLE_CHOICES = [SelectChoice(role, ROLE_WORDS[role]) for role in ROLES]


class ButtonForm(FlaskForm):
    """A button that acts on the page's agent or account: only the CSRF token is sent."""


class InviteForm(FlaskForm):
    email = StringField(lazy_gettext("Email address"),
                        validators=[DataRequired(lazy_gettext("Give the agent's email address.")),
                                    Length(max=320)])
    name = StringField(lazy_gettext("Name"),
                       validators=[DataRequired(lazy_gettext("Give the agent's name.")), Length(max=200)])
    # Any value reaches the service, which names the roles when it refuses one.
    role = SelectField(lazy_gettext("Role"), choices=ROLE_CHOICES, default=AGENT, validate_choice=False)
    submit = SubmitField(lazy_gettext("Invite"))


class RoleForm(FlaskForm):
    role = SelectField(lazy_gettext("Role"), choices=ROLE_CHOICES, validate_choice=False,
                       validators=[DataRequired(lazy_gettext("Choose a role."))])
    submit = SubmitField(lazy_gettext("Change role"))


class AccountForm(FlaskForm):
    name = StringField(lazy_gettext("Name"),
                       validators=[DataRequired(lazy_gettext("Give the account's name.")), Length(max=200)])
    submit = SubmitField(lazy_gettext("Add account"))


class RenameForm(FlaskForm):
    name = StringField(lazy_gettext("Name"),
                       validators=[DataRequired(lazy_gettext("Give the account's name.")), Length(max=200)])
    submit = SubmitField(lazy_gettext("Rename"))


class DomainForm(FlaskForm):
    domain = StringField(lazy_gettext("Mail domain"),
                         validators=[DataRequired(lazy_gettext("Give a mail domain (for example: "
                                                               "example.com).")), Length(max=253)])
    submit = SubmitField(lazy_gettext("Add domain"))


class ContactForm(FlaskForm):
    contact = StringField(lazy_gettext("Email address"),
                          validators=[DataRequired(lazy_gettext("Give the contact's email address.")),
                                      Length(max=320)])
    approver = BooleanField(lazy_gettext("May approve access requests"))
    submit = SubmitField(lazy_gettext("Add contact"))


class ApproversForm(FlaskForm):
    # Choices are the account's contacts, filled in by the view.
    approvers = SelectMultipleField(lazy_gettext("Approvers"), choices=[], validate_choice=False,
                                    widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    submit = SubmitField(lazy_gettext("Save approvers"))


class ContactLanguageForm(FlaskForm):
    contact = HiddenField(validators=[DataRequired(lazy_gettext("Say which contact's language to set."))])
    # Choices are the languages with a catalogue, filled in by the view.
    language = SelectField(lazy_gettext("Language"), choices=[], validate_choice=False)
    submit = SubmitField(lazy_gettext("Save language"))


class RemoveDomainForm(FlaskForm):
    domain = HiddenField(validators=[DataRequired(lazy_gettext("Say which domain to remove."))])
    submit = SubmitField(lazy_gettext("Remove"))


class RemoveContactForm(FlaskForm):
    contact = HiddenField(validators=[DataRequired(lazy_gettext("Say which contact to remove."))])
    submit = SubmitField(lazy_gettext("Remove"))


class PolicyForm(FlaskForm):
    text = TextAreaField(lazy_gettext("The new version's full text"))
    summary = TextAreaField(lazy_gettext("What changed (the notice email and the public page say this)"))
    # A string, not a DateField: the service reads the day and refuses a wrong one in its own
    # sentence, the same as `flask policy publish --effective`.
    effective = StringField(lazy_gettext("Takes effect on (a UTC day)"))
    submit = SubmitField(lazy_gettext("Publish this version"))
