# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ARM-specific pipeline policy, loaded from azure-mgmt-core only when ARM asks for it.

azure-mgmt-core's package imports its asynchronous clients, hence asyncio: about 15 ms, on every task.
Of its three policies the SDK clients use, two cost nothing to leave out: ``ARMChallengeAuthenticationPolicy``
is azure-core's ``BearerTokenCredentialPolicy`` since azure-mgmt-core 1.6 (azure-core 1.32 answers CAE
claims challenges itself), and ``ARMHttpLoggingPolicy`` only widens what a configured Python logger
would see, and a module configures none. The third, automatic resource provider registration, is
needed once per subscription and provider: this policy hands the request to it when ARM answers
``409 MissingSubscriptionRegistration``, and only then imports it.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import json

try:
    from azure.core.pipeline.policies import HTTPPolicy
except ImportError:  # reported by AzureModule's import check
    HTTPPolicy = object

MISSING_REGISTRATION = "MissingSubscriptionRegistration"


def missing_registration(http_response):
    """True when ARM refused the request because the subscription has not registered the provider."""
    if http_response.status_code != 409:
        return False
    try:
        return json.loads(http_response.text())["error"]["code"] == MISSING_REGISTRATION
    except (ValueError, KeyError, TypeError):
        return False


class ProviderRegistrationPolicy(HTTPPolicy):
    """azure-mgmt-core's ARMAutoResourceProviderRegistrationPolicy, imported on the answer that needs it.

    On that answer (nothing was stored) the request goes to azure-mgmt-core's policy, which sends it
    again, registers the provider, waits for the registration, and sends it once more.
    """

    def send(self, request):
        response = self.next.send(request)
        if not missing_registration(response.http_response):
            return response
        from azure.mgmt.core.policies import ARMAutoResourceProviderRegistrationPolicy

        registration = ARMAutoResourceProviderRegistrationPolicy()
        registration.next = self.next
        return registration.send(request)
