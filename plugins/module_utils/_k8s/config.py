# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes connection options and their loading, as kubernetes.core and kubectl do it.

Same options, same ``K8S_AUTH_*`` variables, same precedence as kubernetes.core. The kubeconfig is
read here (YAML, ``$KUBECONFIG`` lists merged as kubectl merges them, contexts, certificate and key
data, tokens, exec credential plugins such as kubelogin, the in-cluster service account) rather than
through the ``kubernetes`` package, whose loader imports its whole generated client first: more than
a second per task. Only the deprecated ``auth-provider`` users go through the ``kubernetes`` loader.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import atexit
import base64
import ipaddress
import json
import os
import tempfile
from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback

K8S_IMPORT_ERROR = None  # K8sModule's requirement check: PyYAML comes with the kubernetes package
K8S_IMPORT_TRACEBACK = None
try:
    import yaml
except ImportError as exc:
    yaml = None
    K8S_IMPORT_ERROR = exc

IN_CLUSTER = "/var/run/secrets/kubernetes.io/serviceaccount"


def _env(*names):
    return (env_fallback, list(names))


K8S_AUTH_ARGS = dict(
    kubeconfig=dict(type="raw", fallback=_env("K8S_AUTH_KUBECONFIG")),
    context=dict(type="str", fallback=_env("K8S_AUTH_CONTEXT")),
    host=dict(type="str", fallback=_env("K8S_AUTH_HOST")),
    api_key=dict(type="str", no_log=True, fallback=_env("K8S_AUTH_API_KEY")),
    validate_certs=dict(type="bool", aliases=["verify_ssl"], fallback=_env("K8S_AUTH_VALIDATE_CERTS", "K8S_AUTH_VERIFY_SSL")),
    ca_cert=dict(type="path", aliases=["ssl_ca_cert"], fallback=_env("K8S_AUTH_CA_CERT", "K8S_AUTH_SSL_CA_CERT")),
    client_cert=dict(type="path", aliases=["cert_file"], fallback=_env("K8S_AUTH_CLIENT_CERT", "K8S_AUTH_CERT_FILE")),
    client_key=dict(type="path", aliases=["key_file"], no_log=False, fallback=_env("K8S_AUTH_CLIENT_KEY", "K8S_AUTH_KEY_FILE")),
    proxy=dict(type="str", fallback=_env("K8S_AUTH_PROXY")),
    no_proxy=dict(type="str", fallback=_env("K8S_AUTH_NO_PROXY")),
    # apply_defaults: the K8S_AUTH_PROXY_HEADERS_* variables apply when the option itself is not given
    proxy_headers=dict(type="dict", apply_defaults=True, options=dict(
        proxy_basic_auth=dict(type="str", no_log=True, fallback=_env("K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH")),
        basic_auth=dict(type="str", no_log=True, fallback=_env("K8S_AUTH_PROXY_HEADERS_BASIC_AUTH")),
        user_agent=dict(type="str", fallback=_env("K8S_AUTH_PROXY_HEADERS_USER_AGENT")),
    )),
    impersonate_user=dict(type="str", fallback=_env("K8S_AUTH_IMPERSONATE_USER")),
)


class K8sConfigError(Exception):
    """The connection could not be configured; the message says what to change."""


class Connection(object):
    """Where and how to reach one API server (the attributes K8sClient reads)."""

    def __init__(self, host=None):
        self.host = host
        self.verify_ssl = True
        self.ssl_ca_cert = None
        self.cert_file = None
        self.key_file = None
        self.tls_server_name = None
        self.assert_hostname = None
        self.proxy = None
        self.no_proxy = None
        self.proxy_headers = None  # headers for the proxy's CONNECT (urllib3.util.make_headers)
        self.token = None
        self.username = None
        self.password = None

    def auth_headers(self):
        if self.token:
            return {"Authorization": "Bearer %s" % self.token}
        if self.username and self.password:
            basic = base64.b64encode(("%s:%s" % (self.username, self.password)).encode("utf-8")).decode("ascii")
            return {"Authorization": "Basic %s" % basic}
        return {}


