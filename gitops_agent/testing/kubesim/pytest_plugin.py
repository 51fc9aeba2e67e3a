"""The ``kubesim`` pytest fixture: a running simulator per test, stopped afterwards.

Import it in a ``conftest.py`` (``from gitops_agent.testing.kubesim.pytest_plugin import
kubesim``) or list this module in ``pytest_plugins``. The fixture yields the ``KubeSim``
(``.url``, ``.kubeconfig``, and the control API); delays are short so tests stay fast.
Override ``kubesim_config`` in a test module to change them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gitops_agent.testing.kubesim.simulator import KubeSim, SimConfig

FAST = SimConfig(
    ready_delay=0.2,
    run_duration=0.2,
    crash_backoff=0.2,
    tick=0.02,
    bookmark_interval=0.5,
    follow_limit=3.0,
    fresh_wait=0.3,
    termination_delay=0.1,
)


@pytest.fixture
def kubesim_config() -> SimConfig:
    """The configuration of the ``kubesim`` fixture (short delays)."""
    return FAST


@pytest.fixture
def kubesim(kubesim_config: SimConfig) -> Iterator[KubeSim]:
    """A started simulator with its own kubeconfig file; stopped after the test."""
    with KubeSim(kubesim_config) as sim:
        yield sim
