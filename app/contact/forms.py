"""The contact form; Flask-WTF adds a CSRF token, and refuses a POST without one."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.services.contact import MAX_NAME_CHARS, MAX_SUBJECT_CHARS, MAX_TEXT_CHARS


class ContactForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=MAX_NAME_CHARS)])
    address = StringField("Your email address", validators=[DataRequired(), Length(max=320)])
    subject = StringField("Subject", validators=[DataRequired(), Length(max=MAX_SUBJECT_CHARS)])
    text = TextAreaField("Message", validators=[DataRequired(), Length(max=MAX_TEXT_CHARS)])
    # Against robots: people never see this field (the stylesheet puts it off screen) and
    # leave it empty; form-filling robots fill in every field they find.
    website = StringField("Leave this field empty")
    nonce = HiddenField()
    submit = SubmitField("Send")
