"""The customer pages' forms; each carries a CSRF token, so only a POST from our page acts."""

from flask_babel import gettext, lazy_gettext, ngettext
from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField
from wtforms.fields.choices import SelectChoice

from app.access.rules import CONSENT_DAYS
from app.models import AccessRequest, Consent

SHORTER_HOURS = (1, 2, 4, 8, 24, 48)


def up_to(asked: float, presets, unit: str) -> list[SelectChoice]:
    """Return the choices a customer may give: what was asked, or any shorter preset."""
    lengths = sorted({n for n in presets if n < asked} | {asked})
    return [SelectChoice(f"{n:g}", _length(n, unit, n == asked)) for n in lengths]


def _length(n: float, unit: str, asked: bool) -> str:
    # ngettext picks the plural form by a whole number; 1.5 hours reads as plural, as 2 does.
    count, written = (int(n) if n == int(n) else 2), f"{n:g}"
    if unit == "hour":
        words = ngettext("%(n)s hour", "%(n)s hours", count, n=written)
    else:
        words = ngettext("%(n)s day", "%(n)s days", count, n=written)
    return gettext("%(length)s (as asked)", length=words) if asked else words


class DecisionForm(FlaskForm):
    hours = SelectField(lazy_gettext("For how long"), choices=[], validate_choice=True)
    approve = SubmitField(lazy_gettext("Approve"))
    deny = SubmitField(lazy_gettext("Deny"))

    @classmethod
    def for_request(cls, request: AccessRequest) -> "DecisionForm":
        """Return the form offering the requested duration or any shorter one."""
        asked = request.minutes / 60
        form = cls(hours=f"{asked:g}")
        form.hours.choices = up_to(asked, SHORTER_HOURS, "hour")
        return form


class RevokeForm(FlaskForm):
    submit = SubmitField(lazy_gettext("End this access now"))


class ConsentForm(FlaskForm):
    days = SelectField(lazy_gettext("For how long"), choices=[], validate_choice=True)
    give = SubmitField(lazy_gettext("I consent"))
    refuse = SubmitField(lazy_gettext("Refuse"))

    @classmethod
    def for_consent(cls, consent: Consent) -> "ConsentForm":
        """Return the form offering the asked number of days or fewer."""
        form = cls(days=str(consent.days))
        form.days.choices = up_to(consent.days, CONSENT_DAYS, "day")
        return form


class WithdrawForm(FlaskForm):
    submit = SubmitField(lazy_gettext("Withdraw my consent now"))
