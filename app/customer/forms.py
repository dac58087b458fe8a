"""The customer pages' forms; each carries a CSRF token, so only a POST from our page acts."""

from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField
from wtforms.fields.choices import SelectChoice

from app.access.rules import CONSENT_DAYS
from app.models import AccessRequest, Consent

SHORTER_HOURS = (1, 2, 4, 8, 24, 48)


class DecisionForm(FlaskForm):
    hours = SelectField("For how long", choices=[], validate_choice=True)
    approve = SubmitField("Approve")
    deny = SubmitField("Deny")

    @classmethod
    def for_request(cls, request: AccessRequest) -> "DecisionForm":
        """Return the form offering the requested duration or any shorter one."""
        asked = request.minutes / 60
        form = cls(hours=f"{asked:g}")
        choices = sorted({h for h in SHORTER_HOURS if h < asked} | {asked})
        form.hours.choices = [SelectChoice(f"{h:g}", f"{h:g} hour{'s' if h != 1 else ''}"
                                           + (" (as asked)" if h == asked else "")) for h in choices]
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
        choices = sorted({d for d in CONSENT_DAYS if d < consent.days} | {consent.days})
        form.days.choices = [SelectChoice(str(d), f"{d} day{'s' if d != 1 else ''}"
                                          + (" (as asked)" if d == consent.days else "")) for d in choices]
        return form


class WithdrawForm(FlaskForm):
    submit = SubmitField("Withdraw my consent now")
