"""Preview environments: a same-repository pull request's head, running beside production.

Used by the preview loop (``service.previews``) when ``previews.environments`` is on. After a
valid preview of a pull request that is not from a fork, its head is reconciled under its own
owner, ``<name>-pr-<N>``, with every workspace mapped to its own namespace
(``previews.namespaceTemplate``, default ``<workspace>-pr-<number>``): its own inventory, its
own labels, nothing of production's in reach. The status context is
``<reporter.context>/preview-env``. An environment is torn down completely (its resources
through the prune path, then its inventory, then the namespaces created for it) when the pull
request is closed or merged, or when no push came for ``previews.ttl``. At most
``previews.maxEnvironments`` exist at once; pull requests beyond that wait, first come first
served, and are deployed when one is torn down. Environments left by an earlier agent process
are found again by their owner label on the first poll (their ttl then counts from that poll).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from gitops_agent.core import labels
from gitops_agent.core.config import AgentConfig
from gitops_agent.core.manifests import flatten
from gitops_agent.core.reporting import StatusState, commit_state
from gitops_agent.core.results import SyncResult
from gitops_agent.core.validation import DNS_LABEL
from gitops_agent.engine import reconcile
from gitops_agent.engine.desired import Desired
from gitops_agent.engine.observing import observe
from gitops_agent.engine.ports import Target
from gitops_agent.errors import GitOpsError
from gitops_agent.redaction import redact
from gitops_agent.service.agent import failure_of

log = logging.getLogger("gitops_agent.previews")

#: ``(head, state, description)``: a commit status with the ``/preview-env`` context.
Post = Callable[[str, StatusState, str], None]


@dataclass(frozen=True, slots=True)
class Environment:
    """One pull request's environment: its owner, namespaces, head and last deploy time."""

    number: int
    owner: str
    namespaces: tuple[str, ...]
    head: str
    deployed_at: float


@dataclass(frozen=True, slots=True)
class Waiting:
    """A pull request whose valid head waits for a free environment."""

    number: int
    head: str


class Environments:
    """The preview environments of one agent."""

    def __init__(
        self,
        config: AgentConfig,
        make_target: Callable[[AgentConfig], Target],
        post: Post,
        clock: Callable[[], float],
    ) -> None:
        self.config = config
        self.make_target = make_target
        self.post = post
        self.clock = clock
        self.live: dict[int, Environment] = {}
        self.waiting: dict[int, Waiting] = {}
        self._found = False
        self._lock = threading.Lock()

    def owner_of(self, number: int) -> str:
        return f"{self.config.name}-pr-{number}"

    def request(self, number: int, head: str, desired: Desired) -> None:
        """Deploy a valid head, or queue it when every environment is taken."""
        with self._lock:
            full = number not in self.live and len(self.live) >= self._limit()
            if full:
                self.waiting[number] = Waiting(number, head)
        if full:
            in_use = f"{len(self.live)} of {self._limit()} in use"
            self.post(head, StatusState.PENDING, f"waiting for a preview environment ({in_use})")
            return
        self.deploy(number, head, desired)

    def deploy(self, number: int, head: str, desired: Desired) -> SyncResult | None:
        """Reconcile ``desired`` as pull request ``number``'s environment."""
        workspaces = {r.id.workspace for r in flatten(desired.resources) if r.id.workspace}
        config = desired.config.preview_environment(number, workspaces)
        namespaces = tuple(sorted(set(config.target.workspaces.values())))
        bad = [ns for ns in namespaces if len(ns) > 63 or not DNS_LABEL.fullmatch(ns)]
        if bad:
            why = f"namespace {bad[0]!r} from previews.namespaceTemplate is not a DNS label"
            self.post(head, StatusState.FAILURE, why)
            return None
        where = ", ".join(namespaces) or "no namespace"
        self.post(head, StatusState.PENDING, f"deploying {head[:7]} to {where}")
        with self._lock:
            self.waiting.pop(number, None)
            self.live[number] = Environment(number, config.name, namespaces, head, self.clock())
        result = self._reconcile(replace(desired, config=config), head)
        state, description = commit_state(result)
        if result.ok:
            description = f"{where}: {description}"
        self.post(head, state, description)
        log.info("preview environment of #%d at %s: %s", number, head[:12], result.describe())
        return result

    def _reconcile(self, desired: Desired, head: str) -> SyncResult:
        try:
            target = self.make_target(desired.config)
            try:
                return reconcile.reconcile(desired, target, revision=head)
            finally:
                target.close()
        except GitOpsError as err:
            return SyncResult.failed(head, failure_of(err), redact(str(err)))

    def sweep(self, open_numbers: Iterable[int], closed: Callable[[int], bool]) -> list[Waiting]:
        """Tear down the environments of closed pull requests and those idle past the ttl;
        forget waiting pull requests no longer open. Returns the waiting pull requests that
        now have a free environment, first come first served."""
        still_open = set(open_numbers)
        self._find_left_over()
        now = self.clock()
        for env in list(self.live.values()):
            if env.number not in still_open and closed(env.number):
                self.tear_down(env, "the pull request was closed")
            elif now - env.deployed_at >= self.config.previews.ttl:
                self.tear_down(env, "no push for the previews.ttl; push again to redeploy")
        with self._lock:
            self.waiting = {n: w for n, w in self.waiting.items() if n in still_open}
            free = max(self._limit() - len(self.live), 0)
            return list(self.waiting.values())[:free]

    def tear_down(self, env: Environment, why: str) -> bool:
        """Remove everything of an environment: resources, inventory, its namespaces."""
        config = replace(self.config, name=env.owner)
        try:
            target = self.make_target(config)
            try:
                gone = _remove_all(target, config)
            finally:
                target.close()
        except GitOpsError as err:
            log.warning("preview environment %s not torn down: %s", env.owner, redact(str(err)))
            return False
        if gone is not None:
            log.warning("preview environment %s not torn down: %s", env.owner, gone)
            return False
        with self._lock:
            self.live.pop(env.number, None)
        log.info("preview environment %s torn down: %s", env.owner, why)
        if env.head:
            self.post(env.head, StatusState.SUCCESS, f"environment removed: {why}")
        return True

    def _find_left_over(self) -> None:
        """Once: the environments an earlier process of this agent left."""
        if self._found:
            return
        pattern = re.compile(re.escape(self.config.name) + r"-pr-([1-9][0-9]{0,9})")
        target = self.make_target(self.config)
        try:
            seen = observe(target, all_owners=True)
        finally:
            target.close()
        owners = {
            labels.labels_of(obj).get(labels.OWNER, "")
            for objects in seen.live.values()
            for obj in objects
        }
        with self._lock:
            for owner in sorted(owners):
                match = pattern.fullmatch(owner)
                if match and int(match.group(1)) not in self.live:
                    number = int(match.group(1))
                    self.live[number] = Environment(number, owner, (), "", self.clock())
            self._found = True

    def _limit(self) -> int:
        return self.config.previews.max_environments


def _remove_all(target: Target, config: AgentConfig) -> str | None:
    """Delete every resource the owner's inventory holds, then its namespaces; what went
    wrong, or None."""
    held = sorted(observe(target).inventory.owned(), key=str)
    if held:
        options = reconcile.CycleOptions(allow_mass_prune=True, wait=False)
        _, result = reconcile.delete(held, target, config, options=options)
        if not result.ok:
            return result.describe()
    drop = target.hooks().drop_namespaces
    if drop is not None:
        drop()
    return None
