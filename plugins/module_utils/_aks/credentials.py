# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Merge AKS credentials into a kubeconfig file the way ``az aks get-credentials`` does.

What az does and we keep: other clusters, users and contexts stay; an entry with the same name is
replaced when it is identical or when overwriting is allowed, otherwise the merge fails with az's
message; admin contexts get a ``-admin`` suffix; current-context points at the new context.

What we add: the file is written atomically (temporary file in the same directory, then
``os.replace``) with mode 0600, under an exclusive lock on a ``<file>.lock`` sidecar so that parallel
forks writing the same file never lose each other's entries, and an unchanged file is not rewritten.
Nothing here ever returns or logs the credentials themselves: callers get names only.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import fcntl
import os
import stat
import tempfile

from ansible_collections.azcni.cilium.plugins.module_utils._azure import names
from ansible_collections.azcni.cilium.plugins.module_utils._azure.module import AzureError

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None

SECTIONS = ("clusters", "users", "contexts")
FILE_MODE = 0o600


class KubeconfigError(Exception):
    """The kubeconfig cannot be merged or written; the message says why (never the content)."""


def decode_credentials(result):
    """Return the kubeconfig text from a listCluster*Credential result (raw JSON or SDK model)."""
    if hasattr(result, "as_dict"):
        result = result.as_dict()
    kubeconfigs = (result or {}).get("kubeconfigs") or []
    if not kubeconfigs or not kubeconfigs[0].get("value"):
        raise KubeconfigError("Azure returned no kubeconfig for this cluster")
    value = kubeconfigs[0]["value"]
    if isinstance(value, str):
        value = base64.b64decode(value)
    return bytes(value).decode("utf-8")


def parse(text, what="kubeconfig"):
    """Parse kubeconfig YAML into a dict; empty text is an empty config."""
    try:
        data = yaml.safe_load(text) if text and text.strip() else None
    except yaml.YAMLError as exc:
        # the YAML error can quote a line of the file, and that line may be a token: keep the position only
        mark = getattr(exc, "problem_mark", None)
        where = " (line %d)" % (mark.line + 1) if mark is not None else ""
        raise KubeconfigError("The %s is not valid YAML%s" % (what, where)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KubeconfigError("The %s is not a kubeconfig (expected a mapping at the top level)" % what)
    for section in SECTIONS:
        if not isinstance(data.get(section) or [], list):
            raise KubeconfigError("The %s is not a kubeconfig (%s is not a list)" % (what, section))
    return data


def prepare_addition(addition, context_name=None):
    """Name the new context like az does, or ``context_name`` when given.

    az appends ``-admin`` to an admin context so it does not overwrite the user context; an explicit
    ``context_name`` is used verbatim (az would still append ``-admin``, which surprises people).
    """
    addition = copy.deepcopy(addition)
    contexts = addition.get("contexts") or []
    if not contexts or not isinstance(contexts[0], dict):
        raise KubeconfigError("The credentials Azure returned hold no context")
    context = contexts[0]
    if context_name:
        context["name"] = context_name
        context.setdefault("context", {})["cluster"] = context_name
        if addition.get("clusters"):
            addition["clusters"][0]["name"] = context_name
    else:
        user = str((context.get("context") or {}).get("user") or "")
        if user.startswith("clusterAdmin") and not str(context.get("name")).endswith("-admin"):
            context["name"] = "%s-admin" % context["name"]
    addition["current-context"] = context["name"]
    return addition


def merge(existing, addition, overwrite=False, set_current=True):
    """Merge ``addition`` into ``existing``; returns (merged, names of replaced-but-different entries).

    Same-name entries are replaced in place (so an unchanged merge leaves the file byte-identical),
    new ones are appended. A different same-name entry without ``overwrite`` fails like az.
    """
    merged = copy.deepcopy(existing) if existing else {"apiVersion": "v1", "kind": "Config", "preferences": {}}
    replaced = []
    for section in SECTIONS:
        entries = merged.get(section) or []
        merged[section] = entries
        for entry in addition.get(section) or []:
            name = entry.get("name")
            index = next((i for i, old in enumerate(entries) if isinstance(old, dict) and old.get("name") == name), None)
            if index is None:
                entries.append(copy.deepcopy(entry))
                continue
            if entries[index] != entry:
                if not overwrite:
                    raise KubeconfigError(
                        "A different object named %s already exists in your kubeconfig file (%s); "
                        "set overwrite_existing to replace it" % (name, section))
                replaced.append("%s/%s" % (section, name))
            entries[index] = copy.deepcopy(entry)
    if set_current or not merged.get("current-context"):
        merged["current-context"] = addition.get("current-context")
    return merged, replaced


def summary(config, replaced=()):
    """Names only (never credentials), for diffs: replaced entries are marked."""
    result = {"current-context": config.get("current-context")}
    for section in SECTIONS:
        names = []
        for entry in config.get(section) or []:
            name = entry.get("name") if isinstance(entry, dict) else None
            mark = " (replaced)" if "%s/%s" % (section, name) in replaced else ""
            names.append("%s%s" % (name, mark))
        result[section] = names
    return result


def target_path(path):
    """The real file to write: a symlinked kubeconfig stays a symlink, its target is replaced."""
    return os.path.realpath(os.path.expanduser(path))


def read(path):
    """Return (config dict, file mode or None when the file does not exist)."""
    try:
        with open(path, "r", encoding="utf-8") as handle:
            text = handle.read()
            mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
    except FileNotFoundError:
        return {}, None
    return parse(text, "kubeconfig file %s" % path), mode


@contextlib.contextmanager
def locked(path):
    """Hold an exclusive lock on ``<path>.lock`` (the sidecar survives: removing it would race)."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def write_atomic(path, config):
    """Write ``config`` as YAML to ``path`` with mode 0600: temp file in the same dir, then rename."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), FILE_MODE)
            yaml.safe_dump(config, handle, default_flow_style=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def remove_orphans(path):
    """Remove the temp files a killed writer left beside ``path`` (they may hold credentials).

    Call with the lock held: every writer writes its temp file under the lock, so any temp file found
    then belongs to a writer that is gone.
    """
    directory = os.path.dirname(path) or "."
    prefix = ".%s." % os.path.basename(path)
    for name in os.listdir(directory):
        if name.startswith(prefix) and name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, name))


