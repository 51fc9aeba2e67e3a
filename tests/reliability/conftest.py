"""Helpers of the reliability tests: repositories of many Workers, the command line against
kubesim, and what the cluster and the inventory hold afterwards.

The inventory is read back from its ConfigMaps with the real kubernetes client and the
agent's own decoder; objects are listed by the owner label, so a leftover object of the
agent that the inventory does not record (an orphan) is seen.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from gitops_agent.core import inventory as inventories
from gitops_agent.core import labels
from gitops_agent.core.inventory import Inventory
from gitops_agent.testing.kubesim.simulator import KubeSim
from tests.conftest import Run, cli_on_kubesim

OWNER = "reliable"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


def worker(name: str, *, image: str = "alpine:3.20", replicas: int = 1) -> str:
    return (
        f"version: v2alpha\nname: {name}\ntype: worker\n"
        "spec:\n  compute: runnable-default\n"
        f"  replicas: {replicas}\n  stack: container\n"
        f"  stackSpec: {{image: '{image}', command: [sleep, infinity]}}\n"
    )


def write_repo(
    root: Path,
    names: list[str],
    *,
    image: str = "alpine:3.20",
    sync: str = "",
    owner: str = OWNER,
) -> Path:
    """A repository of one Worker per name (the directory is emptied first)."""
    if root.exists():
        shutil.rmtree(root)
    (root / "workers").mkdir(parents=True)
    settings = sync or "{waitTimeout: 60s, pollInterval: 0.2s, maxPruneFraction: 1}"
    (root / "gitops-agent.yaml").write_text(f"name: {owner}\nsync: {settings}\n")
    for name in names:
        (root / "workers" / f"{name}.yaml").write_text(worker(name, image=image))
    return root


@pytest.fixture
def run(kubesim: KubeSim, capsys: pytest.CaptureFixture[str]) -> Run:
    """``gitops-agent <args> --target kubernetes`` against kubesim; (code, stdout, stderr)."""
    return cli_on_kubesim(kubesim, capsys)


@pytest.fixture
def api(kubesim: KubeSim) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(kubesim.kubeconfig))
    yield api_client
    api_client.close()


def kubectl(sim: KubeSim, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [KUBECTL, "--kubeconfig", str(sim.kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def deployments(api: client.ApiClient, *, selector: str = "") -> dict[str, dict[str, object]]:
    """Deployments in ``public`` by name, as plain data."""
    found = client.AppsV1Api(api).list_namespaced_deployment("public", label_selector=selector)
    return {item.metadata.name: api.sanitize_for_serialization(item) for item in found.items}


def stored_inventory(api: client.ApiClient, owner: str = OWNER) -> Inventory:
    maps = client.CoreV1Api(api).list_namespaced_config_map(
        "default", label_selector=f"{labels.INVENTORY}=true,{labels.OWNER}={owner}"
    )
    shards = {int(m.metadata.name.rpartition("-")[2]): m.data or {} for m in maps.items}
    return inventories.from_shards(shards)


def orphans(api: client.ApiClient, owner: str = OWNER) -> list[str]:
    """Objects carrying the owner's labels that its inventory does not record."""
    recorded = {
        key.name for e in stored_inventory(api, owner).entries.values() for key in e.objects
    }
    live = deployments(api, selector=labels.owner_selector(owner))
    return sorted(name for name in live if name not in recorded)
