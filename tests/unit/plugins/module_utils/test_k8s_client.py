# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes auth precedence, K8S_AUTH_* variables, retries and watch handling."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.azcni.cilium.plugins.module_utils._k8s import client as k8s_client
from ansible_collections.azcni.cilium.plugins.module_utils._k8s import config as k8s_config


def validated(params, monkeypatch, env=None):
    for name in [n for n in list(__import__("os").environ) if n.startswith("K8S_AUTH_")]:
        monkeypatch.delenv(name)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    result = ArgumentSpecValidator(k8s_config.K8S_AUTH_ARGS).validate(params)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def write_kubeconfig(path, server, token="ctx-token", ca_path=None, second_server="https://other.invalid:6443"):
    cluster = {"server": server}
    if ca_path:
        cluster["certificate-authority"] = ca_path
    document = {
        "apiVersion": "v1", "kind": "Config", "current-context": "main",
        "clusters": [{"name": "main", "cluster": cluster},
                     {"name": "other", "cluster": {"server": second_server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "main", "user": {"token": token}}, {"name": "other", "user": {"token": "other-token"}}],
        "contexts": [{"name": "main", "context": {"cluster": "main", "user": "main"}},
                     {"name": "other", "context": {"cluster": "other", "user": "other"}}],
    }
    path.write_text(yaml.safe_dump(document))
    return str(path)


def test_env_variables_and_aliases(monkeypatch, tmp_path):
    params = validated({}, monkeypatch, {
        "K8S_AUTH_KUBECONFIG": "/k/config", "K8S_AUTH_CONTEXT": "ctx", "K8S_AUTH_HOST": "https://h:6443",
        "K8S_AUTH_API_KEY": "tok", "K8S_AUTH_VERIFY_SSL": "false", "K8S_AUTH_SSL_CA_CERT": "/ca.pem",
        "K8S_AUTH_CERT_FILE": "/c.pem", "K8S_AUTH_KEY_FILE": "/k.pem", "K8S_AUTH_PROXY": "http://proxy:3128",
        "K8S_AUTH_IMPERSONATE_USER": "alice"})
    assert params["kubeconfig"] == "/k/config" and params["context"] == "ctx" and params["host"] == "https://h:6443"
    assert params["api_key"] == "tok" and params["validate_certs"] is False and params["ca_cert"] == "/ca.pem"
    assert (params["client_cert"], params["client_key"]) == ("/c.pem", "/k.pem")
    assert params["proxy"] == "http://proxy:3128" and params["impersonate_user"] == "alice"
    by_alias = validated({"verify_ssl": True, "ssl_ca_cert": "/x.pem"}, monkeypatch)
    assert by_alias["validate_certs"] is True and by_alias["ca_cert"] == "/x.pem"


def test_options_win_over_env(monkeypatch):
    params = validated({"host": "https://param:6443"}, monkeypatch, {"K8S_AUTH_HOST": "https://env:6443"})
    assert params["host"] == "https://param:6443"


def test_host_with_token_needs_no_kubeconfig(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "broken"))
    (tmp_path / "broken").write_text("{not yaml")
    cfg = k8s_config.load_configuration({"host": "https://h:6443", "api_key": "tok"})
    assert cfg.host == "https://h:6443"
    assert cfg.auth_headers()["Authorization"] == "Bearer tok"
    assert cfg.verify_ssl is True  # verification on by default


def test_kubeconfig_context_and_overrides(tmp_path):
    path = write_kubeconfig(tmp_path / "config", "https://main.invalid:443")
    cfg = k8s_config.load_configuration({"kubeconfig": path})
    assert cfg.host == "https://main.invalid:443"
    assert cfg.auth_headers()["Authorization"] == "Bearer ctx-token"
    other = k8s_config.load_configuration({"kubeconfig": path, "context": "other"})
    assert other.host == "https://other.invalid:6443" and other.verify_ssl is False
    forced = k8s_config.load_configuration({"kubeconfig": path, "context": "other", "validate_certs": True,
                                            "api_key": "override"})
    assert forced.verify_ssl is True
    assert forced.auth_headers()["Authorization"] == "Bearer override"


