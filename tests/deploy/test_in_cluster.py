"""The agent's in-cluster configuration against kubesim over HTTPS with RBAC (issue 17,
item 4): ``KUBERNETES_SERVICE_HOST``/``_PORT``, the service account directory (token, CA),
token rotation (the file changes: the next request carries the new token; a revoked token
is re-read after the 401), and hostile token files (a FIFO, a directory, a device, a huge
file, garbage) that never hang, never raise a traceback and never show the token."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from gitops_agent.core import kinds
from gitops_agent.errors import ConfigError, ForbiddenError
from gitops_agent.targets.kubeapi import KubeApi, RetryPolicy, connect
from gitops_agent.testing.kubesim.kinds import SERVICE_ACCOUNTS
from gitops_agent.testing.kubesim.objects import WriteOptions
from gitops_agent.testing.kubesim.simulator import KubeSim
from tests.deploy.cluster import agent_env, install
from tests.deploy.support import AGENT_NAMESPACE

READER = """\
apiVersion: v1
kind: ServiceAccount
metadata: {{name: {name}, namespace: gitops-agent}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: {name}, namespace: gitops-agent}}
rules: [{{apiGroups: [""], resources: [configmaps], verbs: [list]}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: {name}, namespace: gitops-agent}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {name}}}
subjects: [{{kind: ServiceAccount, name: {name}, namespace: gitops-agent}}]
"""


@pytest.fixture
def mounted(kubesim: KubeSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two readers' ServiceAccounts, and the pod's environment with the first's token."""
    import yaml

    objects = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": AGENT_NAMESPACE}}]
    for name in ("reader-a", "reader-b"):
        objects += list(yaml.safe_load_all(READER.format(name=name)))
    install(kubesim, objects, tmp_path)
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "ca.crt").write_bytes(Path(kubesim.ca_file).read_bytes())
    (account / "namespace").write_text(AGENT_NAMESPACE)
    (account / "token").write_text(kubesim.issue_token(AGENT_NAMESPACE, "reader-a"))
    for key, value in agent_env(kubesim, account, "pod-0").items():
        monkeypatch.setenv(key, value)
    return account


def api() -> KubeApi:
    client = connect(kubeconfig=None, context=None, in_cluster=True)
    return KubeApi(client, retry=RetryPolicy(budget=0.0), timeout=5)


def last_user(kubesim: KubeSim) -> str:
    return kubesim.requests(resource="configmaps")[-1].user


def test_the_in_cluster_path_speaks_tls_to_the_service_host(
    kubesim: KubeSim, mounted: Path
) -> None:
    reader = api()
    assert reader.server == f"https://127.0.0.1:{kubesim.port}"
    assert reader.list(kinds.CONFIG_MAP, namespace=AGENT_NAMESPACE) == []
    assert last_user(kubesim) == "system:serviceaccount:gitops-agent:reader-a"
    record = kubesim.requests(resource="configmaps")[-1]
    assert record.user_agent.startswith("gitops-agent/") and record.user_agent.endswith("pod/pod-0")
    with pytest.raises(ForbiddenError, match='cannot list resource "configmaps"') as denied:
        reader.list(kinds.CONFIG_MAP)  # cluster-wide: not granted
    assert "HTTP 403" in str(denied.value)
    reader.close()


def test_a_rotated_token_is_used_by_the_next_request(kubesim: KubeSim, mounted: Path) -> None:
    reader = api()
    reader.list(kinds.CONFIG_MAP, namespace=AGENT_NAMESPACE)
    assert last_user(kubesim).endswith(":reader-a")
    # the kubelet's way: a new file renamed over the old one
    fresh = mounted / "token.new"
    fresh.write_text(kubesim.issue_token(AGENT_NAMESPACE, "reader-b"))
    fresh.rename(mounted / "token")
    reader.list(kinds.CONFIG_MAP, namespace=AGENT_NAMESPACE)
    assert last_user(kubesim).endswith(":reader-b")
    reader.close()


def test_a_revoked_token_is_read_again_after_the_401(kubesim: KubeSim, mounted: Path) -> None:
    reader = api()
    reader.list(kinds.CONFIG_MAP, namespace=AGENT_NAMESPACE)
    token = mounted / "token"
    before = os.stat(token)
    # the ServiceAccount is re-created: tokens of the old one are refused (another uid)
    with kubesim.store.lock:
        kubesim.store.remove(SERVICE_ACCOUNTS, AGENT_NAMESPACE, "reader-a")
        kubesim.objects.create(
            SERVICE_ACCOUNTS,
            AGENT_NAMESPACE,
            {"metadata": {"name": "reader-a"}},
            WriteOptions(field_manager="test"),
        )
    renewed = kubesim.issue_token(AGENT_NAMESPACE, "reader-a")
    assert len(renewed) == before.st_size
    with token.open("r+") as handle:  # rewritten in place, same size and time: stat unchanged
        handle.write(renewed)
    os.utime(token, ns=(before.st_atime_ns, before.st_mtime_ns))
    reader.list(kinds.CONFIG_MAP, namespace=AGENT_NAMESPACE)
    codes = [r.code for r in kubesim.requests(resource="configmaps")]
    assert codes[-2:] == [401, 200]
    reader.close()


@pytest.mark.parametrize("hostile", ["fifo", "directory", "device", "huge", "spaces", "empty"])
def test_hostile_token_files_fail_fast_without_the_token(
    kubesim: KubeSim,
    mounted: Path,
    hostile: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = mounted / "token"
    secret = token.read_text()
    reader = api()  # connected with the good token
    _make_hostile(token, hostile)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        reader.list(kinds.CONFIG_MAP, namespace=AGENT_NAMESPACE)  # the token read before
    assert time.monotonic() - started < 5
    assert "still using the token read before" in caplog.text
    with pytest.raises(ConfigError) as refused:
        api()  # a new start cannot use it
    assert time.monotonic() - started < 5
    assert str(token) in str(refused.value)
    for text in (caplog.text, str(refused.value)):
        assert secret not in text and secret[:20] not in text
    reader.close()


def _make_hostile(token: Path, hostile: str) -> None:
    token.unlink()
    if hostile == "fifo":
        os.mkfifo(token)
    elif hostile == "directory":
        token.mkdir()
    elif hostile == "device":
        token.symlink_to("/dev/zero")
    elif hostile == "huge":
        token.write_bytes(b"a" * (1 << 20))
    elif hostile == "spaces":
        token.write_text("not a\ntoken at all")
    else:
        token.write_text("")


def test_malformed_bearer_tokens_are_401_and_never_echoed(kubesim: KubeSim, mounted: Path) -> None:
    token = mounted / "token"
    good = token.read_text()
    head, body, signature = good.split(".")
    for bad in (
        "garbage",
        f"{head}.{body}.{signature[::-1]}",
        f"{head}.{body[:-4]}AAAA.{signature}",
        "a.b.c",
        "x" * 20_000,
        f"{head}.!!!.{signature}",
    ):
        token.write_text(bad)
        with pytest.raises(ForbiddenError) as refused:
            api().list(kinds.CONFIG_MAP, namespace=AGENT_NAMESPACE)
        message = str(refused.value)
        assert "HTTP 401" in message and "Unauthorized" in message
        assert bad not in message
