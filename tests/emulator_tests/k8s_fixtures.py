"""Fixtures for the Kubernetes emulator's own tests (no ARM needed: clusters start directly).

Import them into a test module with
    from tests.emulator_tests.k8s_fixtures import k8s_ca, k8s_factory, k8s_cluster, kube, kubectl  # noqa: F401
"""

import json
import os
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest

from tests.emulator.k8s import start_cluster
from tests.emulator.tls import CertAuthority
from tests.kubectl import kubectl_path

REFERENCE = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference"))


@pytest.fixture(scope="session")
def k8s_ca(tmp_path_factory):
    return CertAuthority(str(tmp_path_factory.mktemp("k8s-ca")))


@pytest.fixture
def k8s_factory(k8s_ca):
    """start(**start_cluster options) -> a running cluster, stopped after the test."""
    started = []

    def start(**options):
        settings = {"name": "aks1", "resource_group": "rg1", "location": "westeurope", "pod_ready_delay": 0.1}
        settings.update(options)
        handle = start_cluster(ca=k8s_ca, **settings)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.stop()


@pytest.fixture
def k8s_cluster(k8s_factory):
    """A fresh 3-node AKS Cilium cluster (Kubernetes 1.33, no ACNS)."""
    return k8s_factory()


def api_client_for(cluster, directory):
    """The unmodified `kubernetes` client, configured from the cluster's admin kubeconfig."""
    from kubernetes import client, config  # pylint: disable=import-outside-toplevel
    path = os.path.join(str(directory), "kubeconfig-%d" % cluster.server.port)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(cluster.kubeconfig(admin=True))
    configuration = client.Configuration()
    config.load_kube_config(config_file=path, client_configuration=configuration)
    return client.ApiClient(configuration)


@pytest.fixture
def kube(k8s_cluster, tmp_path):
    api_client = api_client_for(k8s_cluster, tmp_path)
    yield api_client
    api_client.close()


class Kubectl:
    """The real kubectl with a per-test kubeconfig, HOME and discovery cache."""

    def __init__(self, cluster, tmp_path):
        self.cluster = cluster
        self.kubeconfig = tmp_path / "kubeconfig"
        self.kubeconfig.write_text(cluster.kubeconfig(admin=True))
        home = tmp_path / "home"
        home.mkdir()
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "KUBECONFIG": str(self.kubeconfig),
                    "KUBECACHEDIR": str(home / "cache"), "KUBECTL_EXTERNAL_DIFF": "diff -u -N"}
        self.tmp_path = tmp_path

    def __call__(self, *args, check=True, stdin=None, timeout=90):
        result = subprocess.run([kubectl_path(), "--request-timeout=30s"] + list(args), input=stdin, capture_output=True, text=True,
                                env=self.env, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise AssertionError("kubectl %s failed (%d):\n%s\n%s" % (" ".join(args), result.returncode, result.stdout,
                                                                      result.stderr))
        return result

    def json(self, *args):
        return json.loads(self(*args, "-o", "json").stdout)

    def write(self, name, text):
        path = self.tmp_path / name
        path.write_text(text)
        return str(path)


@pytest.fixture
def kubectl(k8s_cluster, tmp_path):
    return Kubectl(k8s_cluster, tmp_path)


def policy_path(doc):
    """The collection URL a Cilium policy document is created at."""
    if doc["kind"] == "CiliumClusterwideNetworkPolicy":
        return "/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies"
    return "/apis/cilium.io/v2/namespaces/%s/ciliumnetworkpolicies" % doc["metadata"].get("namespace", "default")


def raw_request(cluster, method, path, body=None, token=None, headers=None, content_type="application/json"):
    """(status, parsed JSON body or text, headers) for one HTTPS request, without any client library."""
    context = ssl.create_default_context()
    context.load_verify_locations(cadata=cluster.ca_pem)
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(cluster.server_url + path, data=data, method=method)
    if token is not False:
        request.add_header("Authorization", "Bearer " + (token or cluster.admin_token))
    if data is not None:
        request.add_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            status, text, response_headers = response.status, response.read().decode("utf-8"), response.headers
    except urllib.error.HTTPError as exc:
        status, text, response_headers = exc.code, exc.read().decode("utf-8"), exc.headers
    try:
        return status, json.loads(text), response_headers
    except ValueError:
        return status, text, response_headers


def watch_events(cluster, path, limit=None, timeout=10):
    """Read a raw watch stream: the list of event dicts until `limit` events, stream end, or timeout."""
    context = ssl.create_default_context()
    context.load_verify_locations(cadata=cluster.ca_pem)
    request = urllib.request.Request(cluster.server_url + path)
    request.add_header("Authorization", "Bearer " + cluster.admin_token)
    events = []
    with urllib.request.urlopen(request, context=context, timeout=timeout) as response:
        for line in response:
            events.append(json.loads(line))
            if limit is not None and len(events) >= limit:
                break
    return events
