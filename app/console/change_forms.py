"""Forms of moving, merging, linking and undoing; Flask-WTF adds and checks each one's CSRF token."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, NumberRange

from app.ids import MAX_ID

NEW_ACCOUNT = "new"
CHOOSE = "Choose an account to link the message to."


class MoveForm(FlaskForm):
    ticket = IntegerField("Move to ticket", validators=[InputRequired(), NumberRange(min=1, max=MAX_ID)])
    submit = SubmitField("Move the message")


class MergeForm(FlaskForm):
    into = IntegerField("Merge into ticket", validators=[InputRequired(), NumberRange(min=1, max=MAX_ID)])
    submit = SubmitField("Merge the tickets")


class LinkForm(FlaskForm):
    # Starts on the empty choice: an agent picks an account on purpose, never by default.
    account = SelectField("Link to account", choices=[], validate_choice=True,
                          validators=[DataRequired(message=CHOOSE)])
    # Set by the confirmation page once the agent has read that the domains differ.
    confirmed = HiddenField()
    submit = SubmitField("Link")


def link_choices(accounts: list[dict], domain: str) -> list[SelectChoice]:
    """Return the choices of a link: none yet, a new account from the sender's domain, each account."""
    new = "New account from this sender's domain" + (f" ({domain})" if domain else "")
    return [SelectChoice("", "Choose an account"), SelectChoice(NEW_ACCOUNT, new),
            *(SelectChoice(str(a["id"]), a["name"]) for a in accounts)]