# --- files for data fields -------------------------------------------------------------------------
_TEMP_FILES = []


def _remove_temp_files():
    for path in _TEMP_FILES:
        try:
            os.unlink(path)
        except OSError:
            pass


atexit.register(_remove_temp_files)


def _data_file(data, what):
    """A 0600 temp file holding base64 ``data`` (TLS libraries read certificates and keys from files);
    removed when the task ends."""
    try:
        content = base64.b64decode(data, validate=False)
    except (ValueError, TypeError):
        raise K8sConfigError("The kubeconfig's %s is not valid base64." % what)
    handle, path = tempfile.mkstemp(prefix="azcni-k8s-")
    _TEMP_FILES.append(path)
    with os.fdopen(handle, "wb") as stream:
        stream.write(content)
    return path


def _resolve(base_dir, path):
    if not path:
        return None
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) else os.path.join(base_dir, path)


# --- kubeconfig ------------------------------------------------------------------------------------
def _read_yaml(path):
    try:
        with open(path, encoding="utf-8") as stream:
            document = yaml.safe_load(stream) or {}
    except (IOError, OSError) as exc:
        raise K8sConfigError("Could not read the kubeconfig %s: %s" % (path, exc.strerror or exc))
    except yaml.YAMLError as exc:
        raise K8sConfigError("The kubeconfig %s is not valid YAML: %s" % (path, exc))
    if not isinstance(document, dict):
        raise K8sConfigError("The kubeconfig %s is not a kubeconfig (a mapping with clusters, users, contexts)." % path)
    return document


def _merge(documents):
    """kubectl's merge of several kubeconfig files: the first file that names an entry or sets
    current-context wins. Each entry remembers the directory its relative paths are relative to."""
    merged = {"clusters": {}, "users": {}, "contexts": {}, "current-context": None}
    for base_dir, document in documents:
        for section, key in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
            for entry in document.get(section) or []:
                if isinstance(entry, dict) and entry.get("name") not in merged[section]:
                    merged[section][entry.get("name")] = (base_dir, entry.get(key) or {})
        if not merged["current-context"] and document.get("current-context"):
            merged["current-context"] = document["current-context"]
    return merged


def _kubeconfig_documents(kubeconfig):
    if isinstance(kubeconfig, dict):
        return [(os.getcwd(), kubeconfig)]
    if kubeconfig:
        paths = [os.path.expanduser(kubeconfig)]
    else:
        paths = [p for p in (os.environ.get("KUBECONFIG") or "").split(os.pathsep) if p] or [os.path.expanduser("~/.kube/config")]
        existing = [p for p in paths if os.path.exists(p)]
        paths = existing or paths[:1]
    return [(os.path.dirname(os.path.abspath(path)), _read_yaml(path)) for path in paths]


