"""deploy/ installed in kubesim and agents running in it as they would in pods.

``install(sim, objects, tmp)`` applies rendered objects with the real ``kubectl apply
--server-side`` as the cluster admin; ``service_account(sim, tmp)`` writes what the kubelet
mounts in a pod (a token from ``kubectl create token``, the cluster's CA, the namespace);
``agent_env`` is a pod's environment (``KUBERNETES_SERVICE_HOST``/``_PORT``, the mount
directory, ``POD_NAME``); ``agent_config`` is the configuration deploy/ ships, pointed at a
test repository with short timings. ``Scenario`` is the manifests of one full cycle: every
kind the agent renders, in a workspace whose namespace does not exist yet, then a commit that
updates and prunes one of each.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import yaml

from gitops_agent.service.webhooks import sign
from gitops_agent.testing.kubesim.simulator import KubeSim
from tests.agent.harness import AgentProcess, ManifestRepo
from tests.conftest import SAMPLE_REPO
from tests.deploy.support import AGENT_NAMESPACE, SERVICE_ACCOUNT, kubectl, write

SECRET = "webhook-secret-for-tests"
FAST_ELECTION = {"leaseDuration": "2s", "renewDeadline": "1.5s", "retryPeriod": "0.3s"}


def admin_kubeconfig(sim: KubeSim, tmp: Path) -> Path:
    return Path(sim.write_kubeconfig(tmp / "admin.kubeconfig"))


def install(sim: KubeSim, objects: list[dict[str, Any]], tmp: Path) -> None:
    """``kubectl apply --server-side`` of the objects, as the cluster admin."""
    manifest = write(tmp / "install.yaml", objects)
    done = kubectl(
        "--kubeconfig",
        str(admin_kubeconfig(sim, tmp)),
        "apply",
        "--server-side",
        "-f",
        str(manifest),
    )
    assert done.returncode == 0, done.stderr


def service_account(sim: KubeSim, tmp: Path) -> Path:
    """What a pod of the agent finds in /var/run/secrets/kubernetes.io/serviceaccount."""
    directory = tmp / "serviceaccount"
    directory.mkdir(exist_ok=True)
    done = kubectl(
        "--kubeconfig",
        str(admin_kubeconfig(sim, tmp)),
        "create",
        "token",
        SERVICE_ACCOUNT,
        "-n",
        AGENT_NAMESPACE,
    )
    assert done.returncode == 0, done.stderr
    (directory / "token").write_text(done.stdout.strip())
    (directory / "ca.crt").write_bytes(Path(sim.ca_file).read_bytes())
    (directory / "namespace").write_text(AGENT_NAMESPACE)
    return directory


def agent_env(sim: KubeSim, account: Path, pod: str) -> dict[str, str]:
    """A pod's environment: the API server's address, the mount, the pod's name."""
    return {
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(sim.port),
        "GITOPS_AGENT_SERVICE_ACCOUNT_DIR": str(account),
        "POD_NAME": pod,
        "KUBECONFIG": str(account / "no-kubeconfig"),
        "WEBHOOK_SECRET": SECRET,
        "GIT_TOKEN": "unused-for-git-daemon",
    }


def agent_config(shipped: str, path: Path, *, url: str, interval: str = "1h") -> Path:
    """The shipped configuration, following ``url`` with a log reporter and fast timings."""
    data = yaml.safe_load(shipped)
    sample = yaml.safe_load((SAMPLE_REPO / "gitops-agent.yaml").read_text())
    data["source"] = {"url": url, "ref": "main", "interval": interval}
    data["reporter"] = {"kind": "log"}
    data["vars"] = sample["vars"]
    data["sync"] = {"waitTimeout": "30s", "pollInterval": "0.1s", "maxPruneFraction": 1}
    data["leaderElection"] = {**data["leaderElection"], **FAST_ELECTION}
    data["server"]["listen"] = "127.0.0.1:0"
    path.write_text(yaml.safe_dump(data))
    return path


def start_agents(
    sim: KubeSim, config: Path, account: Path, tmp: Path, count: int
) -> list[AgentProcess]:
    return [
        AgentProcess(config, None, tmp / f"cache-{i}", agent_env(sim, account, f"agent-{i}"))
        for i in range(count)
    ]


def leader_of(agents: list[AgentProcess], timeout: float = 20.0) -> AgentProcess:
    """The one agent that logged its election."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        elected = [a for a in agents if a.logged("became the leader")]
        if elected:
            return elected[0]
        time.sleep(0.05)
    raise AssertionError("no agent became the leader:\n" + "\n".join(agents[0].log[-30:]))


def push_webhook(agent: AgentProcess, sha: str) -> int:
    """A signed GitHub push delivered to ``agent``; the HTTP status."""
    body = json.dumps({"ref": "refs/heads/main", "after": sha}).encode()
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + sign(SECRET, body),
        "Content-Type": "application/json",
    }
    request = urllib.request.Request(
        agent.url + "/webhooks/github", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code


STATEFUL = """\
version: v2alpha
name: ledger
type: worker
workspace: analytics
spec:
  compute: runnable-default
  replicas: 2
  disk: {size: 1Gi, directory: /var/lib/ledger}
  stack: container
  stackSpec: {image: docker.io/library/alpine:3.20, command: [sh, -c, "sleep infinity"]}
"""
NIGHTLY = """\
version: v2alpha
name: nightly
type: workflow
workspace: analytics
spec:
  schedule: {crons: ["30 2 * * *"]}
  dag:
    - name: run
      spec:
        compute: runnable-default
        stack: container
        stackSpec: {image: docker.io/library/alpine:3.20, command: [echo, nightly]}
"""


class Scenario:
    """The repository of the full cycle: the sample (Deployments, ConfigMaps, a claim, a
    Job) plus a StatefulSet with its Service and a CronJob in workspace ``analytics``."""

    def __init__(self, tmp: Path) -> None:
        self.repo = ManifestRepo(tmp / "repo")
        self.first = self.repo.commit("every kind", self._everything)

    @staticmethod
    def _everything(work: Path) -> None:
        (work / "workers" / "ledger.yaml").write_text(STATEFUL)
        (work / "workers" / "nightly.yaml").write_text(NIGHTLY)

    def prune_one_of_each(self) -> str:
        """Delete the StatefulSet and its Service, the CronJob, the claim's worker and the
        Bento worker (a Deployment and ConfigMaps); change the bundle's workflow (its Job is
        replaced)."""

        def change(work: Path) -> None:
            for name in ("ledger", "nightly", "report-writer", "events-bento"):
                (work / "workers" / f"{name}.yaml").unlink()
            verify = work / "tests" / "worker" / "sleep-worker" / "verify-workflow.yaml"
            verify.write_text(verify.read_text().replace("cpu: 50m", "cpu: 60m", 1))

        return self.repo.commit("prune one of each kind", change)
