"""The sign-in forms; Flask-WTF adds their CSRF token."""

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from app.passwords import MAX_LENGTH


class LoginForm(FlaskForm):
    email = EmailField(lazy_gettext("Email address"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    remember = BooleanField(lazy_gettext("Keep me signed in on this computer"))
    next = HiddenField()
    submit = SubmitField(lazy_gettext("Sign in"))


class CodeForm(FlaskForm):
    code = StringField(lazy_gettext("Code from your authenticator app, or a recovery code"),
                       validators=[DataRequired(), Length(max=40)])
    submit = SubmitField(lazy_gettext("Continue"))


class SetPasswordForm(FlaskForm):
    # The length rules are ``password_problem``'s, so the CLI and this page say the same.
    password = PasswordField(lazy_gettext("New password"),
                             validators=[DataRequired(lazy_gettext("Type the password you want."))])
    repeat = PasswordField(lazy_gettext("The same password again"),
                           validators=[DataRequired(lazy_gettext("Type the password again."))])
    submit = SubmitField(lazy_gettext("Set password"))
