"""get, log, delete and plan outputs on kubesim; prune retries; moves into a bundle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from gitops_agent.testing.kubesim.outcomes import Outcome, OutcomeRule
from gitops_agent.testing.kubesim.simulator import KubeSim
from tests.engine.conftest import Run
from tests.engine.test_kubernetes_sync import writes


def config(repo: Path) -> list[str]:
    return ["--config", str(repo / "gitops-agent.yaml")]


def test_log_prefixes_every_replica(run: Run, repo: Path) -> None:
    worker = repo / "tests" / "worker" / "sleep-worker" / "worker.yaml"
    worker.write_text(worker.read_text().replace("replicas: 1", "replicas: 2"))
    assert run("apply", str(repo))[0] == 0
    code, out, _ = run("log", "-t", "worker", "-n", "sleep-worker", *config(repo))
    assert code == 0
    lines = out.splitlines()
    pods = {line.split("]")[0] for line in lines}
    assert len(pods) == 2
    assert all(line.endswith("sleep-worker heartbeat") for line in lines)
    assert all("$" not in line for line in lines), "the shell's $(date) ran, not kept literally"
    code, _, err = run("logs", "-t", "worker", "-n", "nope", *config(repo))
    assert code == 1 and "no pods found for worker/public/nope" in err


def test_delete_a_bundle_removes_members_in_reverse_order(
    run: Run, repo: Path, kubesim: KubeSim
) -> None:
    assert run("apply", str(repo))[0] == 0
    kubesim.control.clear_requests()
    code, out, _ = run(
        "resource", "delete", "-t", "bundle", "-n", "test-worker-sleep", *config(repo)
    )
    assert code == 0
    assert out.splitlines() == [
        "deleted bundle/test-worker-sleep (0 object(s))",
        "deleted workflow/public/verify-sleep-worker (2 object(s))",
        "deleted worker/public/sleep-worker (1 object(s))",
    ]
    deletes = [w for w in writes(kubesim) if w.startswith("delete")]
    assert deletes.index("delete deployments/sleep-worker") > deletes.index(
        next(d for d in deletes if d.startswith("delete jobs/"))
    )
    code, out, _ = run("get", "-t", "worker", *config(repo))
    assert "sleep-worker" not in out and "events-bento" in out


def test_delete_by_identifier_and_by_file(run: Run, repo: Path) -> None:
    assert run("apply", str(repo))[0] == 0
    code, out, _ = run("delete", "-i", "events-bento | v2alpha | worker | public", *config(repo))
    assert code == 0 and out.strip() == "deleted worker/public/events-bento (2 object(s))"
    code, out, _ = run("delete", "-f", str(repo / "workers" / "report-writer.yaml"), *config(repo))
    assert code == 0 and out.strip().startswith("deleted worker/public/report-writer")
    code, _, err = run("delete", "-i", "events-bento|v2alpha|worker", *config(repo))
    assert code == 1 and "not found: worker/public/events-bento" in err


def test_a_failed_prune_stays_owned_and_is_retried(run: Run, repo: Path, kubesim: KubeSim) -> None:
    assert run("apply", str(repo))[0] == 0
    (repo / "workers" / "events-bento.yaml").unlink()
    kubesim.add_fault(verb="delete", resource="deployments", name="events-bento", code=403, times=1)
    code, out, _ = run("apply", str(repo))
    assert code == 1
    assert "failed" in next(line for line in out.splitlines() if "events-bento" in line)
    code, out, _ = run("get", "-t", "worker", "-n", "events-bento", *config(repo))
    assert code == 0, "still owned after the failed delete"
    code, out, err = run("apply", str(repo))
    assert code == 0, out + err
    assert "pruned worker/public/events-bento" in err
    assert run("get", "-t", "worker", "-n", "events-bento", *config(repo))[0] == 1


def test_moving_a_worker_into_a_bundle_is_an_update(run: Run, repo: Path, kubesim: KubeSim) -> None:
    assert run("apply", str(repo))[0] == 0
    bundle = repo / "bundles" / "test-worker-sleep.yaml"
    bundle.write_text(
        bundle.read_text() + "    - id: events\n      file: workers/events-bento.yaml\n"
    )
    code, out, _ = run("plan", str(repo), "-o", "json")
    assert code == 2
    data = json.loads(out)
    moved = next(r for r in data["resources"] if r["name"] == "events-bento")
    assert moved["action"] == "update" and moved["bundle"] == "bundle/test-worker-sleep"
    assert {c["path"] for o in moved["objects"] for c in o["changes"]} == {
        "metadata.labels.gitops-agent.dataos.info/bundle"
    }
    kubesim.control.clear_requests()
    code, out, err = run("apply", str(repo))
    assert code == 0, out + err
    assert not [w for w in writes(kubesim) if w.startswith(("delete", "create"))]


def test_plan_markdown_and_invalid_source(run: Run, repo: Path) -> None:
    code, out, _ = run("plan", str(repo), "-o", "markdown")
    assert code == 2
    assert "| 0 | create | `worker/public/sleep-worker` |" in out
    (repo / "workers" / "broken.yaml").write_text("version: v2alpha\nname: Broken\ntype: worker\n")
    code, out, err = run("apply", str(repo))
    assert code == 1
    assert "broken.yaml:1:1: worker/public/Broken: missing required field 'spec'" in out
    assert "nothing was applied" in err


def test_a_condition_that_never_holds_times_out(run: Run, repo: Path, kubesim: KubeSim) -> None:
    config_file = repo / "gitops-agent.yaml"
    config_file.write_text(config_file.read_text().replace("waitTimeout: 20s", "waitTimeout: 2s"))
    kubesim.add_rule(OutcomeRule(Outcome.PENDING, image="*alpine:3.20*"))
    code, out, _ = run("apply", str(repo))
    assert code == 1
    row = next(
        line for line in out.splitlines() if line.startswith("workflow/public/verify-sleep-worker")
    )
    assert "failed" in row and "timed out after 2s waiting for worker/public/sleep-worker" in row


def test_a_worker_copy_in_another_workspace_is_another_resource(run: Run, repo: Path) -> None:
    shutil.copy(repo / "workers" / "events-bento.yaml", repo / "workers" / "events-bento-team.yaml")
    copy = repo / "workers" / "events-bento-team.yaml"
    copy.write_text(copy.read_text().replace("type: worker", "type: worker\nworkspace: team"))
    code, out, err = run("apply", str(repo))
    assert code == 0, out + err
    code, out, _ = run("get", "-t", "worker", "-n", "events-bento", *config(repo))
    assert [line.split()[3] for line in out.splitlines()[1:]] == ["public", "team"]
