"""Logs: copy-and-truncate rotation, tails over generations, following across rotations,
and the daemon rotating a chatty replica while a client follows it."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gitops_agent.errors import NotFoundError
from gitops_agent.targets.localproc import LocalRuntime, ProcessGroupSpec
from gitops_agent.targets.localproc.logs import ReplicaLogLine, read_logs, rotate, rotate_if_larger
from gitops_agent.testing.waiting import wait_for


def append(path: Path, text: str) -> None:
    with open(path, "a") as handle:
        handle.write(text)


def texts(lines: list[ReplicaLogLine]) -> list[str]:
    return [line.text for line in lines]


def test_rotation_shifts_generations_and_drops_the_oldest(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    for number in range(4):
        append(log, f"generation {number}\n")
        assert rotate(log, keep=2)
    append(log, "current\n")
    assert log.read_text() == "current\n"
    assert (tmp_path / "0.log.1").read_text() == "generation 3\n"
    assert (tmp_path / "0.log.2").read_text() == "generation 2\n"
    assert not (tmp_path / "0.log.3").exists()
    assert texts(list(read_logs(tmp_path, keep=2))) == ["generation 2", "generation 3", "current"]
    assert texts(list(read_logs(tmp_path, keep=2, tail=2))) == ["generation 3", "current"]
    assert not rotate_if_larger(log, max_bytes=100, keep=2)
    assert rotate_if_larger(log, max_bytes=3, keep=2)


def test_a_writer_keeps_appending_after_a_rotation(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(fd, b"x" * 5000 + b"\n")
        rotate(log, keep=1)
        os.write(fd, b"after\n")
    finally:
        os.close(fd)
    assert log.read_bytes() == b"after\n"  # no hole of zeros before it


def test_tail_per_replica_and_partial_last_lines(tmp_path: Path) -> None:
    append(tmp_path / "0.log", "a\nb\nc\n")
    append(tmp_path / "1.log", "x\ny\nunterminated")
    assert texts(list(read_logs(tmp_path, tail=2))) == ["b", "c", "y", "unterminated"]
    assert [(line.replica, line.text) for line in read_logs(tmp_path, replicas=[1], tail=1)] == [
        (1, "unterminated")
    ]
    assert list(read_logs(tmp_path, tail=0)) == []
    assert list(read_logs(tmp_path / "missing")) == []


def test_following_across_rotations_loses_no_line(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    append(log, "line 0\n")
    stop = threading.Event()
    collected: list[str] = []

    def follow() -> None:
        for line in read_logs(tmp_path, follow=True, stop=stop, poll_interval=0.005):
            collected.append(line.text)

    reader = threading.Thread(target=follow)
    reader.start()
    try:
        for number in range(1, 200):
            append(log, f"line {number}\n")
            if number % 40 == 0:
                time.sleep(0.02)  # pacing, not a wait: rotate wherever the follower then is
                rotate(log, keep=1, wait=True)
        wait_for(
            lambda: collected[-1:] == ["line 199"],
            timeout=5,
            message=lambda: f"the follower to read line 199 (it has {collected[-1:]})",
        )
        time.sleep(0.1)  # a quiet window, not a wait: no line may come twice after the last
    finally:
        stop.set()
        reader.join(timeout=5)
    assert collected == [f"line {n}" for n in range(200)]


def test_following_stops_on_timeout_and_picks_up_new_replicas(tmp_path: Path) -> None:
    append(tmp_path / "0.log", "zero\n")

    def late_writer() -> None:
        time.sleep(0.1)  # part of the scenario: the replica appears while the reader follows
        append(tmp_path / "1.log", "one\npartial")

    writer = threading.Thread(target=late_writer)
    writer.start()
    started = time.monotonic()
    lines = list(read_logs(tmp_path, follow=True, timeout=0.4, poll_interval=0.01))
    writer.join()
    assert 0.4 <= time.monotonic() - started < 2
    assert [(line.replica, line.text) for line in lines] == [
        (0, "zero"),
        (1, "one"),
        (1, "partial"),
    ]


def test_the_daemon_rotates_a_chatty_replica_while_a_client_follows(
    make_runtime: Callable[..., LocalRuntime],
) -> None:
    runtime = make_runtime(log_max_bytes=8192, log_keep=2, log_check_seconds=0.2)
    script = (
        "import time\n"
        "time.sleep(0.3)\n"
        "for i in range(3000):\n"
        "    print(f'message {i} ' + 'x' * 80, flush=True)\n"
        "    if i % 100 == 0: time.sleep(0.02)\n"
        "time.sleep(60)\n"
    )
    runtime.apply(ProcessGroupSpec("chatty", (sys.executable, "-c", script)))
    collected: list[int] = []
    stop = threading.Event()

    def follow() -> None:
        for line in runtime.logs("chatty", follow=True, stop=stop):
            collected.append(int(line.text.split()[1]))
            if collected[-1] == 2999:
                stop.set()

    reader = threading.Thread(target=follow)
    reader.start()
    reader.join(timeout=10)
    stop.set()
    log_dir = runtime.state_dir / "logs" / "chatty"
    assert (log_dir / "0.log.2").exists()
    assert os.path.getsize(log_dir / "0.log.1") >= 8192
    assert collected == sorted(collected) and collected[-1] == 2999
    # copy-and-truncate may drop what is written in the instant between copy and truncate
    assert len(collected) >= 2950
    assert [line.text.split()[1] for line in runtime.logs("chatty", tail=1)] == ["2999"]


def test_logs_of_an_unknown_group_are_not_found(runtime: LocalRuntime) -> None:
    with pytest.raises(NotFoundError, match="process-group/nothing"):
        runtime.logs("nothing")


def test_a_follower_that_missed_several_rotations_reads_them_all(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    append(log, "first\n")
    stop = threading.Event()
    lines = read_logs(tmp_path, follow=True, stop=stop, keep=3, poll_interval=0.01)
    assert next(lines).text == "first"  # the reader is suspended from here on
    for number in range(3):
        append(log, f"rotated {number}\n")
        rotate(log, keep=3)
    append(log, "current\n")
    stop.set()
    assert texts(list(lines)) == ["rotated 0", "rotated 1", "rotated 2", "current"]
