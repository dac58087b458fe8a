"""Customer accounts in the browser: add one, rename it, add and remove its mail domains and
contacts, and choose which contacts approve access requests. Each change goes through
the services ``flask accounts`` uses (the same checks, the same sentences), is written
to the audit log there, and needs the POST's CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from app import i18n
from app.admin import forms
from app.admin.views import bp, me, show_error
from app.extensions import db
from app.models import Account
from app.runtime import now
from app.services import accounts as service
from app.services import contact_languages
from app.services.errors import ServiceError


@bp.get("/accounts")
def accounts():
    return _accounts_page(forms.AccountForm())


@bp.post("/accounts/add")
def add_account():
    form = forms.AccountForm()
    if not form.validate_on_submit():
        return _accounts_page(form, 400)
    try:
        account = service.create_account(db.session, form.name.data, [], [], [], by=me(), now=now())
    except ServiceError as exc:
        db.session.rollback()
        return _accounts_page(show_error(form, exc), 400)
    db.session.commit()
    flash(_("Account %(name)s was added; now give it its mail domains and contacts.", name=account.name),
          "info")
    return redirect(url_for("admin.account", account_id=account.id))


@bp.get("/accounts/<int:account_id>")
def account(account_id: int):
    return _account_page(_account_or_404(account_id), {})


@bp.post("/accounts/<int:account_id>/rename")
def rename_account(account_id: int):
    return _change(account_id, "rename", forms.RenameForm(),
                   lambda a, f: service.rename_account(db.session, a, f.name.data, by=me(), now=now()),
                   lambda a: _("The account is now named %(name)s.", name=a.name))


@bp.post("/accounts/<int:account_id>/domains")
def add_domain(account_id: int):
    return _change(account_id, "domain", forms.DomainForm(),
                   lambda a, f: service.add_domain(db.session, a, f.domain.data, by=me(), now=now()),
                   lambda a: _("The domain was added."))


@bp.post("/accounts/<int:account_id>/domains/remove")
def remove_domain(account_id: int):
    return _change(account_id, "remove_domain", forms.RemoveDomainForm(),
                   lambda a, f: service.remove_domain(db.session, a, f.domain.data, by=me(), now=now()),
                   lambda a: _("The domain was removed."))


@bp.post("/accounts/<int:account_id>/contacts")
def add_contact(account_id: int):
    return _change(account_id, "contact", forms.ContactForm(),
                   lambda a, f: service.add_contact(db.session, a, f.contact.data, approver=f.approver.data,
                                                    by=me(), now=now()),
                   lambda a: _("The contact was added."))


@bp.post("/accounts/<int:account_id>/contacts/remove")
def remove_contact(account_id: int):
    return _change(account_id, "remove_contact", forms.RemoveContactForm(),
                   lambda a, f: service.remove_contact(db.session, a, f.contact.data, by=me(), now=now()),
                   lambda a: _("The contact was removed."))


@bp.post("/accounts/<int:account_id>/contacts/language")
def set_contact_language(account_id: int):
    return _change(account_id, "language", forms.ContactLanguageForm(),
                   lambda a, f: contact_languages.choose(db.session, a, f.contact.data, f.language.data,
                                                         by=me(), now=now()),
                   lambda a: _("The contact's language was saved."))


@bp.post("/accounts/<int:account_id>/approvers")
def choose_approvers(account_id: int):
    return _change(account_id, "approvers", forms.ApproversForm(),
                   lambda a, f: service.choose_approvers(db.session, a, f.approvers.data, by=me(), now=now()),
                   lambda a: _("The approvers were saved."))


def _change(account_id: int, name: str, form: FlaskForm, change: Callable[[Account, FlaskForm], object],
            done: Callable[[Account], str]):
    account = _account_or_404(account_id)
    if not form.validate_on_submit():
        return _account_page(account, {name: form}, 400)
    try:
        change(account, form)
    except ServiceError as exc:
        db.session.rollback()
        return _account_page(account, {name: show_error(form, exc)}, 400)
    db.session.commit()
    flash(done(account), "info")
    return redirect(url_for("admin.account", account_id=account.id))


def _accounts_page(form: forms.AccountForm, status: int = 200):
    return render_template("admin/accounts.html", accounts=service.list_accounts(db.session),
                           form=form), status


def _account_page(account: Account, sent: dict[str, FlaskForm], status: int = 200):
    """Render the account's page; ``sent`` holds the form that was posted, with its errors."""
    # The other forms start from the account, never from the posted data.
    approvers = [c.email for c in account.approvers]
    page_forms = {"rename": forms.RenameForm(formdata=None, name=account.name),
                  "domain": forms.DomainForm(formdata=None), "contact": forms.ContactForm(formdata=None),
                  "approvers": forms.ApproversForm(formdata=None, approvers=approvers), **sent}
    page_forms["approvers"].approvers.choices = [SelectChoice(c.email, c.email) for c in account.contacts]
    removal_errors = [e for key, form in sent.items() if key.startswith(("remove", "language"))
                      for e in [*form.form_errors, *_field_errors(form)]]
    return render_template("admin/account.html", account=account, forms=page_forms, button=forms.ButtonForm(),
                           removal_errors=removal_errors, languages=i18n.languages_named(i18n.available()),
                           language_sources=LANGUAGE_SOURCES), status


LANGUAGE_SOURCES = {contact_languages.ADMINISTRATOR: i18n.lazy_gettext("chosen here"),
                    contact_languages.MAIL: i18n.lazy_gettext("from their mail"),
                    contact_languages.VISIT: i18n.lazy_gettext("from their browser"),
                    None: i18n.lazy_gettext("English until known")}


def _field_errors(form: FlaskForm) -> list[str]:
    return [error for field in form for error in field.errors]


def _account_or_404(account_id: int) -> Account:
    return service.account_with_id(db.session, account_id) or abort(404)
