"""``gitops-agent preview``: the read-only plan of a branch against kubesim (issue 15, item 1).

A real git repository holds the sample on ``main`` (applied) and a branch that scales a
Worker and adds one; the preview shows both, writes nothing (kubesim's request log), uses the
base branch's configuration, lists every violation of an invalid head with links to the
forge, and its Markdown stays under the size cap.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gitops_agent.cli import main
from gitops_agent.core.planning import Action, Plan, ResourcePlan
from gitops_agent.core.previews import Preview, preview_markdown, status_line
from gitops_agent.core.violations import Violation
from gitops_agent.reporters.links import file_link
from gitops_agent.testing.forges.base import PullRequest
from gitops_agent.testing.forges.github import GitHubEmulator
from gitops_agent.testing.kubesim.simulator import KubeSim
from tests.conftest import copy_sample

FAST = "sync:\n  waitTimeout: 30s\n  pollInterval: 0.1s\n"
WRITES = {"create", "update", "patch", "delete", "deletecollection"}


def git(cwd: Path, *args: str) -> str:
    identity = ["-c", "user.name=Reviewer", "-c", "user.email=r@example.com"]
    done = subprocess.run(
        ["git", *identity, *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = copy_sample(tmp_path / "repo", sync=FAST)
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "base")
    return repo


def branch(repo: Path, name: str, files: dict[str, str]) -> str:
    git(repo, "checkout", "--quiet", "-b", name, "main")
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", name)
    git(repo, "checkout", "--quiet", "main")
    return git(repo, "rev-parse", name)


def scaled(repo: Path) -> dict[str, str]:
    worker = (repo / "tests/worker/sleep-worker/worker.yaml").read_text()
    writer = (repo / "workers/report-writer.yaml").read_text()
    return {
        "tests/worker/sleep-worker/worker.yaml": worker.replace("replicas: 1", "replicas: 3"),
        "workers/second-writer.yaml": writer.replace("name: report-writer", "name: second-writer"),
    }


def run(capsys: pytest.CaptureFixture[str], kubesim: KubeSim, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--target", "kubernetes", "--kubeconfig", str(kubesim.kubeconfig)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def writes(kubesim: KubeSim) -> int:
    return sum(1 for r in kubesim.requests() if r.verb in WRITES and not r.dry_run)


def test_a_branch_is_previewed_against_the_cluster_without_a_write(
    capsys: pytest.CaptureFixture[str], kubesim: KubeSim, repo: Path
) -> None:
    assert run(capsys, kubesim, "apply", str(repo), "-q")[0] == 0
    head = branch(repo, "scale", scaled(repo))
    before = writes(kubesim)
    code, out, err = run(capsys, kubesim, "preview", str(repo), "--head", "scale", "-o", "markdown")
    assert code == 2, out + err
    assert writes(kubesim) == before, "a preview writes nothing"
    assert out.startswith(f"### gitops-agent preview: `{head[:12]}` against `")
    assert "**+1 ~1 -0** (1 to create, 1 to update, 0 to delete, 4 unchanged)" in out
    assert "!     ~ spec.replicas: 1 -> 3" in out
    assert "<code>worker/public/second-writer</code> (workers/second-writer.yaml)" in out
    data = json.loads(run(capsys, kubesim, "preview", str(repo), "--head", head, "-o", "json")[1])
    assert (data["head"], data["valid"], data["status"]) == (head, True, "+1 ~1 -0")
    assert writes(kubesim) == before
    code, out, _ = run(capsys, kubesim, "preview", str(repo), "--head", "main")
    assert code == 0 and "No changes: the target matches the source." in out


def test_an_invalid_head_lists_every_violation_with_a_link(
    capsys: pytest.CaptureFixture[str], kubesim: KubeSim, repo: Path
) -> None:
    config = (repo / "gitops-agent.yaml").read_text()
    (repo / "gitops-agent.yaml").write_text(
        config + "reporter: {kind: github, repository: org/manifests, tokenEnv: GITHUB_TOKEN}\n"
    )
    git(repo, "commit", "--quiet", "-am", "report to github")
    worker = (repo / "workers/report-writer.yaml").read_text()
    head = branch(
        repo,
        "broken",
        {
            "workers/report-writer.yaml": worker.replace("replicas: 1", "replica: 1"),
            "workers/bad.yaml": "version: v2alpha\nname: Bad_Name\ntype: worker\n",
        },
    )
    code, out, _ = run(capsys, kubesim, "preview", str(repo), "--head", "broken", "-o", "markdown")
    assert code == 1
    assert "**invalid: " in out
    link = f"https://github.com/org/manifests/blob/{head}/workers/report-writer.yaml#L"
    assert "- [`workers/report-writer.yaml:" in out and link in out
    assert out.count("\n- [`") >= 2, "every violation is listed"
    code, out, _ = run(capsys, kubesim, "preview", str(repo), "--head", "broken")
    assert code == 1 and "workers/bad.yaml:" in out


def test_the_configuration_comes_from_the_base_and_the_comment_says_so(
    capsys: pytest.CaptureFixture[str], kubesim: KubeSim, repo: Path
) -> None:
    assert run(capsys, kubesim, "apply", str(repo), "-q")[0] == 0
    config = (repo / "gitops-agent.yaml").read_text()
    hostile = config.replace("name: sample", "name: someone-else") + (
        "target:\n  workspaces: {public: kube-system}\n"
    )
    branch(repo, "takeover", {"gitops-agent.yaml": hostile})
    code, out, _ = run(
        capsys, kubesim, "preview", str(repo), "--head", "takeover", "-o", "markdown"
    )
    assert code == 0, "under the base configuration nothing changes"
    assert "this change edits gitops-agent.yaml: the preview uses the base branch's" in out
    assert "kube-system" not in out


def test_a_directory_is_not_a_preview_source(
    capsys: pytest.CaptureFixture[str], kubesim: KubeSim, tmp_path: Path
) -> None:
    plain = copy_sample(tmp_path / "plain")
    code, _, err = run(capsys, kubesim, "preview", str(plain), "--head", "main")
    assert code == 1 and "preview needs a git repository" in err


def _big_plan(count: int) -> Plan:
    from gitops_agent.core.diffing import ChangeKind, FieldChange
    from gitops_agent.core.kinds import ObjectKey
    from gitops_agent.core.manifests import ResourceId, ResourceType
    from gitops_agent.core.planning import ObjectStep

    resources = []
    for i in range(count):
        rid = ResourceId(ResourceType.WORKER, "public", f"w{i:04d}")
        key = ObjectKey("apps/v1", "Deployment", "public", f"w{i:04d}")
        changes = tuple(
            FieldChange(
                f"spec.template.spec.containers[0].env[{j}].value",
                ChangeKind.CHANGED,
                "a" * 40,
                "b" * 40,
            )
            for j in range(10)
        )
        resources.append(
            ResourcePlan(
                rid,
                Action.UPDATE,
                0,
                (ObjectStep(key, Action.UPDATE, changes=changes),),
                file=f"w{i}.yaml",
            )
        )
    return Plan("h" * 40, tuple(resources))


def test_a_large_preview_is_cut_to_the_cap_with_a_pointer() -> None:
    view = Preview("h" * 40, "b" * 40, _big_plan(400))
    text = preview_markdown(view, title="gitops-agent preview", limit=60_000)
    assert len(text) <= 60_000
    assert "gitops-agent preview ... -o json" in text
    assert status_line(view) == "+0 ~400 -0"
    small = preview_markdown(Preview("h" * 40, "b" * 40, _big_plan(2)), title="t", limit=60_000)
    assert "<details>" in small and "Field diffs are left out" not in small


def test_a_violation_message_cannot_inject_markdown() -> None:
    bad = Violation("w.yaml", 3, 1, "worker/public/w", "name '<img src=x>` breaks' is invalid")
    text = preview_markdown(Preview("h" * 40, "b" * 40, None, (bad,)), title="t")
    assert "<img" not in text and "&lt;img src=x&gt;' breaks" in text


@pytest.mark.parametrize(
    ("kind", "api", "expected"),
    [
        ("github", "", "https://github.com/o/r/blob/abc/a%20b.yaml#L3"),
        (
            "github",
            "https://ghe.example.com/api/v3",
            "https://ghe.example.com/o/r/blob/abc/a%20b.yaml#L3",
        ),
        ("gitlab", "", "https://gitlab.com/o/r/-/blob/abc/a%20b.yaml#L3"),
        (
            "gitea",
            "https://gitea.example.com/api/v1",
            "https://gitea.example.com/o/r/src/commit/abc/a%20b.yaml#L3",
        ),
        ("bitbucket", "", "https://bitbucket.org/o/r/src/abc/a%20b.yaml#lines-3"),
    ],
)
def test_file_links_per_forge(kind: str, api: str, expected: str) -> None:
    link = file_link(kind, api, "o/r", "abc")
    assert link is not None and link("a b.yaml", 3) == expected
    assert file_link("notes", "", "o/r", "abc") is None


def test_publish_writes_the_note_and_status_of_the_head_with_the_notes_reporter(
    capsys: pytest.CaptureFixture[str], kubesim: KubeSim, repo: Path
) -> None:
    config = (repo / "gitops-agent.yaml").read_text()
    (repo / "gitops-agent.yaml").write_text(config + "reporter: {kind: notes}\n")
    git(repo, "commit", "--quiet", "-am", "report with notes")
    assert run(capsys, kubesim, "apply", str(repo), "-q")[0] == 0
    head = branch(repo, "scale", scaled(repo))
    before = writes(kubesim)
    code, _, err = run(capsys, kubesim, "preview", str(repo), "--head", "scale", "--publish")
    assert code == 2, err
    assert f"preview published: status gitops-agent/sample/preview on {head[:12]}" in err
    note = git(repo, "notes", "--ref", "refs/notes/gitops-agent-previews", "show", head)
    assert "<!-- gitops-agent preview sample -->" in note and "**+1 ~1 -0**" in note
    statuses = git(repo, "notes", "--ref", "refs/notes/gitops-agent", "show", head)
    assert "gitops-agent/sample/preview" in statuses and "+1 ~1 -0" in statuses
    assert writes(kubesim) == before, "publishing writes to git, never to the target"


def test_publish_upserts_the_pull_requests_comment_on_a_forge(
    capsys: pytest.CaptureFixture[str],
    kubesim: KubeSim,
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = "preview-publish-token-0123456789"
    monkeypatch.setenv("FORGE_TOKEN", token)
    with GitHubEmulator(token=token, repositories=["org/manifests"]) as github:
        config = (repo / "gitops-agent.yaml").read_text() + (
            f"reporter: {{kind: github, url: '{github.base_url}', repository: org/manifests, "
            "tokenEnv: FORGE_TOKEN}\n"
        )
        (repo / "gitops-agent.yaml").write_text(config)
        git(repo, "commit", "--quiet", "-am", "report to github")
        assert run(capsys, kubesim, "apply", str(repo), "-q")[0] == 0
        head = branch(repo, "scale", scaled(repo))
        github.add_pull_request("org/manifests", PullRequest(5, head, "scale", "main", ""))
        code, _, err = run(capsys, kubesim, "preview", str(repo), "--head", "scale", "--publish")
        assert code == 1 and "--publish with the github reporter needs --pull N" in err
        for _ in range(2):
            command = ("preview", str(repo), "--head", "scale", "--publish", "--pull", "5")
            code, _, err = run(capsys, kubesim, *command)
            assert code == 2, err
        (comment,) = github.comments("org/manifests", 5)
        assert "<!-- gitops-agent preview sample -->" in comment.body
        assert "spec.replicas: 1 -> 3" in comment.body
        (status,) = {
            (s.context, s.state, s.description) for s in github.statuses("org/manifests", head)
        }
        assert status == ("gitops-agent/sample/preview", "success", "+1 ~1 -0")
        assert token not in err


@pytest.mark.parametrize("number", ["0", "-1", "7a", "\u0663", "99999999999", "1e3", " 7"])
def test_pull_numbers_that_are_not_numbers_are_refused(
    capsys: pytest.CaptureFixture[str], repo: Path, number: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["preview", str(repo), "--head", "main", "--publish", "--pull", number])
    assert exited.value.code == 2
    assert "is not a pull request number" in capsys.readouterr().err
