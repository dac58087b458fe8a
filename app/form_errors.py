"""Where a form shows what is wrong: a service's sentence that names a field stands beside
that field (``templates/_form.html`` draws it there, named by the control's
aria-describedby), and one that names none stands at the top of the form.
"""

from __future__ import annotations

from flask_wtf import FlaskForm

from app.services.errors import ServiceError, as_sentence


def show_error(form: FlaskForm, error: ServiceError) -> FlaskForm:
    """Put the service's sentence beside the field it names, or at the top of the form."""
    sentence = as_sentence(str(error))
    field = form._fields.get(error.field or "")
    if field is not None:
        field.errors = [*field.errors, sentence]
    else:
        form.form_errors.append(sentence)
    return form
