"""``python -m gitops_agent.targets.localproc --state-dir DIR``: run the supervisor daemon.

Modes: in the foreground (the default, for a service manager), ``--detach`` (fork a daemon
in a new session with its output in ``daemon.log``, wait until it has adopted its processes
and is ready, then exit: 0 ready, with its pid on standard output, 3 another daemon already
runs, 1 it failed to start), and ``--halt`` (adopt, stop every process, exit).
``LocalRuntime.ensure_running`` uses ``--detach``; ``LocalRuntime.stop_daemon`` with
``stop_processes`` uses ``--halt`` when no daemon runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import sys
import time
from collections.abc import Sequence

from gitops_agent.errors import GitOpsError
from gitops_agent.targets.localproc.daemon import EXIT_ALREADY_RUNNING, Supervisor
from gitops_agent.targets.localproc.layout import StateLayout
from gitops_agent.targets.localproc.settings import SupervisorSettings

EXIT_FAILED = 1
READY = b"ready "  # followed by the daemon's pid and a newline
RUNNING = b"running\n"
DAEMON_LOG_LIMIT = 10 * 1024 * 1024
log = logging.getLogger("gitops_agent.targets.localproc")


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m gitops_agent.targets.localproc",
        description="Supervise the local target's process groups of one state directory.",
    )
    parser.add_argument("--state-dir", help="default: $XDG_STATE_HOME/gitops-agent/local")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--detach", action="store_true", help="daemonize; exit once ready")
    mode.add_argument("--halt", action="store_true", help="stop every process, then exit")
    parser.add_argument("--ready-timeout", type=float, default=10.0)
    SupervisorSettings.add_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        settings = SupervisorSettings.from_namespace(arguments)
        layout = StateLayout.at(arguments.state_dir)
        layout.ensure()
    except (ValueError, GitOpsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if arguments.detach:
        return detach(layout, settings, timeout=arguments.ready_timeout)
    _configure_logging()
    return Supervisor(layout, settings).run(halt=arguments.halt)


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s",
    )


def detach(layout: StateLayout, settings: SupervisorSettings, *, timeout: float) -> int:
    """Fork the daemon into its own session; return once it reports ready (or fails)."""
    read_end, write_end = os.pipe()
    if os.fork() == 0:  # the daemon
        os.close(read_end)
        os._exit(_serve_detached(layout, settings, write_end))
    os.close(write_end)
    answer = _read_answer(read_end, timeout)
    os.close(read_end)
    if answer.startswith(READY):
        print(answer[len(READY) :].decode().strip(), flush=True)
        return 0
    if answer == RUNNING:
        return EXIT_ALREADY_RUNNING
    print(f"error: the daemon did not start; see {layout.daemon_log}", file=sys.stderr)
    return EXIT_FAILED


def _serve_detached(layout: StateLayout, settings: SupervisorSettings, ready_fd: int) -> int:
    os.setsid()
    os.chdir("/")  # pin no directory of the caller
    _redirect_output(layout)
    _configure_logging()

    def ready() -> None:
        os.write(ready_fd, READY + b"%d\n" % os.getpid())
        os.close(ready_fd)

    try:
        code = Supervisor(layout, settings).run(on_ready=ready)
    except BaseException:
        log.exception("the daemon failed")
        return EXIT_FAILED
    if code == EXIT_ALREADY_RUNNING:
        os.write(ready_fd, RUNNING)
    return code


def _redirect_output(layout: StateLayout) -> None:
    path = layout.daemon_log
    try:
        if path.stat().st_size > DAEMON_LOG_LIMIT:
            os.replace(path, path.with_name(path.name + ".1"))
    except OSError:
        pass
    log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_fd, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(null_fd)
    os.close(log_fd)


def _read_answer(fd: int, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    answer = b""
    while not answer.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            break
        chunk = os.read(fd, 64)
        if not chunk:
            break
        answer += chunk
    return answer


if __name__ == "__main__":
    sys.exit(main())
