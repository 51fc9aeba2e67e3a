"""The pod's service account, as the agent reads it when ``target.inCluster`` is on.

Kubernetes mounts ``token``, ``ca.crt`` and ``namespace`` in
``/var/run/secrets/kubernetes.io/serviceaccount``; ``GITOPS_AGENT_SERVICE_ACCOUNT_DIR``
names another directory (tests, and pods that mount a projected token elsewhere).
``TokenFile`` is the token as the kubelet keeps it: a file replaced every hour or so. It is
looked at (one ``stat``) before every request and read again when it changed, so the next
request after a rotation carries the new token; ``reload`` reads it again at once (after a
401). Files are opened without blocking and read only when they are regular files of
bounded size: a FIFO, a directory or a device in their place is an error naming the path,
never a read that waits. Neither the token nor any part of it is ever in a message.
Called by ``targets.kubeapi.connect`` and by the agent's leader election (the namespace).
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops_agent.errors import ConfigError

DEFAULT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
DIR_ENV = "GITOPS_AGENT_SERVICE_ACCOUNT_DIR"
MAX_FILE = 64 * 1024  # a projected token is about 1 KiB; a CA bundle a few

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServiceAccountFiles:
    """Where the pod's token, CA certificate and namespace are."""

    directory: Path

    @property
    def token(self) -> Path:
        return self.directory / "token"

    @property
    def ca(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def namespace(self) -> Path:
        return self.directory / "namespace"


def service_account_files(environ: Mapping[str, str] = os.environ) -> ServiceAccountFiles:
    """The mounted service account directory (``GITOPS_AGENT_SERVICE_ACCOUNT_DIR`` or the
    standard one)."""
    return ServiceAccountFiles(Path(environ.get(DIR_ENV) or DEFAULT_DIR))


def read_small_file(path: Path, what: str) -> str:
    """The text of a regular file of at most ``MAX_FILE`` bytes; ConfigError otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise ConfigError(f"cannot read the {what} {path}: {_why(err)}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"the {what} {path} is not a regular file")
        if info.st_size > MAX_FILE:
            raise ConfigError(f"the {what} {path} is larger than {MAX_FILE} bytes")
        data = os.read(fd, MAX_FILE + 1)
    except OSError as err:
        raise ConfigError(f"cannot read the {what} {path}: {_why(err)}") from None
    finally:
        os.close(fd)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"the {what} {path} is not UTF-8 text") from None


def _why(err: OSError) -> str:
    return os.strerror(err.errno) if err.errno else type(err).__name__


def read_namespace(files: ServiceAccountFiles) -> str | None:
    """The pod's namespace from the mounted ``namespace`` file; None when there is none."""
    if not files.namespace.exists():
        return None
    text = read_small_file(files.namespace, "service account namespace file").strip()
    return text or None


def _stamp(path: Path) -> tuple[int, int, int, int] | None:
    """What tells one version of the file from the next (through the kubelet's symlinks)."""
    try:
        info = os.stat(path)
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise
    return info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size


class TokenFile:
    """A bearer token read from a file that rotates; installed as the API client's
    ``refresh_api_key_hook``, so it is consulted before every request."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int, int] | None = None
        self._token = ""
        self._complained: str | None = None
        self.reload(strict=True)

    @property
    def header(self) -> str:
        """The ``Authorization`` value of the token last read."""
        return f"Bearer {self._token}"

    def reload(self, *, strict: bool = False) -> bool:
        """Read the token again; True when it changed. A file that cannot be read keeps the
        token read last (logged once per problem) unless ``strict``."""
        with self._lock:
            try:
                stamp = _stamp(self.path)
                token = read_small_file(self.path, "service account token").strip()
                if not token:
                    raise ConfigError(f"the service account token {self.path} is empty")
                if any(c.isspace() or not c.isprintable() for c in token):
                    raise ConfigError(f"the service account token {self.path} is not a token")
            except (ConfigError, OSError) as err:
                if strict:
                    raise ConfigError(str(err)) from None
                self._complain(str(err))
                return False
            changed = token != self._token
            self._token, self._stamp, self._complained = token, stamp, None
            return changed

    def _complain(self, problem: str) -> None:
        if problem != self._complained:
            log.warning("%s; still using the token read before", problem)
            self._complained = problem

    def __call__(self, configuration: Any) -> None:
        """Before a request: read the token again if the file changed since."""
        try:
            changed = _stamp(self.path) != self._stamp
        except OSError:
            changed = True
        if changed:
            self.reload()
        configuration.api_key["BearerToken"] = self.header