def test_kubeconfig_as_dict(tmp_path):
    document = yaml.safe_load(open(write_kubeconfig(tmp_path / "config", "https://dict.invalid"), encoding="utf-8"))
    assert k8s_config.load_configuration({"kubeconfig": document}).host == "https://dict.invalid"


def test_default_kubeconfig_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", write_kubeconfig(tmp_path / "config", "https://default.invalid"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert k8s_config.load_configuration({}).host == "https://default.invalid"


def test_kubeconfig_list_merges_like_kubectl(monkeypatch, tmp_path):
    first = tmp_path / "a"
    first.write_text(yaml.safe_dump({"current-context": "b-ctx", "clusters": [{"name": "shared", "cluster": {"server": "https://first"}}],
                                     "users": [], "contexts": []}))
    second = tmp_path / "b"
    second.write_text(yaml.safe_dump({"current-context": "ignored",
                                      "clusters": [{"name": "shared", "cluster": {"server": "https://second"}}],
                                      "users": [{"name": "u", "user": {"token": "t"}}],
                                      "contexts": [{"name": "b-ctx", "context": {"cluster": "shared", "user": "u"}}]}))
    monkeypatch.setenv("KUBECONFIG", "%s:%s:%s" % (first, tmp_path / "absent", second))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    cfg = k8s_config.load_configuration({})
    assert cfg.host == "https://first"  # the first file that names an entry wins, as in kubectl
    assert cfg.auth_headers() == {"Authorization": "Bearer t"}


def test_data_fields_become_private_files_and_paths_are_relative_to_the_file(tmp_path):
    data = base64.b64encode(b"PEM").decode()
    (tmp_path / "token").write_text("file-token\n")
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump({
        "current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "clusters": [{"name": "c", "cluster": {"server": "https://c", "certificate-authority-data": data,
                                               "tls-server-name": "api.internal"}}],
        "users": [{"name": "u", "user": {"client-certificate-data": data, "client-key-data": data, "tokenFile": "token"}}]}))
    cfg = k8s_config.load_configuration({"kubeconfig": str(path)})
    for file_path in (cfg.ssl_ca_cert, cfg.cert_file, cfg.key_file):
        assert open(file_path, "rb").read() == b"PEM"
        assert os.stat(file_path).st_mode & 0o777 == 0o600
    assert cfg.tls_server_name == "api.internal"
    assert cfg.auth_headers() == {"Authorization": "Bearer file-token"}


def run(args, environ_update=None):
    """AnsibleModule.run_command, as far as the exec plugin needs it."""
    done = subprocess.run(args, env=dict(os.environ, **(environ_update or {})), capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


def test_exec_credential_plugin_gives_the_token(tmp_path):
    plugin = tmp_path / "kubelogin"
    plugin.write_text("#!/bin/sh\n"
                      "test \"$AAD_LOGIN_METHOD\" = spn || exit 3\n"
                      "echo '{\"apiVersion\": \"client.authentication.k8s.io/v1\", \"kind\": \"ExecCredential\", "
                      "\"status\": {\"token\": \"exec-token\"}}'\n")
    plugin.chmod(0o700)
    path = tmp_path / "config"
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "./kubelogin", "args": ["get-token"],
                     "env": [{"name": "AAD_LOGIN_METHOD", "value": "spn"}]}}
    path.write_text(yaml.safe_dump({"current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                                    "clusters": [{"name": "c", "cluster": {"server": "https://c"}}],
                                    "users": [{"name": "u", "user": user}]}))
    assert k8s_config.load_configuration({"kubeconfig": str(path)}, run).auth_headers() == {"Authorization": "Bearer exec-token"}
    user["exec"]["env"] = []
    path.write_text(yaml.safe_dump({"current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                                    "clusters": [{"name": "c", "cluster": {"server": "https://c"}}],
                                    "users": [{"name": "u", "user": user}]}))
    with pytest.raises(k8s_config.K8sConfigError, match="exec credential plugin .*kubelogin failed \\(exit 3\\)"):
        k8s_config.load_configuration({"kubeconfig": str(path)}, run)


