"""Hostile inputs for the security tests: a repository whose ``.git/config`` points every
setting able to start a program at a marker file, and a minimal valid manifest tree.

``hostile_repository(root)`` builds such a repository (committed cleanly first, armed after,
then left with a modified manifest so that git would have to look at the working tree);
``Markers`` tells which of the programs ran. Used by ``tests/security`` and
``tests/sources/test_gitrun.py``.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

IDENTITY = {
    "GIT_AUTHOR_NAME": "Platform Team",
    "GIT_AUTHOR_EMAIL": "platform@example.com",
    "GIT_COMMITTER_NAME": "Platform Team",
    "GIT_COMMITTER_EMAIL": "platform@example.com",
}

WORKER = """\
version: v2alpha
name: sleeper
type: worker
description: a worker that sleeps
spec:
  compute: runnable-default
  replicas: 1
  resources:
    requests: {cpu: 50m, memory: 64Mi}
    limits: {cpu: 200m, memory: 256Mi}
  stack: container
  stackSpec:
    image: docker.io/library/alpine:3.20
    command: [sh]
    arguments: ["-c", "sleep 30"]
"""

HOOKS = (
    "applypatch-msg",
    "pre-applypatch",
    "post-applypatch",
    "pre-commit",
    "pre-merge-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "pre-rebase",
    "post-checkout",
    "post-merge",
    "pre-push",
    "pre-receive",
    "update",
    "proc-receive",
    "post-receive",
    "post-update",
    "reference-transaction",
    "push-to-checkout",
    "pre-auto-gc",
    "post-rewrite",
    "post-index-change",
    "fsmonitor-watchman",
)


def git(cwd: Path, *args: str) -> str:
    """The test's own git (not the agent's): fixed identity, stdout stripped."""
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **IDENTITY},
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout.strip()


def manifests(name: str) -> dict[str, str]:
    """A valid repository: one sleeping Worker and a configuration that waits briefly."""
    return {
        "gitops-agent.yaml": f"name: {name}\nsync:\n  waitTimeout: 30s\n  pollInterval: 0.1s\n",
        "workers/sleeper.yaml": WORKER,
    }


def write_tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@dataclass(frozen=True)
class Markers:
    """A directory the hostile programs touch files in, one file per program."""

    directory: Path

    def touch(self, name: str) -> str:
        """A shell command creating marker ``name``."""
        return f"touch {shlex.quote(str(self.directory / name))}"

    def fired(self) -> list[str]:
        """The programs that ran, by marker name."""
        return sorted(path.name for path in self.directory.iterdir())

    def reset(self) -> None:
        for path in self.directory.iterdir():
            path.unlink()


def hostile_settings(markers: Markers, hooks: Path, included: Path) -> list[tuple[str, str]]:
    """Every repository-local setting that names a program, each pointed at a marker."""

    def touch(name: str) -> str:  # the arguments git adds go to `false`, not to `touch`
        return f"{markers.touch(name)}; false"

    return [
        ("core.fsmonitor", touch("fsmonitor")),
        ("core.hooksPath", str(hooks)),
        ("core.sshCommand", touch("ssh-command")),
        ("core.gitProxy", touch("git-proxy")),
        ("core.askPass", touch("askpass")),
        ("core.pager", touch("pager")),
        ("pager.status", touch("pager-status")),
        ("core.editor", touch("editor")),
        ("sequence.editor", touch("sequence-editor")),
        ("core.alternateRefsCommand", touch("alternate-refs")),
        ("credential.helper", "!" + touch("credential-helper")),
        ("diff.external", touch("diff-external")),
        ("diff.evil.textconv", touch("textconv")),
        ("diff.evil.command", touch("diff-command")),
        ("merge.evil.driver", touch("merge-driver")),
        ("filter.evil.clean", f"{markers.touch('filter-clean')}; cat"),
        ("filter.evil.smudge", f"{markers.touch('filter-smudge')}; cat"),
        ("filter.evil.process", touch("filter-process")),
        ("filter.evil.required", "true"),
        ("filter.a=b.clean", f"{markers.touch('filter-with-equals')}; cat"),
        ("uploadpack.packObjectsHook", touch("pack-objects-hook")),
        ("remote.origin.url", "ssh://git@127.0.0.1:9/manifests.git"),
        ("remote.origin.uploadpack", touch("upload-pack")),
        ("remote.origin.receivepack", touch("receive-pack")),
        ("gpg.program", touch("gpg")),
        ("commit.gpgSign", "true"),
        ("log.showSignature", "true"),
        ("protocol.allow", "always"),
        ("protocol.ext.allow", "always"),
        ("include.path", str(included)),
    ]


def hostile_repository(root: Path, *, name: str = "hostile") -> tuple[Path, Markers]:
    """A repository at ``root / name`` armed against any git that reads its config."""
    markers = Markers(root / f"{name}-markers")
    markers.directory.mkdir(parents=True)
    repo = root / name
    repo.mkdir(parents=True)
    write_tree(repo, manifests(name.strip("-")))
    (repo / ".gitattributes").write_text("* filter=evil diff=evil merge=evil\n*.txt filter=a=b\n")
    (repo / "notes.txt").write_text("a file for the filter whose name holds '='\n")
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "manifests")
    hooks = root / f"{name}-hooks"
    for directory in (hooks, repo / ".git" / "hooks"):
        directory.mkdir(exist_ok=True)
        for hook in HOOKS:
            script = directory / hook
            script.write_text(f"#!/bin/sh\n{markers.touch('hook-' + hook)}\n")
            script.chmod(0o755)
    included = root / f"{name}-included.config"
    included.write_text(f"[core]\n\tfsmonitor = {markers.touch('included-fsmonitor')}; false\n")
    for key, value in hostile_settings(markers, hooks, included):
        git(repo, "config", "--add", key, value)
    worker = repo / "workers" / "sleeper.yaml"
    worker.write_text(worker.read_text().replace("a worker that sleeps", "it still sleeps"))
    (repo / "notes.txt").write_text("changed\n")
    return repo, markers