def _plan(path, addition, overwrite, set_current):
    existing, mode = read(path)
    merged, replaced = merge(existing, addition, overwrite, set_current)
    content_changed = mode is None or merged != existing
    return existing, merged, replaced, content_changed, mode is not None and mode != FILE_MODE


def apply(path, kubeconfig_text, context_name=None, overwrite=False, set_current=True, check_mode=False):
    """Merge credentials into the kubeconfig at ``path``; returns a result dict (names only).

    The read-merge-write happens under the lock, so concurrent callers serialise and each sees the
    entries the others wrote.
    """
    if yaml is None:
        raise KubeconfigError("PyYAML is required to write kubeconfig files")
    addition = prepare_addition(parse(kubeconfig_text, "kubeconfig returned by Azure"), context_name)
    path = target_path(path)
    if check_mode:
        existing, merged, replaced, content_changed, mode_wrong = _plan(path, addition, overwrite, set_current)
    else:
        with locked(path):
            remove_orphans(path)
            existing, merged, replaced, content_changed, mode_wrong = _plan(path, addition, overwrite, set_current)
            if content_changed:
                write_atomic(path, merged)
            elif mode_wrong:
                os.chmod(path, FILE_MODE)
    context = addition["current-context"]
    context_entry = next(c for c in addition["contexts"] if c.get("name") == context).get("context") or {}
    return {
        "changed": content_changed or mode_wrong,
        "path": path,
        "context": context,
        "cluster": context_entry.get("cluster"),
        "user": context_entry.get("user"),
        "diff": {"before": summary(existing), "after": summary(merged, replaced)},
    }


# --- the aks_kubeconfig module ----------------------------------------------------------------
# what a malformed credential result raises (bad base64 is a ValueError)
DECODE_ERRORS = (KubeconfigError, ValueError, UnicodeDecodeError)


def cluster_credentials(az, resource_group, name, admin=False):
    """The kubeconfig text of the cluster's user (or admin) credentials, from listCluster*Credential (a
    credential: never log or return it). Raises AzureError, or one of DECODE_ERRORS."""
    clusters = az.client("containerservice").managed_clusters
    operation = clusters.list_cluster_admin_credentials if admin else clusters.list_cluster_user_credentials
    return decode_credentials(az.call(operation, resource_group, name))


def fetch(az):
    """The kubeconfig text Azure returns for the cluster, for aks_kubeconfig; fails the task when it cannot."""
    params = az.params
    what = "admin" if params["admin"] else "user"
    az.check_names([names.resource_group("resource_group", params["resource_group"]),
                    names.cluster_name("name", params["name"])])
    try:
        return cluster_credentials(az, params["resource_group"], params["name"], admin=params["admin"])
    except AzureError as exc:
        if exc.status == 404:
            az.fail_json(msg="Managed cluster %s not found in resource group %s" % (params["name"], params["resource_group"]))
        az.fail_azure(exc, "Cannot fetch the %s credentials of cluster %s" % (what, params["name"]))
    except DECODE_ERRORS as exc:
        az.fail_json(msg="Cannot read the %s credentials of cluster %s: %s" % (what, params["name"], exc))


def run_kubeconfig(az):
    """Fetch the credentials and merge them into the kubeconfig file; exit or fail."""
    params = az.params
    text = fetch(az)
    try:
        result = apply(params["path"], text, context_name=params["context"], overwrite=params["overwrite_existing"],
                       set_current=params["set_current_context"], check_mode=az.check_mode)
    except KubeconfigError as exc:
        az.fail_json(msg=str(exc), path=params["path"])
    except OSError as exc:
        az.fail_json(msg="Cannot write kubeconfig %s: %s" % (params["path"], exc.strerror or exc), path=params["path"])
    az.exit_json(**result)
