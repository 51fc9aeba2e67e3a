"""Values without a daemon: spec validation and JSON, fingerprints, records, conversions to
the core status model, settings, and projected files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitops_agent.core.status import Phase, worker_status
from gitops_agent.errors import InvalidError
from gitops_agent.targets.localproc import (
    GroupMode,
    GroupPhase,
    GroupStatus,
    ProcessGroupSpec,
    ReplicaState,
    ReplicaStatus,
    StateLayout,
    SupervisorSettings,
    default_state_dir,
    launch_fingerprint,
)
from gitops_agent.targets.localproc.layout import write_projected_files
from gitops_agent.targets.localproc.states import job_phase, step_state, worker_state

names = st.from_regex(r"[a-z0-9][a-z0-9.-]{0,30}", fullmatch=True)
env_names = st.from_regex(r"[A-Z_][A-Z0-9_]{0,10}", fullmatch=True)
text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=20)


@st.composite
def specs(draw: st.DrawFn) -> ProcessGroupSpec:
    mode = draw(st.sampled_from(GroupMode))
    return ProcessGroupSpec(
        draw(names),
        tuple(draw(st.lists(text, min_size=1, max_size=4))),
        mode=mode,
        env=draw(st.dictionaries(env_names, text, max_size=4)),
        files=draw(st.dictionaries(st.sampled_from(["a", "b.txt", "d/c_1", "d/e/f"]), text)),
        replicas=draw(st.integers(0, 8)),
        memory_limit_bytes=draw(st.none() | st.integers(1 << 20, 1 << 34)),
        cpu_seconds_limit=draw(st.none() | st.integers(1, 100)),
        metadata=draw(st.dictionaries(text, text, max_size=3)),
        run_id=draw(text.filter(bool)) if mode is GroupMode.JOB else "",
        spec_hash=draw(text),
        stop_grace_seconds=draw(st.floats(0, 60)),
    )


@given(specs())
def test_specs_round_trip_through_json(spec: ProcessGroupSpec) -> None:
    assert ProcessGroupSpec.from_json(spec.to_json()) == spec


@given(specs(), st.integers(0, 8), st.dictionaries(text, text, max_size=2))
def test_scaling_and_metadata_do_not_change_the_fingerprint(
    spec: ProcessGroupSpec, replicas: int, metadata: dict[str, str]
) -> None:
    changed = ProcessGroupSpec.from_json(
        {**spec.to_json(), "replicas": replicas, "metadata": metadata}
    )
    assert launch_fingerprint(changed) == launch_fingerprint(spec)


def test_what_shapes_a_process_changes_the_fingerprint() -> None:
    base = ProcessGroupSpec("w", ("sleep", "1"))
    variants = [
        ProcessGroupSpec("w", ("sleep", "2")),
        ProcessGroupSpec("w", ("sleep", "1"), env={"A": "1"}),
        ProcessGroupSpec("w", ("sleep", "1"), files={"a": "1"}),
        ProcessGroupSpec("w", ("sleep", "1"), memory_limit_bytes=1 << 30),
        ProcessGroupSpec("w", ("sleep", "1"), cpu_seconds_limit=5),
        ProcessGroupSpec("w", ("sleep", "1"), spec_hash="x"),
        ProcessGroupSpec("w", ("sleep", "1"), mode=GroupMode.JOB, run_id="r"),
    ]
    prints = {launch_fingerprint(v) for v in variants}
    assert len(prints) == len(variants) and launch_fingerprint(base) not in prints


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "../etc"}, "invalid group name"),
        ({"name": ".hidden"}, "invalid group name"),
        ({"name": "a/b"}, "invalid group name"),
        ({"command": ()}, "command must be a non-empty list"),
        ({"command": ("a\0b",)}, "NUL"),
        ({"files": {"/etc/passwd": "x"}}, "must be relative"),
        ({"files": {"a/../../b": "x"}}, "must not contain"),
        ({"files": {"a//b": "x"}}, "must not contain"),
        ({"files": {"": "x"}}, "invalid file path"),
        ({"env": {"1BAD": "x"}}, "invalid environment variable name"),
        ({"replicas": -1}, "replicas must be between"),
        ({"memory_limit_bytes": 1000}, "at least 1 MiB"),
        ({"cpu_seconds_limit": 0}, "at least 1 second"),
        ({"mode": GroupMode.JOB}, "needs a run_id"),
    ],
)
def test_invalid_specs_name_the_group(options: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"name": "grp", "command": ("true",), **options}
    with pytest.raises(InvalidError, match=message) as caught:
        ProcessGroupSpec(**arguments)  # type: ignore[arg-type]
    assert caught.value.object_ref == f"process-group/{arguments['name']}"


def test_an_env_problem_never_echoes_the_value() -> None:
    with pytest.raises(InvalidError) as caught:
        ProcessGroupSpec("grp", ("true",), env={"TOKEN": "s3cret\0value"})
    assert "TOKEN" in str(caught.value) and "s3cret" not in str(caught.value)


def test_malformed_json_is_invalid() -> None:
    with pytest.raises(InvalidError, match="process-group/x: malformed spec"):
        ProcessGroupSpec.from_json({"name": "x"})


def test_records_round_trip_through_json() -> None:
    status = GroupStatus(
        "w",
        GroupMode.SERVICE,
        GroupPhase.FAILED,
        desired_replicas=2,
        ready=1,
        replicas=(
            ReplicaStatus(0, ReplicaState.RUNNING, pid=10, start_ticks=5, launch_id="f.1"),
            ReplicaStatus(1, ReplicaState.BACKOFF, restarts=4, fast_failures=4, last_exit_code=3),
        ),
        fingerprint="f",
        metadata={"owner": "me"},
        failure="CrashLoopBackOff",
        updated_at=1.5,
    )
    assert GroupStatus.from_json(status.to_json()) == status
    assert status.pids == (10,)


def test_conversions_to_the_core_status_model() -> None:
    service = GroupStatus("w", GroupMode.SERVICE, GroupPhase.RUNNING, desired_replicas=3, ready=2)
    assert worker_status(worker_state(service)).runtime == "running:2"
    assert worker_status(worker_state(None)).runtime == "pending"
    looping = GroupStatus("w", GroupMode.SERVICE, GroupPhase.FAILED, failure="CrashLoopBackOff")
    assert worker_status(worker_state(looping)).runtime == "failed"
    done = GroupStatus("s", GroupMode.JOB, GroupPhase.FAILED, run_id="2", message="exit 1")
    assert job_phase(done) is Phase.FAILED
    assert job_phase(done, run_id="3") is Phase.PENDING
    assert step_state("load", done).message == "exit 1"
    assert step_state("load", None).phase is Phase.PENDING


def test_restart_delays_grow_and_are_capped() -> None:
    settings = SupervisorSettings(backoff_initial=0.5, backoff_max=30)
    delays = [settings.restart_delay(n) for n in range(1, 10)]
    assert delays == [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert SupervisorSettings.from_argv(settings.to_argv()) == settings
    with pytest.raises(ValueError):
        SupervisorSettings(crash_loop_after=0)


def test_the_default_state_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", "/var/tmp/xdg")
    assert default_state_dir() == Path("/var/tmp/xdg/gitops-agent/local")
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", "/home/someone")
    assert StateLayout.at(None).root == Path("/home/someone/.local/state/gitops-agent/local")


def test_projected_files_replace_the_previous_set(tmp_path: Path) -> None:
    base = tmp_path / "files"
    write_projected_files(base, {"a/one.txt": "1", "two.txt": "2"})
    write_projected_files(base, {"two.txt": "two", "b/c/three.txt": "3"})
    found = sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())
    assert found == ["b/c/three.txt", "two.txt"]
    assert (base / "two.txt").read_text() == "two"
    assert not (base / "a").exists()


def test_projected_files_never_follow_a_planted_symlink(tmp_path: Path) -> None:
    base = tmp_path / "files"
    outside = tmp_path / "outside"
    outside.mkdir()
    base.mkdir()
    os.symlink(outside, base / "conf")
    os.symlink(outside / "app.yaml", base / "top.yaml")
    write_projected_files(base, {"conf/app.yaml": "x", "top.yaml": "y"})
    assert list(outside.iterdir()) == []
    assert not (base / "conf").is_symlink() and (base / "conf" / "app.yaml").read_text() == "x"
    assert not (base / "top.yaml").is_symlink() and (base / "top.yaml").read_text() == "y"


def test_a_file_cannot_also_be_a_directory() -> None:
    with pytest.raises(InvalidError, match="both a file and a directory"):
        ProcessGroupSpec("grp", ("true",), files={"conf": "x", "conf/app.yaml": "y"})


def test_the_daemon_command_refuses_an_unusable_state_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gitops_agent.targets.localproc.__main__ import main

    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    assert main(["--state-dir", str(not_a_dir), "--halt"]) == 1
    assert "is not usable" in capsys.readouterr().err
    assert main(["--state-dir", str(tmp_path / "s"), "--crash-loop-after", "0"]) == 1


def test_a_state_dir_reached_through_a_symlink_is_the_same(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "link")
    assert StateLayout.at(tmp_path / "link") == StateLayout.at(real)
