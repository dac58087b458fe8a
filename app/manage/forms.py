"""The audit viewer's filter: a GET form, so it carries no CSRF token (it changes nothing)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, ValidationError

from app.i18n import lazy_gettext
from app.manage.audit_log import AuditFilter


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    # Choices are filled in by the view from the accounts, agents and actions there are.
    account = SelectField(lazy_gettext("Account"), choices=[], default="", validate_choice=True)
    agent = SelectField(lazy_gettext("Agent"), choices=[], default="", validate_choice=True)
    # Any action may be asked for, so a saved link keeps working (it then finds nothing).
    action = SelectField(lazy_gettext("Action"), choices=[], default="", validate_choice=False)
    since = DateField(lazy_gettext("From"), name="from", validators=[Optional()])
    until = DateField(lazy_gettext("To (inclusive)"), name="to", validators=[Optional()])

    def validate_until(self, field) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_("The end date is before the start date."))

    def fill_choices(self, accounts: list[dict], agents: list[dict], actions: list[str]) -> None:
        self.account.choices = [SelectChoice("", _("All accounts"))] + [
            SelectChoice(str(a["id"]), a["name"]) for a in accounts]
        self.agent.choices = [SelectChoice("", _("All agents"))] + [
            SelectChoice(str(a["id"]), a["email"]) for a in agents]
        self.action.choices = [SelectChoice("", _("All actions"))] + [SelectChoice(a, a) for a in actions]

    def audit_filter(self, zone: str) -> AuditFilter:
        """Return the filter the form names; dates are whole days in the agent's time zone."""
        return AuditFilter(
            account_id=int(self.account.data) if self.account.data else None,
            agent_id=int(self.agent.data) if self.agent.data else None,
            action=self.action.data or None,
            since=_utc_midnight(self.since.data, zone) if self.since.data else None,
            until=_utc_midnight(self.until.data + timedelta(days=1), zone) if self.until.data else None,
        )

    def describe(self, zone: str) -> str:
        """Say in words which entries the filter chose, for the audit log's record of an export."""
        chosen = [f"{field.label.text.lower()} {_shown(field)}" for field in
                  (self.account, self.agent, self.action, self.since, self.until) if field.data]
        if self.since.data or self.until.data:
            chosen.append(f"days in {zone}")
        return "filter: " + (", ".join(chosen) if chosen else "none")

    def problems(self) -> str:
        return "; ".join(f"{self[name].label.text}: {' '.join(e.rstrip('.') for e in errors)}"
                         for name, errors in self.errors.items())


def _utc_midnight(day: date, zone: str) -> datetime:
    local = datetime.combine(day, time.min, tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC).replace(tzinfo=None)


def _shown(field) -> str:
    labels = {choice.value: choice.label for choice in getattr(field, "choices", None) or []}
    return str(labels.get(field.data, field.data))
