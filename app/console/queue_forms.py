"""The queue's forms: the filters (a plain GET form, kept in the URL) and the bulk actions.

The bulk form's row checkboxes sit in the queue's table and belong to the form through
their ``form`` attribute, so the table's own forms (Take) stay apart and nothing needs a
script. "Select all on this page" is a checkbox of the form too: ticked, the action
takes every ticket the page listed (``page_ids``), whatever rows were ticked.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField, SubmitField
from wtforms.fields.choices import SelectChoice

from app.console.forms import STATUS_CHOICES

ME = "me"  # the assignee choice "me", whoever signs in


class BulkForm(FlaskForm):
    ticket = SelectMultipleField(lazy_gettext("Tickets"), coerce=int, validate_choice=False)
    page_ids = SelectMultipleField(lazy_gettext("Tickets on this page"), coerce=int, validate_choice=False)
    all_on_page = BooleanField(lazy_gettext("Select all on this page"))
    # Choices are me, nobody and the enabled agents, filled in by ``assignee_choices``.
    assignee = SelectField(lazy_gettext("Assign to"), choices=[], validate_choice=True)
    status = SelectField(lazy_gettext("Move to status"), choices=STATUS_CHOICES)
    next = HiddenField()
    assign = SubmitField(lazy_gettext("Assign selected"))
    move = SubmitField(lazy_gettext("Move selected"))
    close = SubmitField(lazy_gettext("Close selected"))

    def chosen_ids(self) -> list[int]:
        """Return the ticket ids the action names: every one of the page, or those ticked."""
        return list((self.page_ids.data if self.all_on_page.data else self.ticket.data) or [])


def bulk_form(agents, **values) -> BulkForm:
    """Return the bulk form with the assignee choices: me, nobody, then the enabled agents."""
    form = BulkForm(**values)
    form.assignee.choices = ([SelectChoice(ME, _("Me")), SelectChoice("", _("Nobody (unassign)"))]
                             + [SelectChoice(str(a.id), a.name) for a in agents])
    return form