def test_unknown_context_names_the_ones_there(tmp_path):
    path = write_kubeconfig(tmp_path / "config", "https://main.invalid")
    with pytest.raises(k8s_config.K8sConfigError, match="no context 'nope' \\(it has main, other\\)"):
        k8s_config.load_configuration({"kubeconfig": path, "context": "nope"})


def test_nothing_configured_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(k8s_config.K8sConfigError, match="Could not load the Kubernetes configuration"):
        k8s_config.load_configuration({})


@pytest.fixture
def client(https_server, tmp_path, monkeypatch):
    monkeypatch.setattr(k8s_client, "backoff_delays", lambda retries: iter([0.01] * retries))
    path = write_kubeconfig(tmp_path / "config", https_server.url, token="secret-token", ca_path=https_server.ca_path)
    return k8s_client.K8sClient(k8s_config.load_configuration({"kubeconfig": path}), impersonate_user="bob")


def test_tls_is_verified(https_server, tmp_path):
    path = write_kubeconfig(tmp_path / "config", https_server.url)  # no CA: the system store does not know ours
    https_server.script("GET", "^/version$", (200, {"major": "1"}))
    with pytest.raises(k8s_client.K8sApiError, match="Could not reach"):
        k8s_client.K8sClient(k8s_config.load_configuration({"kubeconfig": path})).get("/version")
    trusted = k8s_config.load_configuration({"kubeconfig": path, "ca_cert": https_server.ca_path})
    assert k8s_client.K8sClient(trusted).get("/version") == {"major": "1"}


def test_headers_and_404(client, https_server):
    assert client.get("/api/v1/namespaces/x") is None
    headers = https_server.requests[-1][4]
    assert headers["Authorization"] == "Bearer secret-token"
    assert headers["Impersonate-User"] == "bob"


def test_throttling_honours_retry_after(client, https_server):
    https_server.script("GET", "/pods$", (429, {"kind": "Status", "reason": "TooManyRequests", "message": "slow down"},
                                          {"Retry-After": "1"}), (200, {"items": [], "metadata": {}}))
    started = time.monotonic()
    assert client.list("/api/v1/pods") == ([], "")
    assert time.monotonic() - started >= 1.0
    assert https_server.count("GET", "/pods$") == 2


def test_conflict_retried_on_patch_then_surfaced(client, https_server):
    conflict = (409, {"kind": "Status", "reason": "Conflict", "message": "the object has been modified"})
    https_server.script("PATCH", "/daemonsets/cilium$", conflict, (200, {"metadata": {"name": "cilium"}}))
    assert client.patch("/apis/apps/v1/namespaces/kube-system/daemonsets/cilium", {"spec": {}})["metadata"]["name"] == "cilium"
    https_server.script("PATCH", "/deployments/op$", conflict)
    with pytest.raises(k8s_client.K8sApiError) as error:
        client.patch("/apis/apps/v1/namespaces/kube-system/deployments/op", {"spec": {}})
    assert error.value.status == 409 and error.value.reason == "Conflict"
    assert https_server.count("PATCH", "/deployments/op$") == k8s_client.RETRIES + 1


def test_create_conflict_already_exists_is_not_retried(client, https_server):
    https_server.script("POST", "/configmaps$", (409, {"reason": "AlreadyExists", "message": "exists"}))
    with pytest.raises(k8s_client.K8sApiError):
        client.request("POST", "/api/v1/namespaces/default/configmaps", body={"metadata": {"name": "x"}})
    assert https_server.count("POST", "/configmaps$") == 1


