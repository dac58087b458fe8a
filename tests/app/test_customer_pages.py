# ruff: noqa: F811 (the fixtures of test_access.py, imported by name)
"""What a company contact reads where they decide: the decision page and the consent page
say in plain words what business records and personal records hold, and after a decision
the page says what was decided and links to the contact's access log (for a consent, to
its own log, where it can be withdrawn).
"""

from __future__ import annotations

from app.access import consents
from app.extensions import db
from app.models import Account, Agent, utcnow
from tests.app.test_access import agent, approve, ask, clock, links, world  # noqa: F401 (fixtures)
from tests.web import submit


def words(page: str) -> str:
    return " ".join(page.split())

BUSINESS = "The jobs, tasks and todos your company keeps in our service"
PERSONAL = "Your employee records: each employee's name, email address"


def test_the_decision_page_explains_the_records_and_the_approval_links_to_the_access_log(
        web, world, agent, smtp_server):
    ask(agent, world, scope="both")
    (decide,) = links(smtp_server, 1)
    customer = web.test_client()
    page = customer.get(decide).text
    assert "Business records" in page and BUSINESS in page
    assert "Personal records" in page and PERSONAL in page

    done = words(approve(customer, decide, hours="1").text)
    assert ("decided by boss@leaky.example. Approved: Agent Person may look at your business and "
            "personal records until") in done
    log = next(path for path in links(smtp_server, 2) if path.startswith("/customer/log/"))
    assert f'href="http://desk.test{log}">Your access log</a>' in done
    assert customer.get(log).status_code == 200


def test_a_page_asking_for_business_records_only_explains_those(web, world, agent, smtp_server):
    ask(agent, world, scope="business")
    (decide,) = links(smtp_server, 1)
    page = web.test_client().get(decide).text
    assert BUSINESS in page and PERSONAL not in page


def test_a_denial_says_nothing_can_be_opened_and_links_to_the_access_log(web, world, agent, smtp_server):
    ask(agent, world)
    (decide,) = links(smtp_server, 1)
    customer = web.test_client()
    done = words(submit(customer, decide, decide, {"deny": "Deny", "hours": "4"}).text)
    assert ("This request is denied: decided by boss@leaky.example. Denied: nobody can open these "
            "records under this request.") in done
    (log,) = links(smtp_server, 2)
    assert log.startswith("/customer/log/") and f"{log}\">Your access log</a>" in done
    assert customer.get(log).status_code == 200


def test_the_consent_page_explains_the_records_it_does_not_open_and_the_consent_links_to_its_log(
        web, world, smtp_server):
    with web.app_context():
        agent_row = db.session.get(Agent, world.agent_id)
        account = db.session.get(Account, world.account_id)
        _, notices = consents.ask(db.session, agent_row, account, "repairs@carrier.example", "ticket",
                                  str(world.ticket_id), "Ticket 1: the export fails",
                                  "The carrier repairs it.", 7, utcnow())
        path = "/customer/consent/" + notices[0].links["consent"]
        db.session.commit()
    customer = web.test_client()
    page = words(customer.get(path).text)
    assert "It opens none of your records to anyone" in page and BUSINESS in page and PERSONAL in page

    done = words(submit(customer, path, path, {"give": "I consent", "days": "7"}).text)
    assert ("decided by boss@leaky.example. Our support team may send this content to "
            "repairs@carrier.example until") in done
    (withdraw,) = links(smtp_server, 1)
    assert f'href="http://desk.test{withdraw}">Your consent\'s log</a>' in done
    assert "Nothing has been sent under this consent." in customer.get(withdraw).text
