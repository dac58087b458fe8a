"""The OAuth2 test parts on their own: the authorization server, Dovecot's oauth2 passdb and
the SMTP server's XOAUTH2, each driven by a real client (requests, IMAPClient, smtplib).

The product's OAuth2 mailbox tests trust these parts to refuse what Microsoft 365 or Gmail
would refuse: a revoked token, an expired one, another user's. These tests are that trust's
grounds, and they need no application.
"""

from __future__ import annotations

import smtplib

import pytest
import requests
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from tests import factories
from tests.dovecot import USER
from tests.oauth_server import OAuthServer
from tests.oauth_tokens import (
    REDIRECT_URI,
    authorization_code_tokens,
    authorization_params,
    consent,
    device_tokens,
    introspect,
    oauthbearer,
    pkce_pair,
    redirect_query,
    refresh,
    revoke,
    wait_until_inactive,
    xoauth2,
)

SHORT_SECONDS = 2  # an access token's life when a test waits for it to end


def imap_login(dovecot, token: str, mechanism: str = "XOAUTH2", user: str = USER) -> list:
    """Sign in to Dovecot with a token and return the folders the session sees."""
    with IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=30) as client:
        if mechanism == "XOAUTH2":
            client.oauth2_login(user, token)
        else:
            client.oauthbearer_login(user, token)
        return client.list_folders()


# The authorization server


def test_the_authorization_code_flow_with_pkce_gives_tokens_of_the_user_with_the_scopes_granted(
        oauth_server):
    tokens = authorization_code_tokens(oauth_server, scope="https://outlook.office.com/IMAP.AccessAsUser.All")

    found = introspect(oauth_server, tokens["access_token"])
    assert found["active"] is True
    assert (found["username"], found["client_id"]) == (USER, oauth_server.client_id)
    assert found["scope"] == "https://outlook.office.com/IMAP.AccessAsUser.All"
    assert found["exp"] > found["iat"]
    assert oauth_server.granted_scopes() == ["https://outlook.office.com/IMAP.AccessAsUser.All"]
    assert oauth_server.issued_tokens() == [tokens["access_token"], tokens["refresh_token"]]
    assert oauth_server.tokens_issued() == {"authorization_code": 1}


def test_an_authorization_request_without_s256_pkce_is_refused_at_the_redirect_uri(oauth_server):
    _, challenge = pkce_pair()
    params = authorization_params(oauth_server, challenge, "imap") | {"code_challenge_method": "plain"}

    answer = requests.get(oauth_server.authorize_url, params=params, allow_redirects=False, timeout=10)

    assert redirect_query(answer)["error"] == "invalid_request"


def test_denying_consent_sends_access_denied_to_the_redirect_uri_and_issues_nothing(oauth_server):
    _, challenge = pkce_pair()

    answer = consent(oauth_server, authorization_params(oauth_server, challenge, "imap"), decision="deny")

    returned = redirect_query(answer)
    assert (returned["error"], returned["state"]) == ("access_denied", "state-1")
    assert "code" not in returned
    assert oauth_server.issued_tokens() == []


def test_a_wrong_password_on_the_consent_page_gives_no_code(oauth_server):
    _, challenge = pkce_pair()

    answer = consent(oauth_server, authorization_params(oauth_server, challenge, "imap"), password="wrong")

    assert answer.status_code == 401 and "Wrong username or password" in answer.text
    assert "Location" not in answer.headers


def test_the_device_flow_gives_tokens_once_the_user_approves(oauth_server):
    tokens = device_tokens(oauth_server, scope="imap")

    assert introspect(oauth_server, tokens["access_token"])["username"] == USER
    assert oauth_server.token_requests()["urn:ietf:params:oauth:grant-type:device_code"] == 2  # pending, then
    assert oauth_server.granted_scopes() == ["imap"]


def test_the_refresh_grant_gives_a_new_access_token_and_keeps_the_refresh_token_by_default(oauth_server):
    tokens = authorization_code_tokens(oauth_server)

    first = refresh(oauth_server, tokens["refresh_token"])
    second = refresh(oauth_server, tokens["refresh_token"])

    assert first.status_code == second.status_code == 200
    assert "refresh_token" not in first.json()  # like Google: the refresh token stays the same
    assert introspect(oauth_server, first.json()["access_token"])["active"] is True
    assert oauth_server.tokens_issued()["refresh_token"] == 2


def test_rotating_refresh_tokens_refuse_the_old_one():
    server = OAuthServer(rotate_refresh_tokens=True)
    server.start()
    try:
        tokens = authorization_code_tokens(server)
        rotated = refresh(server, tokens["refresh_token"]).json()

        assert rotated["refresh_token"] != tokens["refresh_token"]
        assert refresh(server, tokens["refresh_token"]).json()["error"] == "invalid_grant"
        assert refresh(server, rotated["refresh_token"]).status_code == 200
    finally:
        server.stop()


