# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubeconfig merge like ``az aks get-credentials``: merge rules, 0600, atomic replace, parallel writers."""

from __future__ import annotations

import base64
import multiprocessing
import os
import stat

import pytest
import yaml

from ansible_collections.azcni.cilium.plugins.module_utils._aks import credentials as aks_credentials


def aks_kubeconfig(name, resource_group="rg", admin=False, token="t0ken", server=None):
    """A kubeconfig shaped like the one AKS returns (context named after the cluster)."""
    user = "cluster%s_%s_%s" % ("Admin" if admin else "User", resource_group, name)
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": name, "cluster": {"server": server or "https://%s.hcp.example:443" % name,
                                                "certificate-authority-data": "Q0E="}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": user}}],
        "current-context": name,
    })


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def names(config, section):
    return [entry["name"] for entry in config.get(section) or []]


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "kube" / "config")


def test_creates_file_and_directory_with_mode_0600(path):
    result = aks_credentials.apply(path, aks_kubeconfig("aks1"))
    assert result["changed"] is True
    assert result["context"] == "aks1" and result["user"] == "clusterUser_rg_aks1" and result["cluster"] == "aks1"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    config = load(path)
    assert config["current-context"] == "aks1"
    assert names(config, "contexts") == ["aks1"]


def test_merge_keeps_other_entries_and_sets_current_context(path):
    aks_credentials.apply(path, aks_kubeconfig("aks1"))
    result = aks_credentials.apply(path, aks_kubeconfig("aks2"))
    config = load(path)
    assert result["changed"] is True
    assert names(config, "contexts") == ["aks1", "aks2"]
    assert names(config, "clusters") == ["aks1", "aks2"]
    assert names(config, "users") == ["clusterUser_rg_aks1", "clusterUser_rg_aks2"]
    assert config["current-context"] == "aks2"


def test_unchanged_merge_does_not_rewrite(path):
    aks_credentials.apply(path, aks_kubeconfig("aks1"))
    aks_credentials.apply(path, aks_kubeconfig("aks2"))
    before = os.stat(path)
    aks_credentials.apply(path, aks_kubeconfig("aks2"))  # the same credentials again: replaced by an identical entry
    result = aks_credentials.apply(path, aks_kubeconfig("aks2"))
    assert result["changed"] is False
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_different_entry_fails_like_az_unless_overwrite(path):
    aks_credentials.apply(path, aks_kubeconfig("aks1"))
    aks_credentials.apply(path, aks_kubeconfig("aks2"))
    original = open(path, encoding="utf-8").read()
    with pytest.raises(aks_credentials.KubeconfigError, match="A different object named aks1 already exists in your kubeconfig file"):
        aks_credentials.apply(path, aks_kubeconfig("aks1", server="https://moved:443"))
    assert open(path, encoding="utf-8").read() == original

    result = aks_credentials.apply(path, aks_kubeconfig("aks1", server="https://moved:443", token="rotated"), overwrite=True)
    config = load(path)
    assert result["changed"] is True
    assert names(config, "clusters") == ["aks1", "aks2"]  # replaced in place, order kept
    assert config["clusters"][0]["cluster"]["server"] == "https://moved:443"
    assert config["users"][0]["user"]["token"] == "rotated"
    assert result["diff"]["after"]["clusters"] == ["aks1 (replaced)", "aks2"]
    assert result["diff"]["after"]["users"] == ["clusterUser_rg_aks1 (replaced)", "clusterUser_rg_aks2"]


def test_admin_context_gets_admin_suffix_once(path):
    result = aks_credentials.apply(path, aks_kubeconfig("aks1", admin=True))
    assert result["context"] == "aks1-admin"
    already_suffixed = yaml.safe_load(aks_kubeconfig("aks1", admin=True))
    already_suffixed["contexts"][0]["name"] = already_suffixed["current-context"] = "aks1-admin"
    assert aks_credentials.apply(path, yaml.safe_dump(already_suffixed))["context"] == "aks1-admin"
    # user and admin contexts live side by side
    aks_credentials.apply(path, aks_kubeconfig("aks1"))
    assert names(load(path), "contexts") == ["aks1-admin", "aks1"]


def test_explicit_context_name_renames_context_and_cluster(path):
    result = aks_credentials.apply(path, aks_kubeconfig("aks1", admin=True), context_name="dev")
    config = load(path)
    assert result["context"] == "dev" and result["cluster"] == "dev"
    assert config["contexts"] == [{"name": "dev", "context": {"cluster": "dev", "user": "clusterAdmin_rg_aks1"}}]
    assert names(config, "clusters") == ["dev"]
    assert config["current-context"] == "dev"


def test_set_current_context_false_keeps_the_current_one(path):
    aks_credentials.apply(path, aks_kubeconfig("aks1"))
    aks_credentials.apply(path, aks_kubeconfig("aks2"), set_current=False)
    assert load(path)["current-context"] == "aks1"


def test_wrong_mode_is_fixed_without_rewriting(path):
    aks_credentials.apply(path, aks_kubeconfig("aks1"))
    os.chmod(path, 0o644)
    inode = os.stat(path).st_ino
    result = aks_credentials.apply(path, aks_kubeconfig("aks1"))
    assert result["changed"] is True
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and os.stat(path).st_ino == inode


