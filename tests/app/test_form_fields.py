"""Every settings and administration form shows each field's error beside that field: the
error sits in the field's own paragraph, the control names it with aria-describedby and is
marked aria-invalid, and no id appears twice on the page.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.app import console_world
from tests.web import form_token, sign_in

BAD_DATE = "2026-02-31"
# (page showing the form, where it posts or None for a GET form, what is sent, fields expected in error)
FORMS = [
    ("/settings", "/settings", {"page_size": "3", "time_zone": "UTC", "default_queue": "mine"},
     {"page_size"}),
    ("/settings", "/settings", {"page_size": "25", "time_zone": "Mars/Olympus", "default_queue": "mine"},
     {"time_zone"}),
    ("/admin/agents", "/admin/agents/invite", {"email": "not an address", "name": "Pat", "role": "agent"},
     {"email"}),
    ("/admin/accounts", "/admin/accounts/add", {"name": ""}, {"name"}),
    ("/admin/accounts/1", "/admin/accounts/1/domains", {"domain": ""}, {"domain"}),
    ("/admin/accounts/1", "/admin/accounts/1/contacts", {"contact": "nobody"}, {"contact"}),
    ("/admin/policy", "/admin/policy", {"text": "", "summary": "", "effective": ""},
     {"text"}),
    ("/admin/mailboxes/new?kind=password", "/admin/mailboxes/new",
     {"kind": "password", "name": "", "username": "", "host": "", "port": "99999", "security": "ssl",
      "password_env": ""}, {"password_env"}),
    (f"/manage/audit?from={BAD_DATE}", None, {}, {"from"}),
]


class Fields(HTMLParser):
    """Collects, per ``p.field`` paragraph, its controls' attributes and its error spans' ids."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.paragraphs: list[dict] = []
        self._current: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "p" and "field" in (attrs.get("class") or "").split():
            self._current = {"controls": [], "errors": []}
            self.paragraphs.append(self._current)
        elif self._current is not None and tag in ("input", "select", "textarea"):
            self._current["controls"].append(attrs)
        elif self._current is not None and "field-error" in (attrs.get("class") or "").split():
            self._current["errors"].append(attrs.get("id"))

    def handle_endtag(self, tag):
        if tag == "p":
            self._current = None


def parse(page: str) -> Fields:
    fields = Fields()
    fields.feed(page)
    return fields


@pytest.fixture
def admin(web):
    console_world.build(web)
    client = web.test_client()
    sign_in(client, "admin@desk.example")
    return client


@pytest.mark.parametrize(("page", "action", "data", "wrong"), FORMS,
                         ids=[f"{f[0]}-{'-'.join(sorted(f[3]))}" for f in FORMS])
def test_each_fields_error_stands_beside_it_and_is_named_by_the_control(admin, page, action, data, wrong):
    if action is None:
        response = admin.get(page)
    else:
        response = admin.post(action, data={"csrf_token": form_token(admin, page), **data})
    fields = parse(response.get_data(as_text=True))

    in_error = set()
    for paragraph in fields.paragraphs:
        for control in paragraph["controls"]:
            if control.get("aria-invalid") != "true":
                continue
            in_error.add(control["name"])
            described = (control.get("aria-describedby") or "").split()
            assert paragraph["errors"], control["name"]
            assert set(paragraph["errors"]) <= set(described), control["name"]
    assert wrong <= in_error
    assert len(fields.ids) == len(set(fields.ids)), sorted(i for i in fields.ids if fields.ids.count(i) > 1)
