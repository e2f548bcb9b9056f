# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A kubeconfig user with a (deprecated) ``auth-provider`` entry: the one case the modules hand to the
kubernetes package's own loader, so this is what tests the ``kubernetes`` floor of requirements.txt."""

from __future__ import annotations

import base64
import json
import os
import time

import pytest
import yaml

from tests.e2e.arm import Arm
from tests.e2e.conftest import playbook, task


def _segment(data):
    return base64.urlsafe_b64encode(json.dumps(data, sort_keys=True).encode("utf-8")).decode("ascii").rstrip("=")


def id_token(expires):
    """An OIDC id-token as a kubeconfig carries it (header.claims.signature, base64url without padding)."""
    claims = {"iss": "https://issuer.invalid", "aud": "kubernetes", "sub": "e2e-oidc-user", "exp": int(expires)}
    return ".".join([_segment({"alg": "RS256", "typ": "JWT"}), _segment(claims), "c2lnbmF0dXJl"])


def oidc_kubeconfig(cluster, path, token):
    with open(cluster.kubeconfig_path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    config["users"][0]["user"] = {"auth-provider": {"name": "oidc", "config": {
        "id-token": token, "idp-issuer-url": "https://issuer.invalid", "client-id": "kubernetes"}}}
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle)
    os.chmod(path, 0o600)
    return path


@pytest.mark.parametrize("given", ["path", "dict"])
def test_an_auth_provider_user_reaches_the_cluster_with_its_id_token(emulator, ansible, kube_cluster, tmp_path, given):
    token = id_token(time.time() + 3600)  # not expired: the loader uses it as it is, without the issuer
    path = oidc_kubeconfig(kube_cluster, str(tmp_path / "oidc-kubeconfig"), token)
    if given == "dict":  # the kubeconfig option as the document itself (load_kube_config_from_dict)
        with open(path, encoding="utf-8") as handle:
            path = yaml.safe_load(handle)
    status = playbook(task("status", "cilium_status", dict(kubeconfig=path, wait=False)))

    refused = ansible(status)  # the API server does not know the token yet: it is what was sent
    assert refused.rc != 0 and refused.failed_tasks == ["status"], refused.stdout
    assert "401" in refused.task("status")["msg"] or "Unauthorized" in refused.task("status")["msg"], refused.task("status")

    # the cluster's OIDC authenticator now accepts that token
    cluster_id = Arm(emulator).cluster(kube_cluster.resource_group, kube_cluster.name)["id"].lower()
    emulator.arm.kube.handles[cluster_id].apiserver.tokens.add(token)
    done = ansible(status)
    assert done.rc == 0, done.stdout
    assert done.task("status")["version"], done.task("status")