def test_server_errors_retried_on_reads_and_on_writes_safe_to_repeat(client, https_server):
    https_server.script("GET", "/nodes$", (503, {"message": "unavailable"}))
    with pytest.raises(k8s_client.K8sApiError) as error:
        client.list("/api/v1/nodes")
    assert error.value.status == 503 and https_server.count("GET", "/nodes$") == k8s_client.RETRIES + 1
    # delete, server-side apply and merge patches set an end state: repeating them is safe
    https_server.script("DELETE", "/x$", (500, {"message": "boom"}))
    with pytest.raises(k8s_client.K8sApiError):
        client.delete("/api/v1/namespaces/default/configmaps/x")
    assert https_server.count("DELETE", "/x$") == k8s_client.RETRIES + 1
    https_server.script("PATCH", "/cnp/a$", (500, {"message": "boom"}), (200, {"metadata": {"name": "a"}}))
    assert client.apply("/apis/cilium.io/v2/namespaces/d/cnp/a", {"kind": "X"}, "azcni")["metadata"]["name"] == "a"
    # a create (POST) or a JSON patch is not repeated: the first attempt may have been stored
    https_server.script("POST", "/configmaps$", (500, {"message": "boom"}))
    with pytest.raises(k8s_client.K8sApiError):
        client.request("POST", "/api/v1/namespaces/default/configmaps", body={"kind": "ConfigMap"})
    assert https_server.count("POST", "/configmaps$") == 1
    https_server.script("PATCH", "/cm/j$", (500, {"message": "boom"}))
    with pytest.raises(k8s_client.K8sApiError):
        client.patch("/api/v1/namespaces/default/cm/j", [{"op": "add", "path": "/x", "value": 1}], patch_type="json")
    assert https_server.count("PATCH", "/cm/j$") == 1


def test_no_retry_starts_past_the_deadline(client, https_server):
    https_server.script("GET", "/nodes$", (503, {"message": "unavailable"}))
    client.deadline = k8s_client.time.monotonic()  # the task's time is up
    with pytest.raises(k8s_client.K8sApiError):
        client.list("/api/v1/nodes")
    assert https_server.count("GET", "/nodes$") == 1


def test_list_follows_continue(client, https_server):
    https_server.script("GET", "/pods$", (200, {"items": [{"n": 1}], "metadata": {"continue": "t1", "resourceVersion": "5"}}),
                        (200, {"items": [{"n": 2}], "metadata": {"resourceVersion": "6"}}))
    items, version = client.list("/api/v1/pods", label_selector="k8s-app=cilium", limit=1)
    assert items == [{"n": 1}, {"n": 2}] and version == "6"
    second_query = https_server.requests[-1][2]
    assert second_query["continue"] == ["t1"] and second_query["labelSelector"] == ["k8s-app=cilium"]


def test_apply_sends_server_side_apply(client, https_server):
    https_server.script("PATCH", "/cnp/a$", (200, {"metadata": {"name": "a"}}))
    client.apply("/apis/cilium.io/v2/namespaces/d/cnp/a", {"kind": "X"}, "azcni", force=True, dry_run=True)
    query, body, headers = https_server.requests[-1][2:5]
    assert headers["Content-Type"] == "application/apply-patch+yaml"
    assert query == {"fieldManager": ["azcni"], "force": ["true"], "dryRun": ["All"], "fieldValidation": ["Strict"]}
    assert body == {"kind": "X"}


def test_watch_yields_events_and_raises_gone(client, https_server):
    events = [json.dumps({"type": "ADDED", "object": {"metadata": {"name": "cilium"}}}).encode() + b"\n",
              json.dumps({"type": "ERROR", "object": {"code": 410, "reason": "Expired", "message": "too old"}}).encode() + b"\n"]
    https_server.script("GET", "/daemonsets$", (200, events))
    seen = []
    with pytest.raises(k8s_client.K8sApiError) as error:
        for event in client.watch("/apis/apps/v1/daemonsets", resource_version="1", field_selector="metadata.name=cilium",
                                  timeout_seconds=5):
            seen.append(event["object"]["metadata"]["name"])
    assert seen == ["cilium"] and error.value.status == 410
    assert https_server.requests[-1][2]["watch"] == ["true"]


