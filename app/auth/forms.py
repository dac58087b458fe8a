"""The sign-in forms; Flask-WTF adds their CSRF token."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from app.passwords import MAX_LENGTH


class LoginForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
    remember = BooleanField("Keep me signed in on this computer")
    next = HiddenField()
    submit = SubmitField("Sign in")


class CodeForm(FlaskForm):
    code = StringField("Code from your authenticator app, or a recovery code",
                       validators=[DataRequired(), Length(max=40)])
    submit = SubmitField("Continue")


class SetPasswordForm(FlaskForm):
    # The length rules are ``password_problem``'s, so the CLI and this page say the same.
    password = PasswordField("New password", validators=[DataRequired("Type the password you want.")])
    repeat = PasswordField("The same password again", validators=[DataRequired("Type the password again.")])
    submit = SubmitField("Set password")