def _exec_credential(base_dir, spec, cluster, run_command):
    """Run an exec credential plugin (client.authentication.k8s.io) and return its status.

    ``run_command`` is AnsibleModule's (args, environ_update=...) -> (rc, stdout, stderr)."""
    command = spec.get("command")
    if not command:
        raise K8sConfigError("The kubeconfig user's exec entry has no command.")
    if "/" in command and not os.path.isabs(command):
        command = os.path.join(base_dir, command)
    env = dict((item.get("name"), item.get("value")) for item in spec.get("env") or [] if item.get("name"))
    api_version = spec.get("apiVersion") or "client.authentication.k8s.io/v1"
    info = {"apiVersion": api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
    if spec.get("provideClusterInfo"):
        info["spec"]["cluster"] = dict((k, v) for k, v in cluster.items() if k in ("server", "certificate-authority-data",
                                                                                   "tls-server-name", "insecure-skip-tls-verify"))
    env["KUBERNETES_EXEC_INFO"] = json.dumps(info)
    if run_command is None:
        raise K8sConfigError("The kubeconfig user runs an exec credential plugin (%s), which needs a module to run it."
                             % command)
    try:
        rc, out, err = run_command([command] + list(spec.get("args") or []), environ_update=env)
    except OSError as exc:
        rc, out, err = 127, "", str(exc)
    if rc != 0:
        hint = " %s" % spec["installHint"] if spec.get("installHint") and rc == 127 else ""
        raise K8sConfigError("The kubeconfig's exec credential plugin %s failed (exit %d): %s%s" % (
            command, rc, (err or "").strip()[:500], hint))
    try:
        return json.loads(out).get("status") or {}
    except (ValueError, AttributeError):
        raise K8sConfigError("The kubeconfig's exec credential plugin %s did not print an ExecCredential." % command)


def _from_kubeconfig(kubeconfig, context_name, run_command):
    merged = _merge(_kubeconfig_documents(kubeconfig))
    context_name = context_name or merged["current-context"]
    if not context_name or context_name not in merged["contexts"]:
        raise K8sConfigError("The kubeconfig has no context %r (it has %s)." % (
            context_name, ", ".join(sorted(str(n) for n in merged["contexts"])) or "none"))
    _dir, context = merged["contexts"][context_name]
    cluster_dir, cluster = merged["clusters"].get(context.get("cluster"), (None, None))
    if cluster is None:
        raise K8sConfigError("Context %s names cluster %r, which the kubeconfig lacks." % (context_name, context.get("cluster")))
    user_dir, user = merged["users"].get(context.get("user"), (cluster_dir, {}))
    if user.get("auth-provider"):
        return None  # deprecated provider plugins: only the kubernetes package implements them
    conn = Connection(cluster.get("server"))
    conn.verify_ssl = not cluster.get("insecure-skip-tls-verify", False)
    conn.tls_server_name = cluster.get("tls-server-name")
    conn.proxy = cluster.get("proxy-url")
    if cluster.get("certificate-authority-data"):
        conn.ssl_ca_cert = _data_file(cluster["certificate-authority-data"], "certificate-authority-data")
    else:
        conn.ssl_ca_cert = _resolve(cluster_dir, cluster.get("certificate-authority"))
    credentials = _exec_credential(user_dir, user["exec"], cluster, run_command) if user.get("exec") else {}
    certificate = credentials.get("clientCertificateData")
    if certificate:
        conn.cert_file = _data_file(base64.b64encode(certificate.encode("utf-8")), "exec clientCertificateData")
        conn.key_file = _data_file(base64.b64encode((credentials.get("clientKeyData") or "").encode("utf-8")),
                                   "exec clientKeyData")
    elif user.get("client-certificate-data"):
        conn.cert_file = _data_file(user["client-certificate-data"], "client-certificate-data")
        conn.key_file = _data_file(user.get("client-key-data") or "", "client-key-data")
    else:
        conn.cert_file = _resolve(user_dir, user.get("client-certificate"))
        conn.key_file = _resolve(user_dir, user.get("client-key"))
    conn.token = credentials.get("token") or user.get("token")
    if not conn.token and user.get("tokenFile"):
        conn.token = _read_text(_resolve(user_dir, user["tokenFile"]), "tokenFile")
    conn.username, conn.password = user.get("username"), user.get("password")
    return conn


def _read_text(path, what):
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read().strip()
    except (IOError, OSError) as exc:
        raise K8sConfigError("Could not read the %s %s: %s" % (what, path, exc.strerror or exc))


def _in_cluster():
    """The pod's service account, when running inside a cluster (an AWX container group)."""
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
    token_file = os.path.join(IN_CLUSTER, "token")
    if not host or not port or not os.path.exists(token_file):
        return None
    conn = Connection("https://%s:%s" % ("[%s]" % host if ":" in host else host, port))
    conn.token = _read_text(token_file, "service account token")
    conn.ssl_ca_cert = os.path.join(IN_CLUSTER, "ca.crt")
    return conn


def _with_kubernetes_package(kubeconfig, context):
    """The kubernetes package's own loader (for auth-provider users), as a Connection."""
    try:
        from kubernetes import config as kube_config
        from kubernetes.client import Configuration
    except ImportError:
        raise K8sConfigError("This kubeconfig user has an auth-provider entry, which needs the kubernetes Python package.")
    cfg = Configuration()
    try:
        if isinstance(kubeconfig, dict):
            kube_config.load_kube_config_from_dict(kubeconfig, context=context, client_configuration=cfg, persist_config=False)
        else:
            kube_config.load_kube_config(config_file=os.path.expanduser(kubeconfig) if kubeconfig else None, context=context,
                                         client_configuration=cfg, persist_config=False)
    except (kube_config.ConfigException, IOError, OSError, ValueError) as exc:
        raise K8sConfigError("Could not load the Kubernetes configuration: %s" % exc)
    conn = Connection(cfg.host)
    for attribute in ("verify_ssl", "ssl_ca_cert", "cert_file", "key_file", "proxy", "assert_hostname"):
        setattr(conn, attribute, getattr(cfg, attribute))
    conn.tls_server_name = getattr(cfg, "tls_server_name", None)
    header = (cfg.auth_settings().get("BearerToken") or {}).get("value") or ""
    conn.token = header[len("Bearer "):] if header.startswith("Bearer ") else None
    return conn


def load_configuration(params, run_command=None):
    """The Connection kubernetes.core would build from these options (``run_command`` runs exec plugins).

    ``host`` with a token or client certificate needs no kubeconfig. Otherwise the given kubeconfig
    (path or dict) and context are loaded; with neither, the in-cluster service account and then
    ``$KUBECONFIG`` / ``~/.kube/config``. Explicit options then override what was loaded.
    """
    if yaml is None:
        raise K8sConfigError("PyYAML is required to read a kubeconfig (pip install kubernetes installs it).")
    standalone = params.get("host") and (params.get("api_key") or params.get("client_cert"))
    kubeconfig, context = params.get("kubeconfig"), params.get("context")
    if standalone:
        conn = Connection()
    else:
        conn = None if (kubeconfig or context) else _in_cluster()
        if conn is None:
            try:
                conn = _from_kubeconfig(kubeconfig, context, run_command)
            except K8sConfigError as exc:
                raise K8sConfigError("Could not load the Kubernetes configuration: %s Give kubeconfig (or "
                                     "K8S_AUTH_KUBECONFIG), or host with api_key or client_cert." % exc)
            if conn is None:
                conn = _with_kubernetes_package(kubeconfig, context)
    overrides = dict(host="host", validate_certs="verify_ssl", ca_cert="ssl_ca_cert", client_cert="cert_file",
                     client_key="key_file", proxy="proxy", api_key="token")
    for option, attribute in overrides.items():
        if params.get(option) is not None:
            setattr(conn, attribute, params[option])
    if not conn.host:
        raise K8sConfigError("No Kubernetes API server configured: give kubeconfig or host.")
    headers = dict((key, value) for key, value in (params.get("proxy_headers") or {}).items() if value is not None)
    if headers:  # urllib3 (a kubernetes dependency) sends through the proxy: see _k8s.client
        import urllib3

        conn.proxy_headers = urllib3.util.make_headers(**headers)
    if params.get("no_proxy") is not None:
        conn.no_proxy = params["no_proxy"]
    return conn


def bypasses_proxy(url, no_proxy):
    """True when ``url``'s host matches a ``no_proxy`` entry: a host name, a domain (``.example.com`` or
    ``example.com``, subdomains included), an IP address, a CIDR, ``host:port`` or ``*``."""
    host = (urlsplit(url).hostname or "").lower()
    for entry in (item.strip().lower() for item in (no_proxy or "").split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        if "/" in entry:
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name = entry.strip("[]") if entry.startswith("[") else entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry
        name = name.lstrip(".")
        if host == name or host.endswith("." + name):
            return True
    return False
