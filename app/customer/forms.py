"""The customer pages' forms; each carries a CSRF token, so only a POST from our page acts."""

from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField
from wtforms.fields.choices import SelectChoice

from app.access.rules import CONSENT_DAYS
from app.models import AccessRequest, Consent

SHORTER_HOURS = (1, 2, 4, 8, 24, 48)


def up_to(asked: float, presets, unit: str) -> list[SelectChoice]:
    """Return the choices a customer may give: what was asked, or any shorter preset."""
    lengths = sorted({n for n in presets if n < asked} | {asked})
    return [SelectChoice(f"{n:g}", f"{n:g} {unit}{'s' if n != 1 else ''}"
                         + (" (as asked)" if n == asked else "")) for n in lengths]


class DecisionForm(FlaskForm):
    hours = SelectField("For how long", choices=[], validate_choice=True)
    approve = SubmitField("Approve")
    deny = SubmitField("Deny")

    @classmethod
    def for_request(cls, request: AccessRequest) -> "DecisionForm":
        """Return the form offering the requested duration or any shorter one."""
        asked = request.minutes / 60
        form = cls(hours=f"{asked:g}")
        form.hours.choices = up_to(asked, SHORTER_HOURS, "hour")
        return form


class RevokeForm(FlaskForm):
    submit = SubmitField("End this access now")


class ConsentForm(FlaskForm):
    days = SelectField("For how long", choices=[], validate_choice=True)
    give = SubmitField("I consent")
    refuse = SubmitField("Refuse")

    @classmethod
    def for_consent(cls, consent: Consent) -> "ConsentForm":
        """Return the form offering the asked number of days or fewer."""
        form = cls(days=str(consent.days))
        form.days.choices = up_to(consent.days, CONSENT_DAYS, "day")
        return form


class WithdrawForm(FlaskForm):
    submit = SubmitField("Withdraw my consent now")
