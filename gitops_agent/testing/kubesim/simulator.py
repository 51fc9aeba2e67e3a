"""``KubeSim``: one simulated cluster, its HTTP server, controllers and control API.

Use it as a context manager (``with KubeSim(SimConfig(ready_delay=0.1)) as sim:``), through
the ``kubesim`` pytest fixture, or from ``python -m gitops_agent.testing.kubesim``. It serves
on ``sim.url`` (127.0.0.1, plain HTTP), writes a kubeconfig for itself (``sim.kubeconfig``),
and offers the test controls in Python: ``requests``, ``counters``, ``add_fault``,
``set_rules``, ``reset``, ``compact``, ``step``, ``trigger_cronjob``.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from gitops_agent.testing import waiting
from gitops_agent.testing.kubesim import errors
from gitops_agent.testing.kubesim.access import Access
from gitops_agent.testing.kubesim.admission import ClaimResize, ServiceAllocator
from gitops_agent.testing.kubesim.control import Control, Fault, RequestRecord
from gitops_agent.testing.kubesim.control_api import ControlApi
from gitops_agent.testing.kubesim.controllers import ControllerLoop
from gitops_agent.testing.kubesim.deletion import Deleter
from gitops_agent.testing.kubesim.handlers import ApiHandler
from gitops_agent.testing.kubesim.kinds import CRONJOBS, GROUP_VERSIONS, NAMESPACES
from gitops_agent.testing.kubesim.kubelet import Timing
from gitops_agent.testing.kubesim.listing import Lister
from gitops_agent.testing.kubesim.objects import Objects, WriteOptions
from gitops_agent.testing.kubesim.outcomes import OutcomeRule
from gitops_agent.testing.kubesim.pods import admitter
from gitops_agent.testing.kubesim.server import ApiServer
from gitops_agent.testing.kubesim.store import Store
from gitops_agent.testing.kubesim.tls import ServingCertificates
from gitops_agent.testing.kubesim.traffic import Traffic

Obj = dict[str, Any]
# the namespaces of a new cluster (kubeadm, kind); others are created by their users
INITIAL_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


@dataclass(frozen=True)
class SimConfig:
    """Knobs of the simulation; durations in seconds."""

    ready_delay: float = 2.0  # a pod's Pending -> Running and Ready
    run_duration: float = 2.0  # how long run-to-completion containers run
    crash_backoff: float = 10.0  # first CrashLoopBackOff delay, doubling up to 30x
    # how long a deleted pod's containers take to stop (None: its whole grace period, as a
    # process that ignores SIGTERM; the kubelet kills it then)
    termination_delay: float | None = None
    tick: float = 0.05  # controller loop period
    bookmark_interval: float = 5.0  # between watch BOOKMARK events
    watch_limit: float = 1800.0  # longest watch without timeoutSeconds
    follow_limit: float = 10.0  # longest ``follow=true`` log stream
    history: int = 50_000  # watch events kept for resuming from a resourceVersion
    fresh_wait: float = 3.0  # how long a read at a future resourceVersion waits (then 504)
    log_text: str = "{container} started"  # logs of commands that print nothing we know
    storage_class: str = "standard"
    volume_expansion: bool = False  # whether the default storage class allows claims to grow
    rules: tuple[OutcomeRule, ...] = field(default_factory=tuple)
    seed: int = 0
    # bearer tokens and RBAC, as a real cluster (the kubeconfig gets an admin token);
    # off: every request is the admin's, with no credentials needed
    auth: bool = False
    tls: bool = False  # serve HTTPS with a certificate authority of its own (``ca_file``)

    @property
    def timing(self) -> Timing:
        return Timing(
            self.ready_delay, self.run_duration, self.crash_backoff, self.termination_delay
        )


class KubeSim:
    """A running Kubernetes API emulator; start with ``start()`` or ``with``."""

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        kubeconfig: str | os.PathLike[str] | None = None,
        run_controllers: bool = True,
    ) -> None:
        self.config = config or SimConfig()
        self.clock = time.time
        self.stopping = threading.Event()
        self.control = Control(seed=self.config.seed)
        self.traffic = Traffic()
        self._rules: tuple[OutcomeRule, ...] = tuple(self.config.rules)
        self._host, self._port = host, port
        self._kubeconfig_arg = kubeconfig
        self._run_controllers = run_controllers
        self._threads: list[threading.Thread] = []
        self._own_kubeconfig = False
        self._tls_dir = ""
        self.certificates: ServingCertificates | None = None
        self.access: Access | None = None
        self._build()
        self.api = ApiHandler(self)
        self.control_api = ControlApi(self)
        self.server: ApiServer | None = None
        self.kubeconfig = ""

    def _build(self) -> None:
        self.store = Store(history=self.config.history)
        self.objects = Objects(self.store, clock=self.clock)
        self.objects.admission.append(admitter(self.config.storage_class))
        self.objects.admission.append(ServiceAllocator(self.store, seed=self.config.seed))
        self.objects.gates.append(ClaimResize(expandable=self.config.volume_expansion))
        self.deleter = Deleter(self.objects)
        self.lister = Lister(self.store, fresh_wait=self.config.fresh_wait)
        self.access = Access(self, enabled=self.config.auth)
        self._seed()
        self.controllers = ControllerLoop(
            self.objects,
            self.deleter,
            timing=self.config.timing,
            rules=self.rules,
            clock=self.clock,
            pause=self.traffic.pause,
        )

    def _seed(self) -> None:
        """What a new cluster holds: its namespaces and (with auth) the default roles."""
        for name in INITIAL_NAMESPACES:
            self.objects.create(
                NAMESPACES,
                "",
                {"metadata": {"name": name}},
                WriteOptions(field_manager="kube-apiserver"),
            )
        self.security.bootstrap()

    @property
    def security(self) -> Access:
        """Authentication and authorization (``access.py``)."""
        if self.access is None:
            raise RuntimeError("kubesim is not built")
        return self.access

    @property
    def port(self) -> int:
        if self.server is None:
            raise RuntimeError("kubesim is not started")
        return int(self.server.server_address[1])

    @property
    def address(self) -> str:
        return f"{self._host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.certificates else 'http'}://{self.address}"

    @property
    def ca_file(self) -> str:
        """The CA certificate clients verify the server with (``SimConfig.tls``)."""
        if self.certificates is None:
            raise RuntimeError("kubesim serves plain HTTP (SimConfig.tls is off)")
        return str(self.certificates.ca)

    @property
    def admin_token(self) -> str:
        """The bearer token of the cluster admin (``system:masters``), with auth on."""
        return self.security.tokens.admin_token

    def issue_token(self, namespace: str, name: str, *, seconds: int = 3600) -> str:
        """A token for ServiceAccount ``namespace/name``, as ``kubectl create token`` gets."""
        with self.store.lock:
            answer = self.security.token_request(
                namespace, name, {"spec": {"expirationSeconds": seconds}}
            )
        return str(answer["status"]["token"])

    def group_versions(self) -> tuple[tuple[str, str], ...]:
        return GROUP_VERSIONS

    def start(self) -> KubeSim:
        """Bind, serve and run the controllers in daemon threads; write the kubeconfig."""
        context = None
        if self.config.tls:
            self._tls_dir = tempfile.mkdtemp(prefix="kubesim-tls-")
            self.certificates = ServingCertificates.generate(Path(self._tls_dir), host=self._host)
            context = self.certificates.server_context()
        self.server = ApiServer(self, self._host, self._port, tls=context)
        serve = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="kubesim-http",
            daemon=True,
        )
        self._threads = [serve]
        if self._run_controllers:
            self._threads.append(
                threading.Thread(target=self._loop, name="kubesim-controllers", daemon=True)
            )
        for thread in self._threads:
            thread.start()
        if self._kubeconfig_arg is None:
            handle, path = tempfile.mkstemp(prefix="kubesim-", suffix=".kubeconfig")
            os.close(handle)
            self._own_kubeconfig = True
        else:
            path = os.fspath(self._kubeconfig_arg)
        self.kubeconfig = self.write_kubeconfig(path)
        return self

    def _loop(self) -> None:
        self.controllers.run(self.stopping, self.config.tick)

    def stop(self) -> None:
        """Stop serving, end open connections and streams, and join every thread."""
        self.stopping.set()
        self.store.close_watchers()
        if self.server is not None:
            self.server.shutdown()
            self.server.close_connections()
            self.server.server_close()
        for thread in self._threads:
            thread.join(5.0)
        self.controllers.close()
        if self._own_kubeconfig and self.kubeconfig:
            Path(self.kubeconfig).unlink(missing_ok=True)
        if self._tls_dir:
            shutil.rmtree(self._tls_dir, ignore_errors=True)

    def __enter__(self) -> KubeSim:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def write_kubeconfig(
        self,
        path: str | os.PathLike[str],
        *,
        context: str = "kubesim",
        namespace: str = "default",
        token: str | None = None,
    ) -> str:
        """Write a kubeconfig pointing at this server; returns the path. Its user is the
        admin (with auth on, by the admin token) unless ``token`` names another."""
        cluster: dict[str, Any] = {"server": self.url}
        if self.certificates is not None:
            ca = self.certificates.ca.read_bytes()
            cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
        user: dict[str, Any] = {}
        if token is not None or self.config.auth:
            user["token"] = token if token is not None else self.admin_token
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [{"name": context, "cluster": cluster}],
            "users": [{"name": context, "user": user}],
            "contexts": [
                {
                    "name": context,
                    "context": {"cluster": context, "user": context, "namespace": namespace},
                }
            ],
            "current-context": context,
        }
        Path(path).write_text(yaml.safe_dump(config, sort_keys=False))
        return os.fspath(path)

    def requests(self, **filters: str) -> list[RequestRecord]:
        """The request log, optionally filtered by verb, resource, namespace, name, group."""
        return [
            r
            for r in self.control.requests()
            if all(getattr(r, k) == v for k, v in filters.items())
        ]

    def counters(self) -> Obj:
        return self.control.counters()

    def clear_requests(self) -> None:
        self.control.clear_requests()

    def add_fault(self, fault: Fault | None = None, **fields: Any) -> int:
        """Inject a fault (a ``Fault`` or its fields as keywords); returns its id."""
        return self.control.add_fault(fault if fault is not None else Fault(**fields))

    def clear_faults(self) -> None:
        self.control.clear_faults()

    def rules(self) -> tuple[OutcomeRule, ...]:
        return self._rules

    def set_rules(self, rules: list[OutcomeRule] | tuple[OutcomeRule, ...]) -> None:
        """Replace the outcome rules; pods are re-evaluated on the next tick."""
        self._rules = tuple(rules)
        with self.store.lock:
            self.controllers.mark_all()

    def add_rule(self, rule: OutcomeRule) -> None:
        self.set_rules((*self._rules, rule))

    def reset(self, *, objects: bool = True) -> None:
        """Back to the start: request log, faults, rules and (by default) the objects. Open
        watches end; the controllers keep running on the new state."""
        self.control.reset()
        self._rules = tuple(self.config.rules)
        if objects:
            with self.store.lock:
                self.store.clear()
                self.store.close_watchers(keep=self.controllers.watcher)
                self.controllers.reset()
                self.deleter.reset()
                self._seed()

    def compact(self) -> int:
        """Forget the watch history: watches from older versions get 410 Gone."""
        return self.store.compact()

    def end_watches(self) -> None:
        """End every open watch, as an API server restarting or rolling does; clients watch
        again from the last version they saw (410 Gone when it was compacted meanwhile)."""
        self.store.close_watchers(keep=self.controllers.watcher)

    def step(self) -> int:
        """Run the controllers once now (they also run every tick)."""
        return self.controllers.step()

    def trigger_cronjob(self, namespace: str, name: str) -> Obj:
        """Create a CronJob's Job now, as ``kubectl create job --from=cronjob/NAME`` does."""
        with self.store.lock:
            cron = self.store.get(CRONJOBS, namespace, name)
            if cron is None:
                raise errors.not_found(CRONJOBS, name)
            return self.controllers.jobs.run_now(cron)

    def controller_errors(self) -> list[str]:
        return list(self.controllers.errors)

    def wait_for(self, predicate: Any, *, timeout: float = 10.0, interval: float = 0.02) -> Any:
        """Poll ``predicate()`` until it returns a truthy value; TimeoutError after ``timeout``."""
        return waiting.wait_for(
            predicate, timeout=timeout, interval=interval, message="a kubesim condition"
        )
