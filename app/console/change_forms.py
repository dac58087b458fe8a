"""Forms of moving, merging, linking and undoing; Flask-WTF adds and checks each one's CSRF token."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, NumberRange

from app.ids import MAX_ID

NEW_ACCOUNT = "new"
CHOOSE = lazy_gettext("Choose an account to link the message to.")


class MoveForm(FlaskForm):
    ticket = IntegerField(lazy_gettext("Move to ticket"),
                          validators=[InputRequired(), NumberRange(min=1, max=MAX_ID)])
    submit = SubmitField(lazy_gettext("Move the message"))


class MergeForm(FlaskForm):
    into = IntegerField(lazy_gettext("Merge into ticket"),
                        validators=[InputRequired(), NumberRange(min=1, max=MAX_ID)])
    submit = SubmitField(lazy_gettext("Merge the tickets"))


class LinkForm(FlaskForm):
    # Starts on the empty choice: an agent picks an account on purpose, never by default.
    account = SelectField(lazy_gettext("Link to account"), choices=[], validate_choice=True,
                          validators=[DataRequired(message=CHOOSE)])
    # Set by the confirmation page once the agent has read that the domains differ.
    confirmed = HiddenField()
    submit = SubmitField(lazy_gettext("Link"))


def link_choices(accounts: list[dict], domain: str) -> list[SelectChoice]:
    """Return the choices of a link: none yet, a new account from the sender's domain, each account."""
    new = (_("New account from this sender's domain (%(domain)s)", domain=domain) if domain
           else _("New account from this sender's domain"))
    return [SelectChoice("", _("Choose an account")), SelectChoice(NEW_ACCOUNT, new),
            *(SelectChoice(str(a["id"]), a["name"]) for a in accounts)]
