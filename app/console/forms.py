"""The console's forms; Flask-WTF adds a CSRF token to each, and refuses a POST without one."""

from flask_babel import lazy_gettext, lazy_ngettext, ngettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from app.access.rules import CONSENT_DAYS, MAX_PURPOSE_CHARS, REQUEST_SCOPES, scope_words
from app.ids import MAX_ID
from app.models.agent import QUEUES
from app.models.message import CHANNELS, LOGGED_CHANNELS
from app.models.ticket import STATUSES
from app.services.agents import PAGE_SIZES
from app.services.communications import MAX_DURATION_MINUTES, MAX_NAME_CHARS
from app.services.communications import MAX_TEXT_CHARS as MAX_ENTRY_CHARS
from app.services.compose import MAX_SIGNATURE_CHARS, address_problems, split_addresses
from app.services.outbound import MAX_REPLY_CHARS
from app.services.presence import ACTIVITIES
from app.services.saved_replies import MAX_BODY_CHARS as MAX_SAVED_REPLY_CHARS
from app.services.saved_replies import MAX_TITLE_CHARS as MAX_SAVED_TITLE_CHARS
from app.services.sharing import MAX_NOTE_CHARS as MAX_FORWARD_NOTE_CHARS
from app.services.tickets import MAX_NOTE_CHARS

# A status as a label ("Open") and as a word inside a sentence ("No open tickets").
STATUS_LABELS = {"open": lazy_gettext("Open"), "pending": lazy_gettext("Pending"),
                 "closed": lazy_gettext("Closed")}
STATUS_WORDS = {"open": lazy_gettext("open"), "pending": lazy_gettext("pending"),
                "closed": lazy_gettext("closed")}
STATUS_CHOICES = [SelectChoice(s, STATUS_LABELS[s]) for s in STATUSES]
QUEUE_LABELS = {"mine": lazy_gettext("Mine"), "unassigned": lazy_gettext("Unassigned"),
                "all": lazy_gettext("All"), "unmatched": lazy_gettext("Unmatched mail")}


def addresses(form, field) -> None:
    """Check each address of a Cc or Bcc field, with one sentence beside the field per bad one."""
    field.errors.extend(address_problems(split_addresses(field.data)))


class ReplyForm(FlaskForm):
    """A reply; sent as multipart/form-data for its files."""

    body = TextAreaField(lazy_gettext("Reply"), validators=[DataRequired(), Length(max=MAX_REPLY_CHARS)])
    cc = StringField(lazy_gettext("Cc"), validators=[Length(max=5000), addresses])
    bcc = StringField(lazy_gettext("Bcc"), validators=[Length(max=5000), addresses])
    files = MultipleFileField(lazy_gettext("Attach files"))
    then_status = SelectField(lazy_gettext("Then set the ticket to"),
                              choices=STATUS_CHOICES, default="pending")
    # What the page showed (app.services.collisions): a reply posted after more arrived is held.
    seen_message = IntegerField(widget=HiddenInput(), validators=[Optional(), NumberRange(min=0, max=MAX_ID)])
    seen_event = IntegerField(widget=HiddenInput(), validators=[Optional(), NumberRange(min=0, max=MAX_ID)])
    submit = SubmitField(lazy_gettext("Send reply"))


class DraftForm(FlaskForm):
    """The reply box's text, saved as a draft; posted by the reply form's Save draft button."""

    body = TextAreaField(lazy_gettext("Reply"), validators=[Length(max=MAX_REPLY_CHARS)])
    seen_event = ReplyForm.seen_event


class PresenceForm(FlaskForm):
    """A ticket page's heartbeat: the agent still has it open, reading or typing a reply."""

    activity = SelectField(choices=[SelectChoice(a, a) for a in ACTIVITIES])
class SavedReplyForm(FlaskForm):
    title = StringField(lazy_gettext("Title"), validators=[DataRequired(), Length(max=MAX_SAVED_TITLE_CHARS)])
    body = TextAreaField(lazy_gettext("Text"), validators=[DataRequired(), Length(max=MAX_SAVED_REPLY_CHARS)])
    shared = BooleanField(lazy_gettext("Shared with the whole team"))
    submit = SubmitField(lazy_gettext("Save"))


class NoteForm(FlaskForm):
    text = TextAreaField(lazy_gettext("Internal note"),
                         validators=[DataRequired(), Length(max=MAX_NOTE_CHARS)])
    submit = SubmitField(lazy_gettext("Add note"))


class StatusForm(FlaskForm):
    status = SelectField(lazy_gettext("Status"), choices=STATUS_CHOICES)
    submit = SubmitField(lazy_gettext("Set status"))


class AssignForm(FlaskForm):
    # Choices are the enabled agents, filled in by the view; "" means nobody.
    assignee = SelectField(lazy_gettext("Assigned to"), choices=[], validate_choice=True)
    submit = SubmitField(lazy_gettext("Assign"))


