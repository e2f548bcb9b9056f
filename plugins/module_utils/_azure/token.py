# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The service-principal-with-secret token, requested directly from Entra ID.

This is the credential AWX's Azure credential gives every job, so it is the hot path: each task is a
new process that asks for one token, and azure-identity (with MSAL) costs about 0.1 s to import
before it sends the very same OAuth 2.0 client-credentials request (RFC 6749 section 4.4, the Entra
ID v2.0 token endpoint). MSAL's token cache, its one advantage, lives in memory and dies with the
task. Every other way to sign in (CLI, managed identity, user and password, certificates, federated
tokens, ADFS authorities) still goes through azure-identity.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import json
import time
from collections import namedtuple
from urllib.parse import urlencode

from ansible_collections.azcni.cilium.plugins.module_utils._azure.errors import AzureError


# azure-core's AccessToken has these two fields; this one needs no import of azure-core
AccessToken = namedtuple("AccessToken", "token expires_on")


def _failed(message):
    return AzureError("Authentication failed: %s" % message, code="AuthenticationFailed")


class ClientSecretToken(object):
    """An azure-core credential (``get_token``) for a client ID and secret, sent with ``sender`` (_azure.transport)."""

    def __init__(self, login_endpoint, tenant, client_id, secret, sender):
        self.url = "%s/%s/oauth2/v2.0/token" % (login_endpoint.rstrip("/"), tenant)
        self.client_id, self._secret, self.sender = client_id, secret, sender
        self._token = None

    def get_token(self, *scopes, **kwargs):  # pylint: disable=unused-argument
        """The token (cached until 5 minutes before it expires); AzureError AuthenticationFailed when refused."""
        if self._token is not None and self._token.expires_on - 300 > time.time():
            return self._token
        form = urlencode({"grant_type": "client_credentials", "client_id": self.client_id,
                          "client_secret": self._secret, "scope": " ".join(scopes)})
        headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
        try:
            answer = self.sender.request("POST", self.url, body=form.encode("ascii"), headers=headers,
                                         connect_timeout=60, read_timeout=60)
        except OSError as exc:  # _common.ConnectFailed / ExchangeFailed: say where the login went
            raise _failed("Could not reach the token endpoint %s: %s" % (self.url, exc))
        try:
            body = json.loads(answer.data.decode("utf-8")) if answer.data else {}
        except ValueError:
            raise _failed("The token endpoint %s answered %d without JSON." % (self.url, answer.status))
        if answer.status != 200 or not isinstance(body, dict) or not body.get("access_token"):
            body = body if isinstance(body, dict) else {}
            raise _failed("%s: %s" % (body.get("error") or answer.status, body.get("error_description") or "no access token"))
        self._token = AccessToken(body["access_token"], int(time.time()) + int(body.get("expires_in") or 3599))
        return self._token
