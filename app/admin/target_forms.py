"""The form of response targets and business hours: two durations, a time zone, and for each
weekday whether the desk is closed and when it opens and closes. The form checks only that
the fields are short; the service reads them and names every field that is wrong.
"""

from __future__ import annotations

from babel import Locale
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, SubmitField
from wtforms.validators import Length

from app.i18n import LazyText, lazy_gettext
from app.services.targets import DAY_KEYS, TargetForm


class TargetsForm(FlaskForm):
    first_response = StringField(lazy_gettext("First-response target"), validators=[Length(max=40)])
    next_response = StringField(lazy_gettext("Next-response target"), validators=[Length(max=40)])
    time_zone = StringField(lazy_gettext("Time zone"), validators=[Length(max=64)])
    own_hours = BooleanField(lazy_gettext("Business hours of its own"))
    submit = SubmitField(lazy_gettext("Save"))

    def typed(self) -> TargetForm:
        """Return what was typed, for the service to check."""
        days = tuple((self[f"{key}_closed"].data, self[f"{key}_opens"].data or "",
                      self[f"{key}_closes"].data or "") for key in DAY_KEYS)
        return TargetForm(self.first_response.data or "", self.next_response.data or "",
                          self.time_zone.data or "", days, own_hours=bool(self.own_hours.data))

    def days(self) -> list[tuple[str, object, object, object]]:
        """Return (weekday, closed, opens, closes) fields, Monday first, for the page."""
        return [(weekday(index), self[f"{key}_closed"], self[f"{key}_opens"], self[f"{key}_closes"])
                for index, key in enumerate(DAY_KEYS)]


def weekday(index: int) -> str:
    """Name a weekday, Monday being 0, in the current language ("Monday", "Montag", "月曜日")."""
    return (get_locale() or Locale.parse("en")).days["format"]["wide"][index]


for _index, _key in enumerate(DAY_KEYS):
    _day = LazyText(weekday, _index)
    setattr(TargetsForm, f"{_key}_closed", BooleanField(lazy_gettext("Closed on %(day)s", day=_day)))
    setattr(TargetsForm, f"{_key}_opens", StringField(lazy_gettext("%(day)s opens at", day=_day),
                                                      validators=[Length(max=5)]))
    setattr(TargetsForm, f"{_key}_closes", StringField(lazy_gettext("%(day)s closes at", day=_day),
                                                       validators=[Length(max=5)]))


def filled(shown: TargetForm) -> TargetsForm:
    """Return the form showing saved settings (never the posted data)."""
    values = {"first_response": shown.first_response, "next_response": shown.next_response,
              "time_zone": shown.time_zone, "own_hours": shown.own_hours}
    for key, (closed, opens, closes) in zip(DAY_KEYS, shown.days, strict=True):
        values.update({f"{key}_closed": closed, f"{key}_opens": opens, f"{key}_closes": closes})
    return TargetsForm(formdata=None, **values)