def test_check_mode_writes_nothing(path):
    result = aks_credentials.apply(path, aks_kubeconfig("aks1"), check_mode=True)
    assert result["changed"] is True
    assert not os.path.exists(path)
    assert result["diff"] == {
        "before": {"current-context": None, "clusters": [], "users": [], "contexts": []},
        "after": {"current-context": "aks1", "clusters": ["aks1"], "users": ["clusterUser_rg_aks1"], "contexts": ["aks1"]},
    }


def test_result_never_contains_credentials(path):
    result = aks_credentials.apply(path, aks_kubeconfig("aks1", token="sup3r-s3cret-t0ken"))
    assert "sup3r-s3cret-t0ken" not in repr(result)
    assert "Q0E=" not in repr(result)


def test_failed_write_leaves_the_old_file_and_no_temp_files(path, monkeypatch):
    aks_credentials.apply(path, aks_kubeconfig("aks1"))
    original = open(path, encoding="utf-8").read()
    addition = aks_kubeconfig("aks2")

    def broken_dump(data, stream, **kwargs):
        stream.write("clusters: [half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(aks_credentials.yaml, "safe_dump", broken_dump)
    with pytest.raises(OSError):
        aks_credentials.apply(path, addition)
    assert open(path, encoding="utf-8").read() == original
    assert sorted(os.listdir(os.path.dirname(path))) == ["config", "config.lock"]


def test_temp_files_of_a_killed_writer_are_removed_by_the_next_run(path):
    aks_credentials.apply(path, aks_kubeconfig("aks1"))
    directory = os.path.dirname(path)
    orphan = os.path.join(directory, ".config.k1ll3d.tmp")  # what mkstemp left when kill -9 hit mid-write
    with open(orphan, "w", encoding="utf-8") as handle:
        handle.write("users: [{name: half, user: {token: secret-part")
    other = os.path.join(directory, ".other.x.tmp")  # another file's temp: not ours to touch
    open(other, "w", encoding="utf-8").close()
    result = aks_credentials.apply(path, aks_kubeconfig("aks1"))  # unchanged content: still cleans up
    assert result["changed"] is False
    assert not os.path.exists(orphan) and os.path.exists(other)
    aks_credentials.apply(path, aks_kubeconfig("aks2"), check_mode=True)
    open(orphan, "w", encoding="utf-8").close()
    aks_credentials.apply(path, aks_kubeconfig("aks2"), check_mode=True)
    assert os.path.exists(orphan)  # check mode touches nothing


def test_symlinked_kubeconfig_stays_a_symlink(tmp_path):
    real = tmp_path / "real-config"
    link = tmp_path / "config"
    aks_credentials.apply(str(real), aks_kubeconfig("aks1"))
    os.symlink(str(real), str(link))
    result = aks_credentials.apply(str(link), aks_kubeconfig("aks2"))
    assert os.path.islink(str(link))
    assert result["path"] == str(real)
    assert names(load(str(real)), "contexts") == ["aks1", "aks2"]


def test_invalid_existing_file_fails_without_quoting_it(path):
    os.makedirs(os.path.dirname(path))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("users:\n- name: x\n  user: {token: leaked-token\n")
    with pytest.raises(aks_credentials.KubeconfigError) as error:
        aks_credentials.apply(path, aks_kubeconfig("aks1"))
    assert "not valid YAML" in str(error.value) and "leaked-token" not in str(error.value)


@pytest.mark.parametrize("text, message", [
    ("- a\n- b\n", "expected a mapping"),
    ("clusters: {a: 1}\n", "clusters is not a list"),
])
def test_existing_file_must_be_a_kubeconfig(path, text, message):
    os.makedirs(os.path.dirname(path))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    with pytest.raises(aks_credentials.KubeconfigError, match=message):
        aks_credentials.apply(path, aks_kubeconfig("aks1"))


def test_decode_credentials():
    text = aks_kubeconfig("aks1")
    encoded = base64.b64encode(text.encode()).decode()
    assert aks_credentials.decode_credentials({"kubeconfigs": [{"name": "clusterUser", "value": encoded}]}) == text
    assert aks_credentials.decode_credentials({"kubeconfigs": [{"name": "clusterUser", "value": bytearray(text.encode())}]}) == text
    for empty in (None, {}, {"kubeconfigs": []}, {"kubeconfigs": [{"name": "x", "value": ""}]}):
        with pytest.raises(aks_credentials.KubeconfigError, match="no kubeconfig"):
            aks_credentials.decode_credentials(empty)


def _writer(args):
    path, index = args
    return aks_credentials.apply(path, aks_kubeconfig("aks%d" % index, token="token-%d" % index))["context"]


def test_ten_parallel_writers_never_lose_or_corrupt_entries(path):
    aks_credentials.apply(path, aks_kubeconfig("existing"))
    context = multiprocessing.get_context("fork")
    with context.Pool(10) as pool:
        contexts = pool.map(_writer, [(path, i) for i in range(10)], chunksize=1)
    config = load(path)
    expected = ["existing"] + ["aks%d" % i for i in range(10)]
    assert sorted(contexts) == sorted(expected[1:])
    assert sorted(names(config, "contexts")) == sorted(expected)
    assert sorted(names(config, "users")) == sorted("clusterUser_rg_%s" % n for n in expected)
    assert config["current-context"] in expected[1:]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(os.listdir(os.path.dirname(path))) == ["config", "config.lock"]