class SettingsForm(FlaskForm):
    page_size = IntegerField(lazy_gettext("Tickets per page"), validators=[
        InputRequired(), NumberRange(min=PAGE_SIZES[0], max=PAGE_SIZES[-1])])
    time_zone = StringField(lazy_gettext("Time zone"), validators=[DataRequired(), Length(max=64)])
    default_queue = SelectField(lazy_gettext("Queue to start on"),
                                choices=[SelectChoice(q, QUEUE_LABELS[q]) for q in QUEUES])
    signature = TextAreaField(lazy_gettext("Signature (added below every reply you send)"),
                              validators=[Length(max=MAX_SIGNATURE_CHARS)])
    # Choices are the languages with a catalogue, each named in its own words, filled in by the view.
    language = SelectField(lazy_gettext("Language"), choices=[], validate_choice=True)
    submit = SubmitField(lazy_gettext("Save settings"))


def agent_choices(agents) -> list[SelectChoice]:
    """Return the choices of an assignee: nobody, or one of the enabled agents."""
    return [SelectChoice("", lazy_gettext("Nobody"))] + [SelectChoice(str(a.id), a.name) for a in agents]


def account_choices(accounts: list[dict]) -> list[SelectChoice]:
    return [SelectChoice(str(a["id"]), a["name"]) for a in accounts]


class AccessRequestForm(FlaskForm):
    scope = SelectField(lazy_gettext("Records"), choices=[
        SelectChoice(scope, scope_words(scope).capitalize()) for scope in REQUEST_SCOPES])
    reason = TextAreaField(lazy_gettext("Reason (the customer reads this)"),
                           validators=[DataRequired(), Length(max=2000)])
    # Choices are the configured presets, filled in by the view.
    hours = SelectField(lazy_gettext("For"), choices=[], validate_choice=True)
    submit = SubmitField(lazy_gettext("Ask the customer"))


class BreakGlassForm(FlaskForm):
    scope = SelectField(lazy_gettext("Records"), choices=AccessRequestForm.scope.kwargs["choices"])
    reason = TextAreaField(lazy_gettext("Emergency reason (sent to the customer at once)"),
                           validators=[DataRequired(), Length(min=20, max=2000)])
    submit = SubmitField(lazy_gettext("Ask a second manager to confirm"))


class ButtonForm(FlaskForm):
    """A button that needs nothing but its CSRF token."""


def hour_choices(hours: list[int]) -> list[SelectChoice]:
    """Return the durations an agent may ask for, as choices."""
    return [SelectChoice(str(h), ngettext("%(num)d hour", "%(num)d hours", h)) for h in hours]


class SaveSearchForm(FlaskForm):
    name = StringField(lazy_gettext("Save as"), validators=[DataRequired(), Length(max=100)])
    query = HiddenField()
    sort = HiddenField()
    submit = SubmitField(lazy_gettext("Save search"))


class ForwardForm(FlaskForm):
    """Forward a ticket, or one of its messages; to someone outside, only under a consent."""

    recipient = StringField(lazy_gettext("To"), validators=[DataRequired(), Length(max=320)])
    # "" is the whole ticket, else a message id; choices filled in by the view.
    content = SelectField(lazy_gettext("What"), choices=[], validate_choice=True)
    purpose = TextAreaField(lazy_gettext("Purpose (the customer reads it when asked to consent)"),
                            validators=[Length(max=MAX_PURPOSE_CHARS)])
    note = TextAreaField(lazy_gettext("Note to the recipient"),
                         validators=[Length(max=MAX_FORWARD_NOTE_CHARS)])
    days = SelectField(lazy_gettext("Consent for"),
                       choices=[SelectChoice(str(d), lazy_ngettext("%(num)d day", "%(num)d days", d))
                                for d in CONSENT_DAYS], default="7")
    send = SubmitField(lazy_gettext("Forward"))
    ask = SubmitField(lazy_gettext("Ask the customer's consent"))


class ExportConsentForm(FlaskForm):
    """Ask an account's contacts to consent to an export for someone outside the team."""

    next = HiddenField(validators=[DataRequired()])
    recipient = StringField(lazy_gettext("For"), validators=[DataRequired(), Length(max=320)])
    purpose = TextAreaField(lazy_gettext("Purpose (the customer reads it)"), validators=[DataRequired(),
                                                                           Length(max=MAX_PURPOSE_CHARS)])
    days = ForwardForm.days
    submit = SubmitField(lazy_gettext("Ask the customer's consent"))


class LogForm(FlaskForm):
    """A phone call, chat or meeting to log; sent as multipart/form-data for its files."""

    channel = SelectField(lazy_gettext("Channel"),
                          choices=[SelectChoice(c, CHANNELS[c]) for c in LOGGED_CHANNELS])
    direction = SelectField(lazy_gettext("Direction"),
                            choices=[SelectChoice("inbound", lazy_gettext("From the customer")),
                                     SelectChoice("outbound", lazy_gettext("To the customer"))])
    name = StringField(lazy_gettext("Customer's name"), validators=[Length(max=MAX_NAME_CHARS)])
    address = StringField(lazy_gettext("Customer's email address"), validators=[Length(max=320)])
    # In the agent's own time zone, as every time in the console.
    happened_at = DateTimeLocalField(lazy_gettext("When"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                     validators=[InputRequired()])
    duration = IntegerField(lazy_gettext("Duration (minutes)"),
                            validators=[Optional(), NumberRange(min=0, max=MAX_DURATION_MINUTES)])
    text = TextAreaField(lazy_gettext("Notes or transcript"),
                         validators=[DataRequired(), Length(max=MAX_ENTRY_CHARS)])
    files = MultipleFileField(lazy_gettext("Files"))
    submit = SubmitField(lazy_gettext("Log it"))
