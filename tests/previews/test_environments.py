"""Preview environments on in-memory targets (one ``FakeTarget`` per owner, a manual clock):
the owner and namespaces of a pull request, the ttl, the queue beyond ``maxEnvironments``,
environments left by an earlier process, and the namespace templates the configuration
refuses."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from gitops_agent.core import labels
from gitops_agent.core.config import AgentConfig, PreviewsConfig, SyncConfig, parse_config
from gitops_agent.core.reporting import StatusState
from gitops_agent.core.tree import SourceTree
from gitops_agent.engine.desired import Desired, evaluate
from gitops_agent.engine.ports import Target
from gitops_agent.errors import ConfigError
from gitops_agent.service.environments import Environments
from gitops_agent.testing.fake import FakeTarget, ManualClock
from tests.engine.test_engine_on_fake import worker

TTL = 3600.0


@dataclass
class Cluster:
    """One fake target per owner, kept between calls, and the statuses posted."""

    targets: dict[str, FakeTarget] = field(default_factory=dict)
    posted: list[tuple[str, StatusState, str]] = field(default_factory=list)
    clock: ManualClock = field(default_factory=ManualClock)

    def target(self, config: AgentConfig) -> Target:
        if config.name not in self.targets:
            settings = config.render_settings()
            self.targets[config.name] = FakeTarget(owner=config.name, settings=settings)
        return self.targets[config.name]

    def post(self, head: str, state: StatusState, description: str) -> None:
        self.posted.append((head, state, description))


def config(**previews: object) -> AgentConfig:
    settings = PreviewsConfig(environments=True, ttl=TTL, **previews)  # type: ignore[arg-type]
    return AgentConfig(name="prod", previews=settings, sync=SyncConfig(wait_timeout=5.0))


def desired(agent: AgentConfig, *names: str) -> Desired:
    files = {f"{n}.yaml": worker(n) for n in names}
    return evaluate(SourceTree(files), ("",), agent)


def environments(cluster: Cluster, agent: AgentConfig) -> Environments:
    return Environments(agent, cluster.target, cluster.post, cluster.clock)


def test_a_pull_request_runs_under_its_own_owner_in_its_own_namespace() -> None:
    cluster, agent = Cluster(), config()
    envs = environments(cluster, agent)
    envs.request(7, "a" * 40, desired(agent, "writer"))
    target = cluster.targets["prod-pr-7"]
    assert {key.namespace for key in target.objects} == {"public-pr-7"}
    assert all(labels.labels_of(o)[labels.OWNER] == "prod-pr-7" for o in target.objects.values())
    assert "prod" not in cluster.targets, "production's owner is never written"
    assert cluster.posted[0] == ("a" * 40, StatusState.PENDING, "deploying aaaaaaa to public-pr-7")
    _, state, description = cluster.posted[-1]
    assert state is StatusState.SUCCESS and description.startswith("public-pr-7: ")


def test_an_environment_idle_past_the_ttl_is_torn_down_completely() -> None:
    cluster, agent = Cluster(), config()
    envs = environments(cluster, agent)
    envs.request(7, "b" * 40, desired(agent, "writer", "reader"))
    target = cluster.targets["prod-pr-7"]
    assert target.objects and target.inventory.entries
    cluster.clock.advance(TTL - 1)
    assert envs.sweep([7], closed=lambda n: False) == []
    assert target.objects, "not idle long enough"
    cluster.clock.advance(1)
    envs.sweep([7], closed=lambda n: False)
    assert target.objects == {} and target.inventory.entries == {}
    assert envs.live == {}
    assert cluster.posted[-1] == (
        "b" * 40,
        StatusState.SUCCESS,
        "environment removed: no push for the previews.ttl; push again to redeploy",
    )


def test_beyond_max_environments_pull_requests_wait_first_come_first_served() -> None:
    cluster, agent = Cluster(), config(max_environments=1)
    envs = environments(cluster, agent)
    envs.request(5, "5" * 40, desired(agent, "five"))
    envs.request(9, "9" * 40, desired(agent, "nine"))
    envs.request(3, "3" * 40, desired(agent, "three"))
    envs.request(9, "e" * 40, desired(agent, "nine"))  # a newer head keeps its place
    waiting = "waiting for a preview environment (1 of 1 in use)"
    assert ("3" * 40, StatusState.PENDING, waiting) in cluster.posted
    assert set(cluster.targets) == {"prod-pr-5"}
    assert envs.sweep([5, 9, 3], closed=lambda n: False) == []
    freed = envs.sweep([9, 3], closed=lambda n: n == 5)
    assert [(w.number, w.head) for w in freed] == [(9, "e" * 40)]
    assert cluster.targets["prod-pr-5"].objects == {}
    freed = envs.sweep([3], closed=lambda n: n in (5, 9))
    assert [w.number for w in freed] == [3], "a waiting pull request closed is forgotten"


def test_environments_left_by_an_earlier_process_are_found_and_removed() -> None:
    cluster, agent = Cluster(), config()
    first = environments(cluster, agent)
    first.request(4, "4" * 40, desired(agent, "writer"))
    left = cluster.targets["prod-pr-4"]
    base = FakeTarget(owner="prod")
    base.objects.update(left.objects)  # what a LIST of every owner's objects returns
    cluster.targets["prod"] = base
    later = environments(cluster, agent)
    later.sweep([], closed=lambda n: n == 4)
    assert left.objects == {} and later.live == {}


def test_a_template_giving_a_name_too_long_fails_the_environment_not_the_agent() -> None:
    cluster = Cluster()
    agent = config(namespace_template="<workspace>-" + "x" * 60 + "-<number>")
    environments(cluster, agent).request(7, "c" * 40, desired(agent, "writer"))
    assert cluster.targets == {}
    _, state, description = cluster.posted[-1]
    assert state is StatusState.FAILURE and "is not a DNS label" in description


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("<workspace>-preview", "has no <number>: pull requests would share namespaces"),
        ("<ws>-<number>", "the placeholders are <workspace> and <number>"),
        ("Public-<number>", "has an invalid format"),
        (7, "must be a string, got an integer (7)"),
        ("<workspace>-pr-<number>\n", "has an invalid format"),
    ],
)
def test_namespace_templates_that_would_share_or_break_namespaces_are_refused(
    template: object, message: str
) -> None:
    text = f"previews:\n  environments: true\n  namespaceTemplate: {template!r}\n"
    with pytest.raises(ConfigError) as raised:
        parse_config(text.replace("'", '"'), "agent.yaml")
    assert str(raised.value).startswith("agent.yaml:3:"), raised.value
    assert message in str(raised.value)