def test_revoking_the_refresh_token_fails_the_refresh_grant_and_ends_its_access_tokens(oauth_server):
    tokens = authorization_code_tokens(oauth_server)

    revoke(oauth_server, tokens["refresh_token"])

    answer = refresh(oauth_server, tokens["refresh_token"])
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    assert introspect(oauth_server, tokens["access_token"]) == {"active": False}


def test_a_refresh_token_never_introspects_as_a_bearer_token(oauth_server):
    tokens = authorization_code_tokens(oauth_server)

    assert introspect(oauth_server, tokens["refresh_token"]) == {"active": False}


# Dovecot


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_dovecot_signs_in_with_a_fresh_token_and_asks_the_server_at_each_login(
        oauth_server, oauth_dovecot, mechanism):
    oauth_dovecot.append([factories.message(1)])  # the password login works beside the tokens
    token = device_tokens(oauth_server)["access_token"]
    before = oauth_server.introspections()

    imap_login(oauth_dovecot, token, mechanism)
    imap_login(oauth_dovecot, token, mechanism)

    assert oauth_server.introspections() - before == 2


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_dovecot_refuses_a_token_revoked_at_the_server(oauth_server, oauth_dovecot, mechanism):
    token = authorization_code_tokens(oauth_server)["access_token"]
    imap_login(oauth_dovecot, token, mechanism)

    oauth_server.revoke_user()

    with pytest.raises(LoginError):
        imap_login(oauth_dovecot, token, mechanism)


def test_dovecot_refuses_an_expired_token_and_takes_the_refreshed_one(oauth_server, oauth_dovecot):
    oauth_server.access_token_seconds = SHORT_SECONDS
    tokens = authorization_code_tokens(oauth_server)
    imap_login(oauth_dovecot, tokens["access_token"])

    wait_until_inactive(oauth_server, tokens["access_token"])

    with pytest.raises(LoginError):
        imap_login(oauth_dovecot, tokens["access_token"])
    imap_login(oauth_dovecot, refresh(oauth_server, tokens["refresh_token"]).json()["access_token"])


def test_dovecot_refuses_a_token_presented_for_another_user(oauth_server, oauth_dovecot):
    token = device_tokens(oauth_server)["access_token"]

    with pytest.raises(LoginError):
        imap_login(oauth_dovecot, token, user="someone-else")


# SMTP


def test_smtp_accepts_a_valid_token_and_records_its_user_on_the_message(oauth_server, oauth_smtp_server):
    token = device_tokens(oauth_server)["access_token"]

    with smtplib.SMTP("127.0.0.1", oauth_smtp_server.port, timeout=30) as client:
        client.ehlo()
        assert client.auth("XOAUTH2", lambda challenge=None: xoauth2(USER, token))[0] == 235
        client.sendmail("support@example.com", ["customer@example.com"], factories.message(1))

    (received,) = oauth_smtp_server.wait_for(1)
    assert (received.user, received.recipients) == (USER, ("customer@example.com",))


def test_smtp_takes_oauthbearer_too(oauth_server, oauth_smtp_server):
    token = device_tokens(oauth_server)["access_token"]

    with smtplib.SMTP("127.0.0.1", oauth_smtp_server.port, timeout=30) as client:
        client.ehlo()
        assert client.auth("OAUTHBEARER", lambda challenge=None: oauthbearer(USER, token))[0] == 235


@pytest.mark.parametrize("why", ["revoked", "another user"])
def test_smtp_refuses_a_revoked_token_or_one_of_another_user(oauth_server, oauth_smtp_server, why):
    token = device_tokens(oauth_server)["access_token"]
    user = "someone-else" if why == "another user" else USER
    if why == "revoked":
        oauth_server.revoke_user()

    with smtplib.SMTP("127.0.0.1", oauth_smtp_server.port, timeout=30) as client:
        client.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.auth("XOAUTH2", lambda challenge=None: xoauth2(user, token))

    assert refused.value.smtp_code == 535
    assert oauth_smtp_server.received == []


def test_smtp_refuses_mail_before_auth_and_offers_only_token_mechanisms(oauth_smtp_server):
    with smtplib.SMTP("127.0.0.1", oauth_smtp_server.port, timeout=30) as client:
        client.ehlo()
        assert client.esmtp_features["auth"].split() == ["OAUTHBEARER", "XOAUTH2"]
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail("support@example.com", ["customer@example.com"], factories.message(1))

    assert refused.value.smtp_code == 530


def test_a_person_in_chromium_signs_in_and_allows_on_the_consent_page(oauth_server, page):
    _, challenge = pkce_pair()
    arrived: list[str] = []

    def callback(route) -> None:  # the redirect ends here: nothing listens at the redirect URI
        arrived.append(route.request.url)
        route.fulfill(status=200, body="signed in")

    page.route(f"{REDIRECT_URI}*", callback)
    page.goto(requests.Request("GET", oauth_server.authorize_url,
                               params=authorization_params(oauth_server, challenge, "imap")).prepare().url)
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password").fill(oauth_server.password)
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{REDIRECT_URI}*")

    assert "code=" in arrived[0] and "state=state-1" in arrived[0]