def test_tls_verification_off_warns_once_per_task():
    from ansible_collections.azcni.cilium.plugins.module_utils._k8s import module as k8s_module
    from ansible_collections.azcni.cilium.tests.unit.plugins.module_utils.fake_module import _AnsibleModuleStub

    module = k8s_module.K8sModule.__new__(k8s_module.K8sModule)
    module.module = _AnsibleModuleStub(check_mode=False, diff_mode=False)
    module.params = {"host": "https://h:6443", "api_key": "tok", "validate_certs": False}
    module._client = None
    assert module.client is module.client
    assert module.module.warnings == [k8s_module.TLS_OFF_WARNING]
    module.params["validate_certs"] = True
    module._client, module.module.warnings[:] = None, []
    assert module.client.cfg.verify_ssl is True and module.module.warnings == []


def test_tls_server_name_is_the_name_presented_and_checked(https_server, tmp_path):
    """kubeconfig's tls-server-name: the server's certificate must name it, whatever the URL says."""
    https_server.script("GET", "^/version$", (200, {"major": "1"}))
    path = write_kubeconfig(tmp_path / "config", https_server.url, ca_path=https_server.ca_path)
    named = k8s_config.load_configuration({"kubeconfig": path})
    named.tls_server_name = "localhost"  # the emulator's certificate names 127.0.0.1 and localhost
    assert k8s_client.K8sClient(named).get("/version") == {"major": "1"}
    named.tls_server_name = "api.internal"
    with pytest.raises(k8s_client.K8sApiError, match="TLS verification failed") as failed:
        k8s_client.K8sClient(named).get("/version")
    assert failed.value.reason == "SSLError"


def test_a_client_certificate_is_presented_when_the_server_asks(tmp_path):
    import ssl

    import trustme

    from ansible_collections.azcni.cilium.tests.emulator.http import HTTPSServer, json_response

    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    server_context.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: no client certificate, no handshake
    authority.configure_trust(server_context)
    server = HTTPSServer(lambda request: json_response(200, {"major": "1"}), server_context).start()
    try:
        authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        leaf = authority.issue_cert("admin")
        leaf.cert_chain_pems[0].write_to_path(str(tmp_path / "client.pem"))
        leaf.private_key_pem.write_to_path(str(tmp_path / "client.key"))
        path = write_kubeconfig(tmp_path / "config", server.url, ca_path=str(tmp_path / "ca.pem"))
        anonymous = k8s_config.load_configuration({"kubeconfig": path})
        with pytest.raises(k8s_client.K8sApiError, match="Could not reach"):
            k8s_client.K8sClient(anonymous).get("/version")
        admin = k8s_config.load_configuration({"kubeconfig": path, "client_cert": str(tmp_path / "client.pem"),
                                               "client_key": str(tmp_path / "client.key")})
        assert k8s_client.K8sClient(admin).get("/version") == {"major": "1"}
    finally:
        server.stop()


def test_a_read_loads_no_urllib3(https_server, tmp_path):
    """The point of _common.ConnectionPool here: a cilium_* task's reads import no HTTP library beyond the standard one."""
    https_server.script("GET", "^/version$", (200, {"major": "1"}))
    path = write_kubeconfig(tmp_path / "config", https_server.url, ca_path=https_server.ca_path)
    code = ("import json, sys\n"
            "from ansible_collections.azcni.cilium.plugins.module_utils._k8s import client, config\n"
            "answer = client.K8sClient(config.load_configuration({'kubeconfig': sys.argv[1]})).get('/version')\n"
            "print(json.dumps([answer, sorted(m for m in sys.modules if m.split('.')[0] in ('urllib3', 'requests'))]))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    done = subprocess.run([sys.executable, "-c", code, path], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"major": "1"}, []]
